// Test certificates made with the openssl command line (a root CA, an intermediate CA, an RSA
// and an EC client certificate, a server certificate) through test/support/pki.ts, plus the
// encodings each proxy puts on the wire, written from the proxies' documented behaviour. Used by
// the cert-*.test.ts files; not a test itself.
import { execFileSync, execSync } from 'node:child_process';
import { createPki, type TestCertificate } from '../../../test/support/pki.js';

export interface TestCert {
  name: string;
  certPath: string;
  keyPath: string;
  pem: string;
  /** DER as openssl writes it (`openssl x509 -outform der`). */
  der: Uint8Array;
  /** x5t#S256 as computed by `openssl x509 -outform der | openssl dgst -sha256 -binary`, base64url. */
  opensslThumbprint: string;
}

export interface TestPki {
  /** Holds `<name>.crt`, `<name>.key` and `<name>.csr` for each certificate below. */
  dir: string;
  root: TestCert;
  intermediate: TestCert;
  rsaLeaf: TestCert;
  ecLeaf: TestCert;
  /** A server certificate for 127.0.0.1 issued by the root (for TLS tests). */
  server: TestCert;
  cleanup(): void;
}

function withOpensslDer({ name, certPath, keyPath, cert }: TestCertificate): TestCert {
  const der = new Uint8Array(execFileSync('openssl', ['x509', '-in', certPath, '-outform', 'der']));
  const digest = execSync(`openssl x509 -in '${certPath}' -outform der | openssl dgst -sha256 -binary`);
  return {
    name,
    certPath,
    keyPath,
    pem: cert,
    der,
    opensslThumbprint: Buffer.from(digest).toString('base64url'),
  };
}

/** Makes a fresh PKI in a temporary directory (call cleanup() after). */
export function makePki(): TestPki {
  const pki = createPki();
  const root = pki.rootCa('root', '/CN=keybound test root');
  const intermediate = pki.intermediateCa('intermediate', {
    subject: '/CN=keybound test intermediate',
    issuer: root,
  });
  // A subject with characters that need quoting in XFCC: "," ";" "=" and a double quote.
  const rsaLeaf = pki.client('rsa-leaf', {
    subject: '/O=Example, Inc.; Dept=R&D/CN=rsa client "one"',
    issuer: intermediate,
    key: 'rsa',
  });
  const ecLeaf = pki.client('ec-leaf', { subject: '/CN=ec client', issuer: intermediate });
  const server = pki.server('server', { issuer: root });
  return {
    dir: pki.dir,
    root: withOpensslDer(root),
    intermediate: withOpensslDer(intermediate),
    rsaLeaf: withOpensslDer(rsaLeaf),
    ecLeaf: withOpensslDer(ecLeaf),
    server: withOpensslDer(server),
    cleanup: pki.cleanup,
  };
}

/** Every value a request carried for a header, keyed by lower-case name (the HeaderLookup shape). */
export function headers(entries: Record<string, string | string[]>): (name: string) => string[] | undefined {
  const map = new Map<string, string[]>();
  for (const [name, value] of Object.entries(entries)) {
    map.set(name.toLowerCase(), Array.isArray(value) ? value : [value]);
  }
  return (name) => map.get(name);
}

/** Standard base64 of DER, as in an RFC 9440 Byte Sequence. */
export function b64(der: Uint8Array): string {
  return Buffer.from(der).toString('base64');
}

/**
 * Envoy's older URL encoding of PEM (SslSocket::urlEncodedPemEncodedPeerCertificate replaced
 * "\n", " ", "+", "/" and "=" with %0A, %20, %2B, %2F, %3D).
 */
export function envoyLegacyEncode(pem: string): string {
  return pem
    .replace(/\n/g, '%0A')
    .replace(/ /g, '%20')
    .replace(/\+/g, '%2B')
    .replace(/\//g, '%2F')
    .replace(/=/g, '%3D');
}

/** Percent-encodes every byte except RFC 3986 unreserved characters and `safe` (upper-case hex). */
export function percentEncode(text: string, safe = ''): string {
  let out = '';
  for (const ch of text) {
    if (/[A-Za-z0-9\-._~]/.test(ch) || safe.includes(ch)) out += ch;
    else out += `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** nginx $ssl_client_escaped_cert: URL-encoded PEM (everything but unreserved characters escaped). */
export function nginxEncode(pem: string): string {
  return percentEncode(pem);
}

/** AWS ALB X-Amzn-Mtls-Clientcert: URL-encoded PEM "with +=/ as safe characters". */
export function albEncode(pem: string): string {
  return percentEncode(pem, '+=/');
}

/** An XFCC element as Envoy builds it (Hash bare; Cert, Chain and Subject quoted). */
export function xfccElement(parts: {
  hash?: string;
  cert?: string;
  chain?: string;
  subject?: string;
  uri?: string;
}): string {
  const out: string[] = ['By=spiffe://cluster.local/ns/default/sa/frontend'];
  if (parts.hash !== undefined) out.push(`Hash=${parts.hash}`);
  if (parts.cert !== undefined) out.push(`Cert="${parts.cert}"`);
  if (parts.chain !== undefined) out.push(`Chain="${parts.chain}"`);
  if (parts.subject !== undefined) out.push(`Subject="${parts.subject.replace(/"/g, '\\"')}"`);
  if (parts.uri !== undefined) out.push(`URI=${parts.uri}`);
  return out.join(';');
}

export function sha256Hex(der: Uint8Array): string {
  return execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString().split(' ')[0]!;
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, n >> 8, n & 255];
}

/** One DER element. */
export function tlv(tag: number, content: readonly number[]): number[] {
  return [tag, ...derLength(content.length), ...content];
}

/**
 * A structurally valid (unsigned, unparseable by X.509 libraries) certificate built from
 * arbitrary parts, for property tests of the DER and PEM code.
 */
export function syntheticCertificate(parts: {
  serial: number[];
  name: number[];
  signature: number[];
}): Uint8Array {
  const sigAlg = tlv(0x30, [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
  const tbs = tlv(0x30, [
    ...tlv(0xa0, tlv(0x02, [2])),
    ...tlv(0x02, parts.serial.length === 0 ? [1] : parts.serial),
    ...sigAlg,
    ...tlv(0x30, tlv(0x0c, parts.name)),
    ...tlv(0x30, []),
    ...tlv(0x30, tlv(0x0c, parts.name)),
    ...tlv(0x30, []),
  ]);
  return new Uint8Array(tlv(0x30, [...tbs, ...sigAlg, ...tlv(0x03, [0, ...parts.signature])]));
}
