/**
 * `npm run bench:media [-- --runs N]`: how fast the media engine dubs a video, against what it
 * should cost and against what it saves.
 *
 * The input is a 60 s 1920x1080 30 fps H.264 clip at about 10 Mbit/s with AAC stereo sound (a test
 * pattern with a little grain, so it does not compress unrealistically well), made once and kept
 * in `.aiprod/bench/`. Each variant then runs N times (3 unless --runs says otherwise), taking turns
 * (a, b, c, a, b, c, ...) so that a slow spell on the machine hits all three alike, after one
 * untimed round of (a) and (b) that brings the clip into the page cache. All three make the same
 * audio from the same script, style (orchestral), seed and preset (standard):
 *
 * (a) engine: `dub()` as a job runs it, everything included: probing the input, speaking the text,
 *     processing the voice, generating the music, mixing and ducking, both loudness passes, the
 *     mux with the picture copied, and the measurement of the delivered file.
 * (b) one command: the single ffmpeg run an expert would write for the same result, the floor for
 *     (a). The voice is spoken inside it (flite as a lavfi source), the music is the engine's own
 *     graph (musicGraph), then the preset's voice and music chains, the same levels (the voice
 *     gains are constants dialled in once for flite's voice, outside the timing, as a hand-written
 *     command would have them), sidechain ducking, a single-pass loudnorm (one command cannot run
 *     two passes), AAC 192k at 48 kHz, the picture copied, faststart.
 * (c) naive: the command of (b) with the picture decoded and re-encoded by libx264 at its default
 *     settings (preset medium, CRF 23), as a pipeline that treats the video like any other stream
 *     does. The audio work is the same as in (b), so c/a is what copying the picture saves.
 *
 * Printed: min and median seconds per variant, a/b and c/a from the medians (goals: a/b at most
 * 1.5, c/a at least 10), the loudness of each output as the EBU R128 meter reads it, the machine.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SAMPLE_RATE } from '../shared/media/audio-format';
import { DEFAULT_LEAD_IN_SECONDS, dub } from '../shared/media/dub';
import { ffmpegPath } from '../shared/media/binaries';
import { measureLoudness, type LoudnessFacts } from '../shared/media/loudness';
import { processVoice } from '../shared/media/mix';
import { musicGraph } from '../shared/media/music/generate';
import { MUSIC_REFERENCE_LUFS } from '../shared/media/music/styles';
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

type Variant = 'a' | 'b' | 'c';
const NAMES: Record<Variant, string> = {
  a: 'engine: dub(), picture copied',
  b: 'one ffmpeg command, picture copied',
  c: 'naive: picture re-encoded (libx264 medium)',
};

async function main(): Promise<void> {
  const runs = runsFromArgs(process.argv.slice(2));
  const clip = await benchClip();
  const input = await probe(clip);
  const seconds = pictureSeconds(input);
  const work = await mkdtemp(join(tmpdir(), 'aiprod-bench-'));
  try {
    const oneCommand = await oneCommandArgs(work, Math.round(seconds * SAMPLE_RATE));
    const outputs: Record<Variant, string> = { a: join(work, 'a.mp4'), b: join(work, 'b.mp4'), c: join(work, 'c.mp4') };
    const variants: Record<Variant, () => Promise<void>> = {
      a: async () => {
        const workDir = await mkdtemp(join(work, 'job-'));
        await dub({
          inputPath: clip,
          workDir,
          outputPath: outputs.a,
          voiceText: TEXT,
          language: 'en',
          musicStyle: STYLE,
          effectsPreset: 'standard',
          seed: SEED,
          maxInputSeconds: 3600,
        });
        await rm(workDir, { recursive: true, force: true });
      },
      b: async () => {
        await runFfmpeg([...oneCommand.head(clip), '-c:v', 'copy', ...oneCommand.tail(outputs.b)], { cwd: work });
      },
      c: async () => {
        await runFfmpeg([...oneCommand.head(clip), '-c:v', 'libx264', ...oneCommand.tail(outputs.c)], { cwd: work });
      },
    };

    log('warming up (untimed): a, b');
    await variants.a();
    await variants.b();
    const times: Record<Variant, number[]> = { a: [], b: [], c: [] };
    for (let run = 1; run <= runs; run++) {
      for (const variant of ['a', 'b', 'c'] as const) {
        const started = performance.now();
        await variants[variant]();
        times[variant].push((performance.now() - started) / 1000);
        log(`run ${run}/${runs} ${variant}: ${times[variant].at(-1)?.toFixed(2)} s`);
      }
    }

    const loudness: Record<Variant, LoudnessFacts> = {
      a: await measureLoudness(outputs.a),
      b: await measureLoudness(outputs.b),
      c: await measureLoudness(outputs.c),
    };
    report({ runs, seconds, clip, times, loudness });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The single command of (b) and (c), split around the video codec. The voice's two gains are the
 * engine's staging for flite's voice, worked out here once, before any timing.
 */
