/**
 * alert-notifier on the local stack: Cloud Monitoring's incident notifications (real payload
 * shapes, test/fixtures/cloud-monitoring) published on monitoring-alerts, pushed by the local bus
 * to the function, posted through the outbound guard to a local server standing in for Slack
 * (loopback is allowed as in every test: AIPROD_ALLOW_PRIVATE_URLS=1), with real PostgreSQL
 * keeping what was posted. Slack is an incoming webhook unless a test makes it the Web API.
 */
import type { Stack } from '../../shared/local/stack';
import { resetConfig } from '../../shared/config';
import { logger } from '../../shared/log';
import { transport } from '../../shared/platform';
import { claimNotification } from '../../shared/alerts/ledger';
import { parseIncident } from '../../shared/alerts/incident';
import { RESOLVED_COLOUR, SEVERITY_COLOURS } from '../../shared/alerts/slack-message';
import { closeTestEnv, type TestEnv, useTestEnv } from '../support/database';
import { startTestStack } from '../support/stack';
import { until } from '../support/webhook-fixtures';
import {
  incidentNotification,
  newIncidentId,
  SlackReceiver,
  webApiOk,
  webhookOk,
  type SlackRequest,
} from '../support/slack-receiver';

const WEBHOOK_SECRET_PATH = '/services/T0AIPROD/B0ALERTS/s3cr3tWebhookPath';
const BOT_TOKEN = 'xoxb-1234-5678-s3cr3tBotToken';
const RUNBOOK_BASE = 'https://docs.example.com/aiprod/blob/main';

let env: TestEnv;
let stack: Stack;
let slack: SlackReceiver;
const logged: { level: string; message: string; meta: Record<string, unknown> }[] = [];

/** Points alert-notifier somewhere else for one test (the functions read configuration per call). */
function configure(vars: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetConfig();
}

const asWebhook = () =>
  configure({ SLACK_WEBHOOK_URL: `${slack.url}${WEBHOOK_SECRET_PATH}`, SLACK_BOT_TOKEN: undefined });
const asWebApi = () =>
  configure({ SLACK_WEBHOOK_URL: `${slack.url}/api/chat.postMessage?channel=C0ALERTS`, SLACK_BOT_TOKEN: BOT_TOKEN });

beforeAll(async () => {
  slack = await new SlackReceiver().start();
  env = await useTestEnv({
    SLACK_WEBHOOK_URL: `${slack.url}${WEBHOOK_SECRET_PATH}`,
    AIPROD_RUNBOOK_BASE_URL: `${RUNBOOK_BASE}/`,
    AIPROD_ALERT_DEDUP_SECONDS: '3600',
    AIPROD_SLACK_TIMEOUT_SECONDS: '5',
  });
  stack = await startTestStack(env);
  for (const level of ['error', 'warn', 'info'] as const) {
    const log = logger();
    const original = log[level].bind(log);
    jest.spyOn(log, level).mockImplementation(((message: string, meta: Record<string, unknown>) => {
      logged.push({ level, message, meta: meta ?? {} });
      return original(message, meta);
    }) as never);
  }
});

afterAll(async () => {
  await stack.stop();
  await slack.stop();
  await closeTestEnv();
});

beforeEach(() => {
  asWebhook();
  slack.behaviour = webhookOk;
});

afterEach(() => slack.release());

/** Publishes on monitoring-alerts as Cloud Monitoring's channel does; the bus row's id. */
async function publish(notification: unknown): Promise<string> {
  const id = await transport().publish('monitoring-alerts', notification, {});
  return id.replace(/^local-/, '');
}

const busRow = (id: string) => env.db('bus_messages').where({ id }).first();
const delivered = async (id: string) => {
  const row = await busRow(id);
  return row?.delivered_at ? row : null;
};
const deliveredOnce = (id: string) => () => delivered(id);
const ledger = (incidentId: string, state: 'open' | 'closed') =>
  env.db('alert_notifications').where({ incident_id: incidentId, state }).first();
