// RFC 8705 §3.1 certificate thumbprint: the base64url SHA-256 of the DER certificate, the value
// of cnf["x5t#S256"] in a certificate-bound access token.
import { KeyboundError } from '../errors.js';
import { b64uEncode } from '../lib/base64url.js';
import type { CryptoProvider } from '../lib/crypto.js';
import { getDefaultCrypto } from '../lib/default-crypto.js';
import { assertCertificateDer } from './der.js';
import { pemToDer } from './pem.js';

/**
 * x5t#S256 of a certificate given as DER bytes or as a PEM string holding exactly one
 * CERTIFICATE block. Anything that is not one well-formed certificate raises cert_malformed.
 */
export async function certificateThumbprint(
  cert: Uint8Array | string,
  crypto?: CryptoProvider,
): Promise<string> {
  let der: Uint8Array;
  if (typeof cert === 'string') {
    der = pemToDer(cert);
  } else if (cert instanceof Uint8Array) {
    assertCertificateDer(cert);
    der = cert;
  } else {
    throw new KeyboundError('cert_malformed', 'certificate: expected DER bytes (Uint8Array) or a PEM string');
  }
  return b64uEncode(await (crypto ?? getDefaultCrypto()).sha256(der));
}
