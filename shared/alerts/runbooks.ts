/**
 * Which runbook of docs/runbooks an incident's responder should open. In order: the link the
 * policy's documentation carries (Terraform adds one when `runbook_base_url` is set); the
 * policy's `runbook` user label (every policy Terraform creates has one); the policy's name, read
 * against the display names of the policies in terraform/modules/monitoring. Failing all three,
 * the runbooks' index, whose table lists every policy.
 */
import type { Incident } from './incident';

/** The runbooks that exist in docs/runbooks, by file name without `.md` (a unit test keeps this true). */
export const RUNBOOKS = [
  'alert-notifier',
  'backup-failure',
  'cloudsql-connections',
  'cloudsql-cpu',
  'cloudsql-memory',
  'dead-letter-messages',
  'function-crash',
  'function-out-of-memory',
  'high-error-rate',
  'high-latency',
  'job-failures',
  'pubsub-backlog',
  'secret-rotation',
  'webhook-disabled',
] as const;
export type Runbook = (typeof RUNBOOKS)[number];

/**
 * Policy display names (`<prefix>: <title>`, the title as local.alert_policies words it) to
 * their runbook; the first match wins, so the more specific patterns come first.
 */
const BY_POLICY_NAME: [RegExp, Runbook][] = [
  [/\b5xx ratio\b/i, 'high-error-rate'],
  [/\blatency\b/i, 'high-latency'],
  [/\bcloud sql connections\b/i, 'cloudsql-connections'],
  [/\bcloud sql cpu\b/i, 'cloudsql-cpu'],
  [/\bcloud sql memory\b/i, 'cloudsql-memory'],
  [/\bbackup failed\b/i, 'backup-failure'],
  [/\bout of memory\b/i, 'function-out-of-memory'],
  [/\bfunction crashed\b/i, 'function-crash'],
  [/\bdead-letter\b/i, 'dead-letter-messages'],
  [/\boldest unacked\b|\bbacklog\b/i, 'pubsub-backlog'],
  [/\bfailed jobs\b/i, 'job-failures'],
  [/\bwebhook disabled\b/i, 'webhook-disabled'],
  [/\balert not posted\b/i, 'alert-notifier'],
  [/\bsecret rotation\b/i, 'secret-rotation'],
];

const isRunbook = (name: string | undefined): name is Runbook =>
  name !== undefined && (RUNBOOKS as readonly string[]).includes(name);

/** The runbook a policy's name points at, or null. */
export function runbookOfPolicy(policyName: string): Runbook | null {
  return BY_POLICY_NAME.find(([pattern]) => pattern.test(policyName))?.[1] ?? null;
}

export interface RunbookLink {
  /** What the message shows: the runbook's file, or the link's own name. */
  label: string;
  /** Null when there is no base URL to link under: the label is then shown as a path. */
  url: string | null;
}

const RUNBOOK_PATH = /\/docs\/runbooks\/[^/]+\.md$/;

export function runbookFor(incident: Incident, baseUrl: string | undefined): RunbookLink {
  const linked = incident.documentationLinks.find(
    (l) => RUNBOOK_PATH.test(new URL(l.url).pathname) || /runbook|playbook/i.test(l.displayName),
  );
  if (linked) {
    const file = RUNBOOK_PATH.exec(new URL(linked.url).pathname)?.[0].slice(1);
    return { label: file ?? linked.displayName, url: linked.url };
  }
  const label = incident.policyUserLabels.runbook;
  const name = isRunbook(label) ? label : runbookOfPolicy(incident.policyName);
  const file = name ? `docs/runbooks/${name}.md` : 'docs/runbooks/README.md';
  return { label: file, url: baseUrl ? `${baseUrl}/${file}` : null };
}
