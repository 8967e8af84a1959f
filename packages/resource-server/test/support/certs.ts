// Certificates made with openssl (through test/support/pki.ts) for the mTLS tests: a CA, a server
// certificate for 127.0.0.1 and two client certificates (EC P-256), each with its DER bytes and
// x5t#S256. The files are removed as soon as they are read.
import { createPki, type TestCertificate as Issued } from '../../../../test/support/pki.js';

export interface TestCertificate {
  pem: string;
  key: string;
  der: Buffer;
  x5t: string;
}

export interface TestPki {
  ca: TestCertificate;
  server: TestCertificate;
  alice: TestCertificate;
  bob: TestCertificate;
}

const inMemory = ({ cert, key, der, thumbprint }: Issued): TestCertificate => ({
  pem: cert,
  key,
  der,
  x5t: thumbprint,
});

export function makePki(): TestPki {
  const pki = createPki();
  try {
    const ca = pki.rootCa('ca', '/CN=keybound test CA');
    return {
      ca: inMemory(ca),
      server: inMemory(pki.server('server', { issuer: ca })),
      alice: inMemory(pki.client('alice', { subject: '/CN=alice-client', issuer: ca })),
      bob: inMemory(pki.client('bob', { subject: '/CN=bob-client', issuer: ca })),
    };
  } finally {
    pki.cleanup();
  }
}
