/** Each recipe's media work, from the fetched input to one output file in the scratch dir. */
import { join } from 'node:path';
import { config } from '../config';
import { AUDIO_OUTPUTS, dub, EFFECTS_PRESETS, extractAudio, renderStill, voiceEngine, type LoudnessFacts, type MediaFacts } from '../media';
import type { JobRequest } from './request';

export interface RecipeContext {
  inputPath: string;
  workDir: string;
  /** The job id: what is generated for a job (its music) is the same on every attempt. */
  seed: string;
  onProgress: (percent: number) => void;
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
}

export async function runRecipe(request: JobRequest, ctx: RecipeContext): Promise<RecipeOutput> {
  const targetLufs = EFFECTS_PRESETS[request.effects_preset].targetLufs;
  const maxInputSeconds = config().AIPROD_MAX_INPUT_SECONDS;
  const { signal, onProgress, workDir } = ctx;
  switch (request.recipe) {
    case 'extract_audio': {
      const path = join(workDir, `output.${request.format}`);
      const r = await extractAudio({ inputPath: ctx.inputPath, workDir, outputPath: path, format: request.format, effectsPreset: request.effects_preset, maxInputSeconds, onProgress, signal });
      return { path, extension: request.format, contentType: AUDIO_OUTPUTS[request.format].contentType, facts: r.output, loudness: r.loudness, targetLufs, videoCopied: null };
    }
    case 'dub': {
      const path = join(workDir, 'output.mp4');
      const r = await dub({
        inputPath: ctx.inputPath,
        workDir,
        outputPath: path,
        voiceText: request.voice_text,
        language: request.voice_language,
        leadInSeconds: request.voice_offset_seconds,
        musicStyle: request.music_style,
        effectsPreset: request.effects_preset,
        seed: ctx.seed,
        voice: voiceEngine(),
        maxInputSeconds,
        onProgress,
        signal,
      });
      return { path, extension: 'mp4', contentType: 'video/mp4', facts: r.output, loudness: r.loudness, targetLufs, videoCopied: r.videoCopied };
    }
    case 'still': {
      const picture = join(workDir, 'picture.mp4');
      await renderStill({ imagePath: ctx.inputPath, workDir, outputPath: picture, durationSeconds: request.duration_seconds, resolution: request.resolution, signal });
      onProgress(20);
      const path = join(workDir, 'output.mp4');
      const r = await dub({
        inputPath: picture,
        workDir,
        outputPath: path,
        voiceText: request.voice_text ?? '',
        language: request.voice_language,
        leadInSeconds: request.voice_offset_seconds,
        musicStyle: request.music_style,
        effectsPreset: request.effects_preset,
        seed: ctx.seed,
        voice: voiceEngine(),
        maxInputSeconds,
        onProgress: (p) => onProgress(20 + p * 0.8),
        signal,
      });
      return { path, extension: 'mp4', contentType: 'video/mp4', facts: r.output, loudness: r.loudness, targetLufs, videoCopied: null };
    }
  }
}
