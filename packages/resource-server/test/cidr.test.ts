import { BlockList } from 'node:net';
import { CidrList, parseCidr, parseIp } from '@keybound/resource-server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((w) => w.map((x) => x.toString(16)).join(':'));

describe('CIDR matching of trusted proxies', () => {
  it('matches IPv4 blocks exactly as node:net BlockList does', () => {
    fc.assert(
      fc.property(ipv4, fc.nat(32), ipv4, (net, bits, address) => {
        const block = new BlockList();
        block.addSubnet(net, bits, 'ipv4');
        expect(new CidrList([`${net}/${bits}`]).contains(address)).toBe(block.check(address, 'ipv4'));
      }),
      { numRuns: 2000 },
    );
  });

  it('matches IPv6 blocks exactly as node:net BlockList does', () => {
    fc.assert(
      fc.property(ipv6, fc.nat(128), ipv6, (net, bits, address) => {
        const block = new BlockList();
        block.addSubnet(net, bits, 'ipv6');
        expect(new CidrList([`${net}/${bits}`]).contains(address)).toBe(block.check(address, 'ipv6'));
      }),
      { numRuns: 2000 },
    );
  });

  it('matches an IPv4 block for the IPv4-mapped IPv6 address a dual-stack server reports', () => {
    const list = new CidrList(['10.0.0.0/8', '192.168.1.7']);
    expect(list.contains('::ffff:10.20.30.40')).toBe(true);
    expect(list.contains('::ffff:a14:1e28')).toBe(true);
    expect(list.contains('::ffff:192.168.1.7')).toBe(true);
    expect(list.contains('::ffff:192.168.1.8')).toBe(false);
    expect(list.contains('11.0.0.1')).toBe(false);
    // an IPv4 block does not match plain IPv6 addresses that merely share bits
    expect(list.contains('a00::1')).toBe(false);
  });

  it('reads compressed, bracketed and zoned IPv6 forms', () => {
    const list = new CidrList(['2001:db8::/32', 'fe80::/10', '::1']);
    expect(list.contains('[2001:db8:cafe::17]')).toBe(true);
    expect(list.contains('fe80::1%eth0')).toBe(true);
    expect(list.contains('::1')).toBe(true);
    expect(list.contains('0:0:0:0:0:0:0:1')).toBe(true);
    expect(list.contains('2001:db9::1')).toBe(false);
  });

  it('normalises host bits away: 10.1.2.3/8 means 10.0.0.0/8', () => {
    expect(new CidrList(['10.1.2.3/8']).contains('10.200.0.1')).toBe(true);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.4/33',
    '1.2.3.4/-1',
    '1.2.3.4/',
    '::1/129',
    ':::',
    '1::2::3',
    '12345::',
    'g::1',
    '1:2:3:4:5:6:7:8:9',
    'localhost',
    '1.2.3.4/8/8',
  ])('refuses %j as an address or block', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it('never throws and never matches on arbitrary peer strings', () => {
    const list = new CidrList(['0.0.0.0/0', '::/0']);
    fc.assert(
      fc.property(fc.string(), (s) => {
        const bytes = parseIp(s);
        expect(list.contains(s)).toBe(bytes !== undefined);
      }),
      { numRuns: 2000 },
    );
    expect(list.contains(undefined)).toBe(false);
  });

  it('refuses to build a list from a bad entry', () => {
    expect(() => new CidrList(['10.0.0.0/8', 'nope'])).toThrow('not an IP address or CIDR: nope');
  });
});
