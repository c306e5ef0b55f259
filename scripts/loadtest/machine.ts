/**
 * The machine the figures come from, and how busy it was while they were measured: the stack, its
 * database, its ffmpeg jobs and the client share it, and on a shared machine other work too.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, release, totalmem } from 'node:os';

export interface Machine {
  nproc: number;
  cpu_model: string;
  memory_gib: number;
  os: string;
  node: string;
}

export function machine(): Machine {
  return {
    nproc: availableParallelism(),
    cpu_model: cpuModel(),
    memory_gib: Number((totalmem() / 2 ** 30).toFixed(1)),
    os: `${platform()} ${release()}`,
    node: process.version,
  };
}

/** The model name /proc/cpuinfo gives, where there is one; what Node reads elsewhere. */
function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model.trim() ?? 'unknown';
}

/** Jiffies the whole machine spent busy and in all, from the first line of /proc/stat. */
interface CpuTimes {
  busy: number;
  total: number;
}

export function machineCpuTimes(): CpuTimes | undefined {
  try {
    // user nice system idle iowait irq softirq steal; guest time is already counted in user and nice.
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle and iowait
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Cores the machine kept busy between two readings (0 to nproc); undefined where /proc is not. */
export function busyCores(
  before: CpuTimes | undefined,
  after: CpuTimes | undefined,
  nproc: number,
): number | undefined {
  if (!before || !after || after.total <= before.total) return undefined;
  return Number((((after.busy - before.busy) / (after.total - before.total)) * nproc).toFixed(2));
}
