import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLE_RATE } from './audio-format';
import { mapBounded } from './bounded';
import { MediaError } from './errors';
import { limitInGraph, linearNormalization, type LoudnessFacts } from './loudness';
import { measureMix, type MixSpec } from './mix';
import type { MusicBed } from './music/bed';
import { isMusicStyle, prepareMusic } from './music/generate';
import type { MusicLibrary } from './music/library';
import { NO_MUSIC, type MusicStyle } from './music/styles';
import { canCopyVideo, ENCODER_PEAK_MARGIN_DB, mux, type MuxCaptions } from './mux';
import type { OriginalAudioMode } from './original-audio';
import { measureOriginalSound } from './original-sound';
import { EFFECTS_PRESETS, isEffectsPreset } from './presets';
import { pictureSeconds, probe, type MediaFacts } from './probe';
import { progressTracker, type MediaStage } from './progress';
import { speakTrack, type SpokenTrack, type TrackCaptions } from './speak';
import type { SpokenLine } from './voice/timed';
import type { VoiceEngine } from './voice/engine';
import { localVoiceEngine } from './voice/local';

/** Silence before the voice starts, so it does not begin on the very first frame. */
export const DEFAULT_LEAD_IN_SECONDS = 0.5;
/** Audio tracks one output may carry. */
export const MAX_DUB_TRACKS = 8;
/**
 * Voices spoken, and mixes measured, at once: two keep both cores busy (the local voice and the
 * meters run on this machine) and a cloud voice provider's per-account limits respected.
 */
const AT_ONCE = 2;
/** A picture this much shorter in the output than in the input lost frames on the way. */
const LOST_PICTURE_SECONDS = 0.5;

/** One audio track of the output, in one language. */
export interface DubTrack {
  /** One of LANGUAGES: what the voice speaks, and the stream's language tag. */
  language: string;
  /** The voice-over, read sentence after sentence from the lead-in; empty for a script, or for music (and the input's own sound) alone. */
  voiceText: string;
  /** Timed lines instead of `voiceText`: each spoken from its time, in order of time. */
  script?: readonly { startSeconds: number; text: string }[];
  /** One of the engine's voices for `language`; its default when absent. */
  voiceId?: string;
  /** Speaking rate, 1 (the voice's own pace) when absent: the engine's own as far as it goes, then atempo. */
  voiceRate?: number;
}

