// The body of a form POST to an OAuth endpoint: application/x-www-form-urlencoded in UTF-8, within
// the size limit, parsed strictly; parameters in the query are refused (RFC 6749 §3.2: secrets do
// not belong in URLs).
import type { RequestContext } from '../server/request-context.js';
import { OAuthError } from './oauth-error.js';
import { parseForm } from './parse-form.js';
import { mediaType, readBody } from './read-body.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

export async function parseFormBody(ctx: RequestContext): Promise<void> {
  const { type, charset } = mediaType(ctx.req);
  if (type !== 'application/x-www-form-urlencoded') {
    ctx.req.resume();
    throw new OAuthError('invalid_request', 'the request body must be application/x-www-form-urlencoded');
  }
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    ctx.req.resume();
    throw new OAuthError('invalid_request', 'the request body must be UTF-8');
  }
  if (ctx.url.search !== '') {
    ctx.req.resume();
    throw new OAuthError('invalid_request', 'parameters must be sent in the request body, not the query');
  }
  const body = await readBody(ctx.req, ctx.rt.config.limits.maxFormBytes);
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    throw new OAuthError('invalid_request', 'the request body is not valid UTF-8');
  }
  ctx.params = parseForm(text);
}
