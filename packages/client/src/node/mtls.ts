/// <reference types="node" />
// mTLS on Node (RFC 8705): an undici Agent that presents the client certificate, and a fetch bound
// to it. Give this fetch to OAuthClient (with mtls: true, or tls_client_auth) so that token requests
// go to the mtls_endpoint_aliases and resource calls present the same certificate.
import { readFile } from 'node:fs/promises';
import { Agent, fetch as undiciFetch } from 'undici';
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
  const fetch = ((input: RequestInfo | URL, init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    })) as unknown as FetchLike;
  return { fetch, agent, close: () => agent.close() };
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
