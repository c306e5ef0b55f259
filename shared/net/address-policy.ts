import ipaddr from 'ipaddr.js';
import { FetchError } from './errors';

/*
 * An allow-list, not a deny-list: an address passes only when ipaddr.js classifies it as plain
 * `unicast`. Every special range it knows (loopback, private, link-local incl. the metadata server,
 * CGNAT, unique-local, multicast, broadcast, reserved, documentation, benchmarking, ...) and every
 * range it learns in a later version is refused without this file having to list it.
 */

/** `::a.b.c.d` (deprecated IPv4-compatible). ipaddr.js calls these `unicast`; nothing public uses them. */
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');
/** The well-known NAT64 prefix: a gateway forwards `64:ff9b::a.b.c.d` to `a.b.c.d`. */
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

function lowIPv4(v6: ipaddr.IPv6): ipaddr.IPv4 {
  const bytes = v6.toByteArray();
  return new ipaddr.IPv4(bytes.slice(12, 16));
}

/**
 * The IPv4 address an IPv6 address leads to when it is a translation or tunnel form, so that
 * `::ffff:127.0.0.1`, `64:ff9b::a9fe:a9fe` or `2002:0a00:0001::` are judged as the IPv4 address
 * they reach. `null` for a native IPv6 address.
 */
function embeddedIPv4(v6: ipaddr.IPv6): ipaddr.IPv4 | null {
  const range = v6.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || v6.match(NAT64_WELL_KNOWN)) return lowIPv4(v6);
  if (range === '6to4') {
    const bytes = v6.toByteArray();
    return new ipaddr.IPv4(bytes.slice(2, 6));
  }
  return null;
}

function isPublic(addr: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (addr.kind() === 'ipv4') return addr.range() === 'unicast';
  const v6 = addr as ipaddr.IPv6;
  const v4 = embeddedIPv4(v6);
  if (v4) return v4.range() === 'unicast';
  if (v6.match(IPV4_COMPATIBLE)) return false;
  return v6.range() === 'unicast';
}

/** Throws `url_forbidden` unless `ip` is a public unicast address a partner's file may live on. */
export function assertPublicAddress(ip: string): void {
  // A zone id (`fe80::1%eth0`) names a local interface; no public address has one.
  if (ip.includes('%')) throw new FetchError('url_forbidden', `address ${ip} is not public`);
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // parse(), not process(): process() would unwrap ::ffff:a.b.c.d and hide the mapping we check.
    // Only canonical dotted quads count as IPv4 here; resolvers never return 0x7f.1 or 2130706433.
    if (ipaddr.IPv4.isValidFourPartDecimal(ip)) parsed = ipaddr.IPv4.parse(ip);
    else if (ipaddr.IPv6.isValid(ip)) parsed = ipaddr.IPv6.parse(ip);
    else throw new Error('not an IP address');
  } catch {
    throw new FetchError('url_forbidden', `"${ip}" is not an IP address`);
  }
  if (!isPublic(parsed)) throw new FetchError('url_forbidden', `address ${ip} is not public`);
}
