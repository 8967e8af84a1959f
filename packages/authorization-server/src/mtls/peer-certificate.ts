// The client certificate of a request: from the TLS connection of the mTLS listener, or forwarded
// by a trusted TLS-terminating proxy (core parseForwardedClientCert). A certificate header from any
// other peer is refused (cert_spoofed), never ignored. Whether a certificate is trusted for
// tls_client_auth is decided here, for both sources alike, against the configured CAs only (mtls.ca
// and listeners.mtls.tls.ca, RFC 8705 §2.1): never against Node's default store (public roots,
// NODE_EXTRA_CA_CERTS), so the TLS layer's own verdict (socket.authorized) is not used.

import { X509Certificate } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { certificateThumbprint, KeyboundError, parseForwardedClientCert } from '@keybound/core';
import type { ServerConfig } from '../config/server-config.js';
import { OAuthError } from '../http/oauth-error.js';
import type { RequestContext } from '../server/request-context.js';

export interface PeerCertificate {
  der: Buffer;
  x509: X509Certificate;
  /** x5t#S256 (RFC 8705 §3.1). */
  x5t: string;
  /** The chain was verified up to a configured CA (what tls_client_auth needs). */
  trusted: boolean;
  source: 'tls' | 'forwarded';
}

type TrustSettings = {
  listeners: { mtls?: { tls: { ca?: string[] | undefined } } | undefined };
  mtls: { ca: string[]; forwarded?: { verifiedByProxy: boolean } | undefined };
};

/** The PEM texts of the trust anchors for tls_client_auth: mtls.ca plus listeners.mtls.tls.ca. */
export function trustAnchorPems(config: TrustSettings): string[] {
  return [...config.mtls.ca, ...(config.listeners.mtls?.tls.ca ?? [])];
}

/** Whether tls_client_auth certificates can be verified at all (CAs configured, or the proxy verifies). */
export function hasTlsTrustAnchors(config: TrustSettings): boolean {
  return trustAnchorPems(config).length > 0 || config.mtls.forwarded?.verifiedByProxy === true;
}

