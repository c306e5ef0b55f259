/**
 * alert-notifier's pure parts: reading Cloud Monitoring's notifications (the fixtures are real
 * payload shapes), choosing the runbook (against docs/runbooks and the alert policies Terraform
 * declares), and the Slack message.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseIncident } from '../../shared/alerts/incident';
import { RUNBOOKS, runbookFor, runbookOfPolicy } from '../../shared/alerts/runbooks';
import { splitTarget } from '../../shared/alerts/slack';
import { escapeMrkdwn, openingMessage, resolutionMessage } from '../../shared/alerts/slack-message';
import { incidentNotification } from '../support/slack-receiver';
import { block, loadModule, MODULES_DIR, ROOT } from '../support/terraform';

const BASE = 'https://docs.example.com/aiprod/blob/main';

describe('reading a notification', () => {
  it('takes what the message needs from a 1.2 notification and ignores the rest', () => {
    const incident = parseIncident(incidentNotification('open-with-links', '0.abcdefghijkl'));
    expect(incident).toEqual({
      incidentId: '0.abcdefghijkl',
      state: 'open',
      policyName: 'aiprod: API 5xx ratio above 1%',
      conditionName: '5xx / all responses > 1% for 5 min',
      summary:
        'Request count for aiprod-prod-123456 aiprod-api with metric labels {response_code_class=500} is above the threshold of 0.010 with a value of 0.042.',
      url: 'https://console.cloud.google.com/monitoring/alerting/alerts/0.abcdefghijkl?channelType=cloud-pubsub&project=aiprod-prod-123456',
      severity: 'critical',
      startedAt: 1746178794,
      endedAt: null,
      observedValue: '0.042',
      thresholdValue: '0.01',
      resourceName: 'aiprod-api',
      projectId: 'aiprod-prod-123456',
      documentationLinks: [
        { displayName: 'Runbook', url: 'https://github.com/aiprod/aiprod/blob/main/docs/runbooks/high-error-rate.md' },
      ],
      policyUserLabels: { app: 'aiprod', environment: 'prod', 'managed-by': 'terraform', runbook: 'high-error-rate' },
    });
    const closed = parseIncident(incidentNotification('closed-without-links'));
    expect(closed).toMatchObject({ state: 'closed', severity: 'warning', endedAt: 1682591623, documentationLinks: [] });
  });

  it("accepts Cloud Monitoring's test notification: version test, OPEN, documentation as text, times 0", () => {
    expect(parseIncident(incidentNotification('test-notification'))).toMatchObject({
      state: 'open',
      severity: 'none',
      startedAt: null,
      endedAt: null,
      documentationLinks: [],
      policyName: 'projects/12345/alertPolicies/12345',
    });
  });

  it('tolerates odd optional fields rather than dropping the incident', () => {
    const n = incidentNotification('open-with-links');
    Object.assign(n.incident, {
      url: 'javascript:alert(1)',
      started_at: '1746178794',
      observed_value: 0.5,
      severity: null,
      documentation: { links: [{ displayName: 'Runbook', url: 'not a url' }, 'junk'] },
      policy_user_labels: 'none',
      brand_new_field: { nested: true },
    });
    expect(parseIncident(n)).toMatchObject({
      url: null,
      startedAt: 1746178794,
      observedValue: '0.5',
      severity: 'none',
      documentationLinks: [],
      policyUserLabels: {},
    });
  });

  it.each([
    ['no incident', { version: '1.2' }],
    ['no id', { incident: { state: 'open', policy_name: 'p' } }],
    ['no policy', { incident: { incident_id: 'x', state: 'open' } }],
    [
      'a state that is neither open nor closed',
      { incident: { incident_id: 'x', state: 'acknowledged', policy_name: 'p' } },
    ],
    ['not an object', 'hello'],
  ])('refuses %s', (_what, data) => {
    expect(() => parseIncident(data)).toThrow(z.ZodError);
  });
});

describe('choosing the runbook', () => {
  it('knows exactly the runbooks docs/runbooks has', () => {
    const files = readdirSync(join(ROOT, 'docs', 'runbooks'))
      .filter((f) => f.endsWith('.md') && f !== 'README.md')
      .map((f) => f.replace(/\.md$/, ''))
      .sort();
    expect([...RUNBOOKS].sort()).toEqual(files);
  });

  it("maps the display name of every alert policy Terraform declares to that policy's runbook", async () => {
    const monitoring = await loadModule(join(MODULES_DIR, 'monitoring'));
    const policies = Object.entries(block(monitoring.locals.alert_policies)).map(
      ([key, p]) => [key, block(p)] as const,
    );
    expect(policies.length).toBeGreaterThan(10);
    for (const [key, p] of policies) {
      // The display name as Cloud Monitoring shows it: `<name_prefix>: <title>` (interpolations left in).
      const name = `aiprod: ${String(p.title)}`;
      expect({ policy: key, runbook: runbookOfPolicy(name) }).toEqual({ policy: key, runbook: p.runbook });
    }
  });

  it("prefers the documentation's link, then the policy's runbook label, then the policy's name", () => {
    const linked = parseIncident(incidentNotification('open-with-links'));
    expect(runbookFor(linked, BASE)).toEqual({
      label: 'docs/runbooks/high-error-rate.md',
      url: 'https://github.com/aiprod/aiprod/blob/main/docs/runbooks/high-error-rate.md',
    });
    const labelled = { ...linked, documentationLinks: [], policyUserLabels: { runbook: 'webhook-disabled' } };
    expect(runbookFor(labelled, BASE).url).toBe(`${BASE}/docs/runbooks/webhook-disabled.md`);
    const unknownLabel = { ...labelled, policyUserLabels: { runbook: 'no-such-runbook' } };
    expect(runbookFor(unknownLabel, BASE).url).toBe(`${BASE}/docs/runbooks/high-error-rate.md`);
    const named = parseIncident(incidentNotification('open-without-links'));
    expect(runbookFor(named, BASE).url).toBe(`${BASE}/docs/runbooks/cloudsql-cpu.md`);
    expect(runbookFor({ ...named, policyName: 'Someone else’s policy' }, BASE).url).toBe(
      `${BASE}/docs/runbooks/README.md`,
    );
    // Without a base URL there is nothing to link under: the file is named.
    expect(runbookFor(named, undefined)).toEqual({ label: 'docs/runbooks/cloudsql-cpu.md', url: null });
  });

  it('takes a playbook link of another site as it is', () => {
    const incident = parseIncident(incidentNotification('open-with-links'));
    const other = {
      ...incident,
      documentationLinks: [{ displayName: 'Playbook', url: 'https://wiki.example.com/playbooks/api-errors' }],
    };
    expect(runbookFor(other, BASE)).toEqual({
      label: 'Playbook',
      url: 'https://wiki.example.com/playbooks/api-errors',
    });
  });
});

describe('the Slack message', () => {
  const runbook = { label: 'docs/runbooks/high-error-rate.md', url: `${BASE}/docs/runbooks/high-error-rate.md` };

  it("escapes mrkdwn's control characters in what Cloud Monitoring wrote", () => {
    expect(escapeMrkdwn('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
    const incident = {
      ...parseIncident(incidentNotification('open-with-links')),
      conditionName: null,
      summary: 'value <@U123> & <!channel>',
    };
    const text = JSON.stringify(openingMessage(incident, runbook));
    expect(text).not.toContain('<@U123>');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('value &lt;@U123&gt; &amp; &lt;!channel&gt;');
  });

  it("keeps within Slack's limits: a header of 150 characters at most", () => {
    const incident = { ...parseIncident(incidentNotification('open-with-links')), policyName: 'p'.repeat(400) };
    const header = openingMessage(incident, runbook).attachments[0]!.blocks[0] as { text: { text: string } };
    expect(header.text.text.length).toBe(150);
  });

  it('threads a resolution only when it has a ts to reply to', () => {
    const closed = parseIncident(incidentNotification('closed-with-links'));
    expect(resolutionMessage(closed, runbook, '1746178801.000001').thread_ts).toBe('1746178801.000001');
    expect(resolutionMessage(closed, runbook, null)).not.toHaveProperty('thread_ts');
  });

  it("takes chat.postMessage's channel out of the URL", () => {
    expect(splitTarget('https://slack.com/api/chat.postMessage?channel=C0ALERTS')).toEqual({
      url: 'https://slack.com/api/chat.postMessage',
      channel: 'C0ALERTS',
    });
    expect(splitTarget('https://hooks.slack.com/services/T/B/x')).toEqual({
      url: 'https://hooks.slack.com/services/T/B/x',
      channel: null,
    });
  });
});
