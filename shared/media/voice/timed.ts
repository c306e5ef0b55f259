import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { mapBounded } from '../bounded';
import { MediaError, type MediaErrorCode } from '../errors';
import { changeTempo } from '../tempo';
import { assembleVoice } from './assemble';
import { audibleSpan } from './audible';
import { splitRate, type VoiceEngine } from './engine';
import {
  checkScriptStarts,
  checkTextFits,
  cueSpeedUp,
  place,
  speechSeconds,
  textOnsets,
  type SpokenUnit,
} from './timed-layout';
import { readWav } from './wav';

/** A silence inside a line's speech, on the video's timeline: where a caption may change. */
export interface Pause {
  startSeconds: number;
  endSeconds: number;
}

/** One synthesized unit (a sentence, or a voice_script line): where its speech is heard on the video's timeline. */
export interface SpokenLine {
  text: string;
  startSeconds: number;
  endSeconds: number;
  /** Its pauses of 80 ms or more, in order. */
  pauses: Pause[];
}

export interface TimedVoice {
  /** Mono 48 kHz FLAC on the video's timeline from t=0: silence up to each line, which it ends with. */
  path: string;
  /** Sum of the lines' spoken durations. */
  speechSeconds: number;
  /** Integrated loudness of the voice, for the mix's staging. */
  lufs: number;
  lines: SpokenLine[];
}

export interface TimedVoiceRequest {
  language: string;
  voiceId?: string;
  /** 1 (the voice's own pace) when absent: the engine's own rate as far as it goes, then a tempo change. */
  voiceRate?: number;
  /** A continuous voice-over: its sentences one after another from `leadInSeconds`. */
  text?: string;
  /** Timed cues, in order of time: each line's speech begins at its `startSeconds`. */
  script?: readonly { startSeconds: number; text: string }[];
  leadInSeconds: number;
  /** The speech must end by then. */
  videoSeconds: number;
  outPath: string;
  /** Created and deleted by the caller; speakTimed() removes its own files from it. */
  scratchDir: string;
  signal?: AbortSignal;
}

/** Units synthesized at once: cloud engines are paid per request and rate-limited; flite takes a core each. */
const PARALLEL_UNITS = 2;
/** Voice failures whose code already says what went wrong. */
const PASSED_THROUGH = new Set<MediaErrorCode>([
  'processing_timeout',
  'voice_synthesis_failed',
  'voice_rejected',
  'voice_provider_unavailable',
]);

/**
 * Speaks `text` sentence by sentence, or each `script` line on its own, measures where each
 * one's speech begins and ends in its audio, and lays them on the video's timeline into one file:
 * sentences a breath apart (SENTENCE_PAUSE_SECONDS) from the lead-in, timed lines at their start,
 * each sped up (pitch kept) by up to MAX_CUE_SPEEDUP when it would run into the next line or
 * past the video's end. The line times it answers are those of the audible speech in that file.
 *
 * Rejects with `voice_too_long` when the voice does not fit the video, `voice_cue_overlap` for a
 * timed line too long for its slot even sped up (both naming what is too long, and by how much),
 * `voice_synthesis_failed` for an empty text, a language the engine does not speak or a unit
 * that comes out silent, and the engine's own verdicts as they are.
 */
