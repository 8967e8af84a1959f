// Request facts from Node's IncomingMessage, shared by the node-based adapters (node:http,
// Express, Fastify, and Hono on @hono/node-server). Node keeps only the first of duplicated
// headers in `req.headers`, so the raw list is used. Only types come from node:*.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { RequestFacts, TlsFacts } from '../facts.js';

const certificates = new WeakMap<object, Uint8Array | null>();
const PLAIN: TlsFacts = Object.freeze({ encrypted: false });
const ENCRYPTED: TlsFacts = Object.freeze({ encrypted: true });

/** The TLS facts of a socket; the peer certificate is read once per connection. */
export function tlsFacts(socket: Socket | TLSSocket | undefined): TlsFacts {
  const tls = socket as Partial<TLSSocket> | undefined;
  if (tls?.encrypted !== true) return PLAIN;
  let der = certificates.get(tls);
  if (der === undefined) {
    const cert = typeof tls.getPeerCertificate === 'function' ? tls.getPeerCertificate(false) : undefined;
    const raw = cert?.raw;
    der =
      raw !== undefined && raw.length > 0 ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) : null;
    certificates.set(tls, der);
  }
  return der === null ? ENCRYPTED : { encrypted: true, peerCertificate: der };
}

/** The facts protect() needs; `target` defaults to req.url (pass Express' originalUrl). */
export function nodeRequestFacts(req: IncomingMessage, target?: string): RequestFacts {
  const socket = req.socket;
  return {
    method: req.method ?? 'GET',
    target: target ?? req.url ?? '/',
    headers: req.rawHeaders,
    ...(socket?.remoteAddress === undefined ? {} : { peerAddress: socket.remoteAddress }),
    tls: tlsFacts(socket),
  };
}
