import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { vectors } from '../../core/test/vectors.js';
import { parseDistinguishedName, sameDistinguishedName } from '../src/index.js';

describe('distinguished names for tls_client_auth (RFC 8705 §2.1.2)', () => {
  it('matches the same RDNs in any order', () => {
    expect(sameDistinguishedName('CN=client,O=Example,C=US', 'C=US\nO=Example\nCN=client')).toBe(true);
    expect(sameDistinguishedName('C=US, O=Example, CN=client', 'CN=client,O=Example,C=US')).toBe(true);
  });

  it('ignores the case of types and values and repeated whitespace, and knows aliases and OIDs', () => {
    expect(sameDistinguishedName('cn=Client  One,o=example', 'CN=client one,O=EXAMPLE')).toBe(true);
    expect(sameDistinguishedName('2.5.4.3=client,organizationName=Example', 'CN=client,O=Example')).toBe(
      true,
    );
    expect(sameDistinguishedName('E=a@b.c', 'emailAddress=a@b.c')).toBe(true);
  });

  it('does not match a different or an extra RDN', () => {
    expect(sameDistinguishedName('CN=client,O=Example', 'CN=client,O=Other')).toBe(false);
    expect(sameDistinguishedName('CN=client,O=Example', 'CN=client,O=Example,C=US')).toBe(false);
    expect(sameDistinguishedName('CN=client', 'CN=client,CN=client')).toBe(false);
  });

  it('keeps escaped separators inside values (RFC 4514 §2.4)', () => {
    expect(sameDistinguishedName('O=Acme\\, Inc.,CN=x', 'CN=x\nO=Acme\\, Inc.')).toBe(true);
    expect(sameDistinguishedName('O=Acme\\2C Inc.,CN=x', 'CN=x,O=Acme\\, Inc.')).toBe(true);
    expect(sameDistinguishedName('O=Acme\\, Inc.,CN=x', 'CN=x,O=Acme,O=Inc.')).toBe(false);
  });

  it('treats a multi-valued RDN as one RDN whatever the order of its values', () => {
    expect(sameDistinguishedName('OU=Eng+OU=Ops,CN=x', 'CN=x\nOU=Ops + OU=Eng')).toBe(true);
    expect(sameDistinguishedName('OU=Eng+OU=Ops,CN=x', 'CN=x,OU=Eng,OU=Ops')).toBe(false);
  });

  it('matches the subject of the RFC 9440 example certificate as node prints it', () => {
    const cert = new X509Certificate(vectors.rfc9440.leaf_pem);
    const parts = cert.subject.split('\n').reverse().join(',');
    expect(sameDistinguishedName(parts, cert.subject)).toBe(true);
  });

  it('refuses text that is not a distinguished name', () => {
    for (const bad of ['', 'CN', '=x', 'CN=x,', 'CN=x\\', 'CN=a\\zz', 'C N=x', 'x'.repeat(5000)]) {
      expect(parseDistinguishedName(bad)).toBeUndefined();
    }
  });
});
