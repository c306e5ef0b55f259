/**
 * What the functions-framework would answer on its own, answered by our app in problem+json.
 *
 * The framework's server runs body-parser (JSON, text, urlencoded, raw) and its own routes before
 * the function, and has no option to turn the parsing off: a body it cannot parse, a charset or content
 * encoding it does not know, or a URL it cannot decode ends in express's HTML error page; it
 * answers /favicon.ico and /robots.txt with an empty 404; and its crash handler (an error thrown
 * out of band during a request, an uncaught exception, SIGTERM) answers 500 in plain text, with
 * the error's message outside production.
 *
 * For the server of an app passed to routeFrameworkErrors, and only for it (event functions and
 * any other function keep the framework's behaviour), this module wraps the framework's
 * getServer, which its entry point and its testing helper both call after the function's module
 * has loaded, so deployed and local servers are the same:
 * - the framework's express app runs with a final callback of ours: whatever it would have
 *   answered as an error reaches our app as req.frameworkError, and frameworkErrorProblem()
 *   turns it into the problem, after the request id, the request log and the security headers;
 * - its default ignored routes are off, so /favicon.ico and /robots.txt reach our app (404);
 * - a body declared over AIPROD_MAX_BODY_BYTES goes straight to our app (413) unread, instead of
 *   being buffered by the framework first;
 * - its crash response is our 500 problem (the framework still logs the error and, for a
 *   process-level crash, exits).
 * The hooks are installed once per copy of the framework, on the copy the function registered
 * with (resolved at run time, never bundled). If that copy's internals are not the expected
 * shape, the framework's own behaviour stays and a warning says so.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import type { Express, Request, RequestHandler, Response } from 'express';
import { config } from '../config';
import { logger } from '../log';
import { HttpProblem, problems, sendProblem } from './problem';

declare module 'express-serve-static-core' {
  interface Request {
    /** What the functions-framework failed on before the app ran: a body-parser error, a URL decode error. */
    frameworkError?: unknown;
  }
}

/** Registry symbols, so two copies of this module (two bundles, two test registries) agree. */
const HOOKED = Symbol.for('aiprod.http.frameworkHooks');
const PROBLEM_APP = Symbol.for('aiprod.http.problemApp');
const PROBLEM_RESPONSE = Symbol.for('aiprod.http.problemResponse');

interface FrameworkOptions {
  signatureType?: string;
  ignoredRoutes?: string | null;
}
type GetServer = (userFunction: unknown, options: FrameworkOptions) => Server;
interface ServerModule {
  getServer?: GetServer;
  [HOOKED]?: true;
}
/** A response of a server built for one of our apps. */
type MarkedResponse = ServerResponse & { [PROBLEM_RESPONSE]?: true };
interface CrashArgs {
  err?: unknown;
  res?: MarkedResponse | null;
  statusHeader?: string;
  statusOverride?: number;
}
type SendCrashResponse = (args: CrashArgs) => void;
interface LoggerModule {
  sendCrashResponse?: SendCrashResponse;
}
/** An express app called as a function, with the final callback express offers instead of its HTML handler. */
type ExpressListener = (req: IncomingMessage, res: ServerResponse, done: (err?: unknown) => void) => void;

/** The header the framework marks its crash responses with. */
const FUNCTION_STATUS_HEADER = 'X-Google-Status';

function maxBodyBytes(): number {
  try {
    return config().AIPROD_MAX_BODY_BYTES;
  } catch {
    return Infinity; // a bad configuration is reported by the app itself
  }
}

function internalError(requestId: string | undefined): HttpProblem {
  return new HttpProblem(
    500,
    'internal_error',
    'Internal error',
    requestId ? `Something went wrong; quote request id ${requestId}.` : 'Something went wrong.',
  );
}

/** The request listener of an HTTP server the framework built for one of our apps. */
function problemListener(frameworkApp: ExpressListener, app: Express): RequestListener {
  return (req, res) => {
    (res as MarkedResponse)[PROBLEM_RESPONSE] = true;
    // Declared over the limit: the app answers 413 without the framework buffering the body first.
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes()) return app(req, res);
    frameworkApp(req, res, (err) => {
      if (res.headersSent) {
        if (err !== undefined && err !== null) req.socket.destroy(); // as express's own final handler
        return;
      }
      if (err !== undefined && err !== null) (req as Request).frameworkError = err;
      app(req, res);
    });
  };
}

