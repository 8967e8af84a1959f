// Certificates made by the openssl binary for the mTLS rows: a CA, a server certificate for
// 127.0.0.1, two client certificates the CA issued (alice, bob), and a self-signed stranger. Files
// live in a temp directory (nginx and curl read paths), removed after the test file.
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './keybound.js';

export interface CertFiles {
  /** PEM texts. */
  cert: string;
  key: string;
  /** Paths of the same. */
  certPath: string;
  keyPath: string;
  /** x5t#S256 (RFC 8705 §3.1), computed with node:crypto, independently of keybound. */
  thumbprint: string;
}

export interface InteropPki {
  dir: string;
  ca: CertFiles;
  server: CertFiles;
  alice: CertFiles;
  bob: CertFiles;
  stranger: CertFiles;
}

export const ALICE_DN = 'CN=alice,O=Interop Test,C=US';

export function generateInteropPki(openssl: string): InteropPki {
  const dir = mkdtempSync(join(tmpdir(), 'kb-interop-pki-'));
  // nginx workers (an unprivileged user when the master runs as root) read nothing from here, but
  // the directory must be traversable for its temp paths below it.
  chmodSync(dir, 0o755);
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const run = (args: string[]) =>
    execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (name: string) =>
    run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  const selfSigned = (name: string, subject: string, extensions: string[]) => {
    key(name);
    run([
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      subject,
      '-days',
      '2',
      '-sha256',
      '-out',
      `${name}.crt`,
      ...extensions,
    ]);
  };
  const issue = (name: string, subject: string, ext: string) => {
    key(name);
    run(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
    writeFileSync(join(dir, `${name}.ext`), ext);
    run([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
  };
  selfSigned('ca', '/CN=keybound interop CA', [
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  issue(
    'server',
    '/CN=127.0.0.1',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  issue('alice', '/C=US/O=Interop Test/CN=alice', 'extendedKeyUsage=clientAuth\n');
  issue('bob', '/C=US/O=Interop Test/CN=bob', 'extendedKeyUsage=clientAuth\n');
  selfSigned('stranger', '/CN=alice', []);
  const files = (name: string): CertFiles => {
    const certPath = join(dir, `${name}.crt`);
    const keyPath = join(dir, `${name}.key`);
    const cert = readFileSync(certPath, 'utf8');
    return {
      cert,
      key: readFileSync(keyPath, 'utf8'),
      certPath,
      keyPath,
      thumbprint: createHash('sha256').update(new X509Certificate(cert).raw).digest('base64url'),
    };
  };
  return {
    dir,
    ca: files('ca'),
    server: files('server'),
    alice: files('alice'),
    bob: files('bob'),
    stranger: files('stranger'),
  };
}
