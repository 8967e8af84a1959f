// Certificates made with openssl for the mTLS tests: a CA, a server certificate for 127.0.0.1 and
// two client certificates (EC P-256), each with its DER bytes and x5t#S256.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

function load(dir: string, name: string): TestCertificate {
  const pem = readFileSync(join(dir, `${name}.crt`), 'utf8');
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return {
    pem,
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    der,
    x5t: createHash('sha256').update(der).digest('base64url'),
  };
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'keybound-pki-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    const key = (name: string) =>
      openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
    key('ca');
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=keybound test CA',
      '-days',
      '2',
      '-out',
      'ca.crt',
    );
    for (const [name, subject, ext] of [
      ['server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
      ['alice', '/CN=alice-client', 'extendedKeyUsage=clientAuth'],
      ['bob', '/CN=bob-client', 'extendedKeyUsage=clientAuth'],
    ] as const) {
      key(name);
      openssl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
      execFileSync(
        'sh',
        [
          '-c',
          `printf '%b' "${ext.replace(/\n/g, '\\n')}" > ${name}.ext && openssl x509 -req -in ${name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ${name}.ext -out ${name}.crt`,
        ],
        { cwd: dir, stdio: 'pipe' },
      );
    }
    return {
      ca: load(dir, 'ca'),
      server: load(dir, 'server'),
      alice: load(dir, 'alice'),
      bob: load(dir, 'bob'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
