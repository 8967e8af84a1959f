import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type TestPki } from './cert-fixtures.js';
import {
  assertCertificateDer,
  b64Decode,
  b64Encode,
  derToPem,
  isKeyboundError,
  MAX_CERTIFICATE_BYTES,
  pemToDer,
} from './helpers.js';
import { codeOf } from './keybound-error-code.js';
import { vectors } from './vectors.js';

// DER building blocks for hand-made certificates and broken variants.
function len(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, n >> 8, n & 255];
}
function tlv(tag: number, content: number[]): number[] {
  return [tag, ...len(content.length), ...content];
}
const OID_ECDSA_SHA256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const SIG_ALG = tlv(0x30, OID_ECDSA_SHA256);
function tbs(fields?: number[][]): number[] {
  const standard = [
    tlv(0xa0, tlv(0x02, [2])), // version v3
    tlv(0x02, [1]), // serialNumber
    SIG_ALG, // signature
    tlv(0x30, []), // issuer
    tlv(0x30, []), // validity
    tlv(0x30, []), // subject
    tlv(0x30, []), // subjectPublicKeyInfo
  ];
  return tlv(0x30, (fields ?? standard).flat());
}
function cert(
  parts: { tbs?: number[]; sigAlg?: number[]; signature?: number[]; extra?: number[] } = {},
): Uint8Array {
  const signature = parts.signature ?? tlv(0x03, [0, 0xde, 0xad]);
  return new Uint8Array(
    tlv(0x30, [...(parts.tbs ?? tbs()), ...(parts.sigAlg ?? SIG_ALG), ...signature, ...(parts.extra ?? [])]),
  );
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isKeyboundError(e)) return e.message;
    throw e;
  }
  throw new Error('expected a KeyboundError');
}

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());

describe('DER certificate structure (RFC 5280 §4.1)', () => {
  it('accepts the RSA, EC and CA certificates openssl generated', () => {
    for (const c of [pki.rsaLeaf, pki.ecLeaf, pki.intermediate, pki.root]) {
      expect(() => assertCertificateDer(c.der), c.name).not.toThrow();
    }
  });

  it('accepts a minimal hand-built certificate with and without the version field', () => {
    expect(() => assertCertificateDer(cert())).not.toThrow();
    const v1 = tbs([tlv(0x02, [1]), SIG_ALG, tlv(0x30, []), tlv(0x30, []), tlv(0x30, []), tlv(0x30, [])]);
    expect(() => assertCertificateDer(cert({ tbs: v1 }))).not.toThrow();
  });

  const broken: [string, () => Uint8Array][] = [
    ['rejects empty input', () => new Uint8Array()],
    ['rejects a trailing byte after the certificate', () => new Uint8Array([...cert(), 0])],
    ['rejects an indefinite length (BER)', () => new Uint8Array([0x30, 0x80, ...cert().slice(2), 0, 0])],
    [
      'rejects a non-minimal long-form length',
      () => {
        const inner = cert().slice(2);
        return new Uint8Array([0x30, 0x81, inner.length, ...inner]);
      },
    ],
    [
      'rejects a two-byte length with a leading zero byte',
      () => {
        const inner = cert().slice(2);
        return new Uint8Array([0x30, 0x82, 0x00, inner.length, ...inner]);
      },
    ],
    ['rejects a length field of three bytes', () => new Uint8Array([0x30, 0x83, 0, 0, 4, 1, 2, 3, 4])],
    ['rejects an element that claims more bytes than remain', () => cert().slice(0, -1)],
    ['rejects an outer element that is not a SEQUENCE', () => new Uint8Array([0x31, ...cert().slice(1)])],
    ['rejects a high tag number', () => new Uint8Array([0x3f, 0x01, 0x00])],
    ['rejects a tbsCertificate that is not a SEQUENCE', () => cert({ tbs: tlv(0x04, [1, 2, 3]) })],
    [
      'rejects a tbsCertificate without serialNumber',
      () =>
        cert({ tbs: tbs([SIG_ALG, SIG_ALG, tlv(0x30, []), tlv(0x30, []), tlv(0x30, []), tlv(0x30, [])]) }),
    ],
    ['rejects a tbsCertificate with too few fields', () => cert({ tbs: tbs([tlv(0x02, [1]), SIG_ALG]) })],
    ['rejects a tbsCertificate whose fields overrun it', () => cert({ tbs: [0x30, 0x03, 0x02, 0x05, 0x01] })],
    ['rejects a signatureAlgorithm that is not a SEQUENCE', () => cert({ sigAlg: tlv(0x04, []) })],
    ['rejects a signatureAlgorithm without an OID', () => cert({ sigAlg: tlv(0x30, tlv(0x05, [])) })],
    ['rejects a signature that is not a BIT STRING', () => cert({ signature: tlv(0x04, [0, 1]) })],
    ['rejects an empty signature BIT STRING', () => cert({ signature: tlv(0x03, [0]) })],
    ['rejects a signature BIT STRING with unused bits', () => cert({ signature: tlv(0x03, [3, 0xf8]) })],
    ['rejects a missing signature', () => new Uint8Array(tlv(0x30, [...tbs(), ...SIG_ALG]))],
    ['rejects an element after the signature', () => cert({ extra: tlv(0x05, []) })],
    ['rejects a JWK-like JSON text', () => new TextEncoder().encode('{"kty":"EC"}')],
  ];
  for (const [name, make] of broken) {
    it(`${name} with cert_malformed`, () => {
      expect(codeOf(() => assertCertificateDer(make()))).toBe('cert_malformed');
    });
  }

  it('rejects a certificate larger than 16 KiB and says both sizes', () => {
    const big = cert({
      tbs: tbs([tlv(0x02, [1]), SIG_ALG, tlv(0x30, new Array(17000).fill(0x41)), SIG_ALG, SIG_ALG, SIG_ALG]),
    });
    expect(big.length).toBeGreaterThan(MAX_CERTIFICATE_BYTES);
    try {
      assertCertificateDer(big);
      expect.unreachable();
    } catch (e) {
      expect(isKeyboundError(e, 'cert_malformed')).toBe(true);
      expect((e as { detail: unknown }).detail).toEqual({
        expected: 'at most 16384 bytes',
        received: big.length,
      });
    }
  });

  it('says where the structure broke', () => {
    expect(messageOf(() => assertCertificateDer(new Uint8Array([...cert(), 7])))).toMatch(
      /1 trailing bytes .* at byte \d+/,
    );
  });
});

