// parseServerConfig: validates a plain object (loaded from YAML or JSON by the caller) and returns
// the normalised ServerConfig. Every problem is reported with the path of the bad field; secrets
// may be `env:NAME` (or `file:PATH`) references, resolved by the function the caller passes in.
import { createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import {
  DEFAULT_DPOP_ALGORITHMS,
  isSupportedAlgorithm,
  type JwsAlgorithm,
  SUPPORTED_ALGORITHMS,
} from '@keybound/core';
import { type ClientConfig, readClientMetadata } from '../clients/client.js';
import { hasTlsTrustAnchors } from '../mtls/peer-certificate.js';
import { hashPassword, isPasswordHash } from '../users/password.js';
import { ConfigError, describe, Issues, ObjectReader, type SecretResolver } from './config-reader.js';
import {
  type ListenerConfig,
  type MtlsListenerConfig,
  PARSED,
  type ResourceConfig,
  type ServerConfig,
  type SigningKeyConfig,
  type TlsConfig,
  type UserConfig,
} from './server-config.js';

export interface ParseServerConfigOptions {
  /** Resolves `env:NAME` / `file:PATH` references in secret fields. */
  resolveSecret?: SecretResolver;
}

const DAY = 86_400;
const SIGNING_ALGS = SUPPORTED_ALGORITHMS.filter((a) => a !== 'Ed25519');
const DPOP_ALGS = SUPPORTED_ALGORITHMS;

function absoluteUrl(r: ObjectReader, name: string, required = false): string | undefined {
  const v = r.string(name, { required, max: 2000 });
  if (v === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    r.issues.add(r.at(name), `expected an absolute URL, got ${describe(v)}`);
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    r.issues.add(r.at(name), 'expected an http or https URL');
    return undefined;
  }
  if (url.search || url.hash || v.includes('?') || v.includes('#')) {
    r.issues.add(r.at(name), 'must not have a query or fragment');
    return undefined;
  }
  return v.replace(/\/+$/, '');
}

function pemList(r: ObjectReader, name: string): string[] | undefined {
  const raw = r.raw(name);
  if (raw === undefined || raw === null) return undefined;
  const items = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  items.forEach((item, i) => {
    const path = Array.isArray(raw) ? `${r.at(name)}[${i}]` : r.at(name);
    const holder = new ObjectReader({ v: item }, path, r.issues);
    const v = holder.string('v', { secret: true });
    if (v === undefined) return;
    if (!v.includes('-----BEGIN CERTIFICATE-----')) r.issues.add(path, 'expected PEM certificates');
    else out.push(v);
  });
  return out;
}

function readTls(r: ObjectReader, required: boolean): TlsConfig | undefined {
  if (!r.has('tls')) {
    if (required) r.issues.add(r.at('tls'), 'is required (key and cert)');
    return undefined;
  }
  const t = r.object('tls');
  const key = t.string('key', { required: true, secret: true });
  const cert = t.string('cert', { required: true, secret: true });
  const ca = pemList(t, 'ca');
  t.done();
  if (key !== undefined && !key.includes('PRIVATE KEY-----'))
    t.issues.add(t.at('key'), 'expected a PEM private key');
  if (cert !== undefined && !cert.includes('-----BEGIN CERTIFICATE-----'))
    t.issues.add(t.at('cert'), 'expected a PEM certificate');
  if (key === undefined || cert === undefined) return undefined;
  return { key, cert, ca };
}

function readListener(r: ObjectReader, defaults: { port: number }, tlsRequired: boolean): ListenerConfig {
  const host = r.string('host', { max: 255 }) ?? '127.0.0.1';
  const port = r.integer('port', defaults.port, 0, 65535);
  const publicUrl = absoluteUrl(r, 'public_url');
  const tls = readTls(r, tlsRequired);
  r.done();
  return { host, port, publicUrl, tls };
}

function cidrOk(value: string): boolean {
  const [ip, bits, extra] = value.split('/');
  if (extra !== undefined || ip === undefined) return false;
  const family = isIP(ip);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

function epochSeconds(r: ObjectReader, name: string): number | undefined {
  const v = r.raw(name);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return Math.floor(Date.parse(v) / 1000);
  if (v instanceof Date && !Number.isNaN(v.getTime())) return Math.floor(v.getTime() / 1000);
  r.issues.add(r.at(name), `expected epoch seconds or an ISO 8601 date, got ${describe(v)}`);
  return undefined;
}

function readSigningKey(r: ObjectReader): SigningKeyConfig | undefined {
  const privateKey = r.string('private_key', { required: true, secret: true });
  const algRaw = r.oneOf('alg', SIGNING_ALGS);
  const kid = r.string('kid', { max: 200, pattern: /^[\x21-\x7e]+$/, patternText: 'printable ASCII' });
  const status = r.oneOf('status', ['current', 'previous'] as const, 'current');
  const retiredAt = epochSeconds(r, 'retired_at');
  r.done();
  if (status === 'previous' && retiredAt === undefined) {
    r.issues.add(r.at('retired_at'), 'is required for a previous key (when it stopped signing)');
  }
  if (privateKey === undefined) return undefined;
  let alg: JwsAlgorithm | undefined = algRaw;
  try {
    const key = privateKey.trim().startsWith('{')
      ? createPrivateKey({ key: JSON.parse(privateKey), format: 'jwk' })
      : createPrivateKey(privateKey);
    const type = key.asymmetricKeyType;
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const inferred: JwsAlgorithm | undefined =
      type === 'ec'
        ? curve === 'prime256v1'
          ? 'ES256'
          : curve === 'secp384r1'
            ? 'ES384'
            : curve === 'secp521r1'
              ? 'ES512'
              : undefined
        : type === 'ed25519'
          ? 'EdDSA'
          : type === 'rsa' || type === 'rsa-pss'
            ? 'PS256'
            : undefined;
    if (inferred === undefined) {
      r.issues.add(r.at('private_key'), `unsupported key type ${type}${curve ? ` (${curve})` : ''}`);
      return undefined;
    }
    if (alg === undefined) alg = inferred;
    else if (type === 'ec' && alg !== inferred) {
      r.issues.add(r.at('alg'), `${alg} does not fit the key (a ${curve} key signs ${inferred})`);
      return undefined;
    } else if (
      (type === 'ed25519') !== (alg === 'EdDSA') ||
      ((type === 'rsa' || type === 'rsa-pss') && !/^[RP]S/.test(alg))
    ) {
      r.issues.add(r.at('alg'), `${alg} does not fit a ${type} key`);
      return undefined;
    }
  } catch {
    r.issues.add(r.at('private_key'), 'expected a PEM (PKCS#8 or SEC1) private key or a private JWK');
    return undefined;
  }
  return { privateKey, alg, kid, retiredAt: status === 'previous' ? retiredAt : undefined };
}

function readUser(r: ObjectReader): UserConfig | undefined {
  const username = r.string('username', {
    required: true,
    max: 200,
    pattern: /^[^\s\p{Cc}]+$/u,
    patternText: 'no spaces or control characters',
  });
  const password = r.string('password', { secret: true, max: 1024 });
  let passwordHash = r.string('password_hash', { secret: true });
  const sub = r.string('sub', { max: 255, pattern: /^[\x21-\x7e]+$/, patternText: 'printable ASCII' });
  r.done();
  if ((password === undefined) === (passwordHash === undefined)) {
    if (!r.has('password') && !r.has('password_hash'))
      r.issues.add(r.at('password'), 'password or password_hash is required');
    else if (password !== undefined)
      r.issues.add(r.at('password_hash'), 'give password or password_hash, not both');
    return undefined;
  }
  if (passwordHash !== undefined && !isPasswordHash(passwordHash)) {
    r.issues.add(r.at('password_hash'), 'expected an scrypt hash (scrypt$N$r$p$salt$hash, see hashPassword)');
    return undefined;
  }
  passwordHash ??= hashPassword(password!);
  if (username === undefined) return undefined;
  return { username, passwordHash, sub: sub ?? username };
}

function readResource(r: ObjectReader): ResourceConfig | undefined {
  const identifier = r.string('identifier', { required: true, max: 2000 });
  const accessTokenFormat = r.oneOf('access_token_format', ['jwt', 'opaque'] as const, 'jwt')!;
  const ttl = r.has('access_token_ttl') ? r.integer('access_token_ttl', 300, 10, DAY) : undefined;
  r.done();
  if (identifier === undefined) return undefined;
  if (!URL.canParse(identifier) || identifier.includes('#')) {
    r.issues.add(r.at('identifier'), 'expected an absolute URI without a fragment (RFC 8707 §2)');
    return undefined;
  }
  return { identifier, accessTokenFormat, accessTokenTtl: ttl };
}

function list<T>(r: ObjectReader, name: string, read: (item: ObjectReader) => T | undefined): T[] {
  const items = r.array(name) ?? [];
  const out: T[] = [];
  items.forEach((item, i) => {
    const v = read(new ObjectReader(item, `${r.at(name)}[${i}]`, r.issues));
    if (v !== undefined) out.push(v);
  });
  return out;
}

/**
 * Validates a configuration object and returns the normalised ServerConfig. Throws ConfigError
 * listing every problem, each with the path of the bad field.
 */
export function parseServerConfig(value: unknown, options: ParseServerConfigOptions = {}): ServerConfig {
  const issues = new Issues(options.resolveSecret);
  const root = new ObjectReader(value, '', issues);

  const issuer = absoluteUrl(root, 'issuer');

  const listenersReader = root.object('listeners');
  const http = readListener(listenersReader.object('http'), { port: 8080 }, false);
  let mtls: MtlsListenerConfig | undefined;
  if (listenersReader.has('mtls')) {
    const m = readListener(listenersReader.object('mtls'), { port: 8443 }, true);
    if (m.tls) mtls = m as MtlsListenerConfig;
  }
  listenersReader.done();

  const scopes = root.stringList('scopes') ?? [];
  scopes.forEach((s, i) => {
    if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))
      issues.add(`scopes[${i}]`, 'is not a scope token (RFC 6749 §3.3)');
  });

  const resources = list(root, 'resources', readResource);
  const identifiers = resources.map((x) => x.identifier);
  if (new Set(identifiers).size !== identifiers.length)
    issues.add('resources', 'lists a resource identifier twice');
  const defaultResource = root.string('default_resource', { max: 2000 }) ?? identifiers[0];
  if (
    root.has('default_resource') &&
    defaultResource !== undefined &&
    !identifiers.includes(defaultResource)
  ) {
    issues.add('default_resource', `is not one of the configured resources: ${defaultResource}`);
  }

  const mtlsReader = root.object('mtls');
  let forwarded: ServerConfig['mtls']['forwarded'];
  if (mtlsReader.has('forwarded')) {
    const f = mtlsReader.object('forwarded');
    const format = f.oneOf('format', ['rfc9440', 'envoy-xfcc', 'nginx', 'aws-alb'] as const);
    if (!f.has('format')) issues.add(f.at('format'), 'is required (rfc9440, envoy-xfcc, nginx or aws-alb)');
    const header = f.string('header', {
      pattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/,
      patternText: 'a header name',
    });
    const trustedProxies = f.stringList('trusted_proxies') ?? [];
    trustedProxies.forEach((p, i) => {
      if (!cidrOk(p))
        issues.add(`${f.at('trusted_proxies')}[${i}]`, `expected an IP address or CIDR, got ${describe(p)}`);
    });
    if (trustedProxies.length === 0)
      issues.add(f.at('trusted_proxies'), 'is required: the proxies whose certificate header is believed');
    const verifiedByProxy = f.boolean('verified_by_proxy', false);
    f.done();
    if (format) forwarded = { format, header, trustedProxies, verifiedByProxy };
  }
  const ca = pemList(mtlsReader, 'ca') ?? [];
  mtlsReader.done();
  const mtlsAvailable = mtls !== undefined || forwarded !== undefined;
  const tlsTrustAnchors = hasTlsTrustAnchors({ mtls: { ca, forwarded }, listeners: { mtls } });

  const clients: ClientConfig[] = list(root, 'clients', (r) =>
    readClientMetadata(r, {
      mode: 'config',
      scopes,
      resources: identifiers,
      mtlsAvailable,
      tlsTrustAnchors,
    }),
  );
  const seen = new Set<string>();
  clients.forEach((c, i) => {
    if (seen.has(c.clientId)) issues.add(`clients[${i}].client_id`, `duplicates client_id ${c.clientId}`);
    seen.add(c.clientId);
  });

  const users = list(root, 'users', readUser);
  const usernames = new Set<string>();
  users.forEach((u, i) => {
    if (usernames.has(u.username)) issues.add(`users[${i}].username`, `duplicates username ${u.username}`);
    usernames.add(u.username);
  });

  const signingKeys = list(root, 'signing_keys', readSigningKey);
  const current = signingKeys.filter((k) => k.retiredAt === undefined);
  if (signingKeys.length > 0 && current.length !== 1) {
    issues.add('signing_keys', `exactly one key must be current (not previous), found ${current.length}`);
  }
  const signingAlg = root.oneOf('signing_alg', SIGNING_ALGS, 'ES256')!;

  const t = root.object('tokens');
  const tokens = {
    accessTokenTtl: t.integer('access_token_ttl', 300, 10, DAY),
    refreshTokenTtl: t.integer('refresh_token_ttl', 14 * DAY, 60, 365 * DAY),
    refreshTokenAbsoluteTtl: t.integer('refresh_token_absolute_ttl', 30 * DAY, 60, 3 * 365 * DAY),
    authorizationCodeTtl: t.integer('authorization_code_ttl', 60, 5, 600),
    pushedRequestTtl: t.integer('pushed_request_ttl', 60, 5, 600),
    loginTtl: t.integer('login_ttl', 600, 30, DAY),
  };
  t.done();

  const b = root.object('binding');
  const binding = {
    required: b.oneOf('required', ['none', 'dpop', 'mtls', 'any'] as const, 'none')!,
    exemptClients: b.stringList('exempt_clients') ?? [],
  };
  b.done();
  if (binding.required === 'mtls' && !mtlsAvailable) {
    issues.add('binding.required', 'mtls needs listeners.mtls or mtls.forwarded');
  }

  const d = root.object('dpop');
  const algorithms = (
    d.stringList('algorithms', { allowed: DPOP_ALGS }) ?? [...DEFAULT_DPOP_ALGORITHMS]
  ).filter(isSupportedAlgorithm);
  if (algorithms.length === 0) issues.add(d.at('algorithms'), 'must not be empty');
  const maxAgeSeconds = d.integer('max_age_seconds', 60, 1, 3600);
  const clockSkewSeconds = d.integer('clock_skew_seconds', 5, 0, 300);
  const n = d.object('nonce');
  const nonce = {
    required: n.boolean('required', false),
    secrets: n.stringList('secrets', { secret: true }) ?? [],
    stepSeconds: n.integer('step_seconds', 60, 1, 3600),
  };
  n.done();
  d.done();
  nonce.secrets.forEach((s, i) => {
    if (Buffer.byteLength(s) < 32) issues.add(`dpop.nonce.secrets[${i}]`, 'must be at least 32 bytes');
  });

  const reg = root.object('registration');
  const registration = {
    enabled: reg.boolean('enabled', false),
    open: reg.boolean('open', false),
    initialAccessTokens: reg.stringList('initial_access_tokens', { secret: true }) ?? [],
  };
  reg.done();
  registration.initialAccessTokens.forEach((s, i) => {
    if (s.length < 16)
      issues.add(`registration.initial_access_tokens[${i}]`, 'must be at least 16 characters');
  });

  const p = root.object('pushed_authorization_requests');
  const par = { required: p.boolean('required', false) };
  p.done();

  const l = root.object('login');
  const login = { enabled: l.boolean('enabled', users.length > 0) };
  l.done();

  const s = root.object('storage');
  const storageType = s.oneOf('type', ['sqlite', 'postgres'] as const, 'sqlite')!;
  const encryptionSecrets = s.stringList('encryption_secrets', { secret: true }) ?? [];
  encryptionSecrets.forEach((secret, i) => {
    if (Buffer.byteLength(secret) < 32)
      issues.add(`${s.at('encryption_secrets')}[${i}]`, 'must be at least 32 bytes');
  });
  const sealPlainKeys = s.boolean('seal_plain_keys', false);
  let storage: ServerConfig['storage'];
  if (storageType === 'postgres') {
    const url = s.string('url', { required: true, secret: true });
    const poolSize = s.integer('pool_size', 10, 1, 200);
    if (url !== undefined && !/^postgres(ql)?:\/\//.test(url))
      issues.add(s.at('url'), 'expected a postgres:// URL');
    storage = { type: 'postgres', url: url ?? '', poolSize, encryptionSecrets, sealPlainKeys };
  } else {
    storage = {
      type: 'sqlite',
      path: s.string('path', { max: 4096 }) ?? 'keybound.db',
      encryptionSecrets,
      sealPlainKeys,
    };
  }
  s.done();

  const rp = root.object('replay');
  const replayType = rp.oneOf('type', ['memory', 'redis'] as const, 'memory')!;
  let replay: ServerConfig['replay'];
  if (replayType === 'redis') {
    const url = rp.string('url', { required: true, secret: true });
    if (url !== undefined && !/^rediss?:\/\//.test(url))
      issues.add(rp.at('url'), 'expected a redis:// or rediss:// URL');
    replay = { type: 'redis', url: url ?? '', prefix: rp.string('prefix', { max: 200 }) ?? 'keybound:as:' };
  } else replay = { type: 'memory' };
  rp.done();

  const lim = root.object('limits');
  const limits = {
    maxFormBytes: lim.integer('max_form_bytes', 16 * 1024, 1024, 1024 * 1024),
    maxJsonBytes: lim.integer('max_json_bytes', 64 * 1024, 1024, 1024 * 1024),
    maxQueryBytes: lim.integer('max_query_bytes', 8 * 1024, 1024, 64 * 1024),
  };
  lim.done();

  root.done();
  if (issues.list.length > 0) throw new ConfigError(issues.list);
  return {
    [PARSED]: true,
    issuer,
    listeners: { http, mtls },
    clients,
    users,
    signingKeys,
    signingAlg,
    tokens,
    scopes,
    resources,
    defaultResource,
    binding,
    dpop: { algorithms, maxAgeSeconds, clockSkewSeconds, nonce },
    mtls: { forwarded, ca },
    registration,
    par,
    login,
    storage,
    replay,
    limits,
  };
}

export function isParsedConfig(value: unknown): value is ServerConfig {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PARSED] === true;
}
