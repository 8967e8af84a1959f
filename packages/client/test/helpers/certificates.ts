// Test PKI made with the openssl command: a CA, a server certificate for 127.0.0.1, and client
// certificates whose CN is the client id (what tls_client_auth checks here).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  key: string;
  cert: string;
}

export interface TestPki {
  ca: Pem;
  server: Pem;
  clients: Record<string, Pem>;
  /** Files, for the *FromFiles helpers; removed by cleanup(). */
  dir: string;
  cleanup(): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function issue(dir: string, name: string, subject: string, extensions: string): Pem {
  openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  openssl(dir, 'req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    dir,
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
  );
  return {
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
  };
}

export function createTestPki(clientIds: readonly string[]): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'keybound-pki-'));
  openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
  openssl(
    dir,
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-subj',
    '/CN=keybound test CA',
    '-days',
    '2',
    '-sha256',
    '-out',
    'ca.crt',
  );
  const ca = {
    key: readFileSync(join(dir, 'ca.key'), 'utf8'),
    cert: readFileSync(join(dir, 'ca.crt'), 'utf8'),
  };
  const server = issue(
    dir,
    'server',
    '/CN=127.0.0.1',
    'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  const clients: Record<string, Pem> = {};
  for (const id of clientIds)
    clients[id] = issue(dir, `client-${id}`, `/CN=${id}`, 'extendedKeyUsage=clientAuth\n');
  return { ca, server, clients, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
