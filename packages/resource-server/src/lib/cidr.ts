// IP addresses and CIDR blocks for the trusted-proxy list. Every address is held as 16 bytes:
// IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so `10.0.0.0/8` also matches a dual-stack peer that
// Node reports as `::ffff:10.1.2.3`, and an IPv4 block's prefix is 96 + its length.

export interface Cidr {
  readonly bytes: Uint8Array;
  /** Prefix length in bits over the 16-byte form. */
  readonly bits: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIpv4(s: string, out: Uint8Array, offset: number): boolean {
  const m = IPV4.exec(s);
  if (!m) return false;
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!;
    if (part.length > 1 && part[0] === '0') return false; // no octal-looking forms
    const n = Number(part);
    if (n > 255) return false;
    out[offset + i] = n;
  }
  return true;
}

function parseIpv6(s: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (text: string, allowV4Tail: boolean): number[] | undefined => {
    if (text === '') return [];
    const groups = text.split(':');
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowV4Tail && i === groups.length - 1 && g.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIpv4(g, v4, 0)) return undefined;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        words.push(Number.parseInt(g, 16));
      }
    }
    return words;
  };
  let words: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0]!, false);
    const tail = parseGroups(halves[1]!, true);
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(s, true);
    if (all === undefined || all.length !== 8) return undefined;
    words = all;
  }
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 255;
  }
  return out;
}

/**
 * Parses an IPv4 or IPv6 address (brackets and a zone id are accepted and dropped) into its
 * 16-byte form; undefined when it is not an address.
 */
export function parseIp(input: string): Uint8Array | undefined {
  let s = input.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.includes(':')) return parseIpv6(s);
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  return parseIpv4(s, out, 12) ? out : undefined;
}

/** Parses `a.b.c.d/n`, `x::y/n` or a single address (a /32 or /128). */
export function parseCidr(input: string): Cidr | undefined {
  if (typeof input !== 'string') return undefined;
  const slash = input.indexOf('/');
  const addr = slash < 0 ? input : input.slice(0, slash);
  const isV4 = !addr.includes(':');
  const bytes = parseIp(addr);
  if (bytes === undefined) return undefined;
  let bits = 128;
  if (slash >= 0) {
    const text = input.slice(slash + 1);
    if (!/^\d{1,3}$/.test(text)) return undefined;
    const n = Number(text);
    if (n > (isV4 ? 32 : 128)) return undefined;
    bits = isV4 ? 96 + n : n;
  }
  // clear host bits so that 10.1.2.3/8 means 10.0.0.0/8
  const masked = new Uint8Array(bytes);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    masked[i] = masked[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return { bytes: masked, bits };
}

export function cidrContains(cidr: Cidr, address: Uint8Array): boolean {
  const full = cidr.bits >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== address[i]) return false;
  const rest = cidr.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[full]! & mask) === cidr.bytes[full];
}

/** A list of CIDR blocks with a small cache of recent answers (peers repeat). */
export class CidrList {
  readonly #blocks: Cidr[];
  readonly #cache = new Map<string, boolean>();

  constructor(cidrs: readonly string[]) {
    this.#blocks = cidrs.map((c) => {
      const parsed = parseCidr(c);
      if (parsed === undefined) throw new TypeError(`not an IP address or CIDR: ${c}`);
      return parsed;
    });
  }

  get size(): number {
    return this.#blocks.length;
  }

  /** True when `address` lies in one of the blocks; false for anything that is not an address. */
  contains(address: string | undefined): boolean {
    if (address === undefined || this.#blocks.length === 0) return false;
    let hit = this.#cache.get(address);
    if (hit === undefined) {
      const bytes = parseIp(address);
      hit = bytes !== undefined && this.#blocks.some((b) => cidrContains(b, bytes));
      if (this.#cache.size >= 4096) this.#cache.clear();
      this.#cache.set(address, hit);
    }
    return hit;
  }
}
