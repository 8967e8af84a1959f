// The `keybound serve` configuration: one file with four sections, validated together so that every
// problem is reported at once, each with the path of the bad field.
//
//   server:               where serve listens and keeps its files (host, port, public_url, data_dir)
//   authorization_server: @keybound/authorization-server's schema (parseServerConfig), minus issuer
//                         and listeners, which serve sets from `server`
//   api:                  the demo protected API: @keybound/resource-server's policy (parsePolicy)
//                         under `policy`, plus nonce secrets and the replay key prefix
//   demo:                 the demo clients, user and /demo page (on by default)
//
// `--port`, `--database` and `--redis` override the file. Secrets may be `env:NAME` / `file:PATH`.
import { isAbsolute, resolve } from 'node:path';
import type { SecretResolver } from '@keybound/authorization-server';
import { UsageError } from '../args.js';
import { createSecretResolver, resolveValue } from './secret-resolver.js';

export const DEFAULT_PORT = 4000;
export const DEFAULT_DATA_DIR = '.keybound';
export const DEFAULT_API_REPLAY_PREFIX = 'keybound:api:';
export const DEFAULT_DEMO_USERNAME = 'demo';

export interface ConfigIssue {
  path: string;
  message: string;
}

/** The configuration is invalid: exit 2, every issue with its field path. */
export class ServeConfigError extends UsageError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], file?: string) {
    const where = file === undefined ? 'invalid configuration' : `invalid configuration in '${file}'`;
    super(`${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/** What the command line says (already checked for form). */
export interface ServeFlags {
  port?: number;
  /** postgres:// URL: the authorization server's storage. */
  database?: string;
  /** redis:// URL: the replay store shared by the authorization server and the API. */
  redis?: string;
}

export interface ServeConfig {
  host: string;
  port: number;
  /** The public origin (issuer and API origin); default http://host:port once listening. */
  publicUrl: string | undefined;
  /** Absolute path of the directory for the SQLite file and the demo credentials. */
  dataDir: string;
  demo: { enabled: boolean; username: string };
  api: {
    /** Server nonce secrets for routes with `nonce: true` (default: one per process). */
    nonceSecrets: string[];
    /** Redis key prefix of the API's replay entries. */
    replayPrefix: string;
    /** The resource-server policy as written (defaults are added when the public URL is known). */
    policy: Record<string, unknown>;
  };
  /** The authorization_server section, flags applied, relative SQLite path resolved. */
  authorizationServer: Record<string, unknown>;
  resolveSecret: SecretResolver;
  /** The configuration file, as named (for messages). */
  file: string | undefined;
}

export interface ReadServeConfigContext {
  /** Relative paths resolve against this (the configuration file's directory, or the cwd). */
  baseDir: string;
  env: Readonly<Record<string, string | undefined>>;
  flags: ServeFlags;
  file?: string | undefined;
}

const SECTIONS = ['server', 'authorization_server', 'api', 'demo'] as const;

const show = (v: unknown): string => {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  return `${typeof v} ${String(v)}`;
};

class Section {
  readonly issues: ConfigIssue[];
  readonly path: string;
  readonly value: Record<string, unknown>;

  constructor(issues: ConfigIssue[], path: string, value: unknown, known: readonly string[]) {
    this.issues = issues;
    this.path = path;
    if (value === undefined || value === null) this.value = {};
    else if (typeof value !== 'object' || Array.isArray(value)) {
      issues.push({ path, message: `expected a mapping, got ${show(value)}` });
      this.value = {};
    } else this.value = value as Record<string, unknown>;
    for (const key of Object.keys(this.value)) {
      if (!known.includes(key)) this.fail(key, `unknown field (known: ${known.join(', ')})`);
    }
  }

  at(name: string): string {
    return `${this.path}.${name}`;
  }

  fail(name: string, message: string): void {
    this.issues.push({ path: this.at(name), message });
  }

  has(name: string): boolean {
    return this.value[name] !== undefined && this.value[name] !== null;
  }

  string(name: string, test?: (s: string) => string | undefined): string | undefined {
    if (!this.has(name)) return undefined;
    const v = this.value[name];
    if (typeof v !== 'string' || v.length === 0) {
      this.fail(name, `expected a non-empty string, got ${show(v)}`);
      return undefined;
    }
    const problem = test?.(v);
    if (problem !== undefined) {
      this.fail(name, problem);
      return undefined;
    }
    return v;
  }

  integer(name: string, min: number, max: number): number | undefined {
    if (!this.has(name)) return undefined;
    const v = this.value[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(name, `expected an integer from ${min} to ${max}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }

