import { cpuSeconds } from '../../scripts/bench/children';
import { busyCores, machineCpuTimes } from '../../scripts/loadtest/machine';
import { cpus } from 'node:os';

/** Burns `ms` of this process's CPU time (not wall time: a busy machine only stretches it). */
function spin(ms: number): void {
  const start = process.cpuUsage();
  while (true) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

test('the CPU readings of the benchmarks count the work done between two readings', () => {
  const machineBefore = machineCpuTimes();
  const ownBefore = cpuSeconds(process.pid);
  spin(300);
  const machineAfter = machineCpuTimes();
  const ownAfter = cpuSeconds(process.pid);
  // /proc counts in ticks of 10 ms: the 300 ms show as at least 0.2 s however the ticks fall.
  expect(ownAfter! - ownBefore!).toBeGreaterThanOrEqual(0.2);
  // The machine was busy at least as long as this process was: 0.2 s of the time that passed, and
  // spread over the cores, at least that share of one core.
  expect(machineAfter!.busy - machineBefore!.busy).toBeGreaterThanOrEqual(20);
  const cores = busyCores(machineBefore, machineAfter, cpus().length)!;
  expect(cores).toBeGreaterThan(0);
  expect(cores).toBeLessThanOrEqual(cpus().length);
});
