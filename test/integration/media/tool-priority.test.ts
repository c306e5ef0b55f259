/**
 * The media tools run below the priority of the process that starts them, so that a job's
 * heartbeat, and locally the HTTP functions beside the workers, are not kept waiting for a core.
 */
import { execFileSync } from 'node:child_process';
import { getPriority } from 'node:os';
import { runFfmpeg } from '../../../shared/media/run-ffmpeg';

/** The nice value of every thread of this process's ffmpeg children, as `ps` sees them. */
function ffmpegThreadNiceness(): number[] {
  const ps = (args: string[]): string[][] =>
    execFileSync('ps', args, { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.trim().split(/\s+/));
  const pids = ps(['-o', 'pid=,comm=', '--ppid', String(process.pid)])
    .filter(([, command]) => command?.startsWith('ffmpeg'))
    .map(([pid]) => pid!);
  return pids.length ? ps(['-L', '-o', 'ni=', '-p', pids.join(',')]).map(([nice]) => Number(nice)) : [];
}

test('ffmpeg runs ten nice levels below its parent, every thread of it, and still does its work', async () => {
  const seen: number[] = [];
  // A picture encoded in real time: libx264 works on threads of its own for the whole run.
  const run = runFfmpeg([
    '-re',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=25:d=1.5',
    '-c:v',
    'libx264',
    '-f',
    'null',
    '-',
  ]);
  const watching = setInterval(() => seen.push(...ffmpegThreadNiceness()), 200);
  try {
    await run;
  } finally {
    clearInterval(watching);
  }
  expect(seen.length).toBeGreaterThan(1);
  expect(new Set(seen)).toEqual(new Set([Math.min(19, getPriority() + 10)]));
});
