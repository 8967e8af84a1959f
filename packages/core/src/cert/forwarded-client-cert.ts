// The client certificate that a TLS-terminating proxy forwarded in a request header, in one of
// four wire formats. Which format (and so which headers) to read is deployment configuration:
// it is passed in, never guessed, and the caller must already know that the request came from
// that proxy (a certificate header from anyone else is a spoofing attempt: cert_spoofed).
//
//   rfc9440     Client-Cert: :base64(DER): (RFC 8941 Byte Sequence) and optional Client-Cert-Chain:
//               a List of Byte Sequences that may be split over several field lines.
//   envoy-xfcc  x-forwarded-client-cert: By=…;Hash=…;Cert="<URL-encoded PEM>";Chain="<URL-encoded PEM>"
//               Exactly one element is accepted: with several (one per proxy hop, Envoy's
//               APPEND_FORWARD mode) which hop's certificate belongs to the client depends on the
//               topology, and an element appended before the edge proxy can be client-supplied.
//               Configure the edge Envoy with forward_client_cert_details SANITIZE_SET.
//   nginx       x-ssl-client-cert (any name): $ssl_client_escaped_cert, the leaf as URL-encoded PEM.
//   aws-alb     x-amzn-mtls-clientcert (passthrough mode): the whole chain presented, leaf first, as
//               URL-encoded PEM with "+", "=" and "/" left unencoded; x-amzn-mtls-clientcert-leaf
//               (verify mode): the leaf alone. When both arrive they must name the same leaf.
//
// Every certificate header must arrive once: a repeated header is cert_header_repeated (one copy
// may come from the client). Only Client-Cert-Chain may span several field lines.
import { KeyboundError } from '../errors.js';
import { parseXfcc } from './envoy-xfcc.js';
import { readPemCertificates } from './pem.js';
import { percentDecodeAscii } from './percent.js';
import { parseClientCert, parseClientCertChain } from './rfc9440.js';

export type ForwardedCertFormat = 'rfc9440' | 'envoy-xfcc' | 'nginx' | 'aws-alb';

/** Returns every value the request carried for a header (one entry per field line), or undefined. */
export type HeaderLookup = (lowerCaseName: string) => readonly string[] | undefined;

export interface ForwardedCertHeaderNames {
  /** The header holding the client certificate (for aws-alb in passthrough mode: the chain). */
  readonly cert: string;
  /** rfc9440 only: the header holding the issuing chain. */
  readonly chain?: string;
  /** aws-alb only: the header holding the leaf alone (verify mode). */
  readonly leaf?: string;
}

/** The header names each format reads by default (lower case). */
export const FORWARDED_CERT_HEADERS: { readonly [F in ForwardedCertFormat]: ForwardedCertHeaderNames } = {
  rfc9440: { cert: 'client-cert', chain: 'client-cert-chain' },
  'envoy-xfcc': { cert: 'x-forwarded-client-cert' },
  nginx: { cert: 'x-ssl-client-cert' },
  'aws-alb': { cert: 'x-amzn-mtls-clientcert', leaf: 'x-amzn-mtls-clientcert-leaf' },
};

/** Default cap on the characters of all certificate header values of one request together. */
export const DEFAULT_MAX_FORWARDED_CERT_HEADER_BYTES = 64 * 1024;
/** Default cap on the certificates forwarded besides the leaf. */
export const DEFAULT_MAX_FORWARDED_CHAIN_LENGTH = 8;

export interface ForwardedCertOptions {
  /** Header names to read instead of FORWARDED_CERT_HEADERS[format] (case-insensitive). */
  headers?: { cert?: string; chain?: string; leaf?: string };
  /** Cap on the characters of all certificate header values together (default 64 KiB). */
  maxHeaderBytes?: number;
  /** Cap on the certificates besides the leaf (default 8). */
  maxChainLength?: number;
}

export interface ForwardedClientCert {
  /** The client's (leaf) certificate, DER: hash it with certificateThumbprint for x5t#S256. */
  der: Uint8Array;
  /** The certificates the proxy forwarded besides the leaf, in the order received; often empty. */
  chain: Uint8Array[];
  format: ForwardedCertFormat;
}

const FORMATS = new Set<string>(Object.keys(FORWARDED_CERT_HEADERS));
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

function headerName(name: string | undefined, fallback: string | undefined): string | undefined {
  if (name === undefined) return fallback;
  const lower = String(name).toLowerCase();
  if (!HEADER_NAME.test(lower)) throw new TypeError(`not a valid header name: ${JSON.stringify(name)}`);
  return lower;
}

function read(getHeader: HeaderLookup, name: string | undefined): readonly string[] | undefined {
  if (name === undefined) return undefined;
  const values = getHeader(name);
  if (values === undefined || values === null) return undefined;
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
    // A joined string would hide a repeated header: the lookup must return every field line.
    throw new TypeError(`getHeader(${JSON.stringify(name)}) must return an array of strings or undefined`);
  }
  return values.length === 0 ? undefined : values;
}

