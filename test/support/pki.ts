// Test certificates made with the openssl command line, for every package's tests: root and
// intermediate CAs, server and client certificates (EC P-256 or RSA 2048) and self-signed ones.
// Each certificate lands in a fresh temporary directory as `<name>.key`, `<name>.crt` and, when a
// CA issued it, `<name>.csr`; call cleanup() to remove the directory.
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeyAlgorithm = 'ec' | 'rsa';

export interface TestCertificate {
  /** The file name without extension (also a readable label in assertion messages). */
  name: string;
  /** PEM texts: the certificate and its private key (PKCS #8). */
  cert: string;
  key: string;
  /** Paths of the same. */
  certPath: string;
  keyPath: string;
  /** DER bytes of the certificate. */
  der: Buffer;
  /** x5t#S256 (RFC 8705 §3.1), computed with node:crypto, independently of keybound. */
  thumbprint: string;
}

export interface IssueOptions {
  /** An openssl -subj string, e.g. '/C=US/O=Acme/CN=client-one'. */
  subject: string;
  issuer: TestCertificate;
  /** Default 'ec' (P-256). */
  key?: KeyAlgorithm;
}

export interface TestPki {
  dir: string;
  /** A self-signed CA (basicConstraints CA:TRUE, keyUsage keyCertSign, cRLSign). */
  rootCa(name: string, subject: string, key?: KeyAlgorithm): TestCertificate;
  /** A CA issued by another CA. */
  intermediateCa(name: string, options: IssueOptions): TestCertificate;
  /** A TLS server certificate; subject defaults to /CN=127.0.0.1, altNames to IP:127.0.0.1. */
  server(
    name: string,
    options: Omit<IssueOptions, 'subject'> & { subject?: string; altNames?: string },
  ): TestCertificate;
  /** A TLS client certificate (extendedKeyUsage clientAuth), with optional subjectAltName entries. */
  client(name: string, options: IssueOptions & { altNames?: string }): TestCertificate;
  /** A self-signed certificate with openssl's default extensions for `req -x509` (no trusted issuer). */
  selfSigned(name: string, subject: string, key?: KeyAlgorithm): TestCertificate;
  /** A certificate issued with exactly these extensions (openssl x509v3_config lines). */
  issue(name: string, options: IssueOptions & { extensions: string }): TestCertificate;
  cleanup(): void;
}

export const CA_EXTENSIONS = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';

const KEY_OPTIONS: Record<KeyAlgorithm, string[]> = {
  ec: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
};

/** x5t#S256 of a PEM certificate, computed with node:crypto. */
export function thumbprintOf(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');
}

/** Makes an empty PKI in a fresh temporary directory; `openssl` is the binary to run. */
export function createPki(openssl = 'openssl'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'keybound-pki-'));
  const run = (args: string[]) =>
    execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const newKey = (name: string, key: KeyAlgorithm) =>
    run(['genpkey', ...KEY_OPTIONS[key], '-out', `${name}.key`]);
  const load = (name: string): TestCertificate => {
    const certPath = join(dir, `${name}.crt`);
    const keyPath = join(dir, `${name}.key`);
    const cert = readFileSync(certPath, 'utf8');
    const der = new X509Certificate(cert).raw;
    return {
      name,
      cert,
      key: readFileSync(keyPath, 'utf8'),
      certPath,
      keyPath,
      der,
      thumbprint: createHash('sha256').update(der).digest('base64url'),
    };
  };
  const selfSigned = (name: string, subject: string, key: KeyAlgorithm, extensions: string[]) => {
    newKey(name, key);
    const days = ['-days', '2', '-sha256'];
    run([
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      subject,
      ...days,
      '-out',
      `${name}.crt`,
      ...extensions,
    ]);
    return load(name);
  };
  const issue: TestPki['issue'] = (name, { subject, issuer, key = 'ec', extensions }) => {
    newKey(name, key);
    run(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    run([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      issuer.certPath,
      '-CAkey',
      issuer.keyPath,
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
    return load(name);
  };
  const san = (altNames: string | undefined) =>
    altNames === undefined ? '' : `subjectAltName=${altNames}\n`;
  return {
    dir,
    rootCa: (name, subject, key = 'ec') =>
      selfSigned(
        name,
        subject,
        key,
        CA_EXTENSIONS.trim()
          .split('\n')
          .flatMap((line) => ['-addext', line]),
      ),
    intermediateCa: (name, options) => issue(name, { ...options, extensions: CA_EXTENSIONS }),
    server: (name, { subject = '/CN=127.0.0.1', altNames = 'IP:127.0.0.1', ...options }) =>
      issue(name, { ...options, subject, extensions: `${san(altNames)}extendedKeyUsage=serverAuth\n` }),
    client: (name, { altNames, ...options }) =>
      issue(name, { ...options, extensions: `${san(altNames)}extendedKeyUsage=clientAuth\n` }),
    selfSigned: (name, subject, key = 'ec') => selfSigned(name, subject, key, []),
    issue,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
