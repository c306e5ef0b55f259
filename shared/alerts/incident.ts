/**
 * A Cloud Monitoring incident as its Pub/Sub notification channel publishes it (notification
 * schema version 1.2: `{version, incident: {...}}`), read with zod at the boundary. Fields the
 * notifier does not use, and fields a later schema adds, are ignored. Cloud Monitoring's test
 * notifications have the same shape with version `test`, an upper-case state and the
 * documentation as a bare string; they are accepted too.
 */
import * as z from 'zod';
import { lazySchema } from '../validation/lazy-schema';

export type IncidentState = 'open' | 'closed';
export type Severity = 'critical' | 'error' | 'warning' | 'none';

export interface DocumentationLink {
  displayName: string;
  url: string;
}

export interface Incident {
  incidentId: string;
  state: IncidentState;
  policyName: string;
  conditionName: string | null;
  summary: string | null;
  /** The incident's page in the console; null when absent or not an http(s) URL. */
  url: string | null;
  severity: Severity;
  /** Epoch seconds; null when absent (0 in a test notification counts as absent). */
  startedAt: number | null;
  endedAt: number | null;
  observedValue: string | null;
  thresholdValue: string | null;
  resourceName: string | null;
  projectId: string | null;
  documentationLinks: DocumentationLink[];
  policyUserLabels: Record<string, string>;
}

/** The notification's schema and its documentation links, built on the first message read. */
const schemas = lazySchema(() => {
  const text = z.string().trim().min(1);
  const optionalText = z.string().nullish().catch(null);
  const httpUrl = z
    .string()
    .refine((u) => URL.canParse(u) && /^https?:/i.test(u))
    .nullish()
    .catch(null);
  /** Epoch seconds: a number (what Cloud Monitoring sends) or a string of digits; null or 0 when unset. */
  const epochSeconds = z
    .union([z.number(), z.string().regex(/^\d+$/).transform(Number)])
    .nullish()
    .catch(null)
    .transform((v) => (v ? v : null));
  /** Observed and threshold values are strings in the schema; a number is taken as one. */
  const value = z
    .union([z.string(), z.number().transform(String)])
    .nullish()
    .catch(null);

  const link = z.object({ displayName: z.string().nullish(), url: httpUrl });
  const documentation = z
    .union([
      z.object({ links: z.array(z.unknown()).nullish() }),
      // A test notification's documentation is plain text.
      z.string(),
    ])
    .nullish()
    .catch(null);

  const notification = z.object({
    version: z.string().optional(),
    incident: z.object({
      incident_id: text,
      state: z
        .string()
        .transform((s) => s.toLowerCase())
        .pipe(z.enum(['open', 'closed'])),
      policy_name: text,
      condition_name: optionalText,
      summary: optionalText,
      url: httpUrl,
      severity: optionalText,
      started_at: epochSeconds,
      ended_at: epochSeconds,
      observed_value: value,
      threshold_value: value,
      resource_display_name: optionalText,
      resource_name: optionalText,
      scoping_project_id: optionalText,
      documentation,
      policy_user_labels: z.record(z.string(), z.string()).nullish().catch(null),
    }),
  });
  return { notification, link };
});
type Documentation = z.infer<ReturnType<typeof schemas>['notification']>['incident']['documentation'];

function severityOf(raw: string | null | undefined): Severity {
  const s = (raw ?? '').trim().toLowerCase();
  return s === 'critical' || s === 'error' || s === 'warning' ? s : 'none';
}

/** Links of the policy's documentation that are usable: a URL, and a name (the URL's when it has none). */
function linksOf(doc: Documentation): DocumentationLink[] {
  if (!doc || typeof doc === 'string') return [];
  return (doc.links ?? []).flatMap((raw) => {
    const parsed = schemas().link.safeParse(raw);
    if (!parsed.success || !parsed.data.url) return [];
    return [{ displayName: parsed.data.displayName?.trim() || parsed.data.url, url: parsed.data.url }];
  });
}

/**
 * The incident in `data` (a notification's decoded JSON). Throws z.ZodError when it is not a
 * notification: no incident, no id, no policy, or a state other than open and closed.
 */
export function parseIncident(data: unknown): Incident {
  const { incident: i } = schemas().notification.parse(data);
  return {
    incidentId: i.incident_id,
    state: i.state,
    policyName: i.policy_name,
    conditionName: i.condition_name ?? null,
    summary: i.summary ?? null,
    url: i.url ?? null,
    severity: severityOf(i.severity),
    startedAt: i.started_at,
    endedAt: i.ended_at,
    observedValue: i.observed_value ?? null,
    thresholdValue: i.threshold_value ?? null,
    resourceName: i.resource_display_name ?? i.resource_name ?? null,
    projectId: i.scoping_project_id ?? null,
    documentationLinks: linksOf(i.documentation),
    policyUserLabels: i.policy_user_labels ?? {},
  };
}
