/**
 * `npm run api-key -- create --tenant <name> --tier <free|pro|enterprise> [--label <text>]`
 * `npm run api-key -- --revoke <key id>`
 * The new key is printed alone on the last line of stdout, and nowhere else, ever.
 */
import { parseArgs } from 'node:util';
import { createApiKey, revokeApiKey, Tier, TIERS } from '../shared/auth/api-keys';
import { withDatabase } from './with-database';

const USAGE =
  'usage: npm run api-key -- create --tenant <name> --tier <free|pro|enterprise> [--label <text>]\n       npm run api-key -- --revoke <key id>';

function fail(message: string): never {
  console.error(`api-key: ${message}\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      tier: { type: 'string' },
      label: { type: 'string' },
      revoke: { type: 'string' },
    },
  });
  const command = values.revoke ? 'revoke' : positionals[0];
  if (command === 'revoke') {
    const id = values.revoke ?? positionals[1];
    if (!id || !/^[0-9a-f-]{36}$/i.test(id)) fail('--revoke needs a key id (a UUID, printed when the key was created)');
    const revoked = await withDatabase((k) => revokeApiKey(k, id));
    if (!revoked) fail(`no active key with id ${id}`);
    console.log(`revoked key ${id}`);
    return;
  }
  if (command !== 'create') fail('unknown command');
  const tenant = values.tenant?.trim();
  if (!tenant || !/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/.test(tenant))
    fail('--tenant is required (letters, digits, space . _ -)');
  if (!TIERS.includes(values.tier as Tier)) fail(`--tier must be one of ${TIERS.join(', ')}`);
  const created = await withDatabase((k) => createApiKey(k, { name: tenant, tier: values.tier as Tier }, values.label));
  console.log(`tenant ${tenant} (${created.tenantId}), tier ${values.tier}; key id ${created.keyId}`);
  console.log('store the key now: it is shown once and only its hash is kept');
  console.log(created.key);
}

main().catch((err) => {
  console.error(`api-key: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
