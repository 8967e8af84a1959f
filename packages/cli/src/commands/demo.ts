// keybound demo: the whole point of keybound in one terminal screen. A client makes a key, gets a
// DPoP-bound access token, uses it; an attacker who copied the token (and even a whole request)
// gets nowhere. Real HTTP on 127.0.0.1, real proofs and signatures; each step explained in one line.
import { createProof, type DpopKey, generateDpopKey, MemoryReplayStore } from '@keybound/core';
import { decodeJwt } from 'jose';
import { defineCommand } from '../args.js';
import { listenLocal, type RunningServer } from '../demo/http.js';
import { startDemoIssuer } from '../demo/issuer.js';
import { createProtectedHandler, type ProtectedHandlerFactory } from '../demo/protected-handler.js';
import { type CommandIo, EXIT } from '../io.js';
import { REASON_CODE_HEADER } from '../reason-code-header.js';

export interface DemoOptions {
  /** Builds the API's request handler (default: createProtectedHandler). */
  protectedHandler?: ProtectedHandlerFactory;
}

const AUDIENCE = 'keybound-demo-api';
const CLIENT_ID = 'keybound-demo-client';
const RESOURCE = '/api/resource';

interface Outcome {
  ok: boolean;
  /** What happened on the wire, one line. */
  evidence: string;
}

interface Step {
  actor: 'client' | 'issuer' | 'attacker';
  says: string;
  act: () => Promise<Outcome>;
}

interface Sent {
  status: number;
  code?: string;
  challenge?: string;
  body: Record<string, unknown>;
}

async function send(url: string, init: RequestInit): Promise<Sent> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text: text.slice(0, 100) };
  }
  const challenge = response.headers.get('www-authenticate') ?? undefined;
  return {
    status: response.status,
    code: response.headers.get(REASON_CODE_HEADER) ?? undefined,
    challenge,
    body,
  };
}

/** A refusal is as expected when status and keybound code both match. */
function refusal(sent: Sent, status: number, code: string): Outcome {
  const challenge =
    sent.challenge === undefined ? 'no WWW-Authenticate' : `WWW-Authenticate: ${sent.challenge}`;
  const what = `${sent.status} ${sent.code ?? String(sent.body.error ?? '')}`.trim();
  return {
    ok: sent.status === status && sent.code === code,
    evidence: `${what} · ${challenge}${sent.status === status && sent.code === code ? '' : ` (expected ${status} ${code})`}`,
  };
}

const short = (jkt: string) => `${jkt.slice(0, 10)}…`;

