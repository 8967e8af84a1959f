// What an adapter tells protect() about a request: only facts, in the form the server received them.

/**
 * Request headers exactly as received, duplicates included: either Node's flat `rawHeaders` list
 * (`[name, value, name, value, …]`) or a list of `[name, value]` pairs.
 */
export type HeaderList = readonly string[] | ReadonlyArray<readonly [string, string]>;

export interface TlsFacts {
  /** True when the request arrived over TLS at this process. */
  encrypted: boolean;
  /** The client certificate presented in the TLS handshake, DER-encoded. */
  peerCertificate?: Uint8Array;
}

export interface RequestFacts {
  /** The request method as received (`GET`). */
  method: string;
  /** The request target as received: path and query (`/api/items?x=1`); absolute-form is accepted. */
  target: string;
  headers: HeaderList;
  /** Address of the TCP peer (the client, or the proxy in front of this server). */
  peerAddress?: string;
  tls?: TlsFacts;
}
