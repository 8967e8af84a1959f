// Reading one cookie from the Cookie header, and writing the login browser cookie.

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    // a cookie sent twice (e.g. one planted for a parent domain) is not trusted
    if (found !== undefined) return undefined;
    found = part.slice(eq + 1).trim();
  }
  return found;
}

export function cookieHeader(
  name: string,
  value: string,
  options: { path: string; secure: boolean; maxAge: number },
): string {
  return `${name}=${value}; Path=${options.path}; Max-Age=${options.maxAge}; HttpOnly; SameSite=Strict${options.secure ? '; Secure' : ''}`;
}
