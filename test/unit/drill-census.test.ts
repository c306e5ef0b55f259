/** How the restore drill judges a restore: every table and sequence of either side, equal on both. */
import { compareCensus } from '../../scripts/drill/census';

const dumped = { tables: { jobs: 120, outbox: 40, tenants: 3 }, sequences: { outbox_id_seq: 40, unused_seq: null } };

it('passes a restore that has every table and sequence as dumped', () => {
  const checks = compareCensus(dumped, structuredClone(dumped));
  expect(checks.map((c) => `${c.kind} ${c.name}`)).toEqual([
    'table jobs',
    'table outbox',
    'table tenants',
    'sequence outbox_id_seq',
    'sequence unused_seq',
  ]);
  expect(checks.every((c) => c.ok)).toBe(true);
});

it('fails a table short of rows, a sequence behind its ids, and a table missing on either side', () => {
  const restored = {
    tables: { jobs: 119, outbox: 40, webhooks: 0 },
    sequences: { outbox_id_seq: 1, unused_seq: null },
  };
  const failed = compareCensus(dumped, restored).filter((c) => !c.ok);
  expect(failed).toEqual([
    { kind: 'table', name: 'jobs', dumped: 120, restored: 119, ok: false },
    { kind: 'table', name: 'tenants', dumped: 3, restored: undefined, ok: false },
    { kind: 'table', name: 'webhooks', dumped: undefined, restored: 0, ok: false },
    { kind: 'sequence', name: 'outbox_id_seq', dumped: 40, restored: 1, ok: false },
  ]);
});