const eventsOf = (incidentId: string, event: string) =>
  logged.filter((l) => l.meta.event === event && l.meta.incidentId === incidentId);

/** Every text of a message's blocks, for asserting on what a reader sees. */
function textsOf(req: SlackRequest): string {
  const blocks = (req.body.attachments as { blocks: any[] }[]).flatMap((a) => a.blocks);
  return blocks
    .flatMap((b) => [
      b.text?.text,
      ...(b.fields ?? []).map((f: any) => f.text),
      ...(b.elements ?? []).map((e: any) => e.text),
    ])
    .filter(Boolean)
    .join('\n');
}

describe('an incident that opens', () => {
  it('is posted as Block Kit: severity colour, policy, condition, values, start, incident and runbook links', async () => {
    const notification = incidentNotification('open-with-links');
    const incidentId = notification.incident.incident_id as string;
    const id = await publish(notification);
    const row = await until(() => delivered(id), 'the delivery');
    expect(row.attempts).toBe(1);

    const [req, ...more] = slack.about(incidentId);
    expect(more).toHaveLength(0);
    expect(req!.path).toBe(WEBHOOK_SECRET_PATH);
    expect(req!.headers['content-type']).toMatch(/^application\/json/);
    expect(req!.headers.authorization).toBeUndefined();
    expect(req!.body.thread_ts).toBeUndefined();
    expect(req!.body.text).toContain('aiprod: API 5xx ratio above 1%');
    const [attachment] = req!.body.attachments;
    expect(attachment.color).toBe(SEVERITY_COLOURS.critical);
    expect(attachment.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '[CRITICAL] aiprod: API 5xx ratio above 1%' },
    });
    const fields = attachment.blocks[1].fields.map((f: { text: string }) => f.text);
    expect(fields).toEqual([
      '*Policy*\naiprod: API 5xx ratio above 1%',
      '*Condition*\n5xx / all responses &gt; 1% for 5 min',
      '*Observed value*\n0.042',
      '*Threshold*\n0.01',
      '*Started*\n<!date^1746178794^{date_short_pretty} {time_secs}|2025-05-02T09:39:54Z>',
      '*Severity*\nCRITICAL',
    ]);
    const text = textsOf(req!);
    expect(text).toContain('is above the threshold of 0.010 with a value of 0.042.');
    expect(text).toContain(`<${notification.incident.url}|Open the incident>`);
    // The policy's own documentation link, as Terraform writes it.
    expect(text).toContain(
      '<https://github.com/aiprod/aiprod/blob/main/docs/runbooks/high-error-rate.md|Runbook: docs/runbooks/high-error-rate.md>',
    );
    expect(text).toContain(`incident \`${incidentId}\``);

    expect(await ledger(incidentId, 'open')).toMatchObject({
      policy_name: 'aiprod: API 5xx ratio above 1%',
      posted_at: expect.any(Date),
      slack_ts: null,
      claim_owner: null,
    });
    expect(eventsOf(incidentId, 'alert.posted')).toHaveLength(1);
  });

  it('links the runbook its policy name maps to when the documentation has no link', async () => {
    const notification = incidentNotification('open-without-links');
    const incidentId = notification.incident.incident_id as string;
    await until(deliveredOnce(await publish(notification)), 'the delivery');
    const [req] = slack.about(incidentId);
    expect(req!.body.attachments[0].color).toBe(SEVERITY_COLOURS.warning);
    expect(textsOf(req!)).toContain(
      `<${RUNBOOK_BASE}/docs/runbooks/cloudsql-cpu.md|Runbook: docs/runbooks/cloudsql-cpu.md>`,
    );
  });

  it("posts Cloud Monitoring's test notification (version test, upper-case state, plain documentation)", async () => {
    const notification = incidentNotification('test-notification');
    const id = await publish(notification);
    await until(() => delivered(id), 'the delivery');
    const [req] = slack.about(notification.incident.incident_id);
    expect(req!.body.attachments[0].color).toBe(SEVERITY_COLOURS.none);
    expect(textsOf(req!)).toContain(`<${RUNBOOK_BASE}/docs/runbooks/README.md|Runbook: docs/runbooks/README.md>`);
  });
});

