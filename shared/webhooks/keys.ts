/**
 * A webhook's signing keys at rest: sealed with the platform's key-encryption key, bound to the
 * webhook's id, so a sealed key copied onto another row does not open. During a rotation the
 * previous key stays live until its expiry and every delivery is signed with both.
 */
import { open, seal, type KeyEncryptionKey, type Sealed } from '../crypto/envelope';
import type { SigningKey, SigningScheme } from './signing';

/** A webhooks row, as the table holds it. */
export interface WebhookRow {
  id: string;
  tenant_id: string;
  url: string;
  events: string[];
  signing: SigningScheme;
  status: 'active' | 'disabled';
  disabled_reason: string | null;
  disabled_at: Date | null;
  consecutive_failures: number;
  secret: Sealed;
  previous_secret: Sealed | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** How long the previous key keeps signing after a rotation. */
export const ROTATION_OVERLAP_SECONDS = 24 * 3600;

const context = (webhookId: string): string => `webhooks:${webhookId}`;

export function sealKey(kek: KeyEncryptionKey, webhookId: string, key: SigningKey): Promise<Sealed> {
  return seal(kek, key.secret, context(webhookId));
}

/** The keys a delivery is signed with now: the current one, and the previous one until it expires. */
export async function liveKeys(
  kek: KeyEncryptionKey,
  row: Pick<WebhookRow, 'id' | 'signing' | 'secret' | 'previous_secret' | 'previous_secret_expires_at'>,
  now = new Date(),
): Promise<SigningKey[]> {
  const sealed = [row.secret];
  if (row.previous_secret && row.previous_secret_expires_at && new Date(row.previous_secret_expires_at) > now) {
    sealed.push(row.previous_secret);
  }
  return Promise.all(sealed.map(async (s) => ({ scheme: row.signing, secret: await open(kek, s, context(row.id)) })));
}
