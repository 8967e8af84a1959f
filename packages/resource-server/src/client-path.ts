// A hint, for the exposure map, of how a client reached this API: from a browser, a mobile app,
// through a gateway (a trusted proxy forwarded it) or from a backend. Derived only from facts the
// server can see; it is a hint for telemetry, never a security decision.

export type ClientPath = 'browser' | 'mobile' | 'gateway' | 'backend';

export interface ClientPathFacts {
  origin?: string | undefined;
  secFetchSite?: string | undefined;
  userAgent?: string | undefined;
  /** A client certificate was presented (TLS or forwarded by a trusted proxy). */
  certificate: boolean;
  /** The request came from a trusted proxy that forwarded it (Forwarded / X-Forwarded-For). */
  forwardedByTrustedProxy: boolean;
}

const MOBILE_APP = /okhttp|CFNetwork|Dalvik|Alamofire|\bDart\/|Flutter|ReactNative|Expo\b/i;

export function classifyClientPath(f: ClientPathFacts): ClientPath {
  if (f.origin !== undefined || f.secFetchSite !== undefined) return 'browser';
  const ua = f.userAgent ?? '';
  if (MOBILE_APP.test(ua)) return 'mobile';
  if (ua.startsWith('Mozilla/')) return 'browser';
  if (f.certificate) return 'backend';
  if (f.forwardedByTrustedProxy) return 'gateway';
  return 'backend';
}