async function oneCommandArgs(
  work: string,
  samples: number,
): Promise<{ head: (clip: string) => string[]; tail: (output: string) => string[] }> {
  const raw = join(work, 'calibrate-voice.wav');
  await localVoiceEngine().synthesize(TEXT, 'en', raw);
  const rawLufs = (await measureLoudness(raw)).integratedLufs;
  const processed = await processVoice({
    rawPath: raw,
    rawLufs,
    outPath: join(work, 'calibrate-processed.wav'),
    preset: PRESET,
  });
  const voiceGain = VOICE_MIX_LUFS - (processed.integratedLufs + 10 * Math.log10(2));
  const bedGain = VOICE_MIX_LUFS + PRESET.musicBedDb - MUSIC_REFERENCE_LUFS;
  const { threshold, ratio, attackMs, releaseMs } = PRESET.duck;
  const leadIn = Math.round(DEFAULT_LEAD_IN_SECONDS * SAMPLE_RATE);

  const graph = [
    musicGraph(STYLE, SEED, samples, 'music'),
    `[music]${[...PRESET.musicChain, `volume=${bedGain.toFixed(2)}dB`].join(',')}[bed]`,
    `[1:a]aresample=${SAMPLE_RATE},aformat=channel_layouts=mono,volume=${(VOICE_CHAIN_INPUT_LUFS - rawLufs).toFixed(2)}dB,` +
      `${PRESET.voiceChain.join(',')},volume=${voiceGain.toFixed(2)}dB,adelay=delays=${leadIn}S:all=1,` +
      `apad=whole_len=${samples},atrim=end_sample=${samples},pan=stereo|c0=c0|c1=c0,asplit=2[voice][key]`,
    `[bed][key]sidechaincompress=threshold=${threshold}:ratio=${ratio}:attack=${attackMs}:release=${releaseMs}[ducked]`,
    `[voice][ducked]amix=inputs=2:normalize=0:duration=first,` +
      `loudnorm=I=${PRESET.targetLufs}:TP=${PRESET.truePeakDbtp - ENCODER_PEAK_MARGIN_DB}:LRA=${PRESET.lra}[mix]`,
  ].join(';\n');
  await writeFile(join(work, 'one-command.graph'), graph);
  await writeFile(join(work, 'voice.txt'), TEXT);
  return {
    head: (clip) => [
      '-i',
      clip,
      '-f',
      'lavfi',
      '-i',
      'flite=textfile=voice.txt:voice=slt',
      '-filter_complex_script',
      'one-command.graph',
      '-map',
      '0:V:0',
      '-map',
      '[mix]',
    ],
    tail: (output) => [
      '-c:a',
      'aac',
      '-b:a',
      '192k',
      '-ar',
      String(SAMPLE_RATE),
      '-ac',
      '2',
      '-movflags',
      '+faststart',
      '-y',
      output,
    ],
  };
}

/** The input clip, made on the first run (a minute or two) and reused after. */
async function benchClip(): Promise<string> {
  const dir = resolve(process.env.AIPROD_DATA_DIR ?? '.aiprod', 'bench');
  const clip = join(dir, `clip-1080p30-${CLIP_SECONDS}s.mp4`);
  if (existsSync(clip)) return clip;
  await mkdir(dir, { recursive: true });
  log(`making ${clip} (once)...`);
  const partial = `${clip}.partial.mp4`;
  await runFfmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=1920x1080:rate=30:duration=${CLIP_SECONDS}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=220:sample_rate=48000:duration=${CLIP_SECONDS}`,
    // Grain, as a camera has: a bare test pattern would compress to a tenth of a real clip's size.
    '-vf',
    'noise=alls=8:allf=t',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    '10M',
    '-maxrate',
    '12M',
    '-bufsize',
    '20M',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-ac',
    '2',
    '-b:a',
    '128k',
    '-shortest',
    '-y',
    partial,
  ]);
  await rename(partial, clip);
  return clip;
}

function report(results: {
  runs: number;
  seconds: number;
  clip: string;
  times: Record<Variant, number[]>;
  loudness: Record<Variant, LoudnessFacts>;
}): void {
  const { times, loudness } = results;
  const median = (v: Variant): number => middle(times[v]);
  const rows = (['a', 'b', 'c'] as const).map((v) => {
    const { integratedLufs, truePeakDbtp } = loudness[v];
    return `| (${v}) ${NAMES[v]} | ${Math.min(...times[v]).toFixed(2)} | ${median(v).toFixed(2)} | ${integratedLufs.toFixed(1)} | ${truePeakDbtp.toFixed(1)} |`;
  });
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
      `a/b = ${(median('a') / median('b')).toFixed(2)} (goal: at most 1.5)`,
      `c/a = ${(median('c') / median('a')).toFixed(1)} (goal: at least 10)`,
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

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

main().catch((err) => {
  console.error(`bench-media: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
