/// <reference types="node" />
// mTLS on Node (RFC 8705): an undici Agent that presents the client certificate, and a fetch bound
// to it. Give this fetch to OAuthClient (with mtls: true, or tls_client_auth) so that token requests
// go to the mtls_endpoint_aliases and resource calls present the same certificate.
import { readFile } from 'node:fs/promises';
import { Agent, FormData as UndiciFormData, fetch as undiciFetch } from 'undici';
import type { FetchLike } from '../dpop-fetch.js';

export interface MtlsOptions {
  /** Client certificate chain, PEM. */
  cert: string | Buffer;
  /** Client private key, PEM. */
  key: string | Buffer;
  passphrase?: string;
  /** Trusted CA certificates for the server (default: Node's bundled roots). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
}

export interface MtlsFetch {
  fetch: FetchLike;
  agent: Agent;
  /** Closes the agent's connections. */
  close(): Promise<void>;
}

export function createMtlsFetch(options: MtlsOptions): MtlsFetch {
  const agent = new Agent({
    connect: {
      cert: options.cert,
      key: options.key,
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      rejectUnauthorized: options.rejectUnauthorized ?? true,
    },
  });
  const fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const [url, options] = forUndici(input, init);
    return undiciFetch(url, { ...(options as Parameters<typeof undiciFetch>[1]), dispatcher: agent });
  }) as unknown as FetchLike;
  return { fetch, agent, close: () => agent.close() };
}

/**
 * undici from npm has its own Request and FormData classes and does not recognise Node's built-in
 * ones (it would read a Request as an invalid URL and send a FormData as "[object FormData]"):
 * a Request becomes its URL and options, a built-in FormData an undici one.
 */
function forUndici(input: RequestInfo | URL, init: RequestInit | undefined): [string | URL, RequestInit] {
  let url: string | URL;
  let options: RequestInit;
  if (typeof input === 'string' || input instanceof URL) {
    url = input;
    options = { ...init };
  } else {
    url = input.url;
    options = {
      method: input.method,
      headers: [...input.headers],
      signal: input.signal,
      redirect: input.redirect,
      ...(input.body !== null ? { body: input.body, duplex: 'half' } : {}),
      ...init,
    } as RequestInit;
  }
  const body = options.body;
  if (typeof FormData !== 'undefined' && body instanceof FormData && !(body instanceof UndiciFormData)) {
    const form = new UndiciFormData();
    for (const [name, value] of body) form.append(name, value as string);
    options.body = form as unknown as BodyInit;
  }
  return [url, options];
}

export interface MtlsFileOptions {
  certFile: string;
  keyFile: string;
  caFile?: string;
  passphrase?: string;
  rejectUnauthorized?: boolean;
}

/** createMtlsFetch with the certificate, key and CA read from PEM files. */
export async function createMtlsFetchFromFiles(options: MtlsFileOptions): Promise<MtlsFetch> {
  const [cert, key, ca] = await Promise.all([
    readFile(options.certFile),
    readFile(options.keyFile),
    options.caFile === undefined ? undefined : readFile(options.caFile),
  ]);
  return createMtlsFetch({
    cert,
    key,
    ...(ca !== undefined ? { ca } : {}),
    ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
    ...(options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {}),
  });
}