export interface DubRequest {
  inputPath: string;
  /** Scratch space the caller creates and deletes; dub() removes its own files from it. */
  workDir: string;
  outputPath: string;
  /** One to MAX_DUB_TRACKS, in order: the first is the default track. */
  tracks: readonly DubTrack[];
  /**
   * Captions from each track's voice, written into `workDir` as WebVTT and SRT sidecars
   * (`captions.<language>.vtt|srt`, for the caller to keep) and put in the MP4: `soft`, each a
   * `mov_text` stream tagged with its track's language, the picture untouched; `burn`, the first
   * track's rendered into the picture (which is then re-encoded), the others' soft. None when absent.
   */
  captions?: 'soft' | 'burn';
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

export interface DubTrackResult {
  language: string;
  /** Measured on the delivered file's audio stream of the track, after AAC encoding. */
  loudness: LoudnessFacts;
  /** What the track's voice says when. */
  lines: SpokenLine[];
  /** The sidecars in `workDir`, when captions were asked for and the track speaks. */
  captions: TrackCaptions | null;
}

export interface DubResult {
  output: MediaFacts;
  videoCopied: boolean;
  /** In the order of the request's tracks, which is the order of the output's audio streams. */
  tracks: DubTrackResult[];
}

/**
 * Puts one audio track per language on a video, each a full mix of its synthesized voice-over,
 * music (unless NO_MUSIC) and the preset's sound, over the video's own sound when it is kept,
 * normalized to the preset's target on its own; the picture kept as it is whenever possible; all
 * of it in one MP4 at `outputPath`, with the tracks' captions when asked. The music (generated or
 * a library track) and the picture are prepared once for all tracks. The work is a few ffmpeg runs:
 * the voices spoken and processed (two at a time) while the music is prepared and the original
 * sound measured; each track's mix measured (a run that writes nothing, and more only when a
 * limiter must bring its peaks down); the mux, which makes every mix once more and encodes it with
 * its exact gain while the picture is copied, and meters each track as it is delivered. No
 * intermediate file grows with the video's length: the mixes are never written, the voices are
 * FLAC, the music a loop. All audio work runs on audio alone, at 48 kHz; the picture is only
 * decoded when it must be re-encoded.
 */
export async function dub(req: DubRequest): Promise<DubResult> {
  const style = req.musicStyle === NO_MUSIC ? null : req.musicStyle;
  if (style !== null && !isMusicStyle(style)) throw new RangeError(`unknown music style "${style}"`);
  if (!isEffectsPreset(req.effectsPreset)) throw new RangeError(`unknown effects preset "${req.effectsPreset}"`);
  const { tracks, signal } = req;
  if (tracks.length < 1 || tracks.length > MAX_DUB_TRACKS) {
    throw new RangeError(`a dub has 1 to ${MAX_DUB_TRACKS} tracks, not ${tracks.length}`);
  }
  const preset = EFFECTS_PRESETS[req.effectsPreset];
  const engine = req.voice ?? localVoiceEngine();
  const leadIn = req.leadInSeconds ?? DEFAULT_LEAD_IN_SECONDS;
  const originalAudio = req.originalAudio ?? 'replace';
  const speaking = (track: DubTrack): boolean => track.voiceText.trim() !== '' || !!track.script?.length;
  const speaks = tracks.some(speaking);
  if (req.captions === 'burn' && !speaking(tracks[0]!))
    throw new RangeError('burned captions need a first track that speaks');
  if (!style && originalAudio === 'replace' && !tracks.every(speaking)) {
    throw new RangeError('every track of a dub needs a voice, music or the original sound');
  }

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
  const videoCopied = canCopyVideo(input) && req.captions !== 'burn';
  // Shares of the time as measured on two cores: per track, the mux (its AAC encoder, and the
  // meter of what it delivers) costs about twice what measuring the mix does; re-encoding the
  // picture grows with the pixel rate, to some 20 times one track's mux for 1080p at 30 fps.
  const pixelRate = input.video ? input.video.width * input.video.height * input.video.fps : 0;
  const progress = progressTracker(req.onProgress, {
    voice: 10,
    mix: 12 * tracks.length,
    mux: 10 + 24 * tracks.length + (videoCopied ? 0 : pixelRate * 8e-6),
  });
  progress.update('voice', 0);

  const samples = Math.round(seconds * SAMPLE_RATE);
  const scratch = await mkdtemp(join(req.workDir, 'dub-'));
  let outputWritten = false;
  try {
    // The music is prepared, and the original sound measured, while the voices are spoken: none
    // needs another. The stage is the voice while it lasts, then the music if a library track is
    // still on its way.
    if (speaks) req.onStage?.('voice');
    const fromLibrary = style ? req.musicLibrary?.prepareTrack(style, req.seed, seconds, scratch, signal) : undefined;
    let libraryPending = fromLibrary !== undefined;
    if (fromLibrary) {
      const settle = (): void => void (libraryPending = false);
      void fromLibrary.then(settle, settle);
      if (!speaks) req.onStage?.('music');
    }
    const music = style ? musicFor(style, fromLibrary, { seed: req.seed, samples, scratch, signal }) : null;
    let spokenCount = 0;
    const spoken = mapBounded(tracks, AT_ONCE, async (track, i) => {
      const dir = join(scratch, `track-${i}`);
      await mkdir(dir);
      const result = await speakTrack(track, {
        engine,
        dir,
        videoSeconds: seconds,
        leadInSeconds: leadIn,
        preset,
        captionsDir: req.captions ? req.workDir : null,
        signal,
      });
      progress.update('voice', ++spokenCount / tracks.length);
      return result;
    }).then((voices) => {
      if (libraryPending) req.onStage?.('music');
      return voices;
    });
    const originalLufs = originalAudio === 'replace' ? null : measureOriginalSound(req.inputPath, samples, signal);
    const [voices, [bed, original]] = await settled(spoken, settled(music, originalLufs));

    const target = {
      lufs: preset.targetLufs,
      truePeakDbtp: preset.truePeakDbtp - ENCODER_PEAK_MARGIN_DB,
      lra: preset.lra,
    };
    const specs = voices.map((spokenTrack: SpokenTrack): MixSpec => ({
      voice: spokenTrack.voice,
      samples,
      music: bed,
      original: original === null ? null : { path: req.inputPath, lufs: original, ducked: originalAudio === 'duck' },
      preset,
      target,
    }));
    req.onStage?.('mixing');
    const measuredShare = specs.map(() => 0);
    const levels = await mapBounded(specs, AT_ONCE, async (spec, i) => {
      const onProgress = (fraction: number): void => {
        measuredShare[i] = fraction;
        progress.update('mix', measuredShare.reduce((a, b) => a + b, 0) / specs.length);
      };
      const first = await measureMix(spec, [], { signal, onProgress });
      const limited = await limitInGraph(first, target, (filters) => measureMix(spec, filters, { signal }));
      return [...limited.filters, linearNormalization(limited.measured, target)];
    });

    outputWritten = true;
    req.onStage?.('encoding');
    const muxed = await mux({
      inputPath: req.inputPath,
      input,
      tracks: specs.map((mix, i) => ({ mix, filters: levels[i]!, language: tracks[i]!.language })),
      softCaptions: softCaptions(tracks, voices, req.captions),
      ...(req.captions === 'burn' ? { burnedCaptions: voices[0]!.captions!.srtPath } : {}),
      outputPath: req.outputPath,
      signal,
      onProgress: (fraction) => progress.update('mux', fraction),
    });

    const output = await probe(req.outputPath, signal);
    const outputPicture = pictureSeconds(output);
    if (outputPicture < seconds - LOST_PICTURE_SECONDS) {
      throw new MediaError(
        'corrupt_media',
        `the video's data ends at ${outputPicture.toFixed(1)} s of its stated ${seconds.toFixed(1)} s: the file is truncated or damaged`,
      );
    }
    progress.finish();
    return {
      output,
      videoCopied,
      tracks: tracks.map((track, i) => ({
        language: track.language,
        loudness: muxed.loudness[i]!,
        lines: voices[i]!.lines,
        captions: voices[i]!.captions,
      })),
    };
  } catch (err) {
    if (outputWritten) await rm(req.outputPath, { force: true });
    throw err;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The library's track for the style when it has one, else the style's generated music. */
async function musicFor(
  style: MusicStyle,
  fromLibrary: Promise<MusicBed | null> | undefined,
  at: { seed: string; samples: number; scratch: string; signal?: AbortSignal },
): Promise<MusicBed> {
  const track = fromLibrary ? await fromLibrary : null;
  return track ?? prepareMusic({ style, seed: at.seed, samples: at.samples, dir: at.scratch, signal: at.signal });
}

/** The captions muxed as streams: every track's with `soft`, all but the first (burned) with `burn`. */
function softCaptions(
  tracks: readonly DubTrack[],
  voices: readonly SpokenTrack[],
  captions: DubRequest['captions'],
): MuxCaptions[] {
  return tracks.flatMap((track, i) => {
    const files = voices[i]!.captions;
    return files && !(captions === 'burn' && i === 0) ? [{ path: files.srtPath, language: track.language }] : [];
  });
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