export async function speakTimed(engine: VoiceEngine, req: TimedVoiceRequest): Promise<TimedVoice> {
  const { script, signal } = req;
  const texts = spokenUnits(req);
  if (!engine.languages.includes(req.language)) {
    throw new MediaError('voice_synthesis_failed', `the ${engine.name} voice engine does not speak "${req.language}"`);
  }
  if (script) checkScriptStarts(script, req.videoSeconds);
  const rate = splitRate(engine.rates, req.voiceRate ?? 1);
  const scratch = await mkdtemp(join(req.scratchDir, 'timed-voice-'));
  let outputWritten = false;
  try {
    const done: SpokenUnit[] = [];
    const spoken = await mapBounded(texts, PARALLEL_UNITS, async (text, i) => {
      const label = script ? `voice_script line ${i + 1}` : `sentence ${i + 1}`;
      const raw = join(scratch, `unit-${i + 1}-engine.wav`);
      const atTempo = (tempo: number, name: string): Promise<SpokenUnit> =>
        asVoiceFailure(engine, async () => {
          const path = tempo === 1 ? raw : join(scratch, name);
          if (tempo !== 1) await changeTempo(raw, path, tempo, signal);
          return measure(engine, label, text, path);
        });
      await asVoiceFailure(engine, () =>
        engine.synthesize(text, req.language, raw, { voice: req.voiceId, rate: rate.engine, signal }),
      );
      let unit = await atTempo(rate.tempo, `unit-${i + 1}.wav`);
      const speedUp = script ? cueSpeedUp(script, i, speechSeconds(unit), req.videoSeconds) : 1;
      if (speedUp !== 1) {
        const fitted = await atTempo(rate.tempo * speedUp, `unit-${i + 1}-fitted.wav`);
        if (unit.path !== raw) await rm(unit.path, { force: true });
        unit = fitted;
      }
      if (unit.path !== raw) await rm(raw, { force: true });
      done.push(unit);
      if (!script) checkTextFits(done, done.length === texts.length, req.leadInSeconds, req.videoSeconds);
      return unit;
    });

    const onsets = script ? script.map((line) => line.startSeconds) : textOnsets(spoken, req.leadInSeconds);
    const { pieces, lines } = place(spoken, onsets);
    outputWritten = true;
    const loudness = await assembleVoice(pieces, scratch, req.outPath, signal);
    return {
      path: req.outPath,
      speechSeconds: lines.reduce((sum, line) => sum + line.endSeconds - line.startSeconds, 0),
      lufs: loudness.integratedLufs,
      lines,
    };
  } catch (err) {
    if (outputWritten) await rm(req.outPath, { force: true });
    throw err;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The sentences of a voice-over, each to be spoken on its own. A "sentence" of fewer than two
 * words goes with the next one: the segmenter ends sentences at abbreviations ("Mr. "), and a
 * lone "Yes." or "..." is better spoken in its neighbour's flow than as a request of its own.
 */
function sentences(text: string, language: string): string[] {
  const words = new Intl.Segmenter(language, { granularity: 'word' });
  const wordCount = (s: string): number => Array.from(words.segment(s)).filter((w) => w.isWordLike).length;
  const units: string[] = [];
  let pending = '';
  for (const { segment } of new Intl.Segmenter(language, { granularity: 'sentence' }).segment(text)) {
    pending += segment;
    if (wordCount(segment) < 2) continue;
    units.push(pending.trim());
    pending = '';
  }
  if (pending.trim()) {
    if (units.length) units.push(`${units.pop()!} ${pending.trim()}`);
    else units.push(pending.trim());
  }
  return units;
}

/** What is synthesized, one engine request per unit: the text's sentences, or the script's lines. */
function spokenUnits(req: TimedVoiceRequest): string[] {
  if ((req.text === undefined) === (req.script === undefined)) {
    throw new RangeError('a timed voice needs either a text or a script');
  }
  if (req.text !== undefined) {
    if (!req.text.trim()) throw new MediaError('voice_synthesis_failed', 'the voice-over text is empty');
    return sentences(req.text, req.language);
  }
  const script = req.script!;
  if (!script.length) throw new MediaError('voice_synthesis_failed', 'the voice-over script is empty');
  script.forEach((line, i) => {
    const previous = script[i - 1];
    if (!Number.isFinite(line.startSeconds) || line.startSeconds < 0) {
      throw new RangeError(`voice_script line ${i + 1} starts at ${line.startSeconds}`);
    }
    if (previous && line.startSeconds <= previous.startSeconds) {
      throw new RangeError(`voice_script line ${i + 1} does not start after line ${i}: lines must be in order of time`);
    }
    if (!line.text.trim()) throw new MediaError('voice_synthesis_failed', `voice_script line ${i + 1} is empty`);
  });
  return script.map((line) => line.text.trim());
}

/** A unit's WAV read back and measured; a unit with nothing audible is the engine's failure. */
async function measure(engine: VoiceEngine, label: string, text: string, path: string): Promise<SpokenUnit> {
  const { format, pcm } = readWav(await readFile(path));
  const span = audibleSpan(pcm, format);
  if (!span)
    throw new MediaError('voice_synthesis_failed', `the ${engine.name} voice engine produced silence for ${label}`);
  return { text, path, seconds: pcm.length / 2 / format.channels / format.sampleRate, span };
}

/** The engine's own verdicts travel as they are: they tell a rejected script from a provider outage. */
async function asVoiceFailure<T>(engine: VoiceEngine, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MediaError && PASSED_THROUGH.has(err.code)) throw err;
    const detail = err instanceof MediaError ? (err.detail ?? err.message) : String(err);
    throw new MediaError('voice_synthesis_failed', `the ${engine.name} voice engine failed`, detail);
  }
}
