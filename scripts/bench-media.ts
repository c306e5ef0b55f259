/**
 * `npm run bench:media [-- --runs N] [-- --minutes 1,10,60]`: how fast the media engine dubs a
 * video, against what it should cost and against what it saves, and how its time, memory and
 * scratch space grow with the input's length.
 *
 * Comparison. The input is a 60 s 1920x1080 30 fps H.264 clip at about 10 Mbit/s with AAC stereo
 * sound (a test pattern with a little grain, so it does not compress unrealistically well), made
 * once and kept in `.aiprod/bench/`. Each variant then runs N times (3 unless --runs says
 * otherwise), taking turns (a, b, b', c, a, b, b', c, ...) so that a slow spell on the machine hits
 * all alike, after one untimed round of (a) and (b) that brings the clip into the page cache. All
 * make the same audio from the same script, style (orchestral), seed and preset (standard):
 *
 * (a) engine: `dub()` as a job runs it, everything included: probing the input, speaking the text,
 *     processing the voice, preparing the music, measuring the mix, the mux with the picture
 *     copied and the delivered sound metered.
 * (b) one command: the single ffmpeg run an expert would write for the same result, the floor for
 *     (a). The voice is spoken inside it (flite as a lavfi source), the music is the engine's own
 *     score rendered in the same graph, then the preset's voice and music chains, the same levels
 *     (the voice gains are constants dialled in once for flite's voice, outside the timing, as a
 *     hand-written command would have them), sidechain ducking, a single-pass loudnorm (one
 *     command cannot run two passes), AAC 192k at 48 kHz as a command asks for it (the default
 *     coder, fed float samples), the picture copied, faststart.
 * (b') the command of (b) with the engine's AAC settings (audio-format.ts: the fast coder, fed
 *     16-bit samples), which halve the encoder's time: how much of a/b is the encoder alone.
 * (c) naive: the command of (b) with the picture decoded and re-encoded by libx264 at its default
 *     settings (preset medium, CRF 23), as a pipeline that treats the video like any other stream
 *     does. The audio work is the same as in (b), so c/a is what copying the picture saves.
 *
 * Scaling. (a) once on inputs of each length in --minutes (1, 10 and 60 unless told): 1280x720
 * 30 fps H.264 at 2.5 Mbit/s with AAC sound, a one-minute clip repeated by stream copy (so making
 * an hour of input costs a minute of encoding), kept in `.aiprod/bench/`. Measured per run: wall
 * time, real-time factor, peak resident memory of this process and its ffmpeg children together
 * (summed from /proc, every 100 ms), and peak scratch space: the job's work directory, which holds
 * the output too, as a job's does.
 *
 * Printed: min and median seconds per variant, a/b and c/a from the medians, the real-time factors,
 * each against its goal, the loudness of each output as the EBU R128 meter reads it, the machine.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AAC_ENCODER, ENCODER_INPUT, SAMPLE_RATE } from '../shared/media/audio-format';
import { DEFAULT_LEAD_IN_SECONDS, dub, type DubResult } from '../shared/media/dub';
import { ffmpegPath } from '../shared/media/binaries';
import { measureLoudness, type LoudnessFacts } from '../shared/media/loudness';
import { processVoice } from '../shared/media/mix';
import { musicFades } from '../shared/media/music/fades';
import { scoreOf } from '../shared/media/music/generate';
import { renderScore } from '../shared/media/music/render';
import { MUSIC_REFERENCE_LUFS, STYLES } from '../shared/media/music/styles';
import { ENCODER_PEAK_MARGIN_DB } from '../shared/media/mux';
import { EFFECTS_PRESETS } from '../shared/media/presets';
import { pictureSeconds, probe } from '../shared/media/probe';
import { runFfmpeg } from '../shared/media/run-ffmpeg';
import { localVoiceEngine } from '../shared/media/voice/local';

const CLIP_SECONDS = 60;
const STYLE = 'orchestral';
const PRESET = EFFECTS_PRESETS.standard;
const SEED = 'bench-job-0001';
const TEXT =
  'Welcome to the harbour at first light. The boats go out before the town is awake, and come back ' +
  'with the tide. Every crate on this quay has a story: who caught it, where it goes, and how fast. ' +
  'Today we follow one of them, from the water to your table, in less than a day.';
/** Levels the engine stages the voice to (mix.ts): into the preset's chain, then into the mix. */
const VOICE_CHAIN_INPUT_LUFS = -20;
const VOICE_MIX_LUFS = -16;
/** The goals: (a) within this share of (b), and these real-time factors. */
const GOALS = { aOverB: 0.6, clipSpeed: 20, tenMinuteSpeed: 30, loudnessLu: 0.5 };
/** How often the scaling runs sample memory and scratch space. */
const SAMPLE_MS = 100;

