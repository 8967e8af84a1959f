// Fastify 5 adapter: a plugin (not encapsulated, so it protects the routes of the context it is
// registered in) that decorates the request with `keybound` and answers refusals in onRequest.
// It also serves the RFC 9728 metadata document.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { AllowDecision } from '../decision.js';
import { nodeRequestFacts } from '../lib/node-request.js';
import type { ResourceServer } from '../protect.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the keybound plugin on allowed requests (null before). */
    keybound: AllowDecision | null;
  }
}

export interface KeyboundFastifyOptions {
  resourceServer: ResourceServer;
}

function send(
  reply: FastifyReply,
  status: number,
  headers: Record<string, string>,
  body: unknown,
): FastifyReply {
  return reply.code(status).headers(headers).type('application/json').send(body);
}

const plugin: FastifyPluginAsync<KeyboundFastifyOptions> = async (fastify, options) => {
  const rs = options.resourceServer;
  if (rs === undefined) throw new TypeError('keyboundFastify needs the resourceServer option');
  fastify.decorateRequest('keybound', null);
  // the metadata lives at the root of the host (RFC 9728 §3.1): served when registered at the root
  if (fastify.prefix === '') {
    fastify.route({
      method: ['GET', 'HEAD'],
      url: rs.metadataPath,
      handler: (request, reply) => {
        const wellKnown = rs.wellKnown(request.method, request.raw.url ?? request.url)!;
        return send(reply, wellKnown.status, wellKnown.headers, wellKnown.body);
      },
    });
  }
  fastify.addHook('onRequest', async (request, reply) => {
    const target = request.raw.url ?? request.url;
    if (rs.wellKnown(request.method, target) !== undefined) {
      if (request.routeOptions.url === rs.metadataPath) return;
      const wellKnown = rs.wellKnown(request.method, target)!;
      return send(reply, wellKnown.status, wellKnown.headers, wellKnown.body);
    }
    const decision = await rs.protect(nodeRequestFacts(request.raw, target));
    if (!decision.allow) return send(reply, decision.status, decision.headers, decision.body);
    request.keybound = decision;
    reply.headers(decision.responseHeaders);
    // also on the Node response, for a handler that hijacks the reply and writes it itself
    // (Node merges these with the ones Fastify writes, Fastify's taking precedence)
    for (const [name, value] of Object.entries(decision.responseHeaders)) reply.raw.setHeader(name, value);
  });
};

// what fastify-plugin does: register in the caller's context instead of a child context
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@keybound/resource-server',
});

export const keyboundFastify = plugin;
