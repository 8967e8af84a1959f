// The successful token response (RFC 6749 §5.1, RFC 9449 §5).
export interface TokenResponse {
  access_token: string;
  token_type: 'DPoP' | 'Bearer';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
}
