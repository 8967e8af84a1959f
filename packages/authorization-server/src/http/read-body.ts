// Reads a request body up to a limit. A body over the limit is refused as soon as the limit is
// passed (413), whatever Content-Length said; a body that is compressed is refused (415).
import type { IncomingMessage } from 'node:http';
import { OAuthError } from './oauth-error.js';

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return Promise.reject(
      new OAuthError('invalid_request', 'compressed request bodies are not accepted', { status: 415 }),
    );
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error?: OAuthError) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (error) {
        req.resume();
        reject(error);
      } else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(tooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = () => finish(new OAuthError('invalid_request', 'the request body could not be read'));
    const onAborted = () => finish(new OAuthError('invalid_request', 'the request was aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function tooLarge(limit: number): OAuthError {
  return new OAuthError('invalid_request', `the request body is larger than ${limit} bytes`, { status: 413 });
}

/** The media type of a request, lower-cased, without parameters; undefined when absent. */
export function mediaType(req: IncomingMessage): { type: string | undefined; charset: string | undefined } {
  const raw = req.headers['content-type'];
  if (raw === undefined) return { type: undefined, charset: undefined };
  const [type, ...params] = raw.split(';');
  let charset: string | undefined;
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'charset' && v !== undefined)
      charset = v.trim().replace(/^"|"$/g, '').toLowerCase();
  }
  return { type: type?.trim().toLowerCase(), charset };
}
