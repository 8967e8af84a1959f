// Certificates made by the openssl binary (through test/support/pki.ts) for the mTLS rows: a CA, a
// server certificate for 127.0.0.1, two client certificates the CA issued (alice, bob), and a
// self-signed stranger. Files live in a temp directory (nginx and curl read paths), removed after
// the test file.
import { chmodSync } from 'node:fs';
import { createPki, type TestCertificate } from '../../support/pki.js';
import { onCleanup } from './keybound.js';

/** PEM texts, their paths, and the x5t#S256 computed with node:crypto, independently of keybound. */
export type CertFiles = TestCertificate;

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
  const pki = createPki(openssl);
  // nginx workers (an unprivileged user when the master runs as root) read nothing from here, but
  // the directory must be traversable for its temp paths below it.
  chmodSync(pki.dir, 0o755);
  onCleanup(pki.cleanup);
  const ca = pki.rootCa('ca', '/CN=keybound interop CA');
  return {
    dir: pki.dir,
    ca,
    server: pki.server('server', { issuer: ca, altNames: 'IP:127.0.0.1,DNS:localhost' }),
    alice: pki.client('alice', { subject: '/C=US/O=Interop Test/CN=alice', issuer: ca }),
    bob: pki.client('bob', { subject: '/C=US/O=Interop Test/CN=bob', issuer: ca }),
    stranger: pki.selfSigned('stranger', '/CN=alice'),
  };
}
