/**
 * The parts of an API key, `sk_live_<lookup>_<secret>`. The lookup is letters and digits; the
 * secret is base64url, which may hold `_` itself, so it is everything after the lookup.
 */
export function keyParts(key: string): { lookup: string; secret: string } {
  const m = /^sk_live_([A-Za-z0-9]+)_(.+)$/.exec(key);
  if (!m) throw new Error('not an API key');
  return { lookup: m[1]!, secret: m[2]! };
}
