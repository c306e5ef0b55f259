import { httpFunctions, type HttpFunction } from '../../shared/platform/manifest';
import { GatewayRoute, gatewayRoutes, pathOrderKey, resolveRoute } from '../../shared/local/gateway';

const noop = () => undefined;
const routes: GatewayRoute[] = gatewayRoutes(httpFunctions(), () => noop);
const route = (method: string, path: string) => resolveRoute(routes, method, path)?.fn.name;

describe('local gateway routing (the load balancer stand-in)', () => {
  it.each([
    ['POST', '/pipeline/run', 'pipeline-run'],
    ['GET', '/pipeline/3f0c2a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f', 'pipeline-status'],
    ['GET', '/pipeline/3f0c2a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f/result', 'pipeline-result'],
    ['HEAD', '/presets', 'presets'],
    ['GET', '/health/ready', 'health'],
    ['GET', '/health/', 'health'],
  ])('%s %s goes to %s', (method, path, name) => {
    expect(route(method, path)).toBe(name);
  });

  it('sends a wrong method to the function owning the path, which answers 405', () => {
    expect(route('POST', '/pipeline/abc')).toBe('pipeline-status');
    // The exact path owns it, not the template that would also match with that method (routes
    // built without their declared path find it among the function's paths).
    expect(route('GET', '/pipeline/run')).toBe('pipeline-run');
  });

  it('matches a {id} to one path segment only', () => {
    expect(route('GET', '/pipeline/a/b/result')).toBeUndefined();
    expect(route('GET', '/nowhere')).toBeUndefined();
  });
});

describe('local gateway routing with several functions on one path', () => {
  const base = httpFunctions()[0]!;
  const fn = (name: string, method: HttpFunction['method'], paths: string[]): HttpFunction => ({
    ...base,
    name,
    method,
    paths,
  });
  // Declared in an order the routing must not depend on.
  const functions = [
    fn('webhooks-get', 'GET', ['/webhooks/{id}']),
    fn('webhooks-register', 'POST', ['/webhooks']),
    fn('webhooks-delete', 'DELETE', ['/webhooks/{webhook_id}']),
    fn('webhooks-list', 'GET', ['/webhooks']),
    fn('webhooks-rotate-secret', 'POST', ['/webhooks/{id}/rotate-secret']),
    fn('webhooks-events', 'GET', ['/webhooks/events']),
    fn('pipeline-result', 'GET', ['/pipeline/{id}/result']),
    fn('batch-status', 'GET', ['/pipeline/batch/{id}']),
  ];
  const shared = gatewayRoutes(functions, () => noop);
  const reversed = [...shared].reverse();
  const to = (method: string, path: string) => resolveRoute(shared, method, path)?.fn.name;

  it.each([
    ['GET', '/webhooks', 'webhooks-list'],
    ['POST', '/webhooks', 'webhooks-register'],
    ['GET', '/webhooks/wh_1', 'webhooks-get'],
    ['DELETE', '/webhooks/wh_1', 'webhooks-delete'],
    ['POST', '/webhooks/wh_1/rotate-secret', 'webhooks-rotate-secret'],
  ])('%s %s goes to %s, the function serving that method', (method, path, name) => {
    expect(to(method, path)).toBe(name);
  });

  it('serves HEAD from the GET function of the path, whatever its place', () => {
    expect(to('HEAD', '/webhooks')).toBe('webhooks-list');
    expect(to('HEAD', '/webhooks/wh_1')).toBe('webhooks-get');
  });

  it("sends a method no function of the path serves to the path's first function in method order (405)", () => {
    expect(to('DELETE', '/webhooks')).toBe('webhooks-list');
    expect(to('PUT', '/webhooks')).toBe('webhooks-list');
    expect(to('POST', '/webhooks/wh_1')).toBe('webhooks-delete');
    expect(to('HEAD', '/webhooks/wh_1/rotate-secret')).toBe('webhooks-rotate-secret');
  });

  it('lets the most specific path decide before the method, as the load balancer does', () => {
    // /webhooks/events is a path of its own, not the webhook "events": its function answers 405.
    expect(to('DELETE', '/webhooks/events')).toBe('webhooks-events');
    expect(to('GET', '/webhooks/events')).toBe('webhooks-events');
    // The earliest literal segment wins among templates matching the same request.
    expect(to('GET', '/pipeline/batch/result')).toBe('batch-status');
    expect(to('GET', '/pipeline/job_1/result')).toBe('pipeline-result');
  });

  it('routes the same whatever the order of the routes', () => {
    const requests = ['/webhooks', '/webhooks/wh_1', '/webhooks/events', '/pipeline/batch/result'].flatMap((p) =>
      ['GET', 'HEAD', 'POST', 'DELETE', 'PUT'].map((m) => [m, p] as const),
    );
    for (const [method, path] of requests)
      expect({ method, path, to: resolveRoute(reversed, method, path)?.fn.name }).toEqual({
        method,
        path,
        to: to(method, path),
      });
  });

  it('has no route for a path no function declares', () => {
    expect(to('GET', '/webhooks/wh_1/unknown')).toBeUndefined();
  });

  it('orders paths with the keys the manifest module sorts: exact, then templates by their literal segments', () => {
    const paths = ['/webhooks/{id}', '/pipeline/{id}/result', '/webhooks', '/pipeline/batch/{id}', '/webhooks/events'];
    expect([...paths].sort((a, b) => (pathOrderKey(a) < pathOrderKey(b) ? -1 : 1))).toEqual([
      '/webhooks',
      '/webhooks/events',
      '/pipeline/batch/{id}',
      '/webhooks/{id}',
      '/pipeline/{id}/result',
    ]);
    expect(pathOrderKey('/webhooks/{id}')).toBe(pathOrderKey('/webhooks/{webhook_id}'));
  });
});
