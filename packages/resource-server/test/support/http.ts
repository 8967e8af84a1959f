// Raw HTTP(S) requests for tests: repeated headers are sent as separate field lines, the local
// address can be chosen (127.0.0.2 plays the trusted proxy), and TLS client certificates are sent.
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface SendOptions {
  method?: string;
  /** Header values; an array is sent as that many field lines. */
  headers?: Record<string, string | string[]>;
  /** Source address of the connection (127.0.0.1 by default). */
  from?: string;
  /** TLS client certificate and key (PEM), for https URLs. */
  cert?: string;
  key?: string;
  body?: string;
}

export interface Received {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  text: string;
}

export function send(url: string, path: string, options: SendOptions = {}): Promise<Received> {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  const request = tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: options.method ?? 'GET',
        path,
        headers: options.headers as OutgoingHttpHeaders,
        localAddress: options.from ?? '127.0.0.1',
        agent: false,
        ...(tls ? { rejectUnauthorized: false, cert: options.cert, key: options.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let body: Record<string, unknown> = {};
          try {
            body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
          } catch {
            body = {};
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