export function trustedProxyList(config: ServerConfig): BlockList | undefined {
  const proxies = config.mtls.forwarded?.trustedProxies;
  if (!proxies) return undefined;
  const list = new BlockList();
  for (const p of proxies) {
    const [ip, bits] = p.split('/') as [string, string | undefined];
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return list;
}

function peerIsTrusted(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return list.check(mapped[1]!, 'ipv4');
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

function withinValidity(cert: X509Certificate, nowMs: number): boolean {
  return Date.parse(cert.validFrom) <= nowMs && nowMs <= Date.parse(cert.validTo);
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

/** Whether the extended key usage allows TLS client authentication (absent: any use). */
function allowsClientAuth(cert: X509Certificate): boolean {
  // Node names the extended key usage OIDs `keyUsage`; undefined when the extension is absent
  const eku = cert.keyUsage as string[] | undefined;
  return eku === undefined || eku.includes(CLIENT_AUTH) || eku.includes(ANY_EXTENDED_KEY_USAGE);
}

/** One DER TLV: its tag, where its content starts and ends; undefined when malformed. */
function readTlv(
  der: Buffer,
  at: number,
  end: number,
): { tag: number; start: number; end: number } | undefined {
  if (at + 2 > end) return undefined;
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // multi-byte tags: none in what is read here
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > end) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  if (start + length > end) return undefined;
  return { tag, start, end: start + length };
}

/** The DER of OID 2.5.29.19 (basicConstraints). */
const BASIC_CONSTRAINTS_OID = Buffer.from([0x55, 0x1d, 0x13]);

/**
 * basicConstraints pathLenConstraint (RFC 5280 §4.2.1.9) read from the certificate's DER: a number,
 * undefined when there is none, null when the DER could not be read (then the certificate is refused).
 */
export function pathLenConstraint(cert: X509Certificate): number | undefined | null {
  const der = cert.raw;
  const certificate = readTlv(der, 0, der.length);
  if (certificate?.tag !== 0x30) return null;
  const tbs = readTlv(der, certificate.start, certificate.end);
  if (tbs?.tag !== 0x30) return null;
  // tbsCertificate: [0] version, serial, signature, issuer, validity, subject, spki, [1], [2], [3] extensions
  let at = tbs.start;
  let extensions: { start: number; end: number } | undefined;
  while (at < tbs.end) {
    const field = readTlv(der, at, tbs.end);
    if (field === undefined) return null;
    if (field.tag === 0xa3) {
      const list = readTlv(der, field.start, field.end);
      if (list?.tag !== 0x30) return null;
      extensions = list;
    }
    at = field.end;
  }
  if (extensions === undefined) return undefined;
  for (at = extensions.start; at < extensions.end; ) {
    const extension = readTlv(der, at, extensions.end);
    if (extension?.tag !== 0x30) return null;
    at = extension.end;
    const oid = readTlv(der, extension.start, extension.end);
    if (oid?.tag !== 0x06) return null;
    if (!der.subarray(oid.start, oid.end).equals(BASIC_CONSTRAINTS_OID)) continue;
    let next = readTlv(der, oid.end, extension.end);
    if (next?.tag === 0x01) next = readTlv(der, next.end, extension.end); // critical
    if (next?.tag !== 0x04) return null;
    const value = readTlv(der, next.start, next.end);
    if (value?.tag !== 0x30) return null;
    let member = value.start < value.end ? readTlv(der, value.start, value.end) : undefined;
    if (member?.tag === 0x01)
      member = member.end < value.end ? readTlv(der, member.end, value.end) : undefined;
    if (member === undefined) return undefined;
    if (member.tag !== 0x02) return null;
    const length = member.end - member.start;
    // a non-negative INTEGER that fits easily (paths are never long)
    if (length < 1 || length > 4 || (der[member.start]! & 0x80) !== 0) return null;
    let n = 0;
    for (let i = member.start; i < member.end; i++) n = n * 256 + der[i]!;
    return n;
  }
  return undefined;
}

/** Whether a CA with `below` non-self-issued intermediate CAs under it (above the leaf) respects its pathLen. */
function pathLenAllows(ca: X509Certificate, below: number): boolean {
  const limit = pathLenConstraint(ca);
  return limit !== null && (limit === undefined || below <= limit);
}

/**
 * Verifies leaf → (forwarded intermediates) → a configured CA: signatures, CA flags, dates,
 * basicConstraints path lengths, and that the leaf is a client certificate (not a CA; its extended
 * key usage, when present, allows clientAuth).
 */
export function chainIsTrusted(
  leaf: X509Certificate,
  intermediates: X509Certificate[],
  cas: X509Certificate[],
  nowMs: number,
): boolean {
  if (cas.length === 0 || !withinValidity(leaf, nowMs)) return false;
  if (leaf.ca || !allowsClientAuth(leaf)) return false;
  let current = leaf;
  // intermediate CAs walked so far that count towards pathLenConstraint (not self-issued ones)
  let below = 0;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    for (const ca of cas) {
      if (
        current.checkIssued(ca) &&
        current.verify(ca.publicKey) &&
        withinValidity(ca, nowMs) &&
        pathLenAllows(ca, below)
      )
        return true;
    }
    const next = intermediates.find(
      (c) =>
        c !== current &&
        c.ca &&
        allowsClientAuth(c) &&
        current.checkIssued(c) &&
        current.verify(c.publicKey) &&
        withinValidity(c, nowMs) &&
        pathLenAllows(c, below),
    );
    if (next === undefined) return false;
    if (next.subject !== next.issuer) below++;
    current = next;
  }
  return false;
}

/** The certificates above the leaf in a TLS peer's chain (what it sent, as OpenSSL linked them). */
function presentedChain(peer: DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>([peer.fingerprint256]);
  let next: DetailedPeerCertificate | undefined = peer.issuerCertificate;
  while (next?.raw && next.raw.length > 0 && !seen.has(next.fingerprint256) && out.length < 10) {
    seen.add(next.fingerprint256);
    out.push(new X509Certificate(next.raw));
    next = next.issuerCertificate;
  }
  return out;
}

export class CertificateSource {
  readonly #config: ServerConfig;
  readonly #proxies: BlockList | undefined;
  readonly #cas: X509Certificate[];

  constructor(config: ServerConfig) {
    this.#config = config;
    this.#proxies = trustedProxyList(config);
    this.#cas = trustAnchorPems(config).flatMap(
      (pem) =>
        pem
          .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)
          ?.map((p) => new X509Certificate(p)) ?? [],
    );
  }

  /** The request's client certificate, or undefined when it presented none. */
  async read(ctx: RequestContext): Promise<PeerCertificate | undefined> {
    if (ctx.certificate !== undefined) return ctx.certificate ?? undefined;
    const found = await this.#read(ctx);
    ctx.certificate = found ?? null;
    return found;
  }

  async #read(ctx: RequestContext): Promise<PeerCertificate | undefined> {
    const socket = ctx.req.socket as TLSSocket;
    if (ctx.listener === 'mtls' && typeof socket.getPeerCertificate === 'function') {
      const peer = socket.getPeerCertificate(true);
      if (peer?.raw && peer.raw.length > 0) {
        const x509 = new X509Certificate(peer.raw);
        // the listener requests a certificate without rejecting any (self_signed_tls_client_auth
        // needs unanchored ones): the chain the client sent is verified here, like a forwarded one
        return {
          der: peer.raw,
          x509,
          x5t: await certificateThumbprint(peer.raw),
          trusted: chainIsTrusted(x509, presentedChain(peer), this.#cas, ctx.now * 1000),
          source: 'tls',
        };
      }
    }
    const forwarded = this.#config.mtls.forwarded;
    if (forwarded === undefined) return undefined;
    const lookup = (name: string) => ctx.req.headersDistinct[name];
    let parsed: ReturnType<typeof parseForwardedClientCert>;
    try {
      parsed = parseForwardedClientCert(
        forwarded.format,
        lookup,
        forwarded.header ? { headers: { cert: forwarded.header } } : {},
      );
    } catch (e) {
      if (e instanceof KeyboundError) throw new OAuthError('invalid_request', e.message, { code: e.code });
      throw e;
    }
    if (parsed === undefined) return undefined;
    if (!peerIsTrusted(this.#proxies!, ctx.req.socket.remoteAddress)) {
      throw new OAuthError(
        'invalid_request',
        'a forwarded client certificate header came from a peer that is not a trusted proxy',
        {
          code: 'cert_spoofed',
        },
      );
    }
    const der = Buffer.from(parsed.der);
    const x509 = new X509Certificate(der);
    const trusted =
      forwarded.verifiedByProxy ||
      chainIsTrusted(
        x509,
        parsed.chain.map((c) => new X509Certificate(Buffer.from(c))),
        this.#cas,
        ctx.now * 1000,
      );
    return { der, x509, x5t: await certificateThumbprint(der), trusted, source: 'forwarded' };
  }
}

