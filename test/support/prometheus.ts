/**
 * Reading a Prometheus text exposition (format 0.0.4) in tests: the families it declares and its
 * samples, and promtool's verdict on it.
 */
import { spawnSync } from 'node:child_process';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Family name -> its TYPE. */
  types: Map<string, string>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

/** The samples of `name` whose labels include every one of `labels`. */
export const samplesOf = (e: Exposition, name: string, labels: Record<string, string> = {}): Sample[] =>
  e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

/** The sum of those samples' values; 0 when there is none (a counter not yet incremented). */
export const valueOf = (e: Exposition, name: string, labels: Record<string, string> = {}): number =>
  samplesOf(e, name, labels).reduce((sum, s) => sum + s.value, 0);

export type PromtoolVerdict = { available: false; why: string } | { available: true; status: number; output: string };

/** `promtool check metrics` on the exposition, read from stdin: its exit status and everything it printed. */
export function promtoolCheck(text: string): PromtoolVerdict {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) return { available: false, why: `promtool could not be run: ${r.error.message}` };
  return { available: true, status: r.status ?? -1, output: `${r.stdout}${r.stderr}`.trim() };
}
