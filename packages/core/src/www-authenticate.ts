// WWW-Authenticate challenges as RFC 6750 §3 and RFC 9449 §7.1 write them, and a parser for
// the client side (RFC 9110 §11.6.1 challenge syntax).

export interface Challenge {
  scheme: 'Bearer' | 'DPoP' | (string & {});
  realm?: string;
  scope?: string;
  error?: string;
  errorDescription?: string;
  /** DPoP only: the accepted proof algorithms. */
  algs?: readonly string[];
}

// RFC 6750 §3: error, error_description and scope are restricted to %x20-21 / %x23-5B / %x5D-7E
const UNSAFE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;

function quoted(value: string): string {
  return `"${value.replace(UNSAFE, '')}"`;
}

export function formatChallenge(c: Challenge): string {
  const params: string[] = [];
  if (c.realm !== undefined) params.push(`realm=${quoted(c.realm)}`);
  if (c.scope !== undefined) params.push(`scope=${quoted(c.scope)}`);
  if (c.error !== undefined) params.push(`error=${quoted(c.error)}`);
  if (c.errorDescription !== undefined) params.push(`error_description=${quoted(c.errorDescription)}`);
  if (c.algs !== undefined && c.algs.length > 0) params.push(`algs=${quoted(c.algs.join(' '))}`);
  return params.length === 0 ? c.scheme : `${c.scheme} ${params.join(', ')}`;
}

/** One header value holding every challenge, in order (e.g. `Bearer, DPoP algs="ES256"`). */
export function formatWwwAuthenticate(challenges: readonly Challenge[]): string {
  return challenges.map(formatChallenge).join(', ');
}

export interface ParsedChallenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

/**
 * Parses a WWW-Authenticate value (or several joined by commas) into challenges with
 * lower-cased parameter names. Malformed input yields the challenges parsed before it.
 */
export function parseWwwAuthenticate(header: string | readonly string[]): ParsedChallenge[] {
  const input = Array.isArray(header) ? header.join(', ') : (header as string);
  const out: ParsedChallenge[] = [];
  let s = input.slice(0, 16 * 1024);
  const skip = (re: RegExp) => {
    const m = re.exec(s);
    if (m) s = s.slice(m[0].length);
    return m?.[0];
  };
  while (s.length > 0) {
    skip(/^[\s,]+/);
    const scheme = skip(TOKEN);
    if (scheme === undefined) break;
    const challenge: ParsedChallenge = { scheme, params: {} };
    out.push(challenge);
    skip(/^[ \t]+/);
    // token68 form: a lone value up to the next comma (or the end), not "name=value"
    const t68 = TOKEN68.exec(s);
    if (t68 && /^[ \t]*(,|$)/.test(s.slice(t68[0].length))) {
      challenge.params[''] = t68[0];
      s = s.slice(t68[0].length);
      continue;
    }
    for (;;) {
      const save = s;
      skip(/^[\s,]*/);
      const name = skip(TOKEN);
      if (name === undefined || skip(/^\s*=\s*/) === undefined) {
        s = save;
        break;
      }
      let value: string | undefined;
      if (s.startsWith('"')) {
        const m = /^"((?:[^"\\]|\\.)*)"/.exec(s);
        if (!m) return out;
        value = m[1]!.replace(/\\(.)/g, '$1');
        s = s.slice(m[0].length);
      } else {
        value = skip(TOKEN);
        if (value === undefined) return out;
      }
      challenge.params[name.toLowerCase()] = value;
      skip(/^[ \t]*/);
      if (!s.startsWith(',')) break;
      // a comma followed by "token =" continues the params; otherwise a new challenge begins
      if (!/^,[\s,]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+\s*=/.test(s)) break;
    }
  }
  return out;
}
