/**
 * What an operator changes about a tenant: its tier, and which Identity Platform users sign in to
 * it (POST /auth/login). A user (its uid) belongs to one tenant. A change reaches instances that
 * remember a verified key within AIPROD_API_KEY_CACHE_SECONDS.
 */
import type { Knex } from 'knex';
import { ConflictError, NotFoundError } from '../errors';
import type { Tier } from './api-keys';

/** Firebase uids: 1 to 128 visible ASCII characters. */
export const UID_FORMAT = /^[\x21-\x7e]{1,128}$/;

export interface TenantRow {
  id: string;
  name: string;
  tier: Tier;
}

async function tenantNamed(k: Knex, name: string): Promise<TenantRow> {
  const row = (await k('tenants').where({ name }).first('id', 'name', 'tier')) as TenantRow | undefined;
  if (!row) throw new NotFoundError(`tenant named ${name}`);
  return row;
}

/** The tenant with its new tier, and the one it had. */
export async function setTenantTier(
  k: Knex,
  name: string,
  tier: Tier,
): Promise<{ tenant: TenantRow; previousTier: Tier }> {
  return k.transaction(async (trx) => {
    const before = (await trx('tenants').where({ name }).forUpdate().first('id', 'tier')) as
      Pick<TenantRow, 'id' | 'tier'> | undefined;
    if (!before) throw new NotFoundError(`tenant named ${name}`);
    await trx('tenants').where({ id: before.id }).update({ tier });
    return { tenant: { id: before.id, name, tier }, previousTier: before.tier };
  });
}

/**
 * Maps a user to a tenant. Mapping a user to the tenant it is in already changes nothing
 * (`added: false`); a user of another tenant is a ConflictError (`user_in_other_tenant`): moving
 * someone between tenants is a removal first, deliberately.
 */
export async function addTenantUser(
  k: Knex,
  tenantName: string,
  uid: string,
): Promise<{ tenant: TenantRow; added: boolean }> {
  const tenant = await tenantNamed(k, tenantName);
  const inserted = await k('tenant_users')
    .insert({ uid, tenant_id: tenant.id })
    .onConflict('uid')
    .ignore()
    .returning('uid');
  if (inserted.length > 0) return { tenant, added: true };
  const current = await k('tenant_users as u')
    .join('tenants as t', 't.id', 'u.tenant_id')
    .where('u.uid', uid)
    .first('t.id', 't.name');
  if (current && current.id !== tenant.id) {
    throw new ConflictError(
      'user_in_other_tenant',
      `user ${uid} belongs to tenant ${current.name}; remove it there first`,
    );
  }
  return { tenant, added: false };
}

/** Unmaps a user; its API tokens go with it (the foreign key cascades). False when it was not mapped. */
export async function removeTenantUser(k: Knex, uid: string): Promise<boolean> {
  return (await k('tenant_users').where({ uid }).delete()) > 0;
}
