/**
 * The local stand-in for the load balancer: one HTTP server that hands each request to the HTTP
 * function the manifest routes it to, through that function's own functions-framework stack
 * (body parsing, error handling), exactly as the deployed function would see it.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { HttpFunction } from '../../functions/manifest';

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

export function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/problem+json' });
  res.end(
    JSON.stringify({
      type: 'https://aiprod.dev/problems/not_found',
      title: 'Not found',
      status: 404,
      code: 'not_found',
    }),
  );
}

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
