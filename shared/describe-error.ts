/**
 * An error as one line with what lies under it: fetch throws "fetch failed" and keeps the reason
 * (a refused connection, a reset socket) in its `cause`, which is what a reader needs.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const first = err.message.split('\n')[0]!;
  return err.cause instanceof Error ? `${first} (${err.cause.message})` : first;
}
