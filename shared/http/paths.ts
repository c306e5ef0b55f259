/**
 * The manifest writes paths as partners see them, `{id}` marking one segment; express and the
 * local gateway each need them in their own form.
 */

/** `/pipeline/{id}/result` -> `/pipeline/:id/result` */
export const expressPath = (p: string): string => p.replace(/\{([a-z_]+)\}/g, ':$1');

/** A matcher for the path, a trailing slash allowed, `{id}` standing for one segment. */
export function pathPattern(path: string): RegExp {
  const escaped = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[a-z_]+\\?\}/g, '[^/]+');
  return new RegExp(`^${escaped}/?$`);
}

/** The path with its variables' names erased: `/webhooks/{id}` and `/webhooks/{webhook_id}` are one path. */
export const pathShape = (path: string): string => path.replace(/\{[^}]+\}/g, '{}');
