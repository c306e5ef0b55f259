/**
 * Keys AIPROD cannot rotate (a voice provider's, Slack's): the provider issues them. Once the
 * newest enabled version of one is older than the rotation period, a `secret.rotation_due` event
 * names it and its age, for an operator to get a new key and add it as a version.
 */
import { logger } from '../../log';
import { SecretNotFoundError, type SecretStore } from '../store';

export interface DueKey {
  target: string;
  ageDays: number;
  version: string;
}

const DAY_MS = 86_400_000;

/** The keys of `secrets` due for a new version; with `announce`, each is logged as secret.rotation_due. */
export async function thirdPartyDue(
  store: SecretStore,
  secrets: readonly string[],
  opts: { periodDays: number; now: Date; announce: boolean; always?: boolean },
): Promise<DueKey[]> {
  const due: DueKey[] = [];
  for (const target of secrets) {
    let newest;
    try {
      newest = (await store.listVersions(target)).find((v) => v.state === 'enabled');
    } catch (err) {
      // The operator has not added the key yet (the function reading it is not enabled).
      if (err instanceof SecretNotFoundError) continue;
      throw err;
    }
    if (!newest) continue;
    const ageDays = Math.floor((opts.now.getTime() - newest.createdAt.getTime()) / DAY_MS);
    if (!opts.always && ageDays < opts.periodDays) continue;
    due.push({ target, ageDays, version: newest.version });
    if (opts.announce) {
      logger().warn('secret rotation due', { event: 'secret.rotation_due', target, ageDays, version: newest.version });
    }
  }
  return due;
}
