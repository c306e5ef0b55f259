import type { Knex } from 'knex';

/**
 * Secret rotation and re-encryption bookkeeping:
 *
 * - `secret_rotations`: one row per rotation of a secret AIPROD makes itself (the database
 *   password, the key-encryption key, the metrics token), with every step it went through in
 *   `steps`, the versions before and after, and where it stands: `in_progress` (claimed by a
 *   rotator until `lease_expires_at`; a crashed one's row is taken over and rolled back),
 *   `pending` (rotated; `step` is left for a later tick: disabling the previous versions once
 *   `grace_until` has passed, or re-encrypting the rest), then `completed` or `rolled_back`.
 *   At most one open rotation per secret: the partial unique index is what a rotator claims.
 * - `reencrypt_progress`: how far a re-encryption pass to one KEK version got in one table (keyset
 *   on the primary key), so an interrupted `npm run reencrypt` continues where it stopped.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.createTable('secret_rotations', (t) => {
    t.uuid('id').primary().defaultTo(k.raw('gen_random_uuid()'));
    /** The secret rotated: database-url, key-encryption-key, metrics-token. */
    t.text('target').notNullable();
    t.text('trigger').notNullable().checkIn(['schedule', 'notice', 'manual'], 'secret_rotations_trigger_check');
    t.text('status')
      .notNullable()
      .checkIn(['in_progress', 'pending', 'completed', 'rolled_back'], 'secret_rotations_status_check');
    /** The last step reached, or the one left for a later tick. */
    t.text('step').notNullable();
    /** [{step, outcome: done | failed | undone, at, detail?}], oldest first; never a secret value. */
    t.jsonb('steps').notNullable().defaultTo(k.raw("'[]'::jsonb"));
    /** Secret id -> version, before and after the rotation. */
    t.jsonb('previous_versions').notNullable().defaultTo(k.raw("'{}'::jsonb"));
    t.jsonb('new_versions').notNullable().defaultTo(k.raw("'{}'::jsonb"));
    t.timestamp('grace_until', { useTz: true });
    t.timestamp('lease_expires_at', { useTz: true });
    t.text('error');
    /** The Pub/Sub message that started it, for tracing a tick to what it did. */
    t.text('message_id');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('finished_at', { useTz: true });
  });
  await k.raw(
    "CREATE UNIQUE INDEX idx_secret_rotations_open ON secret_rotations (target) WHERE status IN ('in_progress', 'pending')",
  );
  // The last rotation of a secret (its age), and the history operators read, newest first.
  await k.raw('CREATE INDEX idx_secret_rotations_target ON secret_rotations (target, started_at DESC)');

  await k.schema.createTable('reencrypt_progress', (t) => {
    t.text('table_name').notNullable();
    /** The KEK version this pass moves values to. */
    t.text('target_version').notNullable();
    /** The primary key of the last row the pass dealt with (as text); null before the first batch. */
    t.text('last_key');
    t.bigInteger('rewrapped').notNullable().defaultTo(0);
    t.bigInteger('failed').notNullable().defaultTo(0);
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.primary(['table_name', 'target_version']);
  });
}

export async function down(k: Knex): Promise<void> {
  await k.schema.dropTableIfExists('reencrypt_progress');
  await k.schema.dropTableIfExists('secret_rotations');
}
