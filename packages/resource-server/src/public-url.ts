// The public URL of a request, which a DPoP proof's htu must name. It is never guessed from what a
// client says: it comes from the configured public origin(s) and base path, or from the
// Forwarded (RFC 7239) / X-Forwarded-Proto / -Host / -Prefix headers of a trusted proxy only.
import { KeyboundError } from '@keybound/core';
import type { CidrList } from './lib/cidr.js';
import type { HeaderView } from './lib/headers.js';

export interface ForwardedElement {
  for?: string;
  by?: string;
  host?: string;
  proto?: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/**
 * Parses Forwarded header values (RFC 7239 §4) into elements, first hop first.
 * Returns undefined when the syntax is broken (a proxy we trust sent something we cannot read).
 */
export function parseForwarded(values: readonly string[]): ForwardedElement[] | undefined {
  const out: ForwardedElement[] = [];
  for (const value of values) {
    let s = value;
    let element: ForwardedElement = {};
    let pairs = 0;
    for (;;) {
      s = s.replace(/^[ \t]+/, '');
      const name = TOKEN.exec(s)?.[0];
      if (name === undefined || s[name.length] !== '=') return undefined;
      s = s.slice(name.length + 1);
      let v: string;
      if (s.startsWith('"')) {
        const m = /^"((?:[^"\\]|\\.)*)"/.exec(s);
        if (!m) return undefined;
        v = m[1]!.replace(/\\(.)/g, '$1');
        s = s.slice(m[0].length);
      } else {
        const t = TOKEN.exec(s)?.[0];
        if (t === undefined) return undefined;
        v = t;
        s = s.slice(t.length);
      }
      const key = name.toLowerCase();
      if (key === 'for' || key === 'by' || key === 'host' || key === 'proto') {
        if (element[key] !== undefined) return undefined; // a parameter twice in one element
        element[key] = v;
      }
      pairs++;
      s = s.replace(/^[ \t]+/, '');
      if (s === '') break;
      if (s[0] === ';') {
        s = s.slice(1);
        continue;
      }
      if (s[0] === ',') {
        out.push(element);
        element = {};
        pairs = 0;
        s = s.slice(1);
        continue;
      }
      return undefined;
    }
    if (pairs > 0) out.push(element);
  }
  return out;
}

/** The address part of a Forwarded `for` / X-Forwarded-For value: brackets and port removed. */
export function nodeAddress(value: string): string {
  const v = value.trim();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    return end > 0 ? v.slice(1, end) : v;
  }
  const colon = v.indexOf(':');
  // one colon: IPv4 with a port; several: a bare IPv6 address
  return colon >= 0 && v.indexOf(':', colon + 1) < 0 ? v.slice(0, colon) : v;
}

const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;
const PREFIX = /^(\/[A-Za-z0-9\-._~!$&'()*+,;=:@%]+)*\/?$/;

export interface PublicUrlConfig {
  origins: readonly string[];
  basePath: string;
  trusted: CidrList;
}

export interface PublicUrlRequest {
  headers: HeaderView;
  path: string;
  encrypted: boolean;
  peerTrusted: boolean;
}

/** The public origin and prefix a trusted proxy forwarded, or undefined when it forwarded none. */
function fromProxy(
  h: HeaderView,
  trusted: CidrList,
  encrypted: boolean,
): { origin: string; prefix: string | undefined } | undefined {
  let proto: string | undefined;
  let host: string | undefined;
  const forwarded = h.all('forwarded');
  if (forwarded !== undefined) {
    const elements = parseForwarded(forwarded);
    if (elements === undefined || elements.length === 0) {
      throw new KeyboundError('htu_mismatch', 'the Forwarded header from a trusted proxy cannot be parsed');
    }
    // walk back from the hop our peer added while each hop's client is itself a trusted proxy:
    // the element we stop at was written by the edge proxy that saw the client's request
    let i = elements.length - 1;
    while (i > 0 && elements[i]!.for !== undefined && trusted.contains(nodeAddress(elements[i]!.for!))) i--;
    proto = elements[i]!.proto;
    host = elements[i]!.host;
  }
  const pick = (name: string): string | undefined => {
    const values = h.all(name);
    if (values === undefined) return undefined;
    const list = values.flatMap((v) => v.split(',')).map((v) => v.trim());
    // each trusted proxy appends: the edge proxy's value sits as many places from the end as
    // there are trusted hops behind our peer in X-Forwarded-For
    const xff = (h.all('x-forwarded-for') ?? []).flatMap((v) => v.split(',')).map((v) => v.trim());
    let hops = 0;
    for (let j = xff.length - 1; j >= 0 && trusted.contains(nodeAddress(xff[j]!)); j--) hops++;
    return list[Math.max(0, list.length - 1 - hops)];
  };
  proto ??= pick('x-forwarded-proto');
  host ??= pick('x-forwarded-host');
  const prefix = pick('x-forwarded-prefix');
  if (proto === undefined && host === undefined && prefix === undefined) return undefined;
  proto = (proto ?? (encrypted ? 'https' : 'http')).toLowerCase();
  if (proto !== 'https' && proto !== 'http') {
    throw new KeyboundError(
      'htu_mismatch',
      'a trusted proxy forwarded a protocol that is not http or https',
      {
        received: proto.slice(0, 20),
      },
    );
  }
  host ??= h.first('host') ?? h.first(':authority');
  if (host === undefined || !HOST.test(host)) {
    throw new KeyboundError('htu_mismatch', 'a trusted proxy forwarded no usable host', {
      received: (host ?? '').slice(0, 100),
    });
  }
  if (prefix !== undefined && (!PREFIX.test(prefix) || /\/\.\.?(\/|$)/.test(prefix))) {
    throw new KeyboundError('htu_mismatch', 'a trusted proxy forwarded a path prefix that is not a path', {
      received: prefix.slice(0, 100),
    });
  }
  return { origin: `${proto}://${host.toLowerCase()}`, prefix: prefix?.replace(/\/+$/, '') };
}

/**
 * Rebuilds the public URL of a request (origin + prefix + path, no query).
 * Throws htu_mismatch when no public origin can be established.
 */
export function publicUrl(
  config: PublicUrlConfig,
  req: PublicUrlRequest,
  hostCache: Map<string, string>,
): string {
  const proxied = req.peerTrusted ? fromProxy(req.headers, config.trusted, req.encrypted) : undefined;
  if (proxied !== undefined) return `${proxied.origin}${proxied.prefix ?? config.basePath}${req.path}`;
  if (config.origins.length === 0) {
    throw new KeyboundError(
      'htu_mismatch',
      'no public origin is configured and the request did not come through a trusted proxy',
    );
  }
  const host = req.headers.first('host') ?? req.headers.first(':authority');
  return `${chooseOrigin(config.origins, host, hostCache)}${config.basePath}${req.path}`;
}

/** The configured origin whose host the Host header names, else the first one. */
function chooseOrigin(
  origins: readonly string[],
  host: string | undefined,
  cache: Map<string, string>,
): string {
  if (origins.length === 1 || host === undefined) return origins[0]!;
  let hit = cache.get(host);
  if (hit === undefined) {
    const wanted = host.toLowerCase();
    hit =
      origins.find((o) => {
        const u = new URL(o);
        return u.host === wanted || `${u.hostname}:${u.protocol === 'https:' ? '443' : '80'}` === wanted;
      }) ?? origins[0]!;
    if (cache.size >= 1024) cache.clear();
    cache.set(host, hit);
  }
  return hit;
}
