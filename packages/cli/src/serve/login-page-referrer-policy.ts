// WORKAROUND for an authorization-server bug, applied by serve to the built-in login page only.
// The authorization server's HTML pages send `Referrer-Policy: no-referrer`. With that policy a
// browser sends `Origin: null` on the login form's POST (Fetch standard, "serializing a request
// origin"; Chromium does), and the /login endpoint's Origin check answers 403 "submitted from
// another site": the built-in login page cannot be used from a browser. `same-origin` still keeps
// the referrer (the authorization request's query) from other sites, and lets the browser name
// this origin. Remove this file once @keybound/authorization-server's pages do it themselves.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Paths whose answer may be the login page: the authorization endpoint and the form's target. */
export const LOGIN_PAGE_PATHS = new Set(['/authorize', '/login']);

export function sameOriginReferrerPolicy(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = ((...args: unknown[]) => {
    const last = args.at(-1);
    if (typeof last === 'object' && last !== null && !Array.isArray(last)) {
      const headers = { ...(last as OutgoingHttpHeaders) };
      for (const name of Object.keys(headers)) {
        if (name.toLowerCase() === 'referrer-policy') headers[name] = 'same-origin';
      }
      args[args.length - 1] = headers;
    }
    if (res.hasHeader('referrer-policy')) res.setHeader('referrer-policy', 'same-origin');
    return writeHead(...args);
  }) as ServerResponse['writeHead'];
}
