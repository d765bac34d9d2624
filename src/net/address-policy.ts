import ipaddr from 'ipaddr.js';

/**
 * SPEC §5.3 address rules: which IP addresses a webhook may be delivered to. Pure: no DNS, no sockets.
 *
 * Only public unicast is allowed. Ranges are matched with ipaddr.js (`subnetMatch` over the tables below) rather
 * than ipaddr.js's own `range()` names, because `range()` lumps documentation, benchmarking and 240/4 together as
 * 'reserved' and has no 'metadata'; the tables give the caller a precise reason.
 *
 * Addresses that carry an IPv4 address (IPv4-mapped/compatible/translated, NAT64, 6to4, Teredo) are judged by the
 * IPv4 they carry: a forbidden one rejects the address with `<form>:<inner reason>`, a public one allows it (it
 * reaches that public host). Teredo is decoded, not rejected wholesale: both the server IPv4 (bits 32..64) and the
 * client IPv4 (last 32 bits XOR 0xffffffff) must be public.
 */
export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

type Cidr = [ipaddr.IPv4, number];
type Cidr6 = [ipaddr.IPv6, number];

const cidr4 = (c: string): Cidr => ipaddr.IPv4.parseCIDR(c);
const cidr6 = (c: string): Cidr6 => ipaddr.IPv6.parseCIDR(c);

/** Order matters: `subnetMatch` answers with the first entry that contains the address. */
const IPV4_FORBIDDEN: Record<string, Cidr[]> = {
  unspecified: [cidr4('0.0.0.0/8')],
  private: [cidr4('10.0.0.0/8'), cidr4('172.16.0.0/12'), cidr4('192.168.0.0/16')],
  carrierGradeNat: [cidr4('100.64.0.0/10')],
  loopback: [cidr4('127.0.0.0/8')],
  metadata: [cidr4('169.254.169.254/32')],
  linkLocal: [cidr4('169.254.0.0/16')],
  documentation: [cidr4('192.0.2.0/24'), cidr4('198.51.100.0/24'), cidr4('203.0.113.0/24')],
  benchmarking: [cidr4('198.18.0.0/15')],
  multicast: [cidr4('224.0.0.0/4')],
  broadcast: [cidr4('255.255.255.255/32')],
  // 192.0.0/24 IETF protocol assignments, 192.88.99/24 the retired 6to4 relay anycast, 240/4 future use.
  reserved: [cidr4('192.0.0.0/24'), cidr4('192.88.99.0/24'), cidr4('240.0.0.0/4')],
};

/** IPv6 ranges rejected outright (checked after the IPv4-carrying forms and before the 2000::/3 default). */
const IPV6_FORBIDDEN: Record<string, Cidr6[]> = {
  unspecified: [cidr6('::/128')],
  loopback: [cidr6('::1/128')],
  uniqueLocal: [cidr6('fc00::/7')],
  linkLocal: [cidr6('fe80::/10')],
  siteLocal: [cidr6('fec0::/10')],
  multicast: [cidr6('ff00::/8')],
  discard: [cidr6('100::/64')],
  documentation: [cidr6('2001:db8::/32'), cidr6('3fff::/20')],
  benchmarking: [cidr6('2001:2::/48')],
  // Local-use NAT64 (RFC 8215): the IPv4 position depends on the operator's prefix length, and it is not
  // globally reachable anyway.
  nat64Local: [cidr6('64:ff9b:1::/48')],
  // The rest of the IETF protocol assignments block (ORCHID, AMT, AS112v6, …; Teredo is handled before this)
  // and SRv6 SIDs: none of them is a web host.
  reserved: [cidr6('2001::/23'), cidr6('5f00::/16')],
};

const GLOBAL_UNICAST = cidr6('2000::/3');
const IPV4_COMPATIBLE = cidr6('::/96');
const IPV4_MAPPED = cidr6('::ffff:0:0/96');
const IPV4_TRANSLATED = cidr6('::ffff:0:0:0/96');
const NAT64 = cidr6('64:ff9b::/96');
const SIX_TO_FOUR = cidr6('2002::/16');
const TEREDO = cidr6('2001::/32');

/**
 * Parses an IP literal in any notation the resolver or URL parser would accept: IPv4 in decimal, octal, hex and
 * short forms (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`, inet_aton semantics, which ipaddr.js implements),
 * IPv6 with or without brackets. Returns null for anything that is not an IP literal (e.g. a host name).
 */