  boolean(name: string): boolean | undefined {
    if (!this.has(name)) return undefined;
    const v = this.value[name];
    if (typeof v !== 'boolean') {
      this.fail(name, `expected true or false, got ${show(v)}`);
      return undefined;
    }
    return v;
  }

  mapping(name: string): Record<string, unknown> | undefined {
    if (!this.has(name)) return undefined;
    const v = this.value[name];
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.fail(name, `expected a mapping, got ${show(v)}`);
      return undefined;
    }
    return v as Record<string, unknown>;
  }

  list(name: string): unknown[] | undefined {
    if (!this.has(name)) return undefined;
    const v = this.value[name];
    if (!Array.isArray(v)) {
      this.fail(name, `expected a list, got ${show(v)}`);
      return undefined;
    }
    return v;
  }
}

/** An http(s) origin: scheme, host and optional port; no path, query, fragment or userinfo. */
export function originProblem(s: string): string | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `expected an origin like http://127.0.0.1:${DEFAULT_PORT}, got ${show(s)}`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'expected an http or https URL';
  if (u.username !== '' || u.password !== '') return 'must not hold a user name or password';
  if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || /[?#]/.test(s)) {
    return `expected an origin without a path, query or fragment (the API is served at /api, the demo at /demo), got ${show(s)}`;
  }
  return undefined;
}

const HOST = /^[A-Za-z0-9.:[\]-]{1,255}$/;

/**
 * Reads the serve-level fields and applies the flags. Returns the issues found instead of throwing,
 * so that the caller can add those of the authorization server and API sections and report all.
 */
