// A DPoP session: one key, what each server taught us (nonce, clock offset), and the one rule for
// sending a request with a proof: learn from every response, and retry exactly once when the server
// asked for a nonce we now have (or rejected the proof while revealing that our clock is off),
// and only when the caller says the request can be sent again.
import { type CryptoProvider, createProof, type DpopKey } from '@keybound/core';
import { dpopErrorOf } from './dpop-error.js';
import { DEFAULT_MAX_ORIGINS, type ServerRole, ServerStateCache } from './server-state.js';

export interface DpopSessionOptions {
  key: DpopKey;
  /** How many servers' nonces and clock offsets are remembered (default 100). */
  maxOrigins?: number;
  /** A server clock further than this from ours is not believed (default 24 h). */
  maxClockOffsetSeconds?: number;
  crypto?: CryptoProvider;
}

export interface SendOptions {
  /** The method as it will be sent (the proof's htm). */
  method: string;
  /** Adds `ath` and `Authorization: DPoP <token>`. */
  accessToken?: string;
  /** Sign with this key instead of the session's (key rotation). */
  key?: DpopKey;
  /** Whether a second attempt may be made: false for bodies that cannot be replayed. */
  retry: boolean;
  /** Whose nonces to use and learn (default 'resource'; the token and PAR endpoints: 'authorization'). */
  role?: ServerRole;
}

/** Sends one attempt with the given DPoP headers (and the caller's own headers and body). */
export type Dispatch = (dpopHeaders: Record<string, string>) => Promise<Response>;

/** A retry is worth it when the clock correction moves iat by at least this much. */
const CLOCK_RETRY_SECONDS = 2;

export class DpopSession {
  #key: DpopKey;
  readonly servers: ServerStateCache;
  readonly #crypto: CryptoProvider | undefined;

  constructor(options: DpopSessionOptions) {
    if (options?.key?.privateKey === undefined) throw new TypeError('DpopSession needs a DPoP key');
    this.#key = options.key;
    this.servers = new ServerStateCache(
      options.maxOrigins ?? DEFAULT_MAX_ORIGINS,
      options.maxClockOffsetSeconds,
    );
    this.#crypto = options.crypto;
  }

  get key(): DpopKey {
    return this.#key;
  }

  /** Replaces the key for every later proof (nonces and clock offsets are kept: they are per server). */
  setKey(key: DpopKey): void {
    if (key?.privateKey === undefined) throw new TypeError('setKey needs a DPoP key');
    this.#key = key;
  }

  /** A proof for one request, with the server's last nonce and its clock. */
  async proof(
    method: string,
    url: string,
    options: { accessToken?: string; key?: DpopKey; role?: ServerRole } = {},
  ): Promise<string> {
    const origin = new URL(url).origin;
    const nonce = this.servers.nonce(origin, options.role);
    return createProof(options.key ?? this.#key, {
      htm: method,
      htu: url,
      iat: Math.floor(Date.now() / 1000 + this.servers.offsetSeconds(origin)),
      ...(options.accessToken !== undefined ? { accessToken: options.accessToken } : {}),
      ...(nonce !== undefined ? { nonce } : {}),
      ...(this.#crypto !== undefined ? { crypto: this.#crypto } : {}),
    });
  }

  /**
   * Records the nonce and clock a server revealed in a response. A response that fetch reached by
   * following a redirect came from another URL, perhaps another origin: nothing is learned from it.
   */
  learn(
    url: string,
    response: Response,
    sentAtMs: number,
    receivedAtMs: number,
    role: ServerRole = 'resource',
  ): void {
    if (response.redirected) return;
    const origin = new URL(url).origin;
    this.servers.learnNonce(origin, response.headers.get('dpop-nonce'), role);
    this.servers.learnClock(origin, response.headers.get('date'), sentAtMs, receivedAtMs);
  }

  /**
   * Sends a request with a fresh proof per attempt. At most two attempts, the second only when
   * `retry` is true and the first was refused for a reason the second can fix.
   */
  async send(url: string, dispatch: Dispatch, options: SendOptions): Promise<Response> {
    const origin = new URL(url).origin;
    for (let attempt = 1; ; attempt++) {
      const usedNonce = this.servers.nonce(origin, options.role);
      const usedOffset = this.servers.offsetSeconds(origin);
      const headers: Record<string, string> = {
        DPoP: await this.proof(options.method, url, options),
      };
      if (options.accessToken !== undefined) headers.Authorization = `DPoP ${options.accessToken}`;
      const sentAt = Date.now();
      const response = await dispatch(headers);
      this.learn(url, response, sentAt, Date.now(), options.role);
      if (attempt > 1 || !options.retry || (response.status !== 400 && response.status !== 401))
        return response;
      const error = await dpopErrorOf(response);
      const nonceNow = this.servers.nonce(origin, options.role);
      const offsetNow = this.servers.offsetSeconds(origin);
      const fixable =
        (error === 'use_dpop_nonce' && nonceNow !== undefined && nonceNow !== usedNonce) ||
        (error === 'invalid_dpop_proof' && Math.abs(offsetNow - usedOffset) >= CLOCK_RETRY_SECONDS);
      if (!fixable) return response;
      await response.body?.cancel().catch(() => {});
    }
  }
}
