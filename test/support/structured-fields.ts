/**
 * A strict parser of RFC 8941 Lists of Items whose bare items and parameter values are Strings,
 * Tokens or Integers: what the RateLimit and RateLimit-Policy fields of
 * draft-ietf-httpapi-ratelimit-headers carry. It throws on anything else, so a test that parses a
 * field also proves the field is well-formed.
 */
export type BareItem = string | number;

export interface Item {
  value: BareItem;
  /** `isString` tells a String from a Token of the same text. */
  isString: boolean;
  params: Record<string, BareItem>;
}

class Cursor {
  i = 0;
  constructor(readonly s: string) {}
  peek(): string | undefined {
    return this.s[this.i];
  }
  fail(what: string): never {
    throw new Error(`malformed structured field at ${this.i} (${what}): ${this.s}`);
  }
}

function bareItem(c: Cursor): { value: BareItem; isString: boolean } {
  const ch = c.peek();
  if (ch === '"') {
    c.i += 1;
    let out = '';
    for (;;) {
      const next = c.s[c.i++];
      if (next === undefined) c.fail('unterminated string');
      if (next === '"') return { value: out, isString: true };
      if (next === '\\') {
        const escaped = c.s[c.i++];
        if (escaped !== '"' && escaped !== '\\') c.fail('bad escape');
        out += escaped;
      } else {
        if (next < ' ' || next > '~') c.fail('character outside a string');
        out += next;
      }
    }
  }
  if (ch !== undefined && /[-0-9]/.test(ch)) {
    const m = /^-?[0-9]{1,15}/.exec(c.s.slice(c.i));
    if (!m) c.fail('integer');
    c.i += m[0].length;
    if (c.peek() === '.') c.fail('decimals are not expected here');
    return { value: Number(m[0]), isString: false };
  }
  if (ch !== undefined && /[A-Za-z*]/.test(ch)) {
    const m = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(c.s.slice(c.i))!;
    c.i += m[0].length;
    return { value: m[0], isString: false };
  }
  return c.fail('bare item');
}

function params(c: Cursor): Record<string, BareItem> {
  const out: Record<string, BareItem> = {};
  while (c.peek() === ';') {
    c.i += 1;
    while (c.peek() === ' ') c.i += 1;
    const m = /^[a-z*][a-z0-9_\-.*]*/.exec(c.s.slice(c.i));
    if (!m) c.fail('parameter key');
    c.i += m[0].length;
    if (m[0] in out) c.fail(`parameter ${m[0]} twice`);
    if (c.peek() === '=') {
      c.i += 1;
      out[m[0]] = bareItem(c).value;
    } else out[m[0]] = 1; // a bare key is Boolean true; no field here uses one
  }
  return out;
}

export function parseList(field: string | null): Item[] {
  if (field === null) throw new Error('the field is missing');
  const c = new Cursor(field.trim());
  const items: Item[] = [];
  while (c.i < c.s.length) {
    const { value, isString } = bareItem(c);
    items.push({ value, isString, params: params(c) });
    while (c.peek() === ' ' || c.peek() === '\t') c.i += 1;
    if (c.i >= c.s.length) break;
    if (c.peek() !== ',') c.fail('expected a comma');
    c.i += 1;
    while (c.peek() === ' ' || c.peek() === '\t') c.i += 1;
    if (c.i >= c.s.length) c.fail('trailing comma');
  }
  if (items.length === 0) c.fail('empty list');
  return items;
}
