import * as z from 'zod';
import { jobRequestSchemas, metadataSchema } from '../../shared/jobs/request';
import { lazySchema } from '../../shared/validation/lazy-schema';

it('builds a schema on first use only, and returns that one instance from then on', () => {
  const build = jest.fn(() => z.object({ id: z.string() }));
  const schema = lazySchema(build);
  expect(build).not.toHaveBeenCalled();
  const first = schema();
  expect(schema()).toBe(first);
  expect(build).toHaveBeenCalledTimes(1);
  expect(first.parse({ id: 'a' })).toEqual({ id: 'a' });
});

it('validates with the instances the OpenAPI document describes', () => {
  // shared/openapi/requests.ts registers its descriptions on these very instances.
  require('../../shared/openapi/requests');
  expect(z.globalRegistry.get(metadataSchema())?.description).toMatch(/^Your own values/);
  expect(z.globalRegistry.get(jobRequestSchemas().dub.shape.video_url)?.description).toMatch(
    /^An `http\(s\):\/\/` URL/,
  );
});
