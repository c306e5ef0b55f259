/**
 * An incident as a Slack message: Block Kit blocks inside one attachment, whose colour is the
 * severity (green once resolved), and a plain `text` for notifications and clients without
 * blocks. An opening shows the policy, condition, observed value against the threshold, start
 * time, and links to the incident and its runbook. A resolution replies in the opening's thread
 * when Slack told us where that is; otherwise it stands alone and names the incident it closes.
 */
import type { Incident, Severity } from './incident';
import type { RunbookLink } from './runbooks';

export interface SlackMessage {
  text: string;
  attachments: { color: string; blocks: Block[] }[];
  thread_ts?: string;
  channel?: string;
}

type Text = { type: 'plain_text' | 'mrkdwn'; text: string };
type Block =
  | { type: 'header'; text: Text }
  | { type: 'section'; text?: Text; fields?: Text[] }
  | { type: 'context'; elements: Text[] };

export const SEVERITY_COLOURS: Record<Severity, string> = {
  critical: '#E01E5A',
  error: '#E8912D',
  warning: '#ECB22E',
  none: '#8D8D8D',
};
export const RESOLVED_COLOUR = '#2EB67D';

const SEVERITY_LABELS: Record<Severity, string> = {
  critical: 'CRITICAL',
  error: 'ERROR',
  warning: 'WARNING',
  none: 'NO SEVERITY',
};

/** Slack's limits: a header's text, a section's text, a field. */
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** mrkdwn's control characters, as Slack asks them escaped. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function link(url: string, label: string): string {
  // `|` ends a link's URL and `>` the link; neither belongs in an http(s) URL unescaped.
  const safe = url.replace(/\|/g, '%7C').replace(/>/g, '%3E');
  return `<${safe}|${escapeMrkdwn(label)}>`;
}

/** A time each reader sees in their own time zone, with the UTC instant as the fallback. */
function when(epochSeconds: number): string {
  const iso = new Date(epochSeconds * 1000).toISOString().replace('.000', '');
  return `<!date^${epochSeconds}^{date_short_pretty} {time_secs}|${iso}>`;
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

const field = (label: string, value: string): Text => ({
  type: 'mrkdwn',
  text: cut(`*${label}*\n${value}`, FIELD_MAX),
});

function linksLine(incident: Incident, runbook: RunbookLink): Block {
  const parts = [
    incident.url ? link(incident.url, 'Open the incident') : `Incident \`${escapeMrkdwn(incident.incidentId)}\``,
    runbook.url ? link(runbook.url, `Runbook: ${runbook.label}`) : `Runbook: \`${escapeMrkdwn(runbook.label)}\``,
  ];
  return { type: 'section', text: { type: 'mrkdwn', text: parts.join('  ·  ') } };
}

function contextLine(incident: Incident): Block {
  const facts = [`incident \`${escapeMrkdwn(incident.incidentId)}\``];
  if (incident.projectId) facts.push(`project \`${escapeMrkdwn(incident.projectId)}\``);
  if (incident.resourceName) facts.push(escapeMrkdwn(incident.resourceName));
  return { type: 'context', elements: [{ type: 'mrkdwn', text: cut(facts.join('  ·  '), SECTION_MAX) }] };
}

/** The message posted when an incident opens. */
export function openingMessage(incident: Incident, runbook: RunbookLink): SlackMessage {
  const severity = SEVERITY_LABELS[incident.severity];
  const fields = [
    field('Policy', escapeMrkdwn(incident.policyName)),
    field('Condition', escapeMrkdwn(incident.conditionName ?? '—')),
    field('Observed value', escapeMrkdwn(incident.observedValue ?? '—')),
    field('Threshold', escapeMrkdwn(incident.thresholdValue ?? '—')),
    field('Started', incident.startedAt ? when(incident.startedAt) : '—'),
    field('Severity', severity),
  ];
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(`[${severity}] ${incident.policyName}`, HEADER_MAX) } },
    { type: 'section', fields },
  ];
  if (incident.summary)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(escapeMrkdwn(incident.summary), SECTION_MAX) } });
  blocks.push(linksLine(incident, runbook), contextLine(incident));
  return {
    text: escapeMrkdwn(
      `[${severity}] ${incident.policyName}: ${incident.conditionName ?? incident.summary ?? 'incident opened'}`,
    ),
    attachments: [{ color: SEVERITY_COLOURS[incident.severity], blocks }],
  };
}

/**
 * The message posted when an incident closes: a reply in the opening's thread (`threadTs`), or,
 * without one, a message of its own that names the incident, its policy and when it started.
 */
export function resolutionMessage(incident: Incident, runbook: RunbookLink, threadTs: string | null): SlackMessage {
  const lasted =
    incident.startedAt && incident.endedAt ? ` after ${duration(incident.endedAt - incident.startedAt)}` : '';
  const ended = incident.endedAt ? ` at ${when(incident.endedAt)}` : '';
  const headline = `*Resolved*${ended}${lasted}: ${escapeMrkdwn(incident.policyName)}`;
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text: cut(headline, SECTION_MAX) } }];
  if (threadTs === null) {
    blocks.unshift({
      type: 'header',
      text: { type: 'plain_text', text: cut(`[RESOLVED] ${incident.policyName}`, HEADER_MAX) },
    });
    blocks.push({
      type: 'section',
      fields: [
        field('Condition', escapeMrkdwn(incident.conditionName ?? '—')),
        field('Started', incident.startedAt ? when(incident.startedAt) : '—'),
      ],
    });
  }
  if (incident.summary)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(escapeMrkdwn(incident.summary), SECTION_MAX) } });
  blocks.push(linksLine(incident, runbook), contextLine(incident));
  return {
    text: escapeMrkdwn(
      `[RESOLVED] ${incident.policyName}: ${incident.conditionName ?? 'incident closed'} (incident ${incident.incidentId})`,
    ),
    attachments: [{ color: RESOLVED_COLOUR, blocks }],
    ...(threadTs === null ? {} : { thread_ts: threadTs }),
  };
}
