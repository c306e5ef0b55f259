/** What `npm run drill -- restore` prints: the phases with their times, then every check of the restore. */
import type { CensusCheck } from './census';

export interface Phase {
  name: string;
  seconds: number;
  detail: string;
  ok: boolean;
}

function table(header: string[], rows: string[][], right: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const seconds = (s: number): string => s.toFixed(1);
const value = (v: number | null | undefined): string =>
  v === undefined ? 'missing' : v === null ? 'unused' : String(v);

export function phasesTable(phases: Phase[], recovery?: { serving: number; resumed?: number }): string {
  const rows = phases.map((p) => [p.name, seconds(p.seconds), p.ok ? 'ok' : 'FAILED', p.detail]);
  if (recovery)
    rows.push(['recovery: drop to serving', seconds(recovery.serving), '', 'the figure the drill measures']);
  if (recovery?.resumed !== undefined) {
    rows.push(['recovery: drop to jobs resumed', seconds(recovery.resumed), '', 'the waiting jobs completed']);
  }
  return table(['phase', 'seconds', 'result', 'detail'], rows, new Set([1]));
}

export function checksTable(checks: CensusCheck[]): string {
  return table(
    ['checked', 'at dump', 'restored', 'result'],
    checks.map((c) => [`${c.kind} ${c.name}`, value(c.dumped), value(c.restored), c.ok ? 'ok' : 'MISMATCH']),
    new Set([1, 2]),
  );
}