export function parseIpLiteral(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (typeof text !== 'string' || !text) return null;
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  else if (/^[0-9a-fx.]+\.$/i.test(s)) s = s.slice(0, -1); // `127.0.0.1.`: the resolver treats it as the literal
  if (ipaddr.IPv4.isValid(s)) return ipaddr.IPv4.parse(s);
  if (ipaddr.IPv6.isValid(s)) return ipaddr.IPv6.parse(s);
  return null;
}

export function classifyIp(ip: string): AddressVerdict {
  const addr = parseIpLiteral(ip);
  if (!addr) return deny('invalid');
  if (addr.kind() === 'ipv4') return classifyV4(addr as ipaddr.IPv4);
  const v6 = addr as ipaddr.IPv6;
  const verdict = classifyV6(v6);
  // A zone only means something on a link-local address, which is already rejected.
  if (verdict.allowed && v6.zoneId) return deny('invalid');
  return verdict;
}

/**
 * True when the address lies in one of the CIDRs. An IPv4-mapped IPv6 address also matches IPv4 CIDRs (and an
 * IPv4 address matches `::ffff:a.b.c.d/n` CIDRs), since both name the same IPv4 host. Unparsable CIDRs never match.
 */
export function isInCidrs(ip: string, cidrs: string[]): boolean {
  const addr = parseIpLiteral(ip);
  if (!addr) return false;
  const candidates: Array<ipaddr.IPv4 | ipaddr.IPv6> = [addr];
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) candidates.push((addr as ipaddr.IPv6).toIPv4Address());
  if (addr.kind() === 'ipv4') candidates.push((addr as ipaddr.IPv4).toIPv4MappedAddress());
  for (const c of cidrs) {
    let range: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      range = ipaddr.parseCIDR(c.trim());
    } catch {
      continue;
    }
    if (candidates.some((a) => a.kind() === range[0].kind() && a.match(range))) return true;
  }
  return false;
}

function classifyV4(addr: ipaddr.IPv4): AddressVerdict {
  const name = ipaddr.subnetMatch(addr, IPV4_FORBIDDEN, 'public');
  return name === 'public' ? { allowed: true } : deny(name);
}

function classifyV6(addr: ipaddr.IPv6): AddressVerdict {
  const named = ipaddr.subnetMatch(addr, { unspecified: IPV6_FORBIDDEN.unspecified, loopback: IPV6_FORBIDDEN.loopback }, '');
  if (named) return deny(named);

  // IPv4 carried in the low 32 bits of ::/80. ipaddr.js reads the text `::a.b.c.d` (IPv4-compatible) as
  // `::ffff:a.b.c.d`, so all three forms share the 'ipv4Mapped' prefix to keep reasons independent of spelling.
  if (addr.match(IPV4_MAPPED) || addr.match(IPV4_COMPATIBLE) || addr.match(IPV4_TRANSLATED)) {
    return embedded('ipv4Mapped', low32(addr));
  }
  if (addr.match(NAT64)) return embedded('nat64', low32(addr));
  if (addr.match(SIX_TO_FOUR)) return embedded('6to4', v4FromParts(addr.parts[1], addr.parts[2]));
  if (addr.match(TEREDO)) {
    const server = embedded('teredo', v4FromParts(addr.parts[2], addr.parts[3]));
    if (!server.allowed) return server;
    return embedded('teredo', v4FromParts(addr.parts[6] ^ 0xffff, addr.parts[7] ^ 0xffff));
  }

  const name = ipaddr.subnetMatch(addr, IPV6_FORBIDDEN, '');
  if (name) return deny(name);
  if (!addr.match(GLOBAL_UNICAST)) return deny('reserved');
  return { allowed: true };
}

function embedded(form: string, inner: ipaddr.IPv4): AddressVerdict {
  const v = classifyV4(inner);
  return v.allowed ? v : deny(`${form}:${v.reason}`);
}

function low32(addr: ipaddr.IPv6): ipaddr.IPv4 {
  return v4FromParts(addr.parts[6], addr.parts[7]);
}

function v4FromParts(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([(hi >> 8) & 0xff, hi & 0xff, (lo >> 8) & 0xff, lo & 0xff]);
}

function deny(reason: string): AddressVerdict {
  return { allowed: false, reason };
}