const VARIANTS = ['a', 'b', "b'", 'c'] as const;
type Variant = (typeof VARIANTS)[number];
const NAMES: Record<Variant, string> = {
  a: 'engine: dub(), picture copied',
  b: 'one ffmpeg command, picture copied',
  "b'": "the same, with the engine's AAC settings",
  c: 'naive: picture re-encoded (libx264 medium)',
};
/** The AAC encoder as a hand-written command asks for it: the default coder, fed the graph's float samples. */
const HAND_WRITTEN_AAC = ['-c:a', 'aac', '-b:a', '192k'];

interface ScalingRun {
  minutes: number;
  seconds: number;
  wallSeconds: number;
  peakRssBytes: number;
  peakScratchBytes: number;
  outputBytes: number;
  loudness: LoudnessFacts;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runs = runsFromArgs(args);
  const lengths = minutesFromArgs(args);
  const clip = await benchClip();
  const input = await probe(clip);
  const seconds = pictureSeconds(input);
  const work = await mkdtemp(join(tmpdir(), 'aiprod-bench-'));
  try {
    const oneCommand = await oneCommandArgs(work, Math.round(seconds * SAMPLE_RATE));
    const outputs = Object.fromEntries(
      VARIANTS.map((v) => [v, join(work, `${v.replace("'", '-prime')}.mp4`)]),
    ) as Record<Variant, string>;
    const variants: Record<Variant, () => Promise<void>> = {
      a: async () => {
        const workDir = await mkdtemp(join(work, 'job-'));
        await dubAsJob(clip, workDir, outputs.a);
        await rm(workDir, { recursive: true, force: true });
      },
      b: async () => {
        await runFfmpeg([...oneCommand.head(clip), '-c:v', 'copy', ...oneCommand.tail(outputs.b)], { cwd: work });
      },
      "b'": async () => {
        await runFfmpeg(
          [...oneCommand.head(clip, 'engine'), '-c:v', 'copy', ...oneCommand.tail(outputs["b'"], 'engine')],
          {
            cwd: work,
          },
        );
      },
      c: async () => {
        await runFfmpeg([...oneCommand.head(clip), '-c:v', 'libx264', ...oneCommand.tail(outputs.c)], { cwd: work });
      },
    };

    log('warming up (untimed): a, b');
    await variants.a();
    await variants.b();
    const times = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
    for (let run = 1; run <= runs; run++) {
      for (const variant of VARIANTS) {
        const started = performance.now();
        await variants[variant]();
        times[variant].push((performance.now() - started) / 1000);
        log(`run ${run}/${runs} ${variant}: ${times[variant].at(-1)?.toFixed(2)} s`);
      }
    }
    const loudness = {} as Record<Variant, LoudnessFacts>;
    for (const v of VARIANTS) loudness[v] = await measureLoudness(outputs[v]);

    const scaling: ScalingRun[] = [];
    for (const minutes of lengths) scaling.push(await scalingRun(minutes, work));
    report({ runs, seconds, times, loudness, scaling });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The dub of (a) and of the scaling runs: what a job with this script, style and preset runs. */
function dubAsJob(inputPath: string, workDir: string, outputPath: string): Promise<DubResult> {
  return dub({
    inputPath,
    workDir,
    outputPath,
    tracks: [{ language: 'en', voiceText: TEXT }],
    musicStyle: STYLE,
    effectsPreset: 'standard',
    seed: SEED,
    maxInputSeconds: 4 * 3600,
  });
}

/** One dub of a `minutes`-long input, its memory and scratch space sampled as it runs. */
async function scalingRun(minutes: number, work: string): Promise<ScalingRun> {
  const input = await scalingClip(minutes);
  const seconds = pictureSeconds(await probe(input));
  const workDir = await mkdtemp(join(work, `scaling-${minutes}-`));
  const outputPath = join(workDir, 'output.mp4');
  log(`scaling: ${minutes} min...`);
  const peaks = { rss: 0, scratch: 0 };
  const sample = (): void => {
    peaks.rss = Math.max(peaks.rss, treeRssBytes(process.pid));
    peaks.scratch = Math.max(peaks.scratch, directoryBytes(workDir));
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  const started = performance.now();
  try {
    const result = await dubAsJob(input, workDir, outputPath);
    const wallSeconds = (performance.now() - started) / 1000;
    sample();
    log(`scaling: ${minutes} min in ${wallSeconds.toFixed(1)} s`);
    const loudness = result.tracks[0]?.loudness;
    if (!loudness) throw new Error('the dub reported no track');
    return {
      minutes,
      seconds,
      wallSeconds,
      peakRssBytes: peaks.rss,
      peakScratchBytes: peaks.scratch,
      outputBytes: result.output.sizeBytes,
      loudness,
    };
  } finally {
    clearInterval(sampler);
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Resident memory of a process and all its descendants, from /proc (Linux). */
function treeRssBytes(root: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOrNull(`/proc/${entry}/stat`);
    // The command name, in parentheses, may hold spaces: the fields after it are fixed.
    const parent = Number(stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isFinite(parent)) children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  let total = 0;
  const pending = [root];
  while (pending.length) {
    const pid = pending.pop()!;
    const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(readOrNull(`/proc/${pid}/status`) ?? '')?.[1] ?? 0);
    total += rssKb * 1024;
    pending.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Bytes of the files under `dir`, however deep; files that vanish meanwhile count as nothing. */
function directoryBytes(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const path = join(dir, name);
    try {
      const stat = statSync(path);
      total += stat.isDirectory() ? directoryBytes(path) : stat.size;
    } catch {
      // Deleted between the listing and the stat.
    }
  }
  return total;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** How the single command encodes its sound: as written by hand, or with the engine's settings. */
type CommandAac = 'hand' | 'engine';

/**
 * The single command of (b), (b') and (c), split around the video codec. The voice's two gains are
 * the engine's staging for flite's voice, worked out here once, before any timing.
 */
async function oneCommandArgs(
  work: string,
  samples: number,
): Promise<{
  head: (clip: string, aac?: CommandAac) => string[];
  tail: (output: string, aac?: CommandAac) => string[];
}> {
  const raw = join(work, 'calibrate-voice.wav');
  await localVoiceEngine().synthesize(TEXT, 'en', raw);
  const rawLufs = (await measureLoudness(raw)).integratedLufs;
  const processed = await processVoice({
    rawPath: raw,
    rawLufs,
    outPath: join(work, 'calibrate-processed.flac'),
    preset: PRESET,
  });
  const voiceGain = VOICE_MIX_LUFS - (processed.integratedLufs + 10 * Math.log10(2));
  const bedGain = VOICE_MIX_LUFS + PRESET.musicBedDb - MUSIC_REFERENCE_LUFS;
  const { threshold, ratio, attackMs, releaseMs } = PRESET.duck;
  const leadIn = Math.round(DEFAULT_LEAD_IN_SECONDS * SAMPLE_RATE);
  const spec = STYLES[STYLE];
  const score = renderScore(scoreOf(STYLE, SEED), {
    sampleRate: SAMPLE_RATE,
    samples,
    gainDb: spec.gainDb,
    label: 'score',
    ...(spec.reverb ? { reverb: spec.reverb } : {}),
  });

  const graph = (aac: CommandAac): string =>
    [
      score,
      `[score]${[...musicFades(samples, SAMPLE_RATE), ...PRESET.musicChain, `volume=${bedGain.toFixed(2)}dB`].join(',')}[bed]`,
      `[1:a]aresample=${SAMPLE_RATE},aformat=channel_layouts=mono,volume=${(VOICE_CHAIN_INPUT_LUFS - rawLufs).toFixed(2)}dB,` +
        `${PRESET.voiceChain.join(',')},volume=${voiceGain.toFixed(2)}dB,adelay=delays=${leadIn}S:all=1,` +
        `apad=whole_len=${samples},atrim=end_sample=${samples},pan=stereo|c0=c0|c1=c0,asplit=2[voice][key]`,
      `[bed][key]sidechaincompress=threshold=${threshold}:ratio=${ratio}:attack=${attackMs}:release=${releaseMs}[ducked]`,
      `[voice][ducked]amix=inputs=2:normalize=0:duration=first,` +
        `loudnorm=I=${PRESET.targetLufs}:TP=${PRESET.truePeakDbtp - ENCODER_PEAK_MARGIN_DB}:LRA=${PRESET.lra}` +
        (aac === 'engine' ? `,aresample=${SAMPLE_RATE},${ENCODER_INPUT}[mix]` : '[mix]'),
    ].join(';\n');
  await writeFile(join(work, 'one-command.graph'), graph('hand'));
  await writeFile(join(work, 'one-command-engine-aac.graph'), graph('engine'));
  await writeFile(join(work, 'voice.txt'), TEXT);
  return {
    head: (clip, aac = 'hand') => [
      '-i',
      clip,
      '-f',
      'lavfi',
      '-i',
      'flite=textfile=voice.txt:voice=slt',
      '-filter_complex_script',
      aac === 'hand' ? 'one-command.graph' : 'one-command-engine-aac.graph',
      '-map',
      '0:V:0',
      '-map',
      '[mix]',
    ],
    tail: (output, aac = 'hand') => [
      ...(aac === 'hand' ? [...HAND_WRITTEN_AAC, '-ar', String(SAMPLE_RATE)] : AAC_ENCODER),
      ...['-ac', '2', '-movflags', '+faststart', '-y', output],
    ],
  };
}

function benchDir(): string {
  return resolve(process.env.AIPROD_DATA_DIR ?? '.aiprod', 'bench');
}

/** The input clip of the comparison, made on the first run (a minute or two) and reused after. */
async function benchClip(): Promise<string> {
  const clip = join(benchDir(), `clip-1080p30-${CLIP_SECONDS}s.mp4`);
  return madeOnce(clip, (partial) =>
    // prettier-ignore
    runFfmpeg([
      '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30:duration=${CLIP_SECONDS}`,
      '-f', 'lavfi', '-i', `sine=frequency=220:sample_rate=48000:duration=${CLIP_SECONDS}`,
      // Grain, as a camera has: a bare test pattern would compress to a tenth of a real clip's size.
      '-vf', 'noise=alls=8:allf=t',
      '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '10M', '-maxrate', '12M', '-bufsize', '20M',
      '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-b:a', '128k', '-shortest', '-y', partial,
    ]),
  );
}

/**
 * A `minutes`-long input of the scaling runs: one minute of 720p30 at 2.5 Mbit/s (one GOP a
 * second), repeated by stream copy. Made on the first run and reused after.
 */
async function scalingClip(minutes: number): Promise<string> {
  // prettier-ignore
  const minute = await madeOnce(join(benchDir(), 'clip-720p30-1min.mp4'), (partial) =>
    runFfmpeg([
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=60',
      '-f', 'lavfi', '-i', 'sine=frequency=220:sample_rate=48000:duration=60',
      '-vf', 'noise=alls=8:allf=t',
      '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '2500k', '-maxrate', '3M', '-bufsize', '5M', '-g', '30',
      '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-b:a', '128k', '-shortest', '-y', partial,
    ]),
  );
  if (minutes === 1) return minute;
  return madeOnce(join(benchDir(), `clip-720p30-${minutes}min.mp4`), (partial) =>
    runFfmpeg(['-stream_loop', String(minutes - 1), '-i', minute, '-c', 'copy', '-y', partial]),
  );
}

/** `path`, made by `make` (into a partial file, renamed when complete) unless it is there already. */
async function madeOnce(path: string, make: (partial: string) => Promise<unknown>): Promise<string> {
  if (existsSync(path)) return path;
  await mkdir(benchDir(), { recursive: true });
  log(`making ${path} (once)...`);
  const partial = path.replace(/\.mp4$/, '.partial.mp4');
  await make(partial);
  await rename(partial, path);
  return path;
}

function report(results: {
  runs: number;
  seconds: number;
  times: Record<Variant, number[]>;
  loudness: Record<Variant, LoudnessFacts>;
  scaling: ScalingRun[];
}): void {
  const { times, loudness, scaling } = results;
  const median = (v: Variant): number => middle(times[v]);
  const rows = VARIANTS.map((v) => {
    const { integratedLufs, truePeakDbtp } = loudness[v];
    return `| (${v}) ${NAMES[v]} | ${Math.min(...times[v]).toFixed(2)} | ${median(v).toFixed(2)} | ${integratedLufs.toFixed(1)} | ${truePeakDbtp.toFixed(1)} |`;
  });
  const mb = (bytes: number): string => (bytes / 1e6).toFixed(0);
  const scalingRows = scaling.map(
    (r) =>
      `| ${r.minutes} min | ${r.wallSeconds.toFixed(1)} | ${(r.seconds / r.wallSeconds).toFixed(1)}x | ${mb(r.peakRssBytes)} | ` +
      `${mb(r.peakScratchBytes)} | ${mb(r.outputBytes)} | ${mb(r.peakScratchBytes - r.outputBytes)} | ` +
      `${r.loudness.integratedLufs.toFixed(1)} | ${r.loudness.truePeakDbtp.toFixed(1)} |`,
  );
  const clipSpeed = results.seconds / median('a');
  const tenMinutes = scaling.find((r) => r.minutes === 10);
  const onTarget = [loudness.a, ...scaling.map((r) => r.loudness)].every(
    (l) => Math.abs(l.integratedLufs - PRESET.targetLufs) <= GOALS.loudnessLu && l.truePeakDbtp <= PRESET.truePeakDbtp,
  );
  const cpu = cpus();
  const ffmpegVersion = execFileSync(ffmpegPath(), ['-version'], { encoding: 'utf8' })
    .split('\n')[0]
    ?.replace(/ Copyright.*/, '');
  console.log(
    [
      '',
      `${results.seconds.toFixed(1)} s 1920x1080 30 fps H.264 clip, ${results.runs} timed runs per variant, interleaved; ` +
        `preset standard (target ${PRESET.targetLufs} LUFS, ${PRESET.truePeakDbtp} dBTP)`,
      '',
      '| variant | min (s) | median (s) | loudness (LUFS) | true peak (dBTP) |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `a/b = ${(median('a') / median('b')).toFixed(2)} (goal: at most ${GOALS.aOverB})`,
      `a/b' = ${(median('a') / median("b'")).toFixed(2)} (the command given the engine's AAC settings)`,
      `c/a = ${(median('c') / median('a')).toFixed(1)}`,
      `(a) at ${clipSpeed.toFixed(1)}x real time (goal: at least ${GOALS.clipSpeed}x)`,
      ...(scaling.length
        ? [
            '',
            'Scaling: (a) once per length, 1280x720 30 fps H.264 at 2.5 Mbit/s (MB are 10^6 bytes)',
            '',
            '| input | wall (s) | real time | peak RSS (MB) | peak scratch (MB) | output (MB) | scratch beyond the output (MB) | loudness (LUFS) | true peak (dBTP) |',
            '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
            ...scalingRows,
          ]
        : []),
      ...(tenMinutes
        ? [
            '',
            `10 min input at ${(tenMinutes.seconds / tenMinutes.wallSeconds).toFixed(1)}x real time (goal: at least ${GOALS.tenMinuteSpeed}x)`,
          ]
        : []),
      `loudness within ${GOALS.loudnessLu} LU of the target and true peak under the ceiling on every engine output: ${onTarget ? 'yes' : 'NO'}`,
      '',
      `machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} logical CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
        `${platform()} ${release()}`,
      `${ffmpegVersion} (${ffmpegPath()}), Node ${process.version}`,
    ].join('\n'),
  );
}

function middle(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const half = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[half] ?? NaN) : ((sorted[half - 1] ?? NaN) + (sorted[half] ?? NaN)) / 2;
}

function runsFromArgs(args: readonly string[]): number {
  const at = args.indexOf('--runs');
  if (at < 0) return 3;
  const runs = Number(args[at + 1]);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a whole number of at least 1');
  return runs;
}

/** The scaling runs' input lengths: `--minutes 1,10,60` (the default), `--minutes none` for none. */
function minutesFromArgs(args: readonly string[]): number[] {
  const at = args.indexOf('--minutes');
  if (at < 0) return [1, 10, 60];
  if (args[at + 1] === 'none') return [];
  const minutes = (args[at + 1] ?? '').split(',').map(Number);
  if (!minutes.every((m) => Number.isInteger(m) && m >= 1)) {
    throw new Error('--minutes takes whole numbers of at least 1, separated by commas, or none');
  }
  return minutes;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

main().catch((err) => {
  console.error(`bench-media: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
