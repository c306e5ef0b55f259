import { MediaError } from './errors';
import { runFfmpeg } from './run-ffmpeg';

export interface LoudnessFacts {
  integratedLufs: number;
  truePeakDbtp: number;
  /** Loudness range, LU. */
  lra: number;
}

/**
 * The EBU R128 meter as a pass-through filter, for every measurement including the first pass of
 * the normalization: ebur128 measures integrated loudness, range and true peak (4x oversampled) at
 * the stream's own rate. A loudnorm analysis pass would cost several times more (it resamples to
 * 192 kHz) and under-reads clips of a few seconds by up to 1 LU (it misses their last seconds),
 * which a short video's second pass would then carry into the output. The summary is read back
 * from stderr, so runs need `logLevel: 'info'`; per-frame lines go to the verbose level.
 */
export const LOUDNESS_METER = loudnessMeter();

/**
 * The meter, named when one run meters several streams: each then prints its summary under its
 * own name (`[ebur128@<name> @ 0x...] Summary:`), in whatever order the run ends them.
 */
export function loudnessMeter(name?: string): string {
  return `ebur128${name ? `@${name}` : ''}=peak=true:framelog=verbose`;
}
/** The output arguments of a run that meters what it reads and writes nothing. */
export const METER_ARGS = ['-af', LOUDNESS_METER, '-f', 'null', '-'] as const;

/**
 * Loudness of a file's audio stream `audioStream` (the first unless told), as delivered
 * (compressed audio is decoded first; nothing else is).
 */
export async function measureLoudness(path: string, signal?: AbortSignal, audioStream = 0): Promise<LoudnessFacts> {
  const { stderr } = await runFfmpeg(['-i', path, '-map', `0:a:${audioStream}`, ...METER_ARGS], {
    signal,
    logLevel: 'info',
  });
  return parseLoudnessSummary(stderr);
}

/**
 * Reads the meter's closing summary, of the meter named `name` when told (loudnessMeter); silence
 * reads as -70 LUFS and a true peak of -Infinity.
 */
export function parseLoudnessSummary(stderr: string, name?: string): LoudnessFacts {
  const summary = name ? namedSummary(stderr, name) : stderr.slice(stderr.lastIndexOf('Summary:'));
  const value = (pattern: RegExp): number => {
    const text = pattern.exec(summary)?.[1];
    if (text === undefined) {
      throw new MediaError('ffmpeg_failed', 'the loudness meter printed no summary', stderr.slice(-4096));
    }
    return text === '-inf' ? -Infinity : Number(text);
  };
  return {
    integratedLufs: value(/Integrated loudness:\s+I:\s+(-?[\d.]+|-inf) LUFS/),
    lra: value(/LRA:\s+(-?[\d.]+) LU/),
    truePeakDbtp: value(/True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS/),
  };
}

/** The named meter's report: from its own prefix up to the next log line's. */
function namedSummary(stderr: string, name: string): string {
  const from = stderr.lastIndexOf(`[ebur128@${name} @ `);
  if (from < 0) return '';
  const next = stderr.indexOf('\n[', from);
  return stderr.slice(from, next < 0 ? undefined : next);
}

export interface LoudnessTarget {
  lufs: number;
  truePeakDbtp: number;
  lra: number;
}

/**
 * Whether one constant gain reaches the target: it must not lift the true peak over the target's
 * ceiling (loudnorm's own test for its linear mode, af_loudnorm.c).
 */
function fitsLinearGain(measured: LoudnessFacts, target: LoudnessTarget): boolean {
  return (
    measured.integratedLufs > -70 &&
    measured.truePeakDbtp + target.lufs - measured.integratedLufs <= target.truePeakDbtp
  );
}

/** The most limiter rounds a sound gets: each takes a little loudness with the peaks, the first most. */
const MAX_LIMITER_ROUNDS = 3;

/**
 * One round of limiting for a sound too peaky for one gain: the gain that would reach the target,
 * through a limiter set under the ceiling. Sample peaks under it leave room for the peaks between
 * samples (true peak) to stay under the target's.
 */
function limiterRound(measured: LoudnessFacts, target: LoudnessTarget): string {
  const ceiling = 10 ** ((target.truePeakDbtp - 1) / 20);
  const gain = (target.lufs - measured.integratedLufs).toFixed(2);
  return `volume=${gain}dB,alimiter=limit=${ceiling}:attack=5:release=50:level=0:latency=1`;
}

/**
 * For a sound made by a graph that can be run again at will (the same inputs give the same
 * samples): the filters to append to it so that one constant gain then reaches the target. None
 * when the first measurement already fits; otherwise limiter rounds, each measured by running the
 * graph again through the rounds so far (`measure`), until the figures fit. Returns the filters
 * and the figures of the sound through them, for linearNormalization().
 */
export async function limitInGraph(
  first: LoudnessFacts,
  target: LoudnessTarget,
  measure: (filters: readonly string[]) => Promise<LoudnessFacts>,
): Promise<{ filters: string[]; measured: LoudnessFacts }> {
  const filters: string[] = [];
  let measured = first;
  while (filters.length < MAX_LIMITER_ROUNDS && !fitsLinearGain(measured, target)) {
    filters.push(limiterRound(measured, target));
    measured = await measure(filters);
  }
  return { filters, measured };
}

/**
 * The second pass of the normalization: the one constant gain that takes the measured sound to
 * the target, exactly. The limiting before it (limitInGraph) is what keeps the
 * true peak under the ceiling, so nothing needs riding the level, nor loudnorm (whose linear mode
 * applies the same gain after resampling to 192 kHz, at several times the cost).
 */
export function linearNormalization(measured: LoudnessFacts, target: LoudnessTarget): string {
  return `volume=${(target.lufs - measured.integratedLufs).toFixed(2)}dB`;
}
