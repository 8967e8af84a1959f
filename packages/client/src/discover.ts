// Discovery of authorization server metadata (RFC 8414 §3): the well-known URI is inserted between
// the host and the issuer's path. When the server has no RFC 8414 document (404), the OpenID
// Connect location (issuer + /.well-known/openid-configuration) is tried, as RFC 8414 §5 allows.
import { KeyboundError } from '@keybound/core';
import type { FetchLike } from './dpop-fetch.js';
import { type AuthorizationServerMetadata, isAcceptableEndpoint, validateMetadata } from './metadata.js';
import { DEFAULT_MAX_RESPONSE_BYTES, readJsonObject } from './read-body.js';

export interface DiscoverOptions {
  fetch?: FetchLike;
  /** Largest metadata document accepted (default 256 KiB). */
  maxResponseBytes?: number;
}

/** The RFC 8414 and OpenID Connect metadata URLs for an issuer, in the order they are tried. */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
}

/** Fetches and validates the metadata of an issuer. */
export async function discover(
  issuer: string,
  options: DiscoverOptions = {},
): Promise<AuthorizationServerMetadata> {
  if (!isAcceptableEndpoint(issuer) || new URL(issuer).search !== '') {
    throw new KeyboundError('metadata_invalid', 'the issuer must be an https URL without query or fragment', {
      expected: 'https URL',
      received: issuer.slice(0, 200),
    });
  }
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const limit = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const urls = metadataUrls(issuer);
  for (let i = 0; i < urls.length; i++) {
    const url = urls[i]!;
    let response: Response;
    try {
      response = await fetchFn(url, { headers: { accept: 'application/json' }, redirect: 'manual' });
    } catch (cause) {
      throw new KeyboundError('server_unreachable', `metadata request to ${url} failed`, {}, { cause });
    }
    if (response.status === 404 && i < urls.length - 1) {
      await response.body?.cancel().catch(() => {});
      continue;
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw new KeyboundError(
        'metadata_invalid',
        `metadata request to ${url} answered HTTP ${response.status}`,
        {
          expected: 200,
          received: response.status,
        },
      );
    }
    return validateMetadata(await readJsonObject(response, limit, 'metadata document'), issuer);
  }
  throw new KeyboundError('metadata_invalid', 'no metadata document found');
}
