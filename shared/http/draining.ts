/**
 * The HTTP side of the graceful shutdown (lifecycle/shutdown.ts). Once the instance is stopping, a
 * new request is answered at once with 503 `shutting_down` and Retry-After while the listener stays
 * open, so a load balancer or client gets an answer to retry elsewhere rather than a refused
 * connection; `Connection: close` makes that retry open a new connection. Until then, every request
 * is counted in flight, so the shutdown waits for it.
 */
import type { RequestHandler } from 'express';
import { installShutdown, isShuttingDown, requestStarted } from '../lifecycle/shutdown';
import { HttpProblem } from './problem';

/** Another instance answers at once; a second is what a client should wait at most. */
const RETRY_AFTER_SECONDS = 1;

export function draining(): RequestHandler {
  installShutdown();
  return (_req, res, next) => {
    if (isShuttingDown()) {
      return next(
        new HttpProblem(
          503,
          'shutting_down',
          'Shutting down',
          'This instance is shutting down; retry the request, another instance will answer it.',
          undefined,
          { 'Retry-After': String(RETRY_AFTER_SECONDS), Connection: 'close' },
        ),
      );
    }
    // 'close' comes once the answer is sent or the client went away, whichever ends the request.
    res.once('close', requestStarted());
    next();
  };
}
