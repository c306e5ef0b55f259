import type { LocalPostgres } from '../../shared/db/embedded';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __AIPROD_PG__?: LocalPostgres }).__AIPROD_PG__?.stop();
}
