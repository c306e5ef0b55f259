/**
 * The `metrics_token` auth of the manifest: GET /metrics is for the operators' scraper, which
 * sends `Authorization: Bearer <AIPROD_METRICS_TOKEN>`. No principal comes of it, so the call is
 * nobody's usage.
 *
 * Without a token configured, local mode serves the metrics to anyone (a laptop's stack, a test),
 * and Google Cloud refuses to (503 `metrics_token_unset`): a deployment never exposes its figures
 * by a forgotten secret, and the answer says what to fix.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { config } from '../config';
import { acceptedSecretValues } from '../secrets';
import { HttpProblem } from './problem';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Equal digests, compared in constant time: neither the token's content nor its length shows in the timing. */
const sameToken = (given: string, expected: string): boolean => timingSafeEqual(digest(given), digest(expected));

const unauthorized = () =>
  new HttpProblem(
    401,
    'unauthorized',
    'Unauthorized',
    'The metrics token is required: Authorization: Bearer <AIPROD_METRICS_TOKEN>.',
    undefined,
    { 'WWW-Authenticate': 'Bearer realm="aiprod-metrics"' },
  );

const unset = () =>
  new HttpProblem(
    503,
    'metrics_token_unset',
    'Metrics not configured',
    'AIPROD_METRICS_TOKEN (secret metrics-token) is not set, and on Google Cloud metrics are served only with a token.',
  );

export function metricsTokenAuth(): RequestHandler {
  return (req, _res, next) => {
    const { AIPROD_METRICS_TOKEN: token, AIPROD_MODE: mode } = config();
    if (!token) return next(mode === 'local' ? undefined : unset());
    const given = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '')?.[1];
    if (!given) return next(unauthorized());
    // The token in use, re-read from metrics-token once per TTL (a rotation needs no redeploy), and
    // the one before it until the rotation's grace period has disabled it.
    acceptedSecretValues('metrics-token', token).then(
      (tokens) => next(tokens.some((t) => sameToken(given, t)) ? undefined : unauthorized()),
      next,
    );
  };
}
