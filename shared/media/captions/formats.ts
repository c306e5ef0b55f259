import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cue } from './cues';

/** WebVTT: the header, then each cue's times and lines, `&`, `<` and `>` as entities. */
export function toWebVtt(cues: readonly Cue[]): string {
  const body = cues.map((cue) => `${times(cue, '.')}\n${cue.lines.map(escapeVtt).join('\n')}\n`);
  return ['WEBVTT\n', ...body].join('\n');
}

/**
 * SubRip: numbered cues from 1. SRT has no escapes; its readers take `-->` for a timing line, so
 * an arrow in the text is shortened. (Markup never gets this far: requests refuse it.)
 */
export function toSrt(cues: readonly Cue[]): string {
  return cues
    .map((cue, i) => `${i + 1}\n${times(cue, ',')}\n${cue.lines.map((l) => l.replace(/-{2,}>/g, '->')).join('\n')}\n`)
    .join('\n');
}

/** `<baseName>.vtt` and `<baseName>.srt` in `dir`, UTF-8: their paths. */
export async function writeCaptionFiles(
  cues: readonly Cue[],
  dir: string,
  baseName: string,
): Promise<{ vtt: string; srt: string }> {
  const vtt = join(dir, `${baseName}.vtt`);
  const srt = join(dir, `${baseName}.srt`);
  await Promise.all([writeFile(vtt, toWebVtt(cues), 'utf8'), writeFile(srt, toSrt(cues), 'utf8')]);
  return { vtt, srt };
}

/** Both ends to the millisecond; a cue shorter than that still lasts one. */
function times(cue: Cue, decimal: '.' | ','): string {
  const start = Math.round(cue.startSeconds * 1000);
  const end = Math.max(start + 1, Math.round(cue.endSeconds * 1000));
  return `${timestamp(start, decimal)} --> ${timestamp(end, decimal)}`;
}

function timestamp(ms: number, decimal: string): string {
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}${decimal}${pad(ms % 1000, 3)}`;
}

function escapeVtt(line: string): string {
  return line.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
