/**
 * The express app every HTTP function is built from: request id, trace-correlated request log,
 * security headers, draining at shutdown (draining.ts), body-size limit, API-key auth, and one
 * error path that answers problem+json.
 * The functions-framework has already parsed the body (keeping req.rawBody) when the app runs,
 * on Google Cloud and in the local stack alike; what it could not parse (or otherwise would have
 * answered itself) reaches the app as req.frameworkError and is answered here too (framework-errors.ts).
 */
import { randomUUID } from 'node:crypto';
import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { config } from '../config';
import { db } from '../db';
import { logger, logsAt, traceFields } from '../log';
import { authenticate, rememberedPrincipal, type Principal } from '../auth/api-keys';
import { HttpProblem, problems, sendProblem } from './problem';
import { frameworkErrorProblem, routeFrameworkErrors } from './framework-errors';
import { toProblem } from './errors';
import { draining } from './draining';
import { expressPath, pathPattern, pathShape } from './paths';
import { rateLimiter } from './rate-limit';
import { metricsTokenAuth } from './metrics-token';
import { requestMetrics } from '../metrics/requests';
import { httpFunctions, type HttpFunction } from '../platform/manifest';
import { meterUsage } from '../usage/meter';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    principal?: Principal;
    rawBody?: Buffer;
  }
}

export type Handler = (req: Request, res: Response) => Promise<void> | void;

export interface AppOptions {
  /**
   * For an `api_key_or_signed` route, a request without an Authorization header: the principal its
   * signed URL grants, or null (401). It may throw a problem of its own (an expired URL).
   */
  signed?: (req: Request) => Promise<Principal | null>;
  /**
   * Content-Security-Policy directives on top of `default-src 'none'` (helmet's names, e.g.
   * `connectSrc`), for the one function whose answers are a page a browser runs: the docs.
   */
  csp?: Record<string, string[] | null>;
}

/** How many proxies append to X-Forwarded-For in front of this function (config.ts). */
export function trustedProxyHops(): number {
  const c = config();
  return c.AIPROD_TRUSTED_PROXY_HOPS ?? (c.AIPROD_MODE === 'gcp' ? 2 : 1);
}

function requestContext(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.header('x-request-id');
    req.id = incoming && /^[A-Za-z0-9._-]{8,128}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    if (!logsAt('info')) return next();
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      logger().info('request', {
        requestId: req.id,
        httpRequest: {
          requestMethod: req.method,
          requestUrl: req.path, // never the query: it may carry a signature
          status: res.statusCode,
          latency: `${Number(process.hrtime.bigint() - started) / 1e9}s`,
          userAgent: req.header('user-agent'),
          remoteIp: req.ip, // the caller behind the trusted proxies, as the rate limits count it
        },
        tenantId: req.principal?.tenantId,
        ...traceFields(req.headers),
      });
    });
    next();
  };
}

function bodyLimit(): RequestHandler {
  return (req, _res, next) => {
    const limit = config().AIPROD_MAX_BODY_BYTES;
    const declared = Number(req.header('content-length') ?? 0);
    if (declared > limit || (req.rawBody?.length ?? 0) > limit) return next(problems.tooLarge(limit));
    next();
  };
}

function apiKeyAuth(): RequestHandler {
  return (req, _res, next) => {
    const admit = (principal: Principal | null): void => {
      if (!principal) return next(problems.unauthorized());
      req.principal = principal;
      next();
    };
    const presented = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '')?.[1];
    if (!presented) return admit(null);
    const ttl = config().AIPROD_API_KEY_CACHE_SECONDS;
    // A warm key is admitted synchronously: inside the framework's per-request domain every
    // promise pays for its async hooks, and this is every authenticated request.
    const warm = rememberedPrincipal(db(), presented, ttl);
    if (warm) return admit(warm);
    authenticate(db(), presented, ttl).then(admit, next);
  };
}

/** A Bearer key when the request sends one (it must be good), else the route's signed URL. */
function apiKeyOrSignedAuth(signed: NonNullable<AppOptions['signed']>): RequestHandler {
  const byKey = apiKeyAuth();
  return async (req, res, next) => {
    if (req.header('authorization') !== undefined) return byKey(req, res, next);
    const principal = await signed(req);
    if (!principal) return next(problems.unauthorized());
    req.principal = principal;
    next();
  };
}

function errorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const problem = toProblem(err);
    if (problem) {
      if (problem.status === 503) logger().warn('request shed', { requestId: req.id, code: problem.code });
      return sendProblem(res, problem, req.path);
    }
    logger().error('unhandled error', { requestId: req.id, error: err });
    sendProblem(
      res,
      new HttpProblem(500, 'internal_error', 'Internal error', `Something went wrong; quote request id ${req.id}.`),
      req.path,
    );
  };
}

/**
 * Every method some function declares on this function's paths: what a 405 from any of them
 * names in Allow, since the load balancer sends a path's unserved methods to one of them.
 */
function allowedMethods(route: HttpFunction): string {
  const shapes = new Set(route.paths.map(pathShape));
  const methods = new Set(
    httpFunctions()
      .filter((f) => f.paths.some((p) => shapes.has(pathShape(p))))
      .map((f) => f.method),
  );
  return [...methods].sort().join(', ');
}

/**
 * The app of one HTTP function of the manifest: its method, paths and auth come from its entry,
 * so what is deployed, routed and documented is what runs.
 */
export function createApp(name: string, handler: Handler, options: AppOptions = {}): express.Express {
  const route = httpFunctions().find((f) => f.name === name);
  if (!route) throw new Error(`${name} is not an HTTP function of the manifest`);
  if (route.auth === 'api_key_or_signed' && !options.signed) throw new Error(`${name} needs a signed-URL check`);
  const app = express();
  routeFrameworkErrors(app);
  app.disable('x-powered-by');
  // An ETag lets a poll of a GET answer be a 304; on any other answer it is a hash for nothing.
  app.set('etag', route.method === 'GET');
  // A hop count, never `true`: trusting every entry would take the caller's address from the
  // left of X-Forwarded-For, which the caller writes, and a per-address limit would count nothing.
  app.set('trust proxy', trustedProxyHops());
  // First, so every answer is counted and timed, the app's own refusals included.
  app.use(requestMetrics(route.name));
  app.use(requestContext());
  app.use(helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], ...options.csp } } }));
  // Before any work: a stopping instance refuses at once, and counts what it lets in.
  app.use(draining());
  app.use(bodyLimit());
  app.use(frameworkErrorProblem());
  // express 5 passes a rejected promise on to the error handler.
  const chain: RequestHandler[] = [
    ...(route.auth === 'api_key' ? [apiKeyAuth()] : []),
    ...(route.auth === 'api_key_or_signed' ? [apiKeyOrSignedAuth(options.signed!)] : []),
    ...(route.auth === 'metrics_token' ? [metricsTokenAuth()] : []),
    ...(route.rateLimit === 'none' ? [] : [rateLimiter(route.rateLimit)]),
    meterUsage(route),
    handler,
  ];
  const method = route.method.toLowerCase() as 'get' | 'post' | 'delete';
  for (const path of route.paths) app[method](expressPath(path), chain);
  const patterns = route.paths.map(pathPattern);
  const allow = allowedMethods(route);
  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(
      patterns.some((p) => p.test(req.path))
        ? new HttpProblem(405, 'method_not_allowed', 'Method not allowed', `Use ${allow}.`, undefined, {
            Allow: allow,
          })
        : problems.notFound('route'),
    );
  });
  app.use(errorHandler());
  return app;
}