describe('PEM ↔ DER (RFC 7468)', () => {
  it('decodes the PEM openssl wrote to the DER openssl wrote', () => {
    for (const c of [pki.rsaLeaf, pki.ecLeaf]) expect(pemToDer(c.pem)).toEqual(c.der);
  });

  it('decodes the RFC 9440 example certificates', () => {
    for (const name of ['leaf_pem', 'intermediate_pem', 'root_pem']) {
      expect(pemToDer(vectors.rfc9440[name]).length, name).toBeGreaterThan(400);
    }
  });

  it('encodes DER as PEM that openssl reads back to the same DER', () => {
    for (const c of [pki.rsaLeaf, pki.ecLeaf]) {
      const pem = derToPem(c.der);
      expect(pem).toMatch(
        /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/,
      );
      const back = execFileSync('openssl', ['x509', '-inform', 'pem', '-outform', 'der'], { input: pem });
      expect(new Uint8Array(back)).toEqual(c.der);
    }
  });

  it('accepts CRLF line ends, indentation and surrounding whitespace', () => {
    const pem = `\r\n  ${pki.ecLeaf.pem.replace(/\n/g, '\r\n\t')}  \n`;
    expect(pemToDer(pem)).toEqual(pki.ecLeaf.der);
  });

  it('refuses to encode bytes that are not a certificate', () => {
    expect(codeOf(() => derToPem(new Uint8Array([1, 2, 3])))).toBe('cert_malformed');
  });

  const key =
    '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
  const cases: [string, () => string][] = [
    ['two certificates', () => pki.ecLeaf.pem + pki.rsaLeaf.pem],
    ['no PEM block at all', () => 'hello'],
    ['an empty string', () => ''],
    ['text before the block', () => `Subject: CN=x\n${pki.ecLeaf.pem}`],
    ['text after the block', () => `${pki.ecLeaf.pem}trailer`],
    ['a private key', () => key],
    ['a block without an END line', () => pki.ecLeaf.pem.replace('-----END CERTIFICATE-----', '')],
    ['a block ending with another label', () => pki.ecLeaf.pem.replace('END CERTIFICATE', 'END X509 CRL')],
    [
      'a body with RFC 1421 headers',
      () => pki.ecLeaf.pem.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n'),
    ],
    ['a body in base64url', () => pki.ecLeaf.pem.replace(/\+/g, '-').replace(/\//g, '_')],
    ['a body without its padding', () => vectors.rfc9440.leaf_pem.replace(/=+\n-----END/, '\n-----END')],
    [
      'a body that is not a certificate',
      () =>
        `-----BEGIN CERTIFICATE-----\n${b64Encode(new Uint8Array([0x30, 0x00]))}\n-----END CERTIFICATE-----\n`,
    ],
  ];
  for (const [name, make] of cases) {
    it(`rejects ${name} with cert_malformed`, () => {
      const input = make();
      if (name === 'a body in base64url') expect(input).not.toBe(pki.ecLeaf.pem);
      if (name === 'a body without its padding') expect(input).not.toBe(vectors.rfc9440.leaf_pem);
      expect(codeOf(() => pemToDer(input))).toBe('cert_malformed');
    });
  }

  it('names the label of a non-certificate block but never echoes its body', () => {
    const message = messageOf(() => pemToDer(key));
    expect(message).toContain('PRIVATE KEY');
    expect(message).not.toContain('MIGHAgEA');
  });

  it('rejects non-string input to pemToDer with cert_malformed', () => {
    expect(codeOf(() => pemToDer(42 as unknown as string))).toBe('cert_malformed');
  });
});

describe('strict standard base64 (RFC 4648 §4)', () => {
  it('encodes like Buffer for every length from 0 to 70', () => {
    for (let n = 0; n <= 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      expect(b64Encode(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(b64Decode(b64Encode(bytes))).toEqual(bytes);
    }
  });

  it.each([
    ['missing padding', 'QQ'],
    ['a length that is not a multiple of four', 'QUJDRA='],
    ['padding in the middle', 'QQ==QUJD'],
    ['three padding characters', 'Q==='],
    ['non-zero pad bits', 'QR=='],
    ['non-zero pad bits with one padding character', 'QUJ='],
    ['base64url characters', 'ab-_'],
    ['whitespace', 'QUJD RA=='],
    ['a non-ASCII character', 'QUJé'],
  ])('rejects %s', (_name, input) => {
    expect(b64Decode(input)).toBeUndefined();
  });

  it('decodes the empty string to no bytes', () => {
    expect(b64Decode('')).toEqual(new Uint8Array());
  });
});
