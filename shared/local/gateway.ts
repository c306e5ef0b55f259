/**
 * The local stand-in for the load balancer: one HTTP server that hands each request to the HTTP
 * function the manifest routes it to, through that function's own functions-framework stack
 * (body parsing, error handling), exactly as the deployed function would see it.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { pathPattern } from '../http/paths';
import type { HttpFunction } from '../platform/manifest';

export interface GatewayRoute {
  fn: HttpFunction;
  /** The declared path, `{id}` marking a segment. */
  path: string;
  pattern: RegExp;
  /** The path's place in the load balancer's order (pathOrderKey), worked out once. */
  order: string;
  listener: RequestListener;
}

/** One route per declared path of every function, each with its path. */
export function gatewayRoutes(
  functions: HttpFunction[],
  listenerOf: (fn: HttpFunction) => RequestListener,
): GatewayRoute[] {
  return functions.flatMap((fn) => {
    const listener = listenerOf(fn);
    return fn.paths.map((path) => ({ fn, path, pattern: pathPattern(path), order: pathOrderKey(path), listener }));
  });
}

/**
 * The load balancer's order of declared paths, as the manifest module sorts them (Terraform
 * compares strings byte by byte, as `<` does on these ASCII keys): exact paths first, then
 * templates, among those the first literal segment earliest. Variables are unnamed, so
 * `/webhooks/{id}` and `/webhooks/{webhook_id}` are one path.
 */
export function pathOrderKey(path: string): string {
  const unnamed = path.replace(/\{[^}]*\}/g, '{}');
  if (!path.includes('{')) return `0-${unnamed}`;
  const shape = path
    .replace(/^\//, '')
    .split('/')
    .map((s) => (s.includes('{') ? '1' : '0'))
    .join('');
  return `1-${shape}-${unnamed}`;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Routes in the load balancer's order, each path's functions in method order: sorted once per route list. */
const sortedLists = new WeakMap<readonly GatewayRoute[], GatewayRoute[]>();

function inOrder(routes: readonly GatewayRoute[]): GatewayRoute[] {
  let sorted = sortedLists.get(routes);
  if (!sorted) {
    sorted = [...routes].sort((a, b) => byString(a.order, b.order) || byString(a.fn.method, b.fn.method));
    sortedLists.set(routes, sorted);
  }
  return sorted;
}

/**
 * The route for a request, as the load balancer picks it: the most specific declared path that
 * matches decides; among its functions the one serving the method (HEAD served by GET), else the
 * path's first function in method order, which answers 405. Undefined when no path matches.
 * Routes of one order key are one path, so they match alike and sit side by side once sorted.
 */
export function resolveRoute(routes: readonly GatewayRoute[], method: string, path: string): GatewayRoute | undefined {
  const sorted = inOrder(routes);
  const first = sorted.findIndex((r) => r.pattern.test(path));
  if (first < 0) return undefined;
  const order = sorted[first]!.order;
  let end = first + 1;
  while (end < sorted.length && sorted[end]!.order === order) end++;
  const owners = sorted.slice(first, end);
  return (
    owners.find((r) => r.fn.method === method) ??
    (method === 'HEAD' ? owners.find((r) => r.fn.method === 'GET') : undefined) ??
    owners[0]
  );
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
