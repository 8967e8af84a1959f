// Which key or certificate a token is bound to, and the binding rules: clients registered with
// dpop_bound_access_tokens need a proof (RFC 9449 §5.2), clients registered with
// tls_client_certificate_bound_access_tokens need a certificate (RFC 8705 §3), and the server-wide
// policy (binding.required, with exempt clients for incremental rollout) may demand either.
import type { ClientConfig } from '../clients/client.js';
import { OAuthError } from '../http/oauth-error.js';
import type { RequestContext } from '../server/request-context.js';

export interface Binding {
  jkt?: string | undefined;
  x5t?: string | undefined;
}

function policy(ctx: RequestContext, client: ClientConfig) {
  const { required, exemptClients } = ctx.rt.config.binding;
  return exemptClients.includes(client.clientId) ? 'none' : required;
}

/** Whether this client's token requests must carry a DPoP proof. */
export function dpopRequired(ctx: RequestContext, client: ClientConfig): boolean {
  return client.dpopBound || policy(ctx, client) === 'dpop';
}

/** The binding of the tokens issued now; throws when a required binding is missing. */
export async function resolveBinding(ctx: RequestContext, client: ClientConfig): Promise<Binding> {
  const p = policy(ctx, client);
  const jkt = ctx.proof?.jkt;
  let x5t: string | undefined;
  if (client.certBound || p === 'mtls' || (p === 'any' && jkt === undefined)) {
    const cert = await ctx.rt.certificates.read(ctx);
    if (cert === undefined) {
      if (client.certBound || p === 'mtls') {
        throw new OAuthError(
          'invalid_request',
          "this client's tokens are bound to its TLS client certificate: call the mTLS endpoint with a certificate",
        );
      }
      throw new OAuthError(
        'invalid_request',
        'this server issues only sender-constrained tokens: send a DPoP proof or use mTLS',
      );
    }
    x5t = cert.x5t;
  }
  return { jkt, x5t };
}
