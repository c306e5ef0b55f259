export type ByteRange = { start: number; end: number };

/**
 * Reads a `Range` header against a representation of `size` bytes (RFC 9110 section 14).
 * - `null`: serve the whole object (no header, a syntax we do not serve, or several ranges;
 *   the RFC lets a server ignore a Range it does not support).
 * - `'unsatisfiable'`: answer 416.
 * - otherwise the inclusive byte range to send with 206.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return null;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;

  if (first === '') {
    // Suffix range: the last N bytes.
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  // An open end runs to the last byte; a closed one before its start is invalid, so ignored.
  const end = last === '' ? Infinity : Number(last);
  if (end < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}
