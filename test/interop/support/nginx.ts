// The Debian nginx binary as a TLS-terminating reverse proxy: a generated configuration in a temp
// directory, run in the foreground as a child process (`daemon off`), listening on a free
// 127.0.0.1 port, verifying client certificates against the test CA and forwarding the verified
// certificate to the upstream in a header. Stopped (and its directory removed) after the test file.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { onCleanup } from './keybound.js';

export interface NginxOptions {
  /** Path of the nginx binary. */
  nginx: string;
  /** Directory that holds the certificates (a subdirectory is made for nginx). */
  baseDir: string;
  serverCert: string;
  serverKey: string;
  /** CA file client certificates must chain to (`ssl_verify_client on`). */
  clientCa: string;
  /** The upstream: http://127.0.0.1:port */
  upstream: string;
}

export interface RunningNginx {
  /** https://127.0.0.1:port */
  origin: string;
  port: number;
  /** What nginx wrote to stderr so far (startup problems, TLS verification failures). */
  log(): string;
}

/**
 * The configuration: every path inside `dir`, so nothing outside it is written. Each
 * proxy_set_header below replaces a client's header of the same name: a client cannot choose the
 * certificate, proto or host the upstream sees.
 */
export function nginxConfig(dir: string, port: number, o: NginxOptions): string {
  const forward = `
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;`;
  return `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    server_name 127.0.0.1;
    ssl_certificate ${o.serverCert};
    ssl_certificate_key ${o.serverKey};
    ssl_client_certificate ${o.clientCa};
    ssl_verify_client on;
    ssl_verify_depth 2;
    location / {
      proxy_pass ${o.upstream};${forward}
    }
    # the API also mounted under /api/: nginx strips the prefix and says so in X-Forwarded-Prefix
    location /api/ {
      proxy_pass ${o.upstream}/;${forward}
      proxy_set_header X-Forwarded-Prefix /api;
    }
  }
}
`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM'); // nginx: fast shutdown of the master and its worker
  });
}

async function startOnce(o: NginxOptions, dir: string): Promise<RunningNginx | 'port-taken'> {
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, port, o));
  const child = spawn(o.nginx, ['-p', dir, '-c', conf, '-e', 'stderr'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await canConnect(port)) {
      // should the test process end without its hooks (a crash), nginx must not outlive it
      const orphanGuard = () => child.kill('SIGKILL');
      process.once('exit', orphanGuard);
      onCleanup(async () => {
        process.off('exit', orphanGuard);
        await stop(child);
      });
      return { origin: `https://127.0.0.1:${port}`, port, log: () => stderr };
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 50))]);
  }
  await stop(child);
  if (/Address already in use/.test(stderr)) return 'port-taken';
  throw new Error(`nginx did not start on 127.0.0.1:${port}:\n${stderr}`);
}

export async function startNginx(o: NginxOptions): Promise<RunningNginx> {
  const dir = mkdtempSync(join(o.baseDir, 'nginx-'));
  chmodSync(dir, 0o755); // workers run as an unprivileged user when the master runs as root
  mkdirSync(join(dir, 'tmp'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = await startOnce(o, dir);
    if (started !== 'port-taken') return started;
  }
  throw new Error('nginx found no free port in three attempts');
}
