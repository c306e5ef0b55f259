import { MediaError } from './errors';
import { runFfmpeg } from './run-ffmpeg';

export interface LoudnessFacts {
  integratedLufs: number;
  truePeakDbtp: number;
  /** Loudness range, LU. */
  lra: number;
}

/** What the second, linear pass of loudnorm needs to know about the first. */
export interface LoudnessMeasurement extends LoudnessFacts {
  /** The relative gate of the integrated measurement (integrated - 10 LU, or -70 for silence). */
  thresholdLufs: number;
}

/**
 * The EBU R128 meter as a pass-through filter, for every measurement including the first pass of
 * the normalization: ebur128 measures integrated loudness, range and true peak (4x oversampled) at
 * the stream's own rate. A loudnorm analysis pass would cost several times more (it resamples to
 * 192 kHz) and under-reads clips of a few seconds by up to 1 LU (it misses their last seconds),
 * which a short video's second pass would then carry into the output. The summary is read back
 * from stderr, so runs need `logLevel: 'info'`; per-frame lines go to the verbose level.
 */
export const LOUDNESS_METER = 'ebur128=peak=true:framelog=verbose';

/** Loudness of a file's first audio stream, as delivered (compressed audio is decoded first). */
export async function measureLoudness(path: string, signal?: AbortSignal): Promise<LoudnessFacts> {
  const { integratedLufs, truePeakDbtp, lra } = await measureForNormalization(path, signal);
  return { integratedLufs, truePeakDbtp, lra };
}

/** measureLoudness() with the gate threshold that a normalization pass needs too. */
export async function measureForNormalization(path: string, signal?: AbortSignal): Promise<LoudnessMeasurement> {
  const { stderr } = await runFfmpeg(['-i', path, '-map', '0:a:0', '-af', LOUDNESS_METER, '-f', 'null', '-'], {
    signal,
    logLevel: 'info',
  });
  return parseLoudnessSummary(stderr);
}

/** Reads the meter's closing summary; silence reads as -70 LUFS and a true peak of -Infinity. */
export function parseLoudnessSummary(stderr: string): LoudnessMeasurement {
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const value = (pattern: RegExp): number => {
    const text = pattern.exec(summary)?.[1];
    if (text === undefined) {
      throw new MediaError('ffmpeg_failed', 'the loudness meter printed no summary', stderr.slice(-4096));
    }
    return text === '-inf' ? -Infinity : Number(text);
  };
  return {
    integratedLufs: value(/Integrated loudness:\s+I:\s+(-?[\d.]+|-inf) LUFS/),
    thresholdLufs: value(/Integrated loudness:\s+I:[^\n]*\n\s+Threshold:\s+(-?[\d.]+|-inf) LUFS/),
    lra: value(/LRA:\s+(-?[\d.]+) LU/),
    truePeakDbtp: value(/True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS/),
  };
}

export interface LoudnessTarget {
  lufs: number;
  truePeakDbtp: number;
  lra: number;
}

/**
 * loudnorm's own test (af_loudnorm.c) for applying one constant gain: the gain must not lift the
 * true peak over the target's ceiling.
 */
function fitsLinearGain(measured: LoudnessMeasurement, target: LoudnessTarget): boolean {
  return (
    measured.integratedLufs > -70 &&
    measured.truePeakDbtp + target.lufs - measured.integratedLufs <= target.truePeakDbtp
  );
}

/**
 * For a mix whose peaks stand too far above its loudness for one gain to reach the target: applies
 * the gain through a limiter set under the ceiling and measures again, until the figures fit (the
 * limiter takes a little loudness with the peaks, so a second round can be needed). Returns the
 * file to normalize and its figures; the original when it already fits.
 */
export async function limitForLinearGain(options: {
  path: string;
  measured: LoudnessMeasurement;
  target: LoudnessTarget;
  scratchPath: (round: number) => string;
  signal?: AbortSignal;
}): Promise<{ path: string; measured: LoudnessMeasurement }> {
  let { path, measured } = options;
  const { target } = options;
  // Sample peaks under this leave room for the peaks between samples (true peak) to stay under target.
  const ceiling = 10 ** ((target.truePeakDbtp - 1) / 20);
  for (let round = 1; round <= 3 && !fitsLinearGain(measured, target); round++) {
    const out = options.scratchPath(round);
    const gain = (target.lufs - measured.integratedLufs).toFixed(2);
    const { stderr } = await runFfmpeg(
      [
        '-i',
        path,
        '-af',
        `volume=${gain}dB,alimiter=limit=${ceiling}:attack=5:release=50:level=0:latency=1,${LOUDNESS_METER}`,
        '-c:a',
        'pcm_s16le',
        '-y',
        out,
      ],
      { signal: options.signal, logLevel: 'info' },
    );
    path = out;
    measured = parseLoudnessSummary(stderr);
  }
  return { path, measured };
}

/**
 * loudnorm's second pass, fed the first pass's figures: with them it applies one constant gain
 * (linear mode) instead of riding the level. It does so only when that gain keeps the true peak
 * under target and the range within `LRA`, so the range target is opened up to the measured one:
 * the presets shape dynamics in their own chains, not here.
 */
export function linearNormalization(measured: LoudnessMeasurement, target: LoudnessTarget): string {
  const options = {
    I: target.lufs,
    TP: target.truePeakDbtp,
    LRA: Math.min(50, Math.max(target.lra, Math.ceil(measured.lra))),
    measured_I: measured.integratedLufs,
    measured_TP: measured.truePeakDbtp,
    // loudnorm reads a range of exactly 0 as "not measured" and refuses the linear mode.
    measured_LRA: Math.max(0.1, measured.lra),
    measured_thresh: measured.thresholdLufs,
    linear: 'true',
  };
  return `loudnorm=${Object.entries(options)
    .map(([key, value]) => `${key}=${value}`)
    .join(':')}`;
}