describe('the dedup window', () => {
  it('posts an opening delivered again within the window once, and again once the window has passed', async () => {
    const notification = incidentNotification('open-with-links');
    const incidentId = notification.incident.incident_id as string;
    const first = await publish(notification);
    await until(() => delivered(first), 'the first delivery');
    const again = await publish(notification);
    await until(() => delivered(again), 'the second delivery');
    expect(slack.about(incidentId)).toHaveLength(1);
    expect(eventsOf(incidentId, 'alert.duplicate')).toHaveLength(1);

    // An hour and a minute later, Cloud Monitoring's renotification is posted again.
    await env
      .db('alert_notifications')
      .where({ incident_id: incidentId, state: 'open' })
      .update({ posted_at: env.db.raw("now() - interval '3660 seconds'") });
    const later = await publish(notification);
    await until(() => delivered(later), 'the later delivery');
    expect(slack.about(incidentId)).toHaveLength(2);
  });

  it('posts an incident once when two deliveries of it arrive together, the second retried and then dropped', async () => {
    const notification = incidentNotification('open-with-links');
    const incidentId = notification.incident.incident_id as string;
    slack.behaviour = () => 'hold';
    const first = await publish(notification);
    await until(() => slack.holding === 1, 'the first post to reach Slack');
    const second = await publish(notification);
    // The second finds the first in flight: refused for now, to be delivered again.
    const refused = await until(async () => {
      const row = await busRow(second);
      return row.attempts >= 1 && row.last_error ? row : null;
    }, 'the second delivery to be refused');
    expect(refused.delivered_at).toBeNull();
    slack.release({ status: 200, body: 'ok' });
    await until(() => delivered(first), 'the first delivery');
    await until(() => delivered(second), 'the second delivery');
    expect(slack.about(incidentId)).toHaveLength(1);
    expect((await busRow(second)).attempts).toBeGreaterThanOrEqual(2);
    expect(eventsOf(incidentId, 'alert.duplicate')).toHaveLength(1);
  });

  it('lets exactly one of many concurrent claims of one notification win', async () => {
    const incident = parseIncident(incidentNotification('open-with-links'));
    const claims = await Promise.all(Array.from({ length: 8 }, () => claimNotification(env.db, incident, 3600)));
    expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c.kind === 'in_flight')).toHaveLength(7);
  });
});

