import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { captionCues, writeCaptionFiles } from './captions';
import type { DubTrack } from './dub';
import { processVoice, type MixVoice } from './mix';
import type { EffectsPreset } from './presets';
import type { VoiceEngine } from './voice/engine';
import { speakTimed, type SpokenLine } from './voice/timed';

/** A track's captions, written as sidecars: the SRT is what the mux takes. */
export interface TrackCaptions {
  webvttPath: string;
  srtPath: string;
}

/** A track's voice, ready for the mix (null without a script), its lines, and its captions when asked. */
export interface SpokenTrack {
  voice: MixVoice | null;
  lines: SpokenLine[];
  captions: TrackCaptions | null;
}

export interface SpeakContext {
  engine: VoiceEngine;
  /** The track's own directory: its files are written there and stay for the mix. */
  dir: string;
  /** The picture's length: the voice must end within it. */
  videoSeconds: number;
  leadInSeconds: number;
  preset: EffectsPreset;
  /** Where the captions go, named `captions.<language>.vtt|srt`; null for none. */
  captionsDir: string | null;
  signal?: AbortSignal;
}

/**
 * One track's voice-over, sentence by sentence from the lead-in on (or line by line at the
 * script's times), placed on the video's timeline and run through the preset's voice chain, with
 * where each unit is heard; and its captions from those very times.
 */
export async function speakTrack(track: DubTrack, at: SpeakContext): Promise<SpokenTrack> {
  if (!track.voiceText.trim() && !track.script?.length) return { voice: null, lines: [], captions: null };
  const rawVoice = join(at.dir, 'voice-raw.flac');
  const path = join(at.dir, 'voice.flac');
  try {
    const spoken = await speakTimed(at.engine, {
      language: track.language,
      ...(track.voiceId === undefined ? {} : { voiceId: track.voiceId }),
      ...(track.voiceRate === undefined ? {} : { voiceRate: track.voiceRate }),
      ...(track.script?.length ? { script: track.script } : { text: track.voiceText }),
      leadInSeconds: at.leadInSeconds,
      videoSeconds: at.videoSeconds,
      outPath: rawVoice,
      scratchDir: at.dir,
      ...(at.signal ? { signal: at.signal } : {}),
    });
    const processed = await processVoice({
      rawPath: rawVoice,
      rawLufs: spoken.lufs,
      outPath: path,
      preset: at.preset,
      signal: at.signal,
    });
    // Placed already: the file starts at the video's first sample, so the mix adds no lead-in.
    const voice = { path, lufs: processed.integratedLufs, seconds: spoken.speechSeconds, leadInSeconds: 0 };
    const captions = at.captionsDir === null ? null : await captionFiles(spoken.lines, track.language, at.captionsDir);
    return { voice, lines: spoken.lines, captions };
  } finally {
    await rm(rawVoice, { force: true });
  }
}

async function captionFiles(lines: SpokenLine[], language: string, dir: string): Promise<TrackCaptions> {
  const { vtt, srt } = await writeCaptionFiles(captionCues(lines, language), dir, `captions.${language}`);
  return { webvttPath: vtt, srtPath: srt };
}