export function readServeConfig(
  value: Record<string, unknown> | undefined,
  ctx: ReadServeConfigContext,
): { config: ServeConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const top = value ?? {};
  for (const key of Object.keys(top)) {
    if (!(SECTIONS as readonly string[]).includes(key)) {
      issues.push({ path: key, message: `unknown section (known: ${SECTIONS.join(', ')})` });
    }
  }
  const resolveSecret = createSecretResolver(ctx.env, ctx.baseDir);

  const server = new Section(issues, 'server', top.server, ['host', 'port', 'public_url', 'data_dir']);
  const host =
    server.string('host', (s) => (HOST.test(s) ? undefined : 'expected a host name or IP address')) ??
    '127.0.0.1';
  const port = ctx.flags.port ?? server.integer('port', 0, 65535) ?? DEFAULT_PORT;
  const publicUrl = server.string('public_url', originProblem);
  const dataDirRaw = server.string('data_dir') ?? DEFAULT_DATA_DIR;
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(ctx.baseDir, dataDirRaw);

  const demo = new Section(issues, 'demo', top.demo, ['enabled', 'username']);
  const demoEnabled = demo.boolean('enabled') ?? true;
  const username =
    demo.string('username', (s) =>
      /^[^\s\p{Cc}]{1,200}$/u.test(s) ? undefined : 'expected a user name without spaces',
    ) ?? DEFAULT_DEMO_USERNAME;

  const api = new Section(issues, 'api', top.api, ['policy', 'nonce_secrets', 'replay_prefix']);
  const policy = api.mapping('policy') ?? {};
  const nonceSecrets: string[] = [];
  (api.list('nonce_secrets') ?? []).forEach((item, i) => {
    const path = `api.nonce_secrets[${i}]`;
    if (typeof item !== 'string' || item.length === 0) {
      issues.push({ path, message: `expected a non-empty string, got ${show(item)}` });
      return;
    }
    const r = resolveValue(item, resolveSecret, path);
    if ('problem' in r) issues.push({ path, message: r.problem });
    else if (Buffer.byteLength(r.value) < 32) issues.push({ path, message: 'must be at least 32 bytes' });
    else nonceSecrets.push(r.value);
  });
  const replayPrefix =
    api.string('replay_prefix', (s) => (s.length <= 200 ? undefined : 'must be at most 200 characters')) ??
    DEFAULT_API_REPLAY_PREFIX;

  // the authorization server's own fields are checked by parseServerConfig; serve owns two of them
  const as = sectionValue(issues, 'authorization_server', top.authorization_server);
  if (as.issuer !== undefined) {
    issues.push({
      path: 'authorization_server.issuer',
      message: 'is set by serve: the issuer is server.public_url',
    });
    delete as.issuer;
  }
  if (as.listeners !== undefined) {
    issues.push({
      path: 'authorization_server.listeners',
      message:
        'serve listens on server.host and server.port (one listener for the issuer, the API and the demo)',
    });
    delete as.listeners;
  }
  applyStorage(as, ctx, dataDir);
  if (ctx.flags.redis !== undefined) {
    const previous = as.replay as Record<string, unknown> | undefined;
    as.replay = {
      type: 'redis',
      url: ctx.flags.redis,
      ...(typeof previous === 'object' && previous?.prefix !== undefined ? { prefix: previous.prefix } : {}),
    };
  }

  const config: ServeConfig = {
    host,
    port,
    publicUrl: publicUrl?.replace(/\/$/, ''),
    dataDir,
    demo: { enabled: demoEnabled, username },
    api: { nonceSecrets, replayPrefix, policy },
    authorizationServer: as,
    resolveSecret,
    file: ctx.file,
  };
  return { config, issues };
}

/**
 * --database wins (keeping the section's encryption_secrets, and pool_size when it was PostgreSQL);
 * otherwise the section's storage, with a relative SQLite path resolved; default SQLite in data_dir.
 */
function applyStorage(as: Record<string, unknown>, ctx: ReadServeConfigContext, dataDir: string): void {
  if (ctx.flags.database !== undefined) {
    const previous = as.storage as Record<string, unknown> | undefined;
    as.storage = {
      type: 'postgres',
      url: ctx.flags.database,
      ...(previous?.type === 'postgres' && previous.pool_size !== undefined
        ? { pool_size: previous.pool_size }
        : {}),
      ...(previous?.encryption_secrets !== undefined
        ? { encryption_secrets: previous.encryption_secrets }
        : {}),
    };
    return;
  }
  const storage = as.storage;
  if (storage === undefined || storage === null) {
    as.storage = { type: 'sqlite', path: resolve(dataDir, 'keybound.db') };
    return;
  }
  if (typeof storage !== 'object' || Array.isArray(storage)) return; // parseServerConfig reports it
  const s = storage as Record<string, unknown>;
  if ((s.type === undefined || s.type === 'sqlite') && typeof s.path === 'string' && s.path.length > 0) {
    as.storage = { ...s, path: isAbsolute(s.path) ? s.path : resolve(ctx.baseDir, s.path) };
  } else if ((s.type === undefined || s.type === 'sqlite') && s.path === undefined) {
    as.storage = { ...s, path: resolve(dataDir, 'keybound.db') };
  }
}

/** A copy of a section that must be a mapping (absent: empty). */
function sectionValue(issues: ConfigIssue[], path: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    issues.push({ path, message: `expected a mapping, got ${show(value)}` });
    return {};
  }
  return { ...(value as Record<string, unknown>) };
}
