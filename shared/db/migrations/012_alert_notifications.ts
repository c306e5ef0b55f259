import type { Knex } from 'knex';

/**
 * `alert_notifications`: what alert-notifier posted to Slack, one row per incident and state
 * (`open`, `closed`). The primary key makes a claim an upsert that at most one of several
 * concurrent deliveries of the same notification wins; `posted_at` is the dedup window's start;
 * `slack_ts` and `slack_channel` (from Slack's Web API answer) let the incident's resolution reply
 * in the thread of its opening. `claim_owner` and `claim_expires_at` mark a post in flight, so a
 * duplicate delivery meanwhile is retried rather than posted, and a crashed one's claim lapses.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.createTable('alert_notifications', (t) => {
    t.text('incident_id').notNullable();
    t.text('state').notNullable().checkIn(['open', 'closed'], 'alert_notifications_state_check');
    t.text('policy_name').notNullable();
    t.uuid('claim_owner');
    t.timestamp('claim_expires_at', { useTz: true });
    t.timestamp('posted_at', { useTz: true });
    t.text('slack_ts');
    t.text('slack_channel');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.primary(['incident_id', 'state']);
  });
}

export async function down(k: Knex): Promise<void> {
  await k.schema.dropTableIfExists('alert_notifications');
}