function hookGetServer(server: ServerModule & { getServer: GetServer }): void {
  const original = server.getServer;
  server.getServer = function getServer(this: unknown, userFunction, options) {
    const ours =
      options?.signatureType === 'http' &&
      typeof userFunction === 'function' &&
      (userFunction as unknown as Record<symbol, unknown>)[PROBLEM_APP] === true;
    if (!ours) return original.call(this, userFunction, options);
    // An empty ignoredRoutes turns off the framework's own 404 for /favicon.ico and /robots.txt.
    const srv = original.call(this, userFunction, { ...options, ignoredRoutes: options.ignoredRoutes ?? '' });
    const listeners = srv.listeners('request');
    if (listeners.length !== 1) {
      logger().warn('functions-framework server has an unexpected shape: its own error responses stay');
      return srv;
    }
    const frameworkApp = listeners[0] as ExpressListener;
    srv.removeListener('request', frameworkApp);
    srv.on('request', problemListener(frameworkApp, userFunction as Express));
    return srv;
  };
}

function hookCrashResponse(log: LoggerModule & { sendCrashResponse: SendCrashResponse }): void {
  const original = log.sendCrashResponse;
  log.sendCrashResponse = function sendCrashResponse(this: unknown, args: CrashArgs) {
    const res = args?.res;
    if (res && res[PROBLEM_RESPONSE] && !res.headersSent && (args.statusOverride ?? 500) === 500) {
      try {
        const express = res as unknown as Response;
        const req = express.req as Request | undefined;
        res.setHeader(FUNCTION_STATUS_HEADER, args.statusHeader ?? 'crash');
        sendProblem(express, internalError(req?.id), req?.path);
      } catch {
        // the framework's own answer below, then
      }
    }
    // Logs the error, skips its own answer once ours is sent, and exits the process if asked to.
    return original.call(this, args);
  };
}

function installHooks(): void {
  let frameworkDir: string;
  try {
    // The copy the function registered with: the one `require('@google-cloud/functions-framework')` finds.
    frameworkDir = dirname(require.resolve('@google-cloud/functions-framework'));
  } catch {
    return; // not running under the functions-framework
  }
  let server: ServerModule;
  let log: LoggerModule;
  try {
    server = require(join(frameworkDir, 'server.js')) as ServerModule;
    log = require(join(frameworkDir, 'logger.js')) as LoggerModule;
  } catch {
    server = {};
    log = {};
  }
  if (server[HOOKED]) return;
  if (typeof server.getServer !== 'function' || typeof log.sendCrashResponse !== 'function') {
    logger().warn('functions-framework internals have changed: its own error responses stay', { frameworkDir });
    return;
  }
  server[HOOKED] = true;
  hookGetServer(server as ServerModule & { getServer: GetServer });
  hookCrashResponse(log as LoggerModule & { sendCrashResponse: SendCrashResponse });
}

/**
 * The framework's server for this app hands what it cannot handle itself to the app (see above).
 * Call before the framework builds the server: when the function's module loads.
 */
export function routeFrameworkErrors(app: Express): void {
  installHooks();
  (app as unknown as Record<symbol, unknown>)[PROBLEM_APP] = true;
}

/** The problem for what body-parser or the router raised (http-errors: status, type). */
export function frameworkProblem(err: unknown, req: Request): HttpProblem | undefined {
  if (err instanceof HttpProblem) return err;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; type?: unknown; charset?: unknown; encoding?: unknown };
  const status = typeof e.status === 'number' ? e.status : undefined;
  switch (e.type) {
    case 'entity.parse.failed':
      return req.is('json')
        ? problems.badRequest('invalid_json', 'The body must be a well-formed JSON object.')
        : problems.badRequest('bad_request', 'The body could not be parsed.');
    case 'entity.too.large':
    case 'parameters.too.many':
      return problems.tooLarge(config().AIPROD_MAX_BODY_BYTES);
    case 'charset.unsupported':
      return problems.unsupportedMediaType(
        `The charset ${JSON.stringify(String(e.charset ?? '').slice(0, 40))} is not supported; send the body as UTF-8 JSON.`,
      );
    case 'encoding.unsupported':
      return problems.unsupportedMediaType(
        `The content encoding ${JSON.stringify(String(e.encoding ?? '').slice(0, 40))} is not supported; send gzip, deflate, br or none.`,
      );
  }
  if (err instanceof URIError) return problems.badRequest('bad_request', 'The request URL is not well-formed.');
  if (status === 413) return problems.tooLarge(config().AIPROD_MAX_BODY_BYTES);
  if (status === 415) return problems.unsupportedMediaType();
  // A body that ended early, a length that lies, a corrupt compressed body.
  if (status !== undefined && status >= 400 && status < 500) {
    return problems.badRequest('bad_request', 'The request body could not be read.');
  }
  return undefined;
}

/** Middleware: the framework's error for this request, if any, as a problem (anything unknown is a 500). */
export function frameworkErrorProblem(): RequestHandler {
  return (req, _res, next) => {
    if (req.frameworkError === undefined) return next();
    next(frameworkProblem(req.frameworkError, req) ?? req.frameworkError);
  };
}
