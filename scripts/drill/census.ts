/**
 * What the drill checks a restore against: the rows of every table and the position of every
 * sequence (a sequence restored behind its table's ids would make the next insert collide), read
 * in the dump's own snapshot and again in the restored database.
 */
import type { Knex } from 'knex';

export interface Census {
  tables: Record<string, number>;
  /** A sequence's last value; null for one never used. */
  sequences: Record<string, number | null>;
}

export interface CensusCheck {
  kind: 'table' | 'sequence';
  name: string;
  /** Missing on one side: undefined. */
  dumped: number | null | undefined;
  restored: number | null | undefined;
  ok: boolean;
}

export async function takeCensus(k: Knex | Knex.Transaction): Promise<Census> {
  const tables: string[] = (
    await k.raw("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
  ).rows.map((r: { tablename: string }) => r.tablename);
  const census: Census = { tables: {}, sequences: {} };
  for (const table of tables) {
    census.tables[table] = Number((await k.raw('SELECT count(*) AS n FROM ??', [table])).rows[0].n);
  }
  const sequences: { sequencename: string; last_value: string | null }[] = (
    await k.raw("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename")
  ).rows;
  for (const s of sequences) census.sequences[s.sequencename] = s.last_value === null ? null : Number(s.last_value);
  return census;
}

/** One check per table and sequence on either side; a restore passes when every one is ok. */
export function compareCensus(dumped: Census, restored: Census): CensusCheck[] {
  const checks: CensusCheck[] = [];
  for (const kind of ['table', 'sequence'] as const) {
    const before = kind === 'table' ? dumped.tables : dumped.sequences;
    const after = kind === 'table' ? restored.tables : restored.sequences;
    for (const name of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
      const ok = Object.hasOwn(before, name) && Object.hasOwn(after, name) && before[name] === after[name];
      checks.push({ kind, name, dumped: before[name], restored: after[name], ok });
    }
  }
  return checks;
}
