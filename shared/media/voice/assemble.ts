import { writeFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { SAMPLE_RATE } from '../audio-format';
import { LOUDNESS_METER, parseLoudnessSummary, type LoudnessFacts } from '../loudness';
import { runFfmpeg } from '../run-ffmpeg';
import type { Piece } from './timed-layout';

/**
 * Lays the pieces end to end, each after the silence that brings it to its place, into one mono
 * 48 kHz FLAC at `outPath`, in one ffmpeg run: silence costs FLAC next to nothing, so a voice
 * spread over an hour of video stays small. The pieces, in `dir`, are read by `amovie` sources
 * inside the graph rather than as inputs: ffmpeg gives every input a thread of its own, and a
 * script can have hundreds of lines. Each piece is padded to its exact length after the cut, so
 * a resampler one sample short cannot shift every piece after it. The voice is metered on its way
 * to the file (its loudness is what this answers), and stays 16-bit, as the engines deliver it,
 * although the meter hands on doubles.
 */
export async function assembleVoice(
  pieces: readonly Piece[],
  dir: string,
  outPath: string,
  signal?: AbortSignal,
): Promise<LoudnessFacts> {
  let end = 0;
  const graph = pieces.map((piece, i) => {
    const length = piece.to - piece.from;
    const gap = piece.at - end;
    end = piece.at + length;
    return (
      `amovie=${relative(dir, piece.path)},aresample=${SAMPLE_RATE},` +
      `aformat=sample_fmts=s16:channel_layouts=mono,` +
      `atrim=start_sample=${piece.from}:end_sample=${piece.to},asetpts=PTS-STARTPTS,apad=whole_len=${length}` +
      (gap > 0 ? `,adelay=delays=${gap}S:all=1` : '') +
      `[p${i}]`
    );
  });
  graph.push(
    `${pieces.map((_, i) => `[p${i}]`).join('')}concat=n=${pieces.length}:v=0:a=1,${LOUDNESS_METER},aformat=sample_fmts=s16[voice]`,
  );
  const script = resolve(dir, 'voice-graph.txt');
  await writeFile(script, graph.join(';\n'));
  const { stderr } = await runFfmpeg(
    ['-filter_complex_script', script, '-map', '[voice]', '-c:a', 'flac', '-f', 'flac', '-y', resolve(outPath)],
    { cwd: dir, signal, logLevel: 'info' },
  );
  return parseLoudnessSummary(stderr);
}
