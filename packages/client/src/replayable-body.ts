// Whether a request body can be sent a second time (for the one nonce retry). Streams cannot:
// they are consumed by the first attempt.

/** True for no body, strings, buffers and views, URLSearchParams, Blob and FormData. */
export function isReplayableBody(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body === 'string') return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (body instanceof URLSearchParams) return true;
  if (typeof Blob !== 'undefined' && body instanceof Blob) return true;
  if (typeof FormData !== 'undefined' && body instanceof FormData) return true;
  return false;
}
