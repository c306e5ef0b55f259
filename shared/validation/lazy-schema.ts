/**
 * A schema built on first use: `export const fooSchema = lazySchema(() => z.object({ ... }))`,
 * validated with `fooSchema().safeParse(input)`. Building a zod schema is work done at import
 * otherwise, by every module a function loads, for requests its instance may never see; a cold
 * start's first answer should not wait for it. Every call returns the same instance, so what the
 * OpenAPI document registers on a schema (shared/openapi/requests.ts) stays on the one that
 * validates.
 */
export function lazySchema<T>(build: () => T): () => T {
  let schema: T | undefined;
  return () => (schema ??= build());
}
