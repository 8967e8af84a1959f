// RFC 9449 §4.2: ath = base64url(SHA-256(ASCII(access token))).
import { b64uEncode, utf8 } from './lib/base64url.js';
import type { CryptoProvider } from './lib/crypto.js';
import { getDefaultCrypto } from './lib/default-crypto.js';

export async function accessTokenHash(accessToken: string, crypto?: CryptoProvider): Promise<string> {
  return b64uEncode(await (crypto ?? getDefaultCrypto()).sha256(utf8(accessToken)));
}
