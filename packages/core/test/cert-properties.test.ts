// Property tests (fast-check) for the certificate code: round trips, and that no input makes a
// parser throw anything but a KeyboundError (or hand back something that is not a certificate).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  albEncode,
  b64,
  envoyLegacyEncode,
  headers,
  makePki,
  nginxEncode,
  syntheticCertificate,
  type TestPki,
  xfccElement,
} from './cert-fixtures.js';
import {
  assertCertificateDer,
  b64Decode,
  b64Encode,
  certificateThumbprint,
  derToPem,
  type ForwardedCertFormat,
  isKeyboundError,
  parseForwardedClientCert,
  pemToDer,
} from './helpers.js';
import { vectors } from './vectors.js';

const FORMATS: ForwardedCertFormat[] = ['rfc9440', 'envoy-xfcc', 'nginx', 'aws-alb'];
const NAMES: Record<ForwardedCertFormat, string[]> = {
  rfc9440: ['client-cert', 'client-cert-chain'],
  'envoy-xfcc': ['x-forwarded-client-cert'],
  nginx: ['x-ssl-client-cert'],
  'aws-alb': ['x-amzn-mtls-clientcert', 'x-amzn-mtls-clientcert-leaf'],
};

/** Runs fn; fails the property if it throws anything but a KeyboundError. */
function onlyKeyboundErrors<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!isKeyboundError(e)) throw e;
    return undefined;
  }
}

const syntheticCert = fc
  .record({
    serial: fc.array(fc.integer({ min: 1, max: 127 }), { minLength: 1, maxLength: 20 }),
    name: fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: 300 }),
    signature: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 600 }),
  })
  .map(syntheticCertificate);

const anyText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: fc.constantFrom(...':;,="\\%0AaZ+/ -\t\r\n'), maxLength: 300 }),
);

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());

describe('certificate round trips', () => {
  it('PEM → DER → PEM → DER returns the same bytes for any structurally valid certificate', () => {
    fc.assert(
      fc.property(syntheticCert, (der) => {
        assertCertificateDer(der);
        const pem = derToPem(der);
        expect(pemToDer(pem)).toEqual(der);
        expect(derToPem(pemToDer(pem))).toBe(pem);
      }),
    );
  });

  it('reads the same DER whatever whitespace sits inside the PEM body', () => {
    fc.assert(
      fc.property(
        syntheticCert,
        fc.array(fc.constantFrom(' ', '\t', '\r\n', '\n'), { maxLength: 40 }),
        fc.nat(),
        (der, spaces, seed) => {
          const pem = derToPem(der);
          const start = pem.indexOf('\n') + 1;
          const end = pem.indexOf('-----END');
          let body = pem.slice(start, end);
          spaces.forEach((space, i) => {
            const at = (seed + i * 7919) % (body.length + 1);
            body = body.slice(0, at) + space + body.slice(at);
          });
          expect(pemToDer(pem.slice(0, start) + body + pem.slice(end))).toEqual(der);
        },
      ),
    );
  });

  it('standard base64 round-trips any bytes and encodes like Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = b64Encode(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(b64Decode(text)).toEqual(bytes);
      }),
    );
  });

  it('accepts a base64 string only in its one canonical form', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ABCabc019+/=-_ '), maxLength: 24 }), (text) => {
        const bytes = b64Decode(text);
        if (bytes !== undefined) expect(b64Encode(bytes)).toBe(text);
      }),
    );
  });

  it('every forwarded format carries any generated certificate intact', () => {
    fc.assert(
      fc.property(syntheticCert, fc.constantFrom(...FORMATS), (der, format) => {
        const pem = derToPem(der);
        const entries: Record<ForwardedCertFormat, Record<string, string>> = {
          rfc9440: { 'client-cert': `:${b64(der)}:` },
          'envoy-xfcc': { 'x-forwarded-client-cert': xfccElement({ cert: envoyLegacyEncode(pem) }) },
          nginx: { 'x-ssl-client-cert': nginxEncode(pem) },
          'aws-alb': { 'x-amzn-mtls-clientcert': albEncode(pem) },
        };
        expect(parseForwardedClientCert(format, headers(entries[format]))?.der).toEqual(der);
      }),
    );
  });

  it('reads Cert whatever quoted Subject (escaped) stands beside it', () => {
    const cert = envoyLegacyEncode(pki.ecLeaf.pem);
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'a,;="\\ \t'), maxLength: 60 }), (subject) => {
        const quoted = `"${subject.replace(/[\\"]/g, '\\$&')}"`;
        const value = `Subject=${quoted};Cert="${cert}";URI=${'x'}`;
        expect(
          parseForwardedClientCert('envoy-xfcc', headers({ 'x-forwarded-client-cert': value }))?.der,
        ).toEqual(pki.ecLeaf.der);
      }),
    );
  });

  it('reads the same Client-Cert-Chain however its members are split over field lines', () => {
    const members = [pki.intermediate.der, pki.root.der, pki.rsaLeaf.der].map((d) => `:${b64(d)}:`);
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
        fc.constantFrom(',', ', ', ' ,\t'),
        (cuts, sep) => {
          const lines: string[] = [members[0]!];
          cuts.forEach((cut, i) => {
            if (cut) lines.push(members[i + 1]!);
            else lines[lines.length - 1] += `${sep}${members[i + 1]}`;
          });
          const result = parseForwardedClientCert(
            'rfc9440',
            headers({ 'client-cert': vectors.rfc9440.client_cert_header, 'client-cert-chain': lines }),
          );
          expect(result?.chain).toEqual([pki.intermediate.der, pki.root.der, pki.rsaLeaf.der]);
        },
      ),
    );
  });
});

