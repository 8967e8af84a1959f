// The method as fetch will send it, which is what the proof's htm must say: fetch upper-cases
// only DELETE, GET, HEAD, OPTIONS, POST and PUT (so "patch" is sent, and signed, as "patch").
const NORMALISED = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

export function normalizeMethod(method: string | undefined): string {
  if (method === undefined) return 'GET';
  const upper = method.toUpperCase();
  return NORMALISED.has(upper) ? upper : method;
}
