import { classifyIp, isInCidrs } from './address-policy';

describe('classifyIp (SPEC §5.3)', () => {
  // [input, expected reason, or null when the address is allowed]
  const table: Array<[string, string | null]> = [
    // public unicast
    ['8.8.8.8', null],
    ['1.1.1.1', null],
    ['93.184.216.34', null],
    ['100.63.255.255', null], // just below CGNAT
    ['100.128.0.0', null], // just above CGNAT
    ['172.15.255.255', null],
    ['172.32.0.0', null],
    ['198.17.255.255', null],
    ['198.20.0.0', null],
    ['223.255.255.255', null],
    ['2606:4700:4700::1111', null],
    ['[2606:4700:4700::1111]', null],
    ['2a00:1450:4001:82a::200e', null],

    // non-canonical IPv4 notations of loopback
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['2130706433', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['017700000001', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['0x7f.1', 'loopback'],
    ['0x7f.0x0.0x0.0x1', 'loopback'],
    ['127.1', 'loopback'],
    ['127.0.1', 'loopback'],
    ['127.0.0.1.', 'loopback'],
    // and of public addresses (the same parser: odd forms are not rejected for being odd)
    ['134744072', null], // 8.8.8.8
    ['0x8.0x8.0x8.0x8', null],
    ['010.010.010.010', null], // octal 8.8.8.8
    ['012.0.0.1', 'private'], // octal 10.0.0.1
    ['0xc0a80101', 'private'], // 192.168.1.1
    // IPv4 ranges
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['0', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.255', 'carrierGradeNat'],
    ['169.254.169.254', 'metadata'],
    ['0xa9fea9fe', 'metadata'],
    ['169.254.0.1', 'linkLocal'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],

    // IPv6 ranges
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456:789a::1', 'uniqueLocal'],
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['febf::1', 'linkLocal'],
    ['fec0::1', 'siteLocal'],
    ['ff02::1', 'multicast'],
    ['ff0e::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['100::1', 'discard'],
    ['2001:2::1', 'benchmarking'],
    ['2001:10::1', 'reserved'], // ORCHID, in the IETF protocol-assignment block
    ['5f00::1', 'reserved'], // SRv6 SIDs
    ['4000::1', 'reserved'], // outside 2000::/3
    ['1::1', 'reserved'],
    ['2606:4700::1%eth0', 'invalid'], // a zone on a global address is not something DNS hands out

    // IPv4 carried in IPv6
    ['::ffff:127.0.0.1', 'ipv4Mapped:loopback'],
    ['::ffff:7f00:1', 'ipv4Mapped:loopback'],
    ['[::ffff:7f00:1]', 'ipv4Mapped:loopback'],
    ['::ffff:10.0.0.1', 'ipv4Mapped:private'],
    ['::ffff:169.254.169.254', 'ipv4Mapped:metadata'],
    ['::ffff:0.0.0.0', 'ipv4Mapped:unspecified'],
    ['::ffff:8.8.8.8', null],
    ['::127.0.0.1', 'ipv4Mapped:loopback'], // IPv4-compatible, dotted
    ['::7f00:1', 'ipv4Mapped:loopback'], // IPv4-compatible, hex
    ['::a9fe:a9fe', 'ipv4Mapped:metadata'],
    ['::808:808', null],
    ['::ffff:0:7f00:1', 'ipv4Mapped:loopback'], // IPv4-translated (SIIT)
    ['64:ff9b::127.0.0.1', 'nat64:loopback'],
    ['64:ff9b::a00:1', 'nat64:private'],
    ['64:ff9b::8.8.8.8', null],
    ['64:ff9b:1::7f00:1', 'nat64Local'],
    ['64:ff9b:1::808:808', 'nat64Local'],
    ['2002:7f00:1::', '6to4:loopback'],
    ['2002:a9fe:a9fe::1', '6to4:metadata'],
    ['2002:c0a8:101::1', '6to4:private'],
    ['2002:808:808::1', null],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'teredo:loopback'], // client 127.0.0.1 (0x7f000001 ^ 0xffffffff)
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'teredo:private'], // client 10.0.0.1
    ['2001:0:7f00:1:8000:63bf:f7f7:f7f7', 'teredo:loopback'], // server 127.0.0.1, client 8.8.8.8
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', null], // server 65.54.227.120, client 8.8.8.8

    // not addresses
    ['', 'invalid'],
    ['example.com', 'invalid'],
    ['256.1.1.1', 'invalid'],
    ['1.2.3.4.5', 'invalid'],
    ['08.1.1.1', 'invalid'],
    ['4294967296', 'invalid'],
    [' 8.8.8.8', 'invalid'],
    ['::g', 'invalid'],
    ['[::1', 'invalid'],
  ];

  it.each(table)('%s → %s', (input, reason) => {
    expect(classifyIp(input)).toEqual(reason === null ? { allowed: true } : { allowed: false, reason });
  });

  it('covers at least 60 cases', () => {
    expect(table.length).toBeGreaterThanOrEqual(60);
  });
});

describe('isInCidrs', () => {
  it.each<[string, string[], boolean]>([
    ['127.0.0.1', ['127.0.0.0/8'], true],
    ['127.1', ['127.0.0.0/8'], true],
    ['2130706433', ['127.0.0.0/8'], true],
    ['::ffff:127.0.0.1', ['127.0.0.0/8'], true],
    ['[::ffff:7f00:1]', ['127.0.0.0/8'], true],
    ['127.0.0.1', ['::ffff:127.0.0.0/104'], true],
    ['10.1.2.3', ['127.0.0.0/8', '10.0.0.0/16'], false],
    ['10.0.2.3', ['127.0.0.0/8', '10.0.0.0/16'], true],
    ['::1', ['127.0.0.0/8'], false],
    ['::1', ['::1/128'], true],
    ['[::1]', ['::1/128'], true],
    ['fd00::5', ['fd00::/8'], true],
    ['fe80::5', ['fd00::/8'], false],
    ['127.0.0.1', [], false],
    ['127.0.0.1', ['not-a-cidr', '127.0.0.1/32'], true],
    ['example.com', ['0.0.0.0/0'], false],
  ])('%s in %j → %s', (ip, cidrs, expected) => {
    expect(isInCidrs(ip, cidrs)).toBe(expected);
  });
});
