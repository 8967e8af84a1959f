// Distinguished names for tls_client_auth (RFC 8705 §2.1.2): the registered
// tls_client_auth_subject_dn (an RFC 4514 string) is compared with the certificate's subject
// (as node:crypto X509Certificate.subject prints it: one RDN a line, " + " between the values of
// a multi-valued RDN, RFC 4514 escapes). The comparison ignores the order of the RDNs (the
// string form reverses the certificate order and people write both), the case and repeated
// whitespace of values, and whether a type is written as a name, an alias or an OID.

export type Rdn = string; // normalised "TYPE=value+TYPE=value", the values of one RDN sorted

const OID_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SURNAME',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'TITLE',
  '2.5.4.15': 'BUSINESSCATEGORY',
  '2.5.4.17': 'POSTALCODE',
  '2.5.4.42': 'GIVENNAME',
  '2.5.4.43': 'INITIALS',
  '2.5.4.46': 'DNQUALIFIER',
  '2.5.4.65': 'PSEUDONYM',
  '2.5.4.97': 'ORGANIZATIONIDENTIFIER',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'EMAILADDRESS',
};

const ALIASES: Record<string, string> = {
  COMMONNAME: 'CN',
  COUNTRYNAME: 'C',
  LOCALITYNAME: 'L',
  S: 'ST',
  STATEORPROVINCENAME: 'ST',
  STREETADDRESS: 'STREET',
  ORGANIZATIONNAME: 'O',
  ORGANIZATIONALUNITNAME: 'OU',
  DOMAINCOMPONENT: 'DC',
  USERID: 'UID',
  E: 'EMAILADDRESS',
  EMAIL: 'EMAILADDRESS',
  SN: 'SURNAME',
  GN: 'GIVENNAME',
};

const TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$/;

function normaliseType(raw: string): string | undefined {
  const t = raw.trim();
  if (!TYPE.test(t)) return undefined;
  const oid = t.replace(/^oid\./i, '');
  if (OID_NAMES[oid]) return OID_NAMES[oid];
  const upper = t.toUpperCase();
  return ALIASES[upper] ?? upper;
}

function normaliseValue(raw: string): string {
  return raw.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Parses a distinguished name into normalised RDNs (sorted, so that two names with the same RDNs
 * in any order compare equal). RDNs are separated by "," (or ";" or a line break), values of
 * one RDN by "+". Returns undefined for text that is not a distinguished name.
 */
export function parseDistinguishedName(text: string): Rdn[] | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 4096) return undefined;
  const rdns: Rdn[] = [];
  let avas: string[] = [];
  let type = '';
  let value: number[] = [];
  let inValue = false;
  let hexValue = false;
  const endAva = (): boolean => {
    const t = normaliseType(type);
    if (t === undefined || !inValue) return false;
    const bytes = Uint8Array.from(value);
    let v: string;
    try {
      v = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return false;
    }
    avas.push(`${t}=${hexValue ? v.trim().toLowerCase() : normaliseValue(v)}`);
    type = '';
    value = [];
    inValue = false;
    hexValue = false;
    return true;
  };
  const endRdn = (): boolean => {
    if (!endAva()) return false;
    rdns.push(avas.sort().join('+'));
    avas = [];
    return true;
  };
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!inValue) {
      if (c === '=') {
        inValue = true;
        // a value may start after spaces; "#" starts a hex-encoded BER value
        let j = i + 1;
        while (text[j] === ' ') j++;
        if (text[j] === '#') hexValue = true;
      } else if (c === ',' || c === '+' || c === ';' || c === '\n' || c === '\\') {
        return undefined;
      } else type += c;
      continue;
    }
    if (c === '\\') {
      const next = text[i + 1];
      const pair = text.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(pair)) {
        value.push(Number.parseInt(pair, 16));
        i += 2;
      } else if (next !== undefined && ' "#+,;<=>\\'.includes(next)) {
        value.push(next.charCodeAt(0));
        i += 1;
      } else return undefined;
      continue;
    }
    if (c === ',' || c === ';' || c === '\n') {
      if (!endRdn()) return undefined;
      while (text[i + 1] === ' ') i++;
      continue;
    }
    if (c === '+') {
      // Node prints " + " between the values of a multi-valued RDN
      while (value.length > 0 && value[value.length - 1] === 0x20) value.pop();
      if (!endAva()) return undefined;
      while (text[i + 1] === ' ') i++;
      continue;
    }
    for (const b of encoder.encode(c)) value.push(b);
  }
  if (!endRdn()) return undefined;
  return rdns.sort();
}

/** Whether two distinguished names name the same subject, ignoring RDN order (RFC 8705 §2.1.2). */
export function sameDistinguishedName(a: string, b: string): boolean {
  const x = parseDistinguishedName(a);
  const y = parseDistinguishedName(b);
  if (x === undefined || y === undefined || x.length !== y.length) return false;
  return x.every((rdn, i) => rdn === y[i]);
}
