import { rm } from 'node:fs/promises';
import { ENCODER_INPUT, SAMPLE_RATE } from './audio-format';
import { MediaError } from './errors';
import {
  limitInGraph,
  linearNormalization,
  LOUDNESS_METER,
  measureLoudness,
  parseLoudnessSummary,
  type LoudnessFacts,
} from './loudness';
import { ENCODER_PEAK_MARGIN_DB } from './mux';
import { EFFECTS_PRESETS, isEffectsPreset } from './presets';
import { inspect, type MediaFacts } from './probe';
import { progressTracker, type MediaStage } from './progress';
import { runFfmpeg } from './run-ffmpeg';
import { AUDIO_OUTPUTS, type AudioFormat } from './audio-outputs';

export interface ExtractAudioRequest {
  inputPath: string;
  outputPath: string;
  format: AudioFormat;
  /** The preset whose loudness target and true-peak ceiling the audio is normalized to. */
  effectsPreset: string;
  maxInputSeconds: number;
  onProgress?: (percent: number) => void;
  /** Told as each stage starts: mixing (decoding, measuring, levelling), then encoding. */
  onStage?: (stage: MediaStage) => void;
  signal?: AbortSignal;
}

export interface ExtractAudioResult {
  output: MediaFacts;
  loudness: LoudnessFacts;
}

/**
 * A video's sound alone, loudness-normalized in two passes to the preset's target: decode and
 * measure in one run that writes nothing, limit only when one gain cannot reach the target under
 * the ceiling (each round measured by decoding again), then decode once more and apply that gain
 * while encoding to the chosen format. Nothing but the output is written: a decoded hour would be
 * 1.4 GB of float samples in scratch space, which on Cloud Run is memory, where decoding again
 * costs seconds.
 */
export async function extractAudio(req: ExtractAudioRequest): Promise<ExtractAudioResult> {
  if (!isEffectsPreset(req.effectsPreset)) throw new RangeError(`unknown effects preset "${req.effectsPreset}"`);
  const preset = EFFECTS_PRESETS[req.effectsPreset];
  const out = AUDIO_OUTPUTS[req.format];
  const { signal } = req;

  const input = await inspect(req.inputPath, signal);
  if (!input.audio) throw new MediaError('no_audio', 'the file has no sound to extract');
  if (!input.durationSeconds)
    throw new MediaError('corrupt_media', 'the file states no duration: it is damaged or not a finished recording');
  if (input.durationSeconds > req.maxInputSeconds) {
    throw new MediaError(
      'input_too_long',
      `the input lasts ${Math.round(input.durationSeconds)} s; the limit is ${req.maxInputSeconds} s`,
    );
  }
  const progress = progressTracker(req.onProgress, { decode: 45, encode: 45, verify: 10 });
  const target = {
    lufs: preset.targetLufs,
    truePeakDbtp: preset.truePeakDbtp - (out.lossy ? ENCODER_PEAK_MARGIN_DB : 0),
    lra: preset.lra,
  };

  let outputWritten = false;
  try {
    req.onStage?.('mixing');
    const decoded = (filters: readonly string[]): string[] => [
      '-i',
      req.inputPath,
      '-map',
      '0:a:0',
      '-vn',
      '-af',
      [`aresample=${SAMPLE_RATE}`, 'aformat=channel_layouts=stereo', ...filters].join(','),
    ];
    const measure = async (filters: readonly string[], onProgress?: (at: number) => void) =>
      parseLoudnessSummary(
        (
          await runFfmpeg([...decoded([...filters, LOUDNESS_METER]), '-f', 'null', '-'], {
            signal,
            logLevel: 'info',
            ...(onProgress ? { onProgress } : {}),
          })
        ).stderr,
      );
    const measured = await measure([], (at) => progress.update('decode', at / input.durationSeconds));
    if (measured.integratedLufs <= -70)
      throw new MediaError('silent_audio', 'the sound is digital silence: there is nothing to normalize');

    const limited = await limitInGraph(measured, target, (filters) => measure(filters));
    outputWritten = true;
    req.onStage?.('encoding');
    await runFfmpeg(
      [
        ...decoded([
          ...limited.filters,
          linearNormalization(limited.measured, target),
          `aresample=${SAMPLE_RATE}`,
          ENCODER_INPUT,
        ]),
        '-ar',
        String(SAMPLE_RATE),
        ...out.args,
        '-y',
        req.outputPath,
      ],
      { signal, onProgress: (at) => progress.update('encode', at / input.durationSeconds) },
    );
    const [output, loudness] = await Promise.all([
      inspect(req.outputPath, signal),
      measureLoudness(req.outputPath, signal),
    ]);
    progress.finish();
    return { output, loudness };
  } catch (err) {
    if (outputWritten) await rm(req.outputPath, { force: true });
    throw err;
  }
}
