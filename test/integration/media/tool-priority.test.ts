/**
 * The media tools run below the priority of the process that starts them, so that a job's
 * heartbeat, and locally the HTTP functions beside the workers, are not kept waiting for a core.
 */
import { execFileSync } from 'node:child_process';
import { getPriority } from 'node:os';
import { runFfmpeg } from '../../../shared/media/run-ffmpeg';

/** This process's children as `ps` sees them: pid, nice value, command name. */
function children(): { pid: number; nice: number; command: string }[] {
  const out = execFileSync('ps', ['-o', 'pid=,ni=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pid, nice, command] = line.trim().split(/\s+/);
      return { pid: Number(pid), nice: Number(nice), command: command ?? '' };
    });
}

test('ffmpeg runs ten nice levels below its parent, and still does its work', async () => {
  const seen: number[] = [];
  const run = runFfmpeg(['-re', '-f', 'lavfi', '-i', 'sine=f=440:d=1.5', '-f', 'null', '-']);
  const watching = setInterval(() => {
    for (const child of children()) if (child.command.startsWith('ffmpeg')) seen.push(child.nice);
  }, 200);
  try {
    await run;
  } finally {
    clearInterval(watching);
  }
  expect(seen.length).toBeGreaterThan(0);
  expect(new Set(seen)).toEqual(new Set([Math.min(19, getPriority() + 10)]));
});
