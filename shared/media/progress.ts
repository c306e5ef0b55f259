/**
 * What the media work is doing, told to the caller (`onStage`) as each starts, beside the
 * percentages: the voice spoken and processed; the music bed fetched from the library and fitted
 * (generated music is made inside the mix, so it has no stage of its own); the mix and its
 * loudness work (for extract_audio, measuring and levelling the sound); encoding the delivered file.
 */
export type MediaStage = 'voice' | 'music' | 'mixing' | 'encoding';

/** No more than one report per this many milliseconds, the last (100) excepted. */
const MIN_INTERVAL_MS = 500;

/**
 * Maps each stage's own 0..1 progress onto one 0..100 scale, weighted by how long the stage
 * usually takes, and reports whole percentages: only rising, at most every MIN_INTERVAL_MS.
 */
export function progressTracker<Stage extends string>(
  onProgress: ((percent: number) => void) | undefined,
  weights: Readonly<Record<Stage, number>>,
): { update(stage: Stage, fraction: number): void; finish(): void } {
  const stages = Object.keys(weights) as Stage[];
  const total = stages.reduce((sum, stage) => sum + weights[stage], 0);
  const offsets = new Map<Stage, number>();
  let offset = 0;
  for (const stage of stages) {
    offsets.set(stage, offset);
    offset += weights[stage];
  }
  let reported = -1;
  let reportedAt = 0;

  const report = (percent: number, force: boolean): void => {
    if (!onProgress || percent <= reported) return;
    const now = Date.now();
    if (!force && now - reportedAt < MIN_INTERVAL_MS) return;
    reported = percent;
    reportedAt = now;
    onProgress(percent);
  };

  return {
    update(stage, fraction) {
      const within = Math.min(1, Math.max(0, fraction));
      const done = ((offsets.get(stage) ?? 0) + weights[stage] * within) / total;
      // 100 belongs to finish(): a stage at its end is not the job at its end.
      report(Math.min(99, Math.floor(done * 100)), false);
    },
    finish() {
      report(100, true);
    },
  };
}