describe('arbitrary input never throws anything but KeyboundError', () => {
  it('for every format and any header values', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FORMATS),
        fc.array(fc.array(anyText, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 2 }),
        (format, valueLists) => {
          const entries: Record<string, string[]> = {};
          NAMES[format].forEach((name, i) => {
            const values = valueLists[i];
            if (values !== undefined) entries[name] = values;
          });
          const result = onlyKeyboundErrors(() => parseForwardedClientCert(format, headers(entries)));
          if (result !== undefined) assertCertificateDer(result.der);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('for valid header values with characters inserted, deleted or replaced', () => {
    const valid: [ForwardedCertFormat, string, string][] = [
      ['rfc9440', 'client-cert', vectors.rfc9440.client_cert_header],
      [
        'envoy-xfcc',
        'x-forwarded-client-cert',
        xfccElement({ cert: envoyLegacyEncode(vectors.rfc9440.leaf_pem), subject: 'CN=a, O=b' }),
      ],
      ['nginx', 'x-ssl-client-cert', nginxEncode(vectors.rfc9440.leaf_pem)],
      ['aws-alb', 'x-amzn-mtls-clientcert', albEncode(vectors.rfc9440.leaf_pem)],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.constantFrom('insert', 'delete', 'replace'),
            fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        ([format, name, original], edits) => {
          let value = original;
          for (const [at, op, text] of edits) {
            const i = at % (value.length + 1);
            if (op === 'insert') value = value.slice(0, i) + text + value.slice(i);
            else if (op === 'delete') value = value.slice(0, i) + value.slice(i + 1);
            else value = value.slice(0, i) + text + value.slice(i + 1);
          }
          const result = onlyKeyboundErrors(() =>
            parseForwardedClientCert(format, headers({ [name]: value })),
          );
          if (result !== undefined) assertCertificateDer(result.der);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('for any bytes given as DER, and any text given as PEM', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), anyText), async (input) => {
        try {
          await certificateThumbprint(input);
        } catch (e) {
          if (!isKeyboundError(e, 'cert_malformed')) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('for any single-byte change or truncation of a real certificate', () => {
    const der = pki.rsaLeaf.der;
    fc.assert(
      fc.property(
        fc.nat({ max: der.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        fc.nat({ max: der.length }),
        (at, xor, cut) => {
          const changed = der.slice();
          changed[at] = changed[at]! ^ xor;
          onlyKeyboundErrors(() => assertCertificateDer(changed));
          if (cut < der.length) {
            // Any truncation is caught: the outer length no longer covers the input.
            expect(
              isKeyboundError(
                catchError(() => assertCertificateDer(der.slice(0, cut))),
                'cert_malformed',
              ),
            ).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
