import { httpFunctions } from '../../shared/platform/manifest';
import { pathPattern } from '../../shared/http/paths';
import { GatewayRoute, resolveRoute } from '../../shared/local/gateway';

const routes: GatewayRoute[] = httpFunctions().flatMap((fn) =>
  fn.paths.map((p) => ({ fn, pattern: pathPattern(p), listener: () => undefined })),
);
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
  });

  it('matches a {id} to one path segment only', () => {
    expect(route('GET', '/pipeline/a/b/result')).toBeUndefined();
    expect(route('GET', '/nowhere')).toBeUndefined();
  });
});
