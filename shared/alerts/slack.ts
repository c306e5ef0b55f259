/**
 * One post to Slack through the outbound guard (https, public addresses only, pinned, no
 * redirect), with a time limit, and what its answer means. Two kinds of target answer
 * differently: an incoming webhook says `ok` (200) or names its error with a 4xx; the Web API's
 * chat.postMessage (a bot token, a channel) answers 200 with JSON `{ok, ts, channel}` or `{ok:
 * false, error}`, and its `ts` is where a reply threads. The target URL is a credential (an
 * incoming webhook's path is its secret): it is never logged, nor are the guard's messages, which
 * repeat it.
 */
import { FetchError, postPinned, type PostAnswer } from '../net';
import { retryAfterSeconds } from '../webhooks/schedule';
import type { SlackMessage } from './slack-message';

export interface SlackTarget {
  /** SLACK_WEBHOOK_URL: an incoming webhook, or chat.postMessage with `?channel=<id>`. */
  url: string;
  botToken?: string;
  timeoutMs: number;
  allowPrivate: boolean;
}

export type SlackAnswer =
  /** Posted; `ts` and `channel` when the Web API answered with them. */
  | { outcome: 'posted'; ts: string | null; channel: string | null }
  /** Slack refused the message for good (a bad URL, token or channel will not fix itself). */
  | { outcome: 'rejected'; status: number | null; error: string }
  /** Slack could not take it now (5xx, 429, a timeout, no connection); the same post may succeed later. */
  | { outcome: 'unavailable'; status: number | null; error: string; retryAfterSeconds: number | null };

/** The Web API's errors that are Slack's trouble, not the request's. */
const TRANSIENT_API_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);
const ANSWER_MAX_BYTES = 16 * 1024;
const USER_AGENT = 'AIPROD-alerts/1.0';

/** The channel a chat.postMessage URL names in its query, taken out of the URL (the body carries it). */
export function splitTarget(url: string): { url: string; channel: string | null } {
  const parsed = new URL(url);
  const channel = parsed.searchParams.get('channel');
  if (channel === null) return { url, channel: null };
  parsed.searchParams.delete('channel');
  return { url: parsed.href, channel };
}

/** Slack's Retry-After in whole seconds (delay-seconds or an HTTP date), for the log line. */
function retryAfterOf(header: string | string[] | undefined): number | null {
  const seconds = retryAfterSeconds(header);
  return seconds === null ? null : Math.ceil(seconds);
}

/** What a 2xx body says: the Web API's JSON verdict, or an incoming webhook's plain `ok`. */
function verdictOf(status: number, body: string): SlackAnswer {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { outcome: 'posted', ts: null, channel: null };
  }
  if (typeof json !== 'object' || json === null || !('ok' in json))
    return { outcome: 'posted', ts: null, channel: null };
  const answer = json as { ok: unknown; ts?: unknown; channel?: unknown; error?: unknown };
  if (answer.ok === true) {
    return {
      outcome: 'posted',
      ts: typeof answer.ts === 'string' ? answer.ts : null,
      channel: typeof answer.channel === 'string' ? answer.channel : null,
    };
  }
  const error = typeof answer.error === 'string' ? answer.error.slice(0, 100) : 'not_ok';
  return TRANSIENT_API_ERRORS.has(error)
    ? { outcome: 'unavailable', status, error, retryAfterSeconds: null }
    : { outcome: 'rejected', status, error };
}

export async function postToSlack(target: SlackTarget, message: SlackMessage): Promise<SlackAnswer> {
  const { url, channel } = splitTarget(target.url);
  const body = JSON.stringify(channel && !message.channel ? { ...message, channel } : message);
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': USER_AGENT,
  };
  if (target.botToken) headers.authorization = `Bearer ${target.botToken}`;
  let answer: PostAnswer;
  try {
    answer = await postPinned(url, body, {
      timeoutMs: target.timeoutMs,
      allowPrivate: target.allowPrivate,
      headers,
      maxAnswerBytes: ANSWER_MAX_BYTES,
    });
  } catch (err) {
    if (!(err instanceof FetchError)) throw err;
    // The code only: the guard's message names the URL.
    if (err.code === 'url_forbidden') return { outcome: 'rejected', status: null, error: 'url_forbidden' };
    return { outcome: 'unavailable', status: null, error: err.code, retryAfterSeconds: null };
  }
  const { status } = answer;
  if (status >= 200 && status <= 299) return verdictOf(status, answer.body ?? '');
  if (status === 429 || status === 408 || status >= 500) {
    return {
      outcome: 'unavailable',
      status,
      error: `HTTP ${status}`,
      retryAfterSeconds: retryAfterOf(answer.headers['retry-after']),
    };
  }
  // An incoming webhook names its refusal in the body (invalid_payload, channel_not_found, ...).
  const reason = (answer.body ?? '').trim().slice(0, 100);
  return { outcome: 'rejected', status, error: reason ? `HTTP ${status}: ${reason}` : `HTTP ${status}` };
}
