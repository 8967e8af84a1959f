import { isKeyboundError } from '@keybound/core';
import { parseForwarded } from '@keybound/resource-server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CidrList } from '../src/lib/cidr.js';
import { HeaderView } from '../src/lib/headers.js';
import { publicUrl } from '../src/public-url.js';

const WANTED = new Set([
  'host',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-prefix',
]);

function url(
  headers: [string, string][],
  { trusted = true, origins = ['https://api.example.com'], basePath = '', proxies = ['10.0.0.0/8'] } = {},
): string {
  return publicUrl(
    { origins, basePath, trusted: new CidrList(proxies) },
    { headers: new HeaderView(headers, WANTED), path: '/items', encrypted: false, peerTrusted: trusted },
    new Map(),
  );
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isKeyboundError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'no error';
}

describe('parseForwarded (RFC 7239)', () => {
  it('reads the examples of RFC 7239 §4 and §7.1', () => {
    expect(parseForwarded(['for="_gazonk"'])).toEqual([{ for: '_gazonk' }]);
    expect(parseForwarded(['For="[2001:db8:cafe::17]:4711"'])).toEqual([{ for: '[2001:db8:cafe::17]:4711' }]);
    expect(parseForwarded(['for=192.0.2.60;proto=http;by=203.0.113.43'])).toEqual([
      { for: '192.0.2.60', proto: 'http', by: '203.0.113.43' },
    ]);
    expect(parseForwarded(['for=192.0.2.43, for=198.51.100.17'])).toEqual([
      { for: '192.0.2.43' },
      { for: '198.51.100.17' },
    ]);
  });

  it('joins several Forwarded field lines into one list', () => {
    expect(parseForwarded(['for=1.1.1.1;host=a.example', 'for=2.2.2.2'])).toEqual([
      { for: '1.1.1.1', host: 'a.example' },
      { for: '2.2.2.2' },
    ]);
  });

  it.each([
    ['for'],
    ['for='],
    ['for="unterminated'],
    ['for=1.1.1.1;;'],
    ['for=a for=b'],
    ['host=a;host=b'],
    ['=x'],
    ['for=a,'],
  ])('refuses the malformed value %j', (value) => {
    expect(parseForwarded([value])).toBeUndefined();
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), (values) => {
        parseForwarded(values);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the public URL a proof must name', () => {
  it('is the configured origin and base path when no trusted proxy forwarded anything', () => {
    expect(url([['Host', 'internal:8080']], { basePath: '/api' })).toBe('https://api.example.com/api/items');
  });

  it('picks the configured origin the Host header names, else the first', () => {
    const origins = ['https://api.example.com', 'https://eu.example.com:8443'];
    expect(url([['Host', 'eu.example.com:8443']], { origins })).toBe('https://eu.example.com:8443/items');
    expect(url([['Host', 'API.EXAMPLE.COM:443']], { origins })).toBe('https://api.example.com/items');
    expect(url([['Host', 'evil.example']], { origins })).toBe('https://api.example.com/items');
  });

  it('reads the HTTP/2 :authority pseudo-header where there is no Host header', () => {
    const origins = ['https://api.example.com', 'https://eu.example.com'];
    expect(url([[':authority', 'eu.example.com']], { origins })).toBe('https://eu.example.com/items');
  });

  it('ignores forwarded headers from an untrusted peer', () => {
    expect(
      url(
        [
          ['X-Forwarded-Host', 'evil.example'],
          ['X-Forwarded-Proto', 'http'],
        ],
        { trusted: false },
      ),
    ).toBe('https://api.example.com/items');
  });

  it('uses the element the edge proxy wrote when trusted proxies are chained', () => {
    // client 203.0.113.9 → edge 10.0.0.1 → inner 10.0.0.2 → us; a client-supplied element comes first
    const forwarded =
      'for=1.2.3.4;host=spoofed.example;proto=http, for=203.0.113.9;host=shop.example;proto=https, for=10.0.0.1;host=inner;proto=http';
    expect(url([['Forwarded', forwarded]])).toBe('https://shop.example/items');
  });

  it('counts trusted X-Forwarded-For hops to find the edge value of an appended list', () => {
    expect(
      url([
        ['X-Forwarded-For', '203.0.113.9, 10.0.0.1'],
        ['X-Forwarded-Proto', 'https, http'],
        ['X-Forwarded-Host', 'shop.example'],
      ]),
    ).toBe('https://shop.example/items');
  });

  it('takes X-Forwarded-Prefix from a trusted proxy over the configured base path', () => {
    expect(
      url(
        [
          ['X-Forwarded-Proto', 'https'],
          ['X-Forwarded-Host', 'shop.example'],
          ['X-Forwarded-Prefix', '/v2/'],
        ],
        { basePath: '/api' },
      ),
    ).toBe('https://shop.example/v2/items');
  });

  it('keeps the Host header when a trusted proxy forwards only the protocol', () => {
    expect(
      url([
        ['Host', 'shop.example:8443'],
        ['X-Forwarded-Proto', 'https'],
      ]),
    ).toBe('https://shop.example:8443/items');
  });

  it.each([
    [[['Forwarded', 'for="x']], 'htu_mismatch: the Forwarded header from a trusted proxy cannot be parsed'],
    [
      [
        ['X-Forwarded-Proto', 'ftp'],
        ['X-Forwarded-Host', 'a.example'],
      ],
      'htu_mismatch: a trusted proxy forwarded a protocol that is not http or https',
    ],
    [[['X-Forwarded-Host', 'a.example/evil']], 'htu_mismatch: a trusted proxy forwarded no usable host'],
    [
      [
        ['X-Forwarded-Host', 'a.example'],
        ['X-Forwarded-Prefix', '/a/../admin'],
      ],
      'htu_mismatch: a trusted proxy forwarded a path prefix that is not a path',
    ],
  ] as [[string, string][], string][])(
    'refuses hostile forwarded values from a trusted proxy (%j)',
    (headers, message) => {
      expect(codeOf(() => url(headers))).toBe(message);
    },
  );

  it('refuses when no origin is configured and the peer is not a trusted proxy', () => {
    expect(codeOf(() => url([['Host', 'a.example']], { origins: [], trusted: false }))).toBe(
      'htu_mismatch: no public origin is configured and the request did not come through a trusted proxy',
    );
  });
});