describe('an incident that closes', () => {
  it('replies in the thread of its opening when the Web API told us where that is', async () => {
    asWebApi();
    slack.behaviour = webApiOk();
    const incidentId = newIncidentId();
    const opened = await publish(incidentNotification('open-with-links', incidentId));
    await until(() => delivered(opened), 'the opening');
    const [opening] = slack.about(incidentId);
    // The channel travels in the body, the bot token in the header, never in the URL.
    expect(opening!.path).toBe('/api/chat.postMessage');
    expect(opening!.query).toBe('');
    expect(opening!.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect(opening!.body.channel).toBe('C0ALERTS');
    const row = await ledger(incidentId, 'open');
    expect(row.slack_ts).toMatch(/^\d+\.\d{6}$/);
    expect(row.slack_channel).toBe('C0ALERTS');

    const closed = await publish(incidentNotification('closed-with-links', incidentId));
    await until(() => delivered(closed), 'the resolution');
    const [, resolution] = slack.about(incidentId);
    expect(resolution!.body.thread_ts).toBe(row.slack_ts);
    expect(resolution!.body.channel).toBe('C0ALERTS');
    expect(resolution!.body.attachments[0].color).toBe(RESOLVED_COLOUR);
    expect(textsOf(resolution!)).toContain('*Resolved* at <!date^1746180594^');
    expect(textsOf(resolution!)).toContain('after 30 min: aiprod: API 5xx ratio above 1%');
  });

  it('posts the resolution as a message of its own, naming the incident, when there is no thread to reply in', async () => {
    const incidentId = newIncidentId();
    const opened = await publish(incidentNotification('open-without-links', incidentId));
    await until(() => delivered(opened), 'the opening');
    const closed = await publish(incidentNotification('closed-without-links', incidentId));
    await until(() => delivered(closed), 'the resolution');
    const [, resolution] = slack.about(incidentId);
    expect(resolution!.body.thread_ts).toBeUndefined();
    expect(resolution!.body.attachments[0].color).toBe(RESOLVED_COLOUR);
    expect(resolution!.body.attachments[0].blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '[RESOLVED] aiprod: Cloud SQL CPU above 80%' },
    });
    const text = textsOf(resolution!);
    expect(text).toContain(`incident \`${incidentId}\``);
    expect(text).toContain(`<https://console.cloud.google.com/monitoring/alerting/incidents/${incidentId}`);
    expect(text).toContain('*Started*\n<!date^1682588023^');
    expect(text).toContain('after 1 h');
    expect(resolution!.body.text).toContain(incidentId);
  });
});

