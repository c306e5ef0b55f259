import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DubTrack } from './dub';
import { MediaError, type MediaErrorCode } from './errors';
import { measureLoudness } from './loudness';
import { processVoice, type MixVoice } from './mix';
import type { EffectsPreset } from './presets';
import { inspect } from './probe';
import { changeTempo } from './tempo';
import { splitRate, type VoiceEngine } from './voice/engine';

/** Voice failures whose code already says what went wrong. */
const PASSED_THROUGH = new Set<MediaErrorCode>([
  'processing_timeout',
  'voice_synthesis_failed',
  'voice_rejected',
  'voice_provider_unavailable',
]);

/** What was said when, on the video's timeline. */
export interface TrackLine {
  text: string;
  startSeconds: number;
  endSeconds: number;
}

/** A track's voice, ready for the mix (null without a script), and its lines. */
export interface SpokenTrack {
  voice: MixVoice | null;
  lines: TrackLine[];
}

export interface SpeakContext {
  engine: VoiceEngine;
  /** The track's own directory: its files are written there and stay for the mix. */
  dir: string;
  /** The picture's length: the voice must end within it. */
  videoSeconds: number;
  leadInSeconds: number;
  preset: EffectsPreset;
  signal?: AbortSignal;
}

/**
 * One track's voice-over: the script spoken from the lead-in on, checked to fit the picture, and
 * run through the preset's voice chain; one line spanning the whole of it.
 */
export async function speakTrack(track: DubTrack, at: SpeakContext): Promise<SpokenTrack> {
  if (!track.voiceText.trim()) return { voice: null, lines: [] };
  const rawVoice = join(at.dir, 'voice-raw.wav');
  const path = join(at.dir, 'voice.flac');
  try {
    const spoken = await synthesize(at.engine, track, rawVoice, at.signal);
    if (spoken.seconds + at.leadInSeconds > at.videoSeconds) {
      throw new MediaError(
        'voice_too_long',
        `the voice-over lasts ${spoken.seconds.toFixed(1)} s, which with the ${at.leadInSeconds} s lead-in ` +
          `does not fit in the ${at.videoSeconds.toFixed(1)} s video: shorten the text or send a longer video`,
      );
    }
    const processed = await processVoice({
      rawPath: rawVoice,
      rawLufs: spoken.lufs,
      outPath: path,
      preset: at.preset,
      signal: at.signal,
    });
    const voice = { path, lufs: processed.integratedLufs, seconds: spoken.seconds, leadInSeconds: at.leadInSeconds };
    const lines = [
      { text: track.voiceText.trim(), startSeconds: at.leadInSeconds, endSeconds: at.leadInSeconds + spoken.seconds },
    ];
    return { voice, lines };
  } finally {
    await rm(rawVoice, { force: true });
  }
}

/** Speaks the text at the rate asked for and reads back how long and how loud the speech is. */
async function synthesize(
  engine: VoiceEngine,
  track: DubTrack,
  outPath: string,
  signal?: AbortSignal,
): Promise<{ seconds: number; lufs: number }> {
  if (!engine.languages.includes(track.language)) {
    throw new MediaError(
      'voice_synthesis_failed',
      `the ${engine.name} voice engine does not speak "${track.language}"`,
    );
  }
  const rate = splitRate(engine.rates, track.voiceRate ?? 1);
  const enginePath = rate.tempo === 1 ? outPath : `${outPath}.engine.wav`;
  try {
    await engine.synthesize(track.voiceText, track.language, enginePath, {
      voice: track.voiceId,
      rate: rate.engine,
      signal,
    });
    if (enginePath !== outPath) await changeTempo(enginePath, outPath, rate.tempo, signal);
    const [facts, loudness] = await Promise.all([inspect(outPath, signal), measureLoudness(outPath, signal)]);
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
  } finally {
    if (enginePath !== outPath) await rm(enginePath, { force: true });
  }
}
