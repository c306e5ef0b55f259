/**
 * What alert-notifier has posted (alert_notifications, 012_alert_notifications): one row per
 * incident and state. Posting is claim, post, record, each database step one short statement, so
 * no pooled connection waits on Slack.
 *
 * A claim is one upsert on the primary key, taken only when the notification was not posted
 * within the dedup window and no other delivery holds it: of several concurrent deliveries of one
 * notification exactly one wins. A delivery that finds the notification posted is a duplicate
 * (acknowledged); one that finds it claimed by another delivery still in flight is retried, as
 * that post may yet fail, and is a duplicate once it succeeded. A claim lapses after CLAIM_SECONDS,
 * so a delivery that died mid-post does not block its own redelivery for long.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Incident } from './incident';

/** Past alert-notifier's 30 s timeout: a claim outlives any post its owner can still be making. */
export const CLAIM_SECONDS = 45;

export type Claim =
  /** Post it; `threadTs` and `channel` are the incident's opening's, when Slack told us where it is. */
  | { kind: 'claimed'; owner: string; threadTs: string | null; channel: string | null }
  | { kind: 'duplicate' }
  | { kind: 'in_flight' };

export async function claimNotification(k: Knex, incident: Incident, windowSeconds: number): Promise<Claim> {
  const owner = randomUUID();
  const { incidentId, state } = incident;
  const row: {
    owner: string | null;
    posted_recently: boolean | null;
    thread_ts: string | null;
    channel: string | null;
  } = (
    await k.raw(
      `WITH prior AS (
           SELECT posted_at > now() - make_interval(secs => ?) AS posted_recently
           FROM alert_notifications WHERE incident_id = ? AND state = ?),
         claimed AS (
           INSERT INTO alert_notifications AS a (incident_id, state, policy_name, claim_owner, claim_expires_at)
           VALUES (?, ?, ?, ?, now() + make_interval(secs => ?))
           ON CONFLICT (incident_id, state) DO UPDATE
             SET claim_owner = EXCLUDED.claim_owner, claim_expires_at = EXCLUDED.claim_expires_at,
                 policy_name = EXCLUDED.policy_name
             WHERE (a.claim_expires_at IS NULL OR a.claim_expires_at <= now())
               AND (a.posted_at IS NULL OR a.posted_at <= now() - make_interval(secs => ?))
           RETURNING claim_owner)
         SELECT (SELECT claim_owner FROM claimed) AS owner,
                (SELECT posted_recently FROM prior) AS posted_recently,
                o.slack_ts AS thread_ts, o.slack_channel AS channel
         FROM (SELECT 1) AS one
         LEFT JOIN alert_notifications o ON o.incident_id = ? AND o.state = 'open'`,
      [
        windowSeconds,
        incidentId,
        state,
        incidentId,
        state,
        incident.policyName,
        owner,
        CLAIM_SECONDS,
        windowSeconds,
        incidentId,
      ],
    )
  ).rows[0];
  if (row.owner === owner) return { kind: 'claimed', owner, threadTs: row.thread_ts, channel: row.channel };
  // Refused: posted within the window, or (also when the row appeared meanwhile) another delivery holds it.
  return row.posted_recently ? { kind: 'duplicate' } : { kind: 'in_flight' };
}

/** The post went through: the window starts now, and an opening keeps where Slack put it. */
export async function recordPosted(
  k: Knex,
  incident: Incident,
  owner: string,
  where: { ts: string | null; channel: string | null },
): Promise<void> {
  await k('alert_notifications')
    .where({ incident_id: incident.incidentId, state: incident.state, claim_owner: owner })
    .update({
      posted_at: k.fn.now(),
      slack_ts: k.raw('coalesce(?, slack_ts)', [where.ts]),
      slack_channel: k.raw('coalesce(?, slack_channel)', [where.channel]),
      claim_owner: null,
      claim_expires_at: null,
    });
}

/** The post did not go through: the next delivery may claim it at once. */
export async function releaseClaim(k: Knex, incident: Incident, owner: string): Promise<void> {
  await k('alert_notifications')
    .where({ incident_id: incident.incidentId, state: incident.state, claim_owner: owner })
    .update({ claim_owner: null, claim_expires_at: null });
}