function single(values: readonly string[], name: string): string {
  if (values.length > 1) {
    throw new KeyboundError('cert_header_repeated', `${name}: sent ${values.length} times, expected once`, {
      expected: 1,
      received: values.length,
    });
  }
  return values[0]!;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The one certificate of a URL-encoded PEM value; a second one is cert_header_list. */
function urlEncodedLeaf(value: string, what: string): Uint8Array {
  const text = percentDecodeAscii(value, what);
  return readPemCertificates(text, {
    code: 'cert_header_malformed',
    what,
    maxBlocks: 1,
    tooManyCode: 'cert_header_list',
  })[0]!;
}

/** The leaf and chain of a URL-encoded PEM value holding a whole chain, leaf first. */
function urlEncodedChain(value: string, what: string, maxChain: number): Uint8Array[] {
  const text = percentDecodeAscii(value, what);
  return readPemCertificates(text, {
    code: 'cert_header_malformed',
    what,
    maxBlocks: maxChain + 1,
    tooManyCode: 'cert_header_malformed',
  });
}

/**
 * Reads the forwarded client certificate of one request. Returns undefined when the request
 * carries no certificate header; raises KeyboundError (cert_header_repeated, cert_header_list,
 * cert_header_malformed, cert_malformed) when it carries one that is not exactly one well-formed
 * certificate. It does not verify signatures, dates or trust: the proxy did that.
 */
export function parseForwardedClientCert(
  format: ForwardedCertFormat,
  getHeader: HeaderLookup,
  options: ForwardedCertOptions = {},
): ForwardedClientCert | undefined {
  if (!FORMATS.has(format)) {
    throw new TypeError(`unknown forwarded certificate format ${JSON.stringify(format)}`);
  }
  if (typeof getHeader !== 'function') throw new TypeError('getHeader must be a function');
  const defaults = FORWARDED_CERT_HEADERS[format];
  const certName = headerName(options.headers?.cert, defaults.cert)!;
  const chainName = headerName(options.headers?.chain, defaults.chain);
  const leafName = headerName(options.headers?.leaf, defaults.leaf);
  const maxBytes = options.maxHeaderBytes ?? DEFAULT_MAX_FORWARDED_CERT_HEADER_BYTES;
  const maxChain = options.maxChainLength ?? DEFAULT_MAX_FORWARDED_CHAIN_LENGTH;

  const certValues = read(getHeader, certName);
  const chainValues = format === 'rfc9440' ? read(getHeader, chainName) : undefined;
  const leafValues = format === 'aws-alb' ? read(getHeader, leafName) : undefined;

  let total = 0;
  for (const values of [certValues, chainValues, leafValues]) {
    for (const v of values ?? []) total += v.length;
  }
  if (total > maxBytes) {
    throw new KeyboundError(
      'cert_header_malformed',
      'forwarded certificate headers are longer than allowed',
      {
        expected: `at most ${maxBytes} characters`,
        received: total,
      },
    );
  }

  switch (format) {
    case 'rfc9440': {
      if (certValues === undefined) {
        if (chainValues === undefined) return undefined;
        // RFC 9440 §2.3: Client-Cert-Chain is never sent without Client-Cert.
        throw new KeyboundError('cert_header_malformed', `${chainName}: present without ${certName}`);
      }
      const der = parseClientCert(single(certValues, certName), certName);
      const chain = chainValues === undefined ? [] : parseClientCertChain(chainValues, chainName!, maxChain);
      return { der, chain, format };
    }
    case 'envoy-xfcc': {
      if (certValues === undefined) return undefined;
      const elements = parseXfcc(single(certValues, certName));
      if (elements.length > 1) {
        throw new KeyboundError(
          'cert_header_list',
          `${certName}: holds ${elements.length} elements (proxy hops), expected one; configure the edge proxy to sanitize and set the header`,
          { expected: 1, received: elements.length },
        );
      }
      const element = elements[0]!;
      const certs = element.get('cert');
      const chains = element.get('chain');
      for (const [key, list] of [
        ['Cert', certs],
        ['Chain', chains],
      ] as const) {
        if (list !== undefined && list.length > 1) {
          throw new KeyboundError(
            'cert_header_list',
            `${certName}: the element has ${list.length} ${key} keys, expected one`,
            {
              expected: 1,
              received: list.length,
            },
          );
        }
      }
      const leaf = certs === undefined ? undefined : urlEncodedLeaf(certs[0]!, `${certName} Cert`);
      const full =
        chains === undefined ? undefined : urlEncodedChain(chains[0]!, `${certName} Chain`, maxChain);
      if (leaf === undefined && full === undefined) {
        throw new KeyboundError(
          'cert_header_malformed',
          `${certName}: the element carries neither Cert nor Chain (enable them in set_current_client_cert_details)`,
        );
      }
      if (leaf !== undefined && full !== undefined && !sameBytes(leaf, full[0]!)) {
        throw new KeyboundError(
          'cert_header_malformed',
          `${certName}: Cert differs from the first certificate of Chain`,
        );
      }
      return { der: leaf ?? full![0]!, chain: full === undefined ? [] : full.slice(1), format };
    }
    case 'nginx': {
      if (certValues === undefined) return undefined;
      return { der: urlEncodedLeaf(single(certValues, certName), certName), chain: [], format };
    }
    case 'aws-alb': {
      if (certValues === undefined && leafValues === undefined) return undefined;
      const leaf =
        leafValues === undefined ? undefined : urlEncodedLeaf(single(leafValues, leafName!), leafName!);
      const full =
        certValues === undefined
          ? undefined
          : urlEncodedChain(single(certValues, certName), certName, maxChain);
      if (leaf !== undefined && full !== undefined && !sameBytes(leaf, full[0]!)) {
        throw new KeyboundError(
          'cert_header_malformed',
          `${leafName} and the first certificate of ${certName} differ (one of them did not come from the load balancer)`,
        );
      }
      return { der: leaf ?? full![0]!, chain: full === undefined ? [] : full.slice(1), format };
    }
  }
}