/** Splits X509Certificate.subjectAltName ("DNS:a, IP Address:1.2.3.4, …"; values with ", " are JSON-quoted). */
export function subjectAltNames(x509: X509Certificate): { type: string; value: string }[] {
  const text = x509.subjectAltName;
  if (!text) return [];
  const out: { type: string; value: string }[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon).trim();
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        value = text.slice(colon + 2, j);
      }
      end = text.indexOf(', ', j);
    } else {
      end = text.indexOf(', ', colon);
      value = text.slice(colon + 1, end < 0 ? undefined : end);
    }
    out.push({ type, value });
    if (end < 0) break;
    i = end + 2;
  }
  return out;
}

function canonicalIp(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family === 6) return new URL(`http://[${ip}]/`).hostname;
  return undefined;
}

/** Whether the certificate carries the SAN a client registered (RFC 8705 §2.1.2). */
export function hasSubjectAltName(
  x509: X509Certificate,
  wanted: { type: 'dns' | 'uri' | 'ip' | 'email'; value: string },
): boolean {
  const names = subjectAltNames(x509);
  switch (wanted.type) {
    case 'dns':
      return names.some((n) => n.type === 'DNS' && n.value.toLowerCase() === wanted.value.toLowerCase());
    case 'uri':
      return names.some((n) => n.type === 'URI' && n.value === wanted.value);
    case 'ip': {
      const w = canonicalIp(wanted.value);
      return w !== undefined && names.some((n) => n.type === 'IP Address' && canonicalIp(n.value) === w);
    }
    case 'email': {
      const norm = (e: string) => {
        const at = e.lastIndexOf('@');
        return `${e.slice(0, at)}@${e.slice(at + 1).toLowerCase()}`;
      };
      return names.some((n) => n.type === 'email' && norm(n.value) === norm(wanted.value));
    }
  }
}
