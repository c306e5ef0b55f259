/**
 * alert-notifier's work for one incident notification: claim it (dedup), post it to Slack holding
 * no database connection, record where it went. What Slack refuses for good, and a notifier with
 * nowhere to post, are logged as `alert.not_posted` (the alert of that name watches it) and
 * acknowledged; what Slack cannot take now throws, so Pub/Sub delivers the message again.
 */
import type { Knex } from 'knex';
import { config } from '../config';
import { UnavailableError } from '../errors';
import { logger } from '../log';
import type { Incident } from './incident';
import { claimNotification, recordPosted, releaseClaim } from './ledger';
import { runbookFor } from './runbooks';
import { postToSlack, type SlackTarget } from './slack';
import { openingMessage, resolutionMessage } from './slack-message';

export type NotifyOutcome = 'posted' | 'duplicate' | 'rejected' | 'unconfigured';

/** Thrown when another delivery of the same notification is posting it right now: retry, then see. */
export class NotificationInFlight extends UnavailableError {
  constructor(incident: Incident) {
    super(
      'alert_in_flight',
      `incident ${incident.incidentId} (${incident.state}) is being posted by another delivery`,
      0,
    );
  }
}

const incidentFields = (incident: Incident) => ({
  incidentId: incident.incidentId,
  state: incident.state,
  policy: incident.policyName,
});

function slackTarget(): SlackTarget | null {
  const c = config();
  if (!c.SLACK_WEBHOOK_URL) return null;
  return {
    url: c.SLACK_WEBHOOK_URL,
    ...(c.SLACK_BOT_TOKEN ? { botToken: c.SLACK_BOT_TOKEN } : {}),
    timeoutMs: c.AIPROD_SLACK_TIMEOUT_SECONDS * 1000,
    allowPrivate: c.AIPROD_ALLOW_PRIVATE_URLS,
  };
}

export async function notifyIncident(k: Knex, incident: Incident): Promise<NotifyOutcome> {
  const cfg = config();
  const target = slackTarget();
  if (!target) {
    logger().error('alert not posted: SLACK_WEBHOOK_URL is not set', {
      event: 'alert.not_posted',
      reason: 'unconfigured',
      ...incidentFields(incident),
    });
    return 'unconfigured';
  }
  const claim = await claimNotification(k, incident, cfg.AIPROD_ALERT_DEDUP_SECONDS);
  if (claim.kind === 'duplicate') {
    logger().info('alert already posted', { event: 'alert.duplicate', ...incidentFields(incident) });
    return 'duplicate';
  }
  if (claim.kind === 'in_flight') throw new NotificationInFlight(incident);

  const runbook = runbookFor(incident, cfg.AIPROD_RUNBOOK_BASE_URL);
  const message =
    incident.state === 'open'
      ? openingMessage(incident, runbook)
      : {
          ...resolutionMessage(incident, runbook, claim.threadTs),
          ...(claim.threadTs && claim.channel ? { channel: claim.channel } : {}),
        };
  let answer: Awaited<ReturnType<typeof postToSlack>>;
  try {
    answer = await postToSlack(target, message);
  } catch (err) {
    await releaseClaim(k, incident, claim.owner);
    throw err;
  }

  switch (answer.outcome) {
    case 'posted':
      await recordPosted(k, incident, claim.owner, answer);
      logger().info('alert posted to Slack', {
        event: 'alert.posted',
        ...incidentFields(incident),
        threaded: message.thread_ts !== undefined,
      });
      return 'posted';
    case 'rejected':
      await releaseClaim(k, incident, claim.owner);
      logger().error('alert not posted: Slack refused it', {
        event: 'alert.not_posted',
        reason: 'rejected',
        status: answer.status,
        error: answer.error,
        ...incidentFields(incident),
      });
      return 'rejected';
    case 'unavailable':
      await releaseClaim(k, incident, claim.owner);
      logger().warn('Slack unavailable; the alert will be delivered again', {
        status: answer.status,
        error: answer.error,
        retryAfterSeconds: answer.retryAfterSeconds,
        ...incidentFields(incident),
      });
      throw new UnavailableError(
        'slack_unavailable',
        `Slack did not take incident ${incident.incidentId} (${incident.state}): ${answer.error}`,
        answer.retryAfterSeconds ?? 0,
      );
  }
}
