/**
 * The local stand-in for the load balancer: one HTTP server that hands each request to the HTTP
 * function the manifest routes it to, through that function's own functions-framework stack
 * (body parsing, error handling), exactly as the deployed function would see it.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { HttpFunction } from '../platform/manifest';

export interface GatewayRoute {
  fn: HttpFunction;
  pattern: RegExp;
  listener: RequestListener;
}

/** The route for a request: the function whose path and method match, else one whose path does (it answers 405). */
export function resolveRoute(routes: GatewayRoute[], method: string, path: string): GatewayRoute | undefined {
  const byPath = routes.filter((r) => r.pattern.test(path));
  return byPath.find((r) => r.fn.method === method || (method === 'HEAD' && r.fn.method === 'GET')) ?? byPath[0];
}

function answerProblem(
  res: ServerResponse,
  status: number,
  code: string,
  title: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/problem+json' });
  res.end(JSON.stringify({ type: `https://aiprod.dev/problems/${code}`, title, status, code }));
}

export function notFound(res: ServerResponse): void {
  answerProblem(res, 404, 'not_found', 'Not found');
}

/** What the gateway answers while the stack is still starting: come back in a second. */
export const starting: RequestListener = (req, res) => {
  req.resume();
  answerProblem(res, 503, 'starting', 'Starting up', { 'Retry-After': '1' });
};

export function gatewayListener(
  routes: GatewayRoute[],
  extra: { prefix: string; listener: RequestListener }[] = [],
): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const special = extra.find((e) => path.startsWith(e.prefix));
    if (special) return special.listener(req, res);
    const route = resolveRoute(routes, req.method ?? 'GET', path);
    if (!route) return notFound(res);
    route.listener(req, res);
  };
}
