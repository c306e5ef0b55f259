import { cpuSeconds, machineBusySeconds } from '../../scripts/bench/children';

/** Burns `ms` of this process's CPU time (not wall time: a busy machine only stretches it). */
function spin(ms: number): void {
  const start = process.cpuUsage();
  while (true) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

test('the CPU readings of bench:submit count the work done between two readings', () => {
  const machineBefore = machineBusySeconds();
  const ownBefore = cpuSeconds(process.pid);
  spin(300);
  const machineAfter = machineBusySeconds();
  const ownAfter = cpuSeconds(process.pid);
  // /proc counts in ticks of 10 ms: the 300 ms show as at least 0.2 s however the ticks fall.
  expect(ownAfter! - ownBefore!).toBeGreaterThanOrEqual(0.2);
  // The machine was busy at least as long as this process was.
  expect(machineAfter! - machineBefore!).toBeGreaterThanOrEqual(0.2);
});
