import type { Knex } from 'knex';

/**
 * Partner webhooks and their deliveries. A webhook's signing key is stored sealed (envelope
 * encryption, shared/crypto/envelope.ts); during a rotation the previous key stays until its
 * expiry. One delivery per webhook and event (unique: a redelivered job result fans out once),
 * with every attempt kept for the partner's debugging.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.createTable('webhooks', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('url').notNullable();
    t.specificType('events', 'text[]').notNullable();
    t.text('signing').notNullable().checkIn(['hmac', 'ed25519'], 'webhooks_signing_check');
    t.text('status').notNullable().defaultTo('active').checkIn(['active', 'disabled'], 'webhooks_status_check');
    t.text('disabled_reason');
    t.timestamp('disabled_at', { useTz: true });
    t.integer('consecutive_failures').notNullable().defaultTo(0);
    t.jsonb('secret').notNullable();
    t.jsonb('previous_secret');
    t.timestamp('previous_secret_expires_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
  });
  // Keyset pagination of a tenant's webhooks, newest first; fan-out finds a tenant's active ones.
  await k.raw('CREATE INDEX idx_webhooks_tenant_created ON webhooks (tenant_id, created_at DESC, id DESC)');

  await k.schema.createTable('webhook_deliveries', (t) => {
    t.uuid('id').primary();
    t.uuid('webhook_id').notNullable().references('webhooks.id').onDelete('CASCADE');
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    /** The Standard Webhooks `webhook-id`: the event's id, the same on every attempt. */
    t.text('event_id').notNullable();
    t.text('event_type').notNullable();
    /** The body as sent, {type, timestamp, data}, kept as text so every attempt signs the same bytes. */
    t.text('body').notNullable();
    t.text('state')
      .notNullable()
      .defaultTo('pending')
      .checkIn(['pending', 'succeeded', 'failed'], 'webhook_deliveries_state_check');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.unique(['webhook_id', 'event_id']);
  });
  await k.raw(
    'CREATE INDEX idx_webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at DESC, id DESC)',
  );
  // The maintenance tick republishes deliveries whose wait outgrew Pub/Sub's own backoff.
  await k.raw(
    "CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending'",
  );

  await k.schema.createTable('webhook_attempts', (t) => {
    t.bigIncrements('id');
    t.uuid('delivery_id').notNullable().references('webhook_deliveries.id').onDelete('CASCADE');
    t.timestamp('attempted_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.integer('status_code');
    t.integer('latency_ms').notNullable();
    t.text('error');
    t.index(['delivery_id', 'attempted_at'], 'idx_webhook_attempts_delivery');
  });
}

export async function down(k: Knex): Promise<void> {
  for (const table of ['webhook_attempts', 'webhook_deliveries', 'webhooks']) await k.schema.dropTableIfExists(table);
}
