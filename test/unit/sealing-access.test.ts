/**
 * The functions that seal or open webhook signing keys use the application's KMS key: the manifest
 * grants it to them (Terraform names the key to them and grants encrypt/decrypt on it) and to no
 * function that has no sealed value to touch.
 */
import { manifest } from '../../shared/platform/manifest';

/** Where shared/ calls keyEncryptionKey(): webhook registration, rotation, test, retry and delivery. */
const SEALING = [
  'webhooks-create',
  'webhook-rotate-secret',
  'webhook-test',
  'webhook-delivery-retry',
  'webhook-deliverer',
];

test.each(SEALING)('%s may use the KMS key, and read the key sealed rows had before KMS', (name) => {
  const fn = manifest.find((f) => f.name === name);
  expect(fn?.access.kms).toBe(true);
  expect(fn?.access.secrets).toContain('key-encryption-key');
});

test('no function without sealed values to touch is granted the KMS key', () => {
  const others = manifest.filter((f) => f.access.kms && !SEALING.includes(f.name)).map((f) => f.name);
  expect(others.every((name) => name === 'secret-rotator')).toBe(true);
});
