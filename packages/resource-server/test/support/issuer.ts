// A small authorization server for tests: a real node:http server on 127.0.0.1 that publishes a
// JWKS and answers RFC 7662 introspection with client_secret_basic, and mints RFC 9068 tokens with
// jose. Keys can be rotated; the endpoints can be made to fail.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface IssuerKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface MintOptions {
  kid?: string;
  typ?: string | null;
  /** Sign with this key instead of the current one. */
  key?: IssuerKey;
}

export class TestIssuer {
  readonly server: Server;
  issuer = '';
  jwksUri = '';
  introspectionEndpoint = '';
  readonly clientId = 'rs-client';
  readonly clientSecret = `s3cret ${randomBytes(6).toString('hex')}:/&`;
  /** Keys published in the JWKS; the first signs. */
  keys: IssuerKey[] = [];
  /** What introspection answers for a token (default: {active:false}). */
  readonly introspection = new Map<string, Record<string, unknown>>();
  readonly hits = { jwks: 0, introspection: 0 };
  /** 'ok', or make the endpoints fail: answer 500, or hang up without answering. */
  mode: 'ok' | 'error' | 'hangup' | 'garbage' = 'ok';
  lastIntrospectionAuthorization: string | undefined;

  private constructor() {
    this.server = createServer((req, res) => {
      void this.#handle(req).then(
        ({ status, body }) => {
          if (status === 0) {
            req.socket.destroy();
            return;
          }
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(typeof body === 'string' ? body : JSON.stringify(body));
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    });
  }

  static async start(): Promise<TestIssuer> {
    const t = new TestIssuer();
    await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
    const { port } = t.server.address() as AddressInfo;
    t.issuer = `http://127.0.0.1:${port}`;
    t.jwksUri = `${t.issuer}/jwks`;
    t.introspectionEndpoint = `${t.issuer}/introspect`;
    await t.rotate();
    return t;
  }

  /** Adds a new signing key in front; `keep` old keys in the JWKS (default 1: the previous one). */
  async rotate(alg = 'ES256', keep = 1): Promise<IssuerKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomBytes(6).toString('hex');
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const key: IssuerKey = { kid, alg, privateKey: privateKey as CryptoKey, publicJwk };
    this.keys = [key, ...this.keys.slice(0, keep)];
    return key;
  }

  /** An access token with these claims (iss, iat, exp and jti filled in unless given). */
  async mint(claims: Record<string, unknown>, options: MintOptions = {}): Promise<string> {
    const key = options.key ?? this.keys[0]!;
    const now = Math.floor(Date.now() / 1000);
    const header: Record<string, unknown> = { alg: key.alg, kid: options.kid ?? key.kid };
    if (options.typ !== null) header.typ = options.typ ?? 'at+jwt';
    return new SignJWT({
      iss: this.issuer,
      iat: now,
      exp: now + 300,
      jti: randomBytes(8).toString('hex'),
      ...claims,
    })
      .setProtectedHeader(header as { alg: string })
      .sign(key.privateKey);
  }

  async #handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.mode === 'hangup') return { status: 0, body: null };
    if (this.mode === 'error') return { status: 500, body: { error: 'server_error' } };
    if (this.mode === 'garbage') return { status: 200, body: '<html>not json' };
    if (req.url === '/jwks' && req.method === 'GET') {
      this.hits.jwks++;
      return { status: 200, body: { keys: this.keys.map((k) => k.publicJwk) } };
    }
    if (req.url === '/introspect' && req.method === 'POST') {
      this.hits.introspection++;
      this.lastIntrospectionAuthorization = req.headers.authorization;
      // RFC 6749 §2.3.1: form-encode id and secret, join with ":", base64
      const expected = `Basic ${Buffer.from(`${form(this.clientId)}:${form(this.clientSecret)}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return { status: 401, body: { error: 'invalid_client' } };
      if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
        return { status: 400, body: { error: 'invalid_request' } };
      }
      const params = new URLSearchParams(Buffer.concat(chunks).toString());
      const token = params.get('token') ?? '';
      return { status: 200, body: this.introspection.get(token) ?? { active: false } };
    }
    return { status: 404, body: { error: 'not_found' } };
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function form(s: string): string {
  return new URLSearchParams({ v: s }).toString().slice(2);
}

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}
