// Where clients are found: those of the configuration (in memory) and those registered at runtime
// (in storage, so every instance sees them).
import { Issues, ObjectReader } from '../config/config-reader.js';
import type { Storage } from '../storage/storage.js';
import { type ClientConfig, type ClientValidationContext, readClientMetadata } from './client.js';
import { ClientKeySets } from './private-key-jwt.js';

export class ClientRegistry {
  readonly #configured: Map<string, ClientConfig>;
  readonly #storage: Storage;
  readonly #context: ClientValidationContext;
  readonly #remote = new Map<string, { keys: Record<string, unknown>[]; until: number }>();
  /** The keys private_key_jwt assertions are verified with (jwks_uri sets kept across requests). */
  readonly assertionKeys = new ClientKeySets();

  constructor(configured: ClientConfig[], storage: Storage, context: Omit<ClientValidationContext, 'mode'>) {
    this.#configured = new Map(configured.map((c) => [c.clientId, c]));
    this.#storage = storage;
    this.#context = { ...context, mode: 'registration' };
  }

  get validationContext(): ClientValidationContext {
    return this.#context;
  }

  async find(clientId: string): Promise<ClientConfig | undefined> {
    const configured = this.#configured.get(clientId);
    if (configured !== undefined) return configured;
    if (clientId.length > 200) return undefined;
    const stored = await this.#storage.findClient(clientId);
    if (stored === undefined) return undefined;
    const issues = new Issues();
    const client = readClientMetadata(new ObjectReader(stored.metadata, 'client', issues), this.#context, {
      clientId: stored.clientId,
    });
    // metadata that no longer validates (e.g. a resource removed from the configuration) disables the client
    if (client === undefined) return undefined;
    client.secretHash = stored.secretHash;
    return client;
  }

  /**
   * self_signed_tls_client_auth (RFC 8705 §2.2): whether `der` is the first x5c certificate of a
   * key in the client's JWKS (registered inline, or fetched from jwks_uri and cached briefly).
   */
  async certificateIsRegistered(client: ClientConfig, der: Uint8Array): Promise<boolean> {
    const keys = client.jwks?.keys ?? (client.jwksUri ? await this.#fetchJwks(client.jwksUri) : []);
    const presented = Buffer.from(der);
    return keys.some((k) => {
      const x5c = k.x5c;
      if (!Array.isArray(x5c) || typeof x5c[0] !== 'string') return false;
      return Buffer.from(x5c[0], 'base64').equals(presented);
    });
  }

  async #fetchJwks(uri: string): Promise<Record<string, unknown>[]> {
    const cached = this.#remote.get(uri);
    if (cached && cached.until > Date.now()) return cached.keys;
    try {
      const res = await fetch(uri, { signal: AbortSignal.timeout(3000), redirect: 'error' });
      if (!res.ok) return [];
      const text = await res.text();
      if (text.length > 256 * 1024) return [];
      const body = JSON.parse(text) as { keys?: unknown };
      const keys = Array.isArray(body.keys) ? (body.keys as Record<string, unknown>[]) : [];
      if (this.#remote.size > 1000) this.#remote.clear();
      this.#remote.set(uri, { keys, until: Date.now() + 300_000 });
      return keys;
    } catch {
      return [];
    }
  }

  isConfigured(clientId: string): boolean {
    return this.#configured.has(clientId);
  }
}
