// Replay stores remember which proofs (key thumbprint + jti) were already used. One atomic
// call: set-if-absent with a TTL. A store that cannot answer throws KeyboundError
// 'replay_store_unavailable' so that callers fail closed.

export interface ReplayStore {
  /**
   * Records `key` for `ttlMs` milliseconds if it is not recorded yet.
   * Resolves true when it was recorded now (first use), false when it was already there (replay).
   */
  setIfAbsent(key: string, ttlMs: number): Promise<boolean>;
}

/** The key a replay store records for a proof: per key thumbprint and jti. */
export function replayKey(jkt: string, jti: string): string {
  return `${jkt}:${jti}`;
}
