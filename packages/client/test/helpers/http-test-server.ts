// Small plumbing shared by the test servers: listen on 127.0.0.1:0 (http, or https with an
// optional client-certificate request), read bodies, answer JSON, and close everything after.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface TlsOptions {
  key: string;
  cert: string;
  /** CA for client certificates; with it the server asks for one (and records whether it verified). */
  ca?: string;
}

export interface ListeningServer {
  server: Server;
  origin: string;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

export async function listen(handler: Handler, tls?: TlsOptions): Promise<ListeningServer> {
  const wrapped = (req: IncomingMessage, res: ServerResponse) => {
    res.on('error', () => {});
    Promise.resolve(handler(req, res)).catch((e: unknown) => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end(String(e));
      } else res.destroy();
    });
  };
  const server: Server =
    tls === undefined
      ? createHttpServer(wrapped)
      : (createHttpsServer(
          {
            key: tls.key,
            cert: tls.cert,
            ...(tls.ca !== undefined ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}),
          },
          wrapped,
        ) as unknown as Server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    origin: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The verified client certificate of a TLS request, if any (DER). */
export function peerCertificate(
  req: IncomingMessage,
): { der: Buffer; authorized: boolean; cn: string } | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate();
  if (cert === null || cert.raw === undefined) return undefined;
  const cn = cert.subject?.CN;
  return { der: cert.raw, authorized: socket.authorized, cn: Array.isArray(cn) ? cn[0]! : (cn ?? '') };
}

export async function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** A Date header for a clock `skewSeconds` away from the real one. */
export function httpDate(skewSeconds: number): string {
  return new Date(Date.now() + skewSeconds * 1000).toUTCString();
}
