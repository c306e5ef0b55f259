import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MediaError, type MediaErrorCode } from './errors';
import { limitForLinearGain, linearNormalization, measureLoudness, type LoudnessFacts } from './loudness';
import { SAMPLE_RATE } from './audio-format';
import { mixAudio, processVoice, type MixVoice } from './mix';
import { isMusicStyle } from './music/generate';
import { NO_MUSIC } from './music/styles';
import type { MusicLibrary } from './music/library';
import { canCopyVideo, ENCODER_PEAK_MARGIN_DB, mux } from './mux';
import type { OriginalAudioMode } from './original-audio';
import { measureOriginalSound } from './original-sound';
import { EFFECTS_PRESETS, isEffectsPreset, type EffectsPreset } from './presets';
import { inspect, pictureSeconds, probe, type MediaFacts } from './probe';
import { progressTracker, type MediaStage } from './progress';
import { changeTempo } from './tempo';
import { splitRate, type VoiceEngine } from './voice/engine';
import { localVoiceEngine } from './voice/local';

/** Silence before the voice starts, so it does not begin on the very first frame. */
export const DEFAULT_LEAD_IN_SECONDS = 0.5;
/** Voice failures whose code already says what went wrong. */
const PASSED_THROUGH = new Set<MediaErrorCode>([
  'processing_timeout',
  'voice_synthesis_failed',
  'voice_rejected',
  'voice_provider_unavailable',
]);
/** A picture this much shorter in the output than in the input lost frames on the way. */
const LOST_PICTURE_SECONDS = 0.5;

export interface DubRequest {
  inputPath: string;
  /** Scratch space the caller creates and deletes; dub() removes its own files from it. */
  workDir: string;
  outputPath: string;
  /** The voice-over; empty for music alone. */
  voiceText: string;
  language: string;
  /** One of the engine's voices for `language`; its default when absent. */
  voiceId?: string;
  /** Speaking rate, 1 (the voice's own pace) when absent: the engine's own as far as it goes, then atempo. */
  voiceRate?: number;
  /** A music style, or NO_MUSIC for none. */
  musicStyle: string;
  /** What becomes of the input's own sound; `replace` when absent. */
  originalAudio?: OriginalAudioMode;
  effectsPreset: string;
  /** The job id: the music (a library track or generated) is the same for the same seed. */
  seed: string;
  /** Tracks to take the music from; generated music when absent or it has none for the style. */
  musicLibrary?: MusicLibrary | null;
  voice?: VoiceEngine;
  onProgress?: (percent: number) => void;
  /** Told as each stage of the work starts, in order: voice (if any), music (library only), mixing, encoding. */
  onStage?: (stage: MediaStage) => void;
  signal?: AbortSignal;
  leadInSeconds?: number;
  /** Longest input accepted (AIPROD_MAX_INPUT_SECONDS), checked from ffprobe before the heavy work. */
  maxInputSeconds: number;
}

export interface DubResult {
  output: MediaFacts;
  /** Measured on the delivered file, after AAC encoding. */
  loudness: LoudnessFacts;
  videoCopied: boolean;
}

/**
 * Puts a synthesized voice-over, music (unless NO_MUSIC) and the preset's sound on a video, over
 * the video's own sound when it is kept: the picture kept as it is whenever possible, the sound
 * mixed, loudness-normalized in two passes and encoded into an MP4 at `outputPath`. The work is a
 * few ffmpeg runs, each doing as much as it can: voice synthesis (with a library track fitted to
 * the video and the original sound measured alongside, when wanted); voice processing; the mix
 * (music generation unless a track was fitted, the original sound, ducking, limiting and the first
 * loudness pass in one); the mux (second pass, encoding); a last measurement of what was delivered.
 * All audio work runs on audio alone, at 48 kHz; the picture is only decoded when it must be
 * re-encoded.
 */
