// Test PKI made with the openssl command (through test/support/pki.ts): a CA, a server certificate
// for 127.0.0.1, and client certificates whose CN is the client id (what tls_client_auth checks here).
import { createPki, type TestCertificate } from '../../../../test/support/pki.js';

export type Pem = Pick<TestCertificate, 'key' | 'cert'>;

export interface TestPki {
  ca: Pem;
  server: Pem;
  clients: Record<string, Pem>;
  /** Files (`ca.crt`, `client-<id>.crt`, `client-<id>.key`), for the *FromFiles helpers; removed by cleanup(). */
  dir: string;
  cleanup(): void;
}

export function createTestPki(clientIds: readonly string[]): TestPki {
  const pki = createPki();
  const ca = pki.rootCa('ca', '/CN=keybound test CA');
  const server = pki.server('server', { issuer: ca });
  const clients: Record<string, Pem> = {};
  for (const id of clientIds) clients[id] = pki.client(`client-${id}`, { subject: `/CN=${id}`, issuer: ca });
  return { ca, server, clients, dir: pki.dir, cleanup: pki.cleanup };
}
