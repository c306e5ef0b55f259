/** Our signatures, checked by what partners use: the standardwebhooks library and node:crypto. */
import { createPublicKey, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { newSigningKey, shownKey, webhookHeaders } from '../../shared/webhooks/signing';

const body = JSON.stringify({ type: 'job.completed', timestamp: '2026-12-01T10:00:00.000Z', data: { job_id: 'j1' } });
const now = () => Math.floor(Date.now() / 1000);

it('signs hmac deliveries that the standardwebhooks library verifies, and no others', () => {
  const { key, shown } = newSigningKey('hmac');
  expect(shown).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
  expect(shownKey(key)).toBe(shown);
  const headers = webhookHeaders([key], 'msg_1', now(), body);
  expect(new Webhook(shown).verify(body, headers)).toEqual(JSON.parse(body));
  expect(() => new Webhook(shown).verify(`${body} `, headers)).toThrow();
  expect(() => new Webhook(newSigningKey('hmac').shown).verify(body, headers)).toThrow();
});

it('carries both signatures during a rotation: either secret verifies', () => {
  const old = newSigningKey('hmac');
  const next = newSigningKey('hmac');
  const headers = webhookHeaders([next.key, old.key], 'msg_2', now(), body);
  expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
  for (const secret of [old.shown, next.shown]) expect(new Webhook(secret).verify(body, headers)).toBeTruthy();
});

it('signs ed25519 deliveries that node:crypto verifies with the whpk_ public key', () => {
  const { key, shown } = newSigningKey('ed25519');
  expect(shown).toMatch(/^whpk_/);
  expect(shownKey(key)).toBe(shown);
  const ts = now();
  const headers = webhookHeaders([key], 'msg_3', ts, body);
  const [version, signature] = headers['webhook-signature'].split(',');
  expect(version).toBe('v1a');
  const raw = Buffer.from(shown.slice('whpk_'.length), 'base64');
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
  const content = Buffer.from(`msg_3.${ts}.${body}`);
  expect(verify(null, content, publicKey, Buffer.from(signature!, 'base64'))).toBe(true);
  expect(verify(null, Buffer.from(`msg_3.${ts}.${body}x`), publicKey, Buffer.from(signature!, 'base64'))).toBe(false);
});