export async function dub(req: DubRequest): Promise<DubResult> {
  const style = req.musicStyle === NO_MUSIC ? null : req.musicStyle;
  if (style !== null && !isMusicStyle(style)) throw new RangeError(`unknown music style "${style}"`);
  if (!isEffectsPreset(req.effectsPreset)) throw new RangeError(`unknown effects preset "${req.effectsPreset}"`);
  const preset = EFFECTS_PRESETS[req.effectsPreset];
  const engine = req.voice ?? localVoiceEngine();
  const leadIn = req.leadInSeconds ?? DEFAULT_LEAD_IN_SECONDS;
  const originalAudio = req.originalAudio ?? 'replace';
  const speaks = req.voiceText.trim() !== '';
  if (!speaks && !style && originalAudio === 'replace') {
    throw new RangeError('a dub needs a voice, music or the original sound');
  }
  const { signal } = req;

  const input = await probe(req.inputPath, signal);
  const seconds = pictureSeconds(input);
  if (seconds > req.maxInputSeconds) {
    throw new MediaError(
      'input_too_long',
      `the video lasts ${minutes(seconds)}; the limit is ${minutes(req.maxInputSeconds)}`,
    );
  }
  if (originalAudio !== 'replace' && !input.audio) {
    throw new MediaError(
      'no_audio',
      `original_audio "${originalAudio}" keeps the video's own sound, but the video has no audio track: ` +
        'send a video with sound, or use "replace"',
    );
  }
  // Shares of the time as measured on two cores: copying the picture costs about what the mix does
  // (the AAC encoder dominates); re-encoding it grows with the pixel rate, to some 18 times the
  // mix for 1080p at 30 fps.
  const pixelRate = input.video ? input.video.width * input.video.height * input.video.fps : 0;
  const progress = progressTracker(req.onProgress, {
    voice: 8,
    mix: 30,
    mux: 40 + (canCopyVideo(input) ? 0 : pixelRate * 8e-6),
    verify: 6,
  });
  progress.update('voice', 0);

  const samples = Math.round(seconds * SAMPLE_RATE);
  const scratch = await mkdtemp(join(req.workDir, 'dub-'));
  let outputWritten = false;
  try {
    // The library track is downloaded and fitted, and the original sound measured, while the voice
    // is spoken: none needs another. The stage is the voice while it lasts, then the music if the
    // track is still on its way.
    if (speaks) req.onStage?.('voice');
    const bed = style
      ? req.musicLibrary?.prepareTrack(style, req.seed, samples / SAMPLE_RATE, scratch, signal)
      : undefined;
    let bedPending = bed !== undefined;
    if (bed) {
      const settle = (): void => void (bedPending = false);
      void bed.then(settle, settle);
      if (!speaks) req.onStage?.('music');
    }
    const spoken = speaks
      ? speak(engine, req, { scratch, seconds, leadIn, preset }).then((v) => {
          if (bedPending) req.onStage?.('music');
          return v;
        })
      : null;
    const originalLufs = originalAudio === 'replace' ? null : measureOriginalSound(req.inputPath, samples, signal);
    const [voice, [libraryBed, original]] = await settled(spoken, settled(bed ?? null, originalLufs));
    progress.update('voice', 1);

    const target = {
      lufs: preset.targetLufs,
      truePeakDbtp: preset.truePeakDbtp - ENCODER_PEAK_MARGIN_DB,
      lra: preset.lra,
    };
    const mixPath = join(scratch, 'mix.wav');
    req.onStage?.('mixing');
    const mixed = await mixAudio({
      voice,
      samples,
      music: libraryBed ? { path: libraryBed } : style && { style, seed: req.seed },
      original: original === null ? null : { path: req.inputPath, lufs: original, ducked: originalAudio === 'duck' },
      preset,
      target,
      scratchDir: scratch,
      outPath: mixPath,
      signal,
      onProgress: (fraction) => progress.update('mix', fraction),
    });

    const master = await limitForLinearGain({
      path: mixPath,
      measured: mixed,
      target,
      scratchPath: (round) => join(scratch, `mix-limited-${round}.wav`),
      signal,
    });

    outputWritten = true;
    req.onStage?.('encoding');
    const { videoCopied } = await mux({
      inputPath: req.inputPath,
      input,
      audioPath: master.path,
      audioFilter: linearNormalization(master.measured, target),
      outputPath: req.outputPath,
      signal,
      onProgress: (fraction) => progress.update('mux', fraction),
    });

    const [output, loudness] = await Promise.all([
      probe(req.outputPath, signal),
      measureLoudness(req.outputPath, signal),
    ]);
    const outputPicture = pictureSeconds(output);
    if (outputPicture < seconds - LOST_PICTURE_SECONDS) {
      throw new MediaError(
        'corrupt_media',
        `the video's data ends at ${outputPicture.toFixed(1)} s of its stated ${seconds.toFixed(1)} s: the file is truncated or damaged`,
      );
    }
    progress.finish();
    return { output, loudness, videoCopied };
  } catch (err) {
    if (outputWritten) await rm(req.outputPath, { force: true });
    throw err;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The voice-over spoken, checked to fit the picture, and run through the preset's voice chain. */
async function speak(
  engine: VoiceEngine,
  req: DubRequest,
  at: { scratch: string; seconds: number; leadIn: number; preset: EffectsPreset },
): Promise<MixVoice> {
  const rawVoice = join(at.scratch, 'voice-raw.wav');
  const spoken = await synthesize(engine, req, rawVoice);
  if (spoken.seconds + at.leadIn > at.seconds) {
    throw new MediaError(
      'voice_too_long',
      `the voice-over lasts ${spoken.seconds.toFixed(1)} s, which with the ${at.leadIn} s lead-in ` +
        `does not fit in the ${at.seconds.toFixed(1)} s video: shorten the text or send a longer video`,
    );
  }
  const path = join(at.scratch, 'voice.wav');
  const processed = await processVoice({
    rawPath: rawVoice,
    rawLufs: spoken.lufs,
    outPath: path,
    preset: at.preset,
    signal: req.signal,
  });
  return { path, lufs: processed.integratedLufs, seconds: spoken.seconds, leadInSeconds: at.leadIn };
}

/** Speaks the text at the rate asked for and reads back how long and how loud the speech is. */
async function synthesize(
  engine: VoiceEngine,
  req: DubRequest,
  outPath: string,
): Promise<{ seconds: number; lufs: number }> {
  if (!req.voiceText.trim()) throw new MediaError('voice_synthesis_failed', 'the voice-over text is empty');
  if (!engine.languages.includes(req.language)) {
    throw new MediaError('voice_synthesis_failed', `the ${engine.name} voice engine does not speak "${req.language}"`);
  }
  const rate = splitRate(engine.rates, req.voiceRate ?? 1);
  const enginePath = rate.tempo === 1 ? outPath : join(dirname(outPath), 'voice-engine.wav');
  try {
    await engine.synthesize(req.voiceText, req.language, enginePath, {
      voice: req.voiceId,
      rate: rate.engine,
      signal: req.signal,
    });
    if (enginePath !== outPath) await changeTempo(enginePath, outPath, rate.tempo, req.signal);
    const [facts, loudness] = await Promise.all([inspect(outPath, req.signal), measureLoudness(outPath, req.signal)]);
    // Integrated loudness bottoms out at -70 LUFS: nothing rose above the absolute gate.
    if (loudness.integratedLufs <= -70) {
      throw new MediaError('voice_synthesis_failed', `the ${engine.name} voice engine produced silence`);
    }
    return { seconds: facts.durationSeconds, lufs: loudness.integratedLufs };
  } catch (err) {
    // The engine's own verdicts travel as they are: they tell a rejected script from a provider outage.
    if (err instanceof MediaError && PASSED_THROUGH.has(err.code)) {
      throw err;
    }
    const detail = err instanceof MediaError ? (err.detail ?? err.message) : String(err);
    throw new MediaError('voice_synthesis_failed', `the ${engine.name} voice engine failed`, detail);
  }
}

/**
 * Both results once both have settled, or the first failure: unlike Promise.all, nothing is
 * still writing into the scratch directory when the caller goes on to delete it.
 */
async function settled<A, B>(a: Promise<A> | A, b: Promise<B> | B): Promise<[A, B]> {
  const [first, second] = await Promise.allSettled([a, b]);
  if (first.status === 'rejected') throw first.reason;
  if (second.status === 'rejected') throw second.reason;
  return [first.value, second.value];
}

function minutes(seconds: number): string {
  return seconds < 120 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`;
}