describe('Slack failing', () => {
  it('is retried through the bus: a 500, then the post', async () => {
    slack.behaviour = (_req, n) => (n === 1 ? { status: 500, body: 'internal error' } : { status: 200, body: 'ok' });
    const notification = incidentNotification('open-with-links');
    const incidentId = notification.incident.incident_id as string;
    const id = await publish(notification);
    const row = await until(() => delivered(id), 'the delivery');
    expect(row.attempts).toBe(2);
    expect(slack.about(incidentId)).toHaveLength(2);
    expect((await ledger(incidentId, 'open')).posted_at).toEqual(expect.any(Date));
    expect(eventsOf(incidentId, 'alert.posted')).toHaveLength(1);
  });

  it("is retried on a 429, Slack's Retry-After logged", async () => {
    slack.behaviour = (_req, n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' } : { status: 200, body: 'ok' };
    const notification = incidentNotification('open-without-links');
    const incidentId = notification.incident.incident_id as string;
    const row = await until(deliveredOnce(await publish(notification)), 'the delivery');
    expect(row.attempts).toBe(2);
    expect(logged.find((l) => l.meta.incidentId === incidentId && l.level === 'warn')?.meta).toMatchObject({
      status: 429,
      retryAfterSeconds: 1,
    });
  });

  it('is retried when Slack does not answer in time', async () => {
    configure({ AIPROD_SLACK_TIMEOUT_SECONDS: '1' });
    try {
      slack.behaviour = (_req, n) => (n === 1 ? 'hold' : { status: 200, body: 'ok' });
      const notification = incidentNotification('open-with-links');
      const incidentId = notification.incident.incident_id as string;
      const row = await until(deliveredOnce(await publish(notification)), 'the delivery');
      expect(row.attempts).toBe(2);
      expect(slack.about(incidentId)).toHaveLength(2);
      expect(logged.find((l) => l.meta.incidentId === incidentId && l.level === 'warn')?.meta.error).toBe(
        'input_timeout',
      );
    } finally {
      configure({ AIPROD_SLACK_TIMEOUT_SECONDS: '5' });
    }
  });

  it('retries a Web API error that is Slack trouble (internal_error)', async () => {
    asWebApi();
    const ok = webApiOk();
    slack.behaviour = (req, n) =>
      n === 1 ? { status: 200, body: JSON.stringify({ ok: false, error: 'internal_error' }) } : ok(req, n);
    const incidentId = newIncidentId();
    const row = await until(
      deliveredOnce(await publish(incidentNotification('open-with-links', incidentId))),
      'the delivery',
    );
    expect(row.attempts).toBe(2);
    expect((await ledger(incidentId, 'open')).slack_ts).toMatch(/^\d+\.\d{6}$/);
  });

  it('acknowledges a 4xx other than 429, logged as alert.not_posted, and does not retry it', async () => {
    slack.behaviour = () => ({ status: 404, body: 'no_service' });
    const notification = incidentNotification('open-with-links');
    const incidentId = notification.incident.incident_id as string;
    const id = await publish(notification);
    const row = await until(() => delivered(id), 'the delivery');
    await stack.bus.drain();
    expect(row.attempts).toBe(1);
    expect(slack.about(incidentId)).toHaveLength(1);
    expect(eventsOf(incidentId, 'alert.not_posted').map((l) => l.meta)).toEqual([
      expect.objectContaining({ reason: 'rejected', status: 404, error: 'HTTP 404: no_service' }),
    ]);
    // Nothing counts as posted: a later delivery, once the URL is fixed, goes out.
    expect(await ledger(incidentId, 'open')).toMatchObject({ posted_at: null, claim_owner: null });
    slack.behaviour = webhookOk;
    await until(deliveredOnce(await publish(notification)), 'the delivery after the fix');
    expect(slack.about(incidentId)).toHaveLength(2);
  });

  it('acknowledges a Web API refusal (channel_not_found) the same way', async () => {
    asWebApi();
    slack.behaviour = () => ({ status: 200, body: JSON.stringify({ ok: false, error: 'channel_not_found' }) });
    const incidentId = newIncidentId();
    const row = await until(
      deliveredOnce(await publish(incidentNotification('open-with-links', incidentId))),
      'the delivery',
    );
    expect(row.attempts).toBe(1);
    expect(eventsOf(incidentId, 'alert.not_posted')[0]?.meta).toMatchObject({
      reason: 'rejected',
      status: 200,
      error: 'channel_not_found',
    });
  });
});

describe('a message that is not an incident notification', () => {
  it('is acknowledged at once and logged once, never posted', async () => {
    const before = slack.requests.length;
    const notes = [
      'not a notification',
      { version: '1.2' },
      { version: '1.2', incident: { incident_id: 'x', state: 'acknowledged', policy_name: 'p' } },
    ];
    const ids = await Promise.all(notes.map(publish));
    for (const id of ids) {
      const row = await until(() => delivered(id), 'the delivery');
      expect(row.attempts).toBe(1);
    }
    await stack.bus.drain();
    expect(slack.requests.length).toBe(before);
    const malformed = logged.filter((l) => l.meta.event === 'alert.not_posted' && l.meta.reason === 'malformed');
    expect(malformed.map((l) => l.meta.eventId).sort()).toEqual(ids.map((id) => `local-${id}`).sort());
    expect(malformed.find((l) => l.meta.eventId === `local-${ids[2]}`)?.meta.error).toMatch(/^incident\.state: /);
  });
});

describe('with nowhere to post', () => {
  it('logs alert.not_posted (unconfigured) and acknowledges', async () => {
    configure({ SLACK_WEBHOOK_URL: undefined });
    const incidentId = newIncidentId();
    const row = await until(
      deliveredOnce(await publish(incidentNotification('open-with-links', incidentId))),
      'the delivery',
    );
    expect(row.attempts).toBe(1);
    expect(eventsOf(incidentId, 'alert.not_posted')[0]?.meta.reason).toBe('unconfigured');
  });
});

describe('the logs of all of the above', () => {
  it('never carry the webhook URL or the bot token', () => {
    expect(logged.length).toBeGreaterThan(10);
    const everything = JSON.stringify(logged);
    expect(everything).not.toContain('s3cr3tWebhookPath');
    expect(everything).not.toContain('s3cr3tBotToken');
  });
});