export async function runDemo(io: CommandIo, options: DemoOptions = {}): Promise<number> {
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const servers: RunningServer[] = [];
  try {
    const issuer = await startDemoIssuer(AUDIENCE);
    servers.push(issuer);
    const makeHandler = options.protectedHandler ?? createProtectedHandler;
    const api = await listenLocal((origin) =>
      makeHandler({
        issuer: issuer.origin,
        jwksUrl: issuer.jwksUrl,
        audience: AUDIENCE,
        publicOrigin: origin,
        replayStore: new MemoryReplayStore(),
      }),
    );
    servers.push(api);
    const resource = `${api.origin}${RESOURCE}`;

    out('keybound demo: a DPoP-bound access token (RFC 9449) is useless to whoever copies it');
    out(`  issuer (token endpoint, JWKS) at ${issuer.origin}, protected API at ${api.origin}`);
    out('');

    let key: DpopKey | undefined;
    let token: string | undefined;
    let usedRequest: RequestInit | undefined;
    const need = <T>(value: T | undefined, what: string): T => {
      if (value === undefined) throw new Error(`skipped: needs ${what} from an earlier step`);
      return value;
    };

    const steps: Step[] = [
      {
        actor: 'client',
        says: 'makes an ES256 key pair; the private key never leaves the client',
        act: async () => {
          key = await generateDpopKey('ES256');
          return { ok: true, evidence: `public key thumbprint (jkt) ${short(key.jkt)}` };
        },
      },
      {
        actor: 'issuer',
        says: 'POST /token with a DPoP proof: issues a JWT access token bound to that key (cnf.jkt)',
        act: async () => {
          const k = need(key, 'the key');
          const proof = await createProof(k, { htm: 'POST', htu: `${issuer.origin}/token` });
          const sent = await send(`${issuer.origin}/token`, {
            method: 'POST',
            headers: { dpop: proof, 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID }).toString(),
          });
          const accessToken = typeof sent.body.access_token === 'string' ? sent.body.access_token : undefined;
          const jkt =
            accessToken === undefined ? undefined : (decodeJwt(accessToken).cnf as { jkt?: string })?.jkt;
          const ok = sent.status === 200 && sent.body.token_type === 'DPoP' && jkt === k.jkt;
          if (ok) token = accessToken;
          return {
            ok,
            evidence: ok
              ? `${sent.status} token_type DPoP, cnf.jkt ${short(jkt!)} (the client's key)`
              : `${sent.status} ${String(sent.body.error ?? '')} (expected 200, a DPoP token bound to ${short(k.jkt)})`,
          };
        },
      },
      {
        actor: 'client',
        says: `GET ${RESOURCE} with the token and a fresh proof for this request: accepted`,
        act: async () => {
          const proof = await createProof(need(key, 'the key'), {
            htm: 'GET',
            htu: resource,
            accessToken: need(token, 'the token'),
          });
          usedRequest = { headers: { authorization: `DPoP ${token}`, dpop: proof } };
          const sent = await send(resource, usedRequest);
          return {
            ok: sent.status === 200,
            evidence: `${sent.status} ${sent.status === 200 ? JSON.stringify({ message: sent.body.message }) : `${sent.code} (expected 200)`}`,
          };
        },
      },
      {
        actor: 'attacker',
        says: 'copied the token and sends it as a Bearer token: refused',
        act: async () =>
          refusal(
            await send(resource, { headers: { authorization: `Bearer ${need(token, 'the token')}` } }),
            401,
            'bound_token_as_bearer',
          ),
      },
      {
        actor: 'attacker',
        says: 'sends the copied token with a proof signed by its own key: refused',
        act: async () => {
          const own = await generateDpopKey('ES256');
          const t = need(token, 'the token');
          const proof = await createProof(own, { htm: 'GET', htu: resource, accessToken: t });
          return refusal(
            await send(resource, { headers: { authorization: `DPoP ${t}`, dpop: proof } }),
            401,
            'jkt_mismatch',
          );
        },
      },
      {
        actor: 'attacker',
        says: "replays the client's captured request, proof and all: refused",
        act: async () => refusal(await send(resource, need(usedRequest, 'the request')), 401, 'replay'),
      },
    ];

    let failed = 0;
    for (const [i, step] of steps.entries()) {
      let outcome: Outcome;
      try {
        outcome = await step.act();
      } catch (e) {
        outcome = { ok: false, evidence: e instanceof Error ? e.message : String(e) };
      }
      if (!outcome.ok) failed++;
      out(`${outcome.ok ? '✓' : '✗'} ${i + 1} ${step.actor.padEnd(8)} ${step.says}`);
      out(`             → ${outcome.evidence}`);
    }
    out('');
    if (failed === 0) {
      out(
        `all ${steps.length} steps behaved as expected: without the client's private key, the token is useless.`,
      );
      return EXIT.ok;
    }
    out(`${failed} of ${steps.length} steps did not behave as expected.`);
    return EXIT.failed;
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

export const run = defineCommand(
  {
    name: 'demo',
    synopsis: '',
    description:
      'Runs an issuer and a protected API on 127.0.0.1 and shows, step by step, a DPoP-bound token\n' +
      'accepted with its key and refused when copied: sent as Bearer, with another key, or replayed.\n' +
      'Exit 0 when every step behaved as expected, 1 otherwise.',
    options: {},
  },
  async (_args, io) => runDemo(io),
);
