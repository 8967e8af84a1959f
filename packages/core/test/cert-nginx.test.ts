// The nginx format against the real nginx: nginx terminates mutual TLS and forwards
// $ssl_client_escaped_cert to a node:http upstream, whose received headers are parsed here.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { request } from 'node:https';
import { connect, createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers, makePki, nginxEncode, type TestCert, type TestPki } from './cert-fixtures.js';
import { certificateThumbprint, FORWARDED_CERT_HEADERS, parseForwardedClientCert } from './helpers.js';
import { codeOf } from './keybound-error-code.js';

const NGINX = '/usr/sbin/nginx';

function parse(value: string | string[], options?: { headers?: { cert?: string } }) {
  const name = options?.headers?.cert ?? 'x-ssl-client-cert';
  return parseForwardedClientCert('nginx', headers({ [name]: value }), options);
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, logPath: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${readFileSync(logPath, 'utf8')}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not listen: ${readFileSync(logPath, 'utf8')}`);
}

let pki: TestPki;
let upstream: Server;
let nginx: ChildProcess;
let nginxPort: number;
const seen: IncomingHttpHeaders[] = [];
const seenDistinct: Record<string, string[]>[] = [];

beforeAll(async () => {
  pki = makePki();
  upstream = createServer((req, res) => {
    seen.push(req.headers);
    seenDistinct.push(req.headersDistinct as Record<string, string[]>);
    res.end('ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as { port: number }).port;
  nginxPort = await freePort();
  const d = pki.dir;
  const log = join(d, 'nginx-error.log');
  writeFileSync(
    join(d, 'nginx.conf'),
    `daemon off;
master_process off;
pid ${d}/nginx.pid;
error_log ${log} warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${d}/body; proxy_temp_path ${d}/proxy; fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi; scgi_temp_path ${d}/scgi;
  server {
    listen 127.0.0.1:${nginxPort} ssl;
    ssl_certificate ${pki.server.certPath};
    ssl_certificate_key ${pki.server.keyPath};
    ssl_client_certificate ${pki.root.certPath};
    ssl_verify_client optional;
    ssl_verify_depth 3;
    location / {
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
      proxy_set_header X-Forwarded-Client-Cert 'Hash=$ssl_client_fingerprint;Cert="$ssl_client_escaped_cert";Subject="$ssl_client_s_dn"';
      proxy_pass http://127.0.0.1:${upstreamPort};
    }
  }
}
`,
  );
  writeFileSync(log, '');
  nginx = spawn(NGINX, ['-p', d, '-c', join(d, 'nginx.conf'), '-e', log], { stdio: 'ignore' });
  await waitForPort(nginxPort, nginx, log);
});

afterAll(async () => {
  if (nginx !== undefined && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx.once('exit', resolve));
    nginx.kill('SIGTERM');
    await exited;
  }
  await new Promise((resolve) => upstream?.close(resolve));
  pki?.cleanup();
});

/** Sends one request through nginx, optionally with a client certificate and extra headers. */
async function through(
  client: TestCert | undefined,
  extra: Record<string, string> = {},
): Promise<{ headers: IncomingHttpHeaders; distinct: Record<string, string[]> }> {
  const before = seen.length;
  await new Promise<void>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: nginxPort,
        path: '/',
        ca: pki.root.pem,
        ...(client ? { cert: client.pem + pki.intermediate.pem, key: readFileSync(client.keyPath) } : {}),
        headers: extra,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
  expect(seen.length).toBe(before + 1);
  return { headers: seen[before]!, distinct: seenDistinct[before]! };
}

describe('nginx $ssl_client_escaped_cert', () => {
  it('names x-ssl-client-cert as its default header', () => {
    expect(FORWARDED_CERT_HEADERS.nginx).toEqual({ cert: 'x-ssl-client-cert' });
  });

  it('reads the RSA and EC client certificates that the real nginx forwarded', async () => {
    for (const leaf of [pki.rsaLeaf, pki.ecLeaf]) {
      const { distinct } = await through(leaf);
      const result = parseForwardedClientCert('nginx', (name) => distinct[name]);
      expect(result?.der).toEqual(leaf.der);
      expect(result?.chain).toEqual([]);
      expect(result?.format).toBe('nginx');
      expect(await certificateThumbprint(result!.der)).toBe(leaf.opensslThumbprint);
    }
  });

  it('matches the documented encoding: the value nginx sent equals URL-encoded PEM', async () => {
    const { distinct } = await through(pki.ecLeaf);
    expect(distinct['x-ssl-client-cert']).toEqual([nginxEncode(pki.ecLeaf.pem)]);
  });

  it('returns undefined when nginx forwarded no certificate (it omits the empty header)', async () => {
    const { distinct } = await through(undefined);
    expect(distinct['x-ssl-client-cert']).toBeUndefined();
    expect(parseForwardedClientCert('nginx', (name) => distinct[name])).toBeUndefined();
  });

  it('sees the certificate of the TLS connection, not one the client put in the header', async () => {
    const forged = nginxEncode(pki.rsaLeaf.pem);
    const { distinct } = await through(pki.ecLeaf, { 'X-SSL-Client-Cert': forged });
    expect(parseForwardedClientCert('nginx', (name) => distinct[name])?.der).toEqual(pki.ecLeaf.der);
    const none = await through(undefined, { 'X-SSL-Client-Cert': forged });
    expect(parseForwardedClientCert('nginx', (name) => none.distinct[name])).toBeUndefined();
  });

  it('reads an XFCC element that nginx assembled from its variables (quoted, escaped subject)', async () => {
    const { distinct } = await through(pki.rsaLeaf);
    expect(distinct['x-forwarded-client-cert']?.[0]).toContain('\\"one\\"');
    expect(parseForwardedClientCert('envoy-xfcc', (name) => distinct[name])?.der).toEqual(pki.rsaLeaf.der);
  });

  it('reads a configured header name', () => {
    const options = { headers: { cert: 'X-Client-Certificate' } };
    expect(parse(nginxEncode(pki.ecLeaf.pem), options)?.der).toEqual(pki.ecLeaf.der);
    expect(
      parseForwardedClientCert(
        'nginx',
        headers({ 'x-ssl-client-cert': nginxEncode(pki.ecLeaf.pem) }),
        options,
      ),
    ).toBeUndefined();
  });

  it('accepts lower-case hex escapes', () => {
    const lower = nginxEncode(pki.ecLeaf.pem).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
    expect(parse(lower)?.der).toEqual(pki.ecLeaf.der);
  });

  it('keeps "+" as "+" (percent-decoding, not form-decoding)', () => {
    const plusKept = nginxEncode(pki.rsaLeaf.pem).replace(/%2B/g, '+');
    expect(pki.rsaLeaf.pem).toContain('+');
    expect(parse(plusKept)?.der).toEqual(pki.rsaLeaf.der);
  });

  it('accepts PEM lines separated by tabs or spaces (the deprecated $ssl_client_cert, unfolded)', () => {
    const unfolded = pki.ecLeaf.pem.trim().replace(/\n/g, '\t');
    expect(parse(unfolded)?.der).toEqual(pki.ecLeaf.der);
    expect(parse(pki.ecLeaf.pem.trim().replace(/\n/g, ' '))?.der).toEqual(pki.ecLeaf.der);
  });

  const cert = () => nginxEncode(pki.ecLeaf.pem);
  const failures: [string, string, () => string | string[]][] = [
    ['rejects the header sent twice', 'cert_header_repeated', () => [cert(), cert()]],
    [
      'rejects two certificates in one value',
      'cert_header_list',
      () => cert() + nginxEncode(pki.rsaLeaf.pem),
    ],
    ['rejects two values joined with a comma', 'cert_header_malformed', () => `${cert()}, ${cert()}`],
    ['rejects an empty value', 'cert_header_malformed', () => ''],
    ['rejects a "%" without two hex digits', 'cert_header_malformed', () => cert().replace('%20', '%2')],
    ['rejects a percent-encoded NUL', 'cert_header_malformed', () => cert().replace('%0A', '%00')],
    [
      'rejects a percent-encoded non-ASCII byte',
      'cert_header_malformed',
      () => cert().replace('%0A', '%C3%A9'),
    ],
    ['rejects a raw CR LF', 'cert_header_malformed', () => cert().replace('%0A', '\r\n')],
    ['rejects a raw non-ASCII character', 'cert_header_malformed', () => `${cert()}é`],
    [
      'rejects base64 DER without PEM armour',
      'cert_header_malformed',
      () => Buffer.from(pki.ecLeaf.der).toString('base64'),
    ],
    [
      'rejects a certificate request (CSR) block',
      'cert_header_malformed',
      () => nginxEncode(readFileSync(join(pki.dir, 'ec-leaf.csr'), 'utf8')),
    ],
    [
      'rejects a PEM block whose DER is truncated',
      'cert_malformed',
      () => nginxEncode(pki.ecLeaf.pem.replace(/\n[^\n]*\n-----END/, '\n-----END')),
    ],
  ];
  for (const [name, code, value] of failures) {
    it(`${name} (${code})`, () => {
      expect(codeOf(() => parse(value()))).toBe(code);
    });
  }
});
