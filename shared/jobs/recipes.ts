/** Each recipe's media work, from the fetched input to one output file in the scratch dir. */
import { join } from 'node:path';
import { config } from '../config';
import {
  AUDIO_OUTPUTS,
  configuredMusicLibrary,
  dub,
  EFFECTS_PRESETS,
  extractAudio,
  renderStill,
  voiceEngine,
  type AudioFacts,
  type DubRequest,
  type DubResult,
  type DubTrack,
  type LoudnessFacts,
  type MediaFacts,
  type MediaStage,
  type TrackCaptions,
} from '../media';
import { objectStore } from '../platform';
import { spokenTracks, type DubJobRequest, type JobRequest, type StillJobRequest } from './request';

export interface RecipeContext {
  inputPath: string;
  workDir: string;
  /** The job id: what is chosen or generated for a job (its music) is the same on every attempt. */
  seed: string;
  onProgress: (percent: number) => void;
  /** The media work's stages as they start; a still's picture is rendered before any (while the input is prepared). */
  onStage: (stage: MediaStage) => void;
  signal: AbortSignal;
}

export interface RecipeOutput {
  path: string;
  extension: string;
  contentType: string;
  facts: MediaFacts;
  loudness: LoudnessFacts;
  targetLufs: number;
  /** Whether the input's video stream was copied untouched; null when the output has no video. */
  videoCopied: boolean | null;
  /** A video's audio tracks in stream order, each measured on its own; absent for an audio output. */
  tracks?: RecipeTrack[];
}

export interface RecipeTrack {
  language: string;
  audio: AudioFacts;
  loudness: LoudnessFacts;
  /** Sidecar files in the work dir, when captions were asked for and the track speaks. */
  captions: (TrackCaptions & { burned: boolean }) | null;
}

/** The sound of a dub or a still: voice (if any), music from the library or generated, preset. */
function soundOf(
  request: DubJobRequest | StillJobRequest,
  ctx: RecipeContext,
): Omit<DubRequest, 'inputPath' | 'outputPath' | 'onProgress'> {
  return {
    workDir: ctx.workDir,
    tracks: dubTracks(request),
    ...(request.captions || request.burn_captions ? { captions: request.burn_captions ? 'burn' : 'soft' } : {}),
    leadInSeconds: request.voice_offset_seconds,
    musicStyle: request.music_style,
    // Absent from jobs stored before the field existed: replaced, as then.
    originalAudio: request.recipe === 'dub' ? request.original_audio : 'replace',
    effectsPreset: request.effects_preset,
    seed: ctx.seed,
    voice: voiceEngine(),
    musicLibrary: configuredMusicLibrary(objectStore()),
    maxInputSeconds: config().AIPROD_MAX_INPUT_SECONDS,
    onStage: ctx.onStage,
    signal: ctx.signal,
  };
}

/** The request's voice tracks as the engine takes them; one silent track (music alone) for a still without a voice. */
function dubTracks(request: DubJobRequest | StillJobRequest): DubTrack[] {
  const voiceRate = request.recipe === 'dub' ? request.voice_rate : undefined;
  const spoken = spokenTracks(request).map((t): DubTrack => ({
    language: t.language,
    voiceText: t.text ?? '',
    ...(t.script ? { script: t.script } : {}),
    ...(t.voiceId === undefined ? {} : { voiceId: t.voiceId }),
    ...(voiceRate === undefined ? {} : { voiceRate }),
  }));
  return spoken.length ? spoken : [{ language: request.voice_language, voiceText: '' }];
}

/** A video dub's tracks, facts from the delivered file, captions where they were made. */
function tracksOf(r: DubResult, burned: boolean): RecipeTrack[] {
  return r.tracks.map((t, i) => ({
    language: t.language,
    audio: r.output.audioStreams[i]!,
    loudness: t.loudness,
    captions: t.captions && { ...t.captions, burned: burned && i === 0 },
  }));
}

export async function runRecipe(request: JobRequest, ctx: RecipeContext): Promise<RecipeOutput> {
  const targetLufs = EFFECTS_PRESETS[request.effects_preset].targetLufs;
  const { signal, onProgress, workDir } = ctx;
  switch (request.recipe) {
    case 'extract_audio': {
      const path = join(workDir, `output.${request.format}`);
      const r = await extractAudio({
        inputPath: ctx.inputPath,

        outputPath: path,
        format: request.format,
        effectsPreset: request.effects_preset,
        maxInputSeconds: config().AIPROD_MAX_INPUT_SECONDS,
        onProgress,
        onStage: ctx.onStage,
        signal,
      });
      return {
        path,
        extension: request.format,
        contentType: AUDIO_OUTPUTS[request.format].contentType,
        facts: r.output,
        loudness: r.loudness,
        targetLufs,
        videoCopied: null,
      };
    }
    case 'dub': {
      const path = join(workDir, 'output.mp4');
      const r = await dub({ ...soundOf(request, ctx), inputPath: ctx.inputPath, outputPath: path, onProgress });
      return {
        path,
        extension: 'mp4',
        contentType: 'video/mp4',
        facts: r.output,
        loudness: r.tracks[0]!.loudness,
        targetLufs,
        videoCopied: r.videoCopied,
        tracks: tracksOf(r, !!request.burn_captions),
      };
    }
    case 'still': {
      const picture = join(workDir, 'picture.mp4');
      await renderStill({
        imagePath: ctx.inputPath,
        workDir,
        outputPath: picture,
        durationSeconds: request.duration_seconds,
        resolution: request.resolution,
        signal,
      });
      onProgress(20);
      const path = join(workDir, 'output.mp4');
      const r = await dub({
        ...soundOf(request, ctx),
        inputPath: picture,
        outputPath: path,
        onProgress: (p) => onProgress(20 + p * 0.8),
      });
      return {
        path,
        extension: 'mp4',
        contentType: 'video/mp4',
        facts: r.output,
        loudness: r.tracks[0]!.loudness,
        targetLufs,
        videoCopied: null,
        tracks: tracksOf(r, !!request.burn_captions),
      };
    }
  }
}
