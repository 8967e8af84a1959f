// A small reader for plain configuration objects (from YAML or JSON) that collects every problem
// with the path of the bad field (`clients[1].token_endpoint_auth_method: expected one of …`)
// instead of stopping at the first. Unknown fields are errors: a typo must not silently fall
// back to a default.

export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(
      issues.length === 1
        ? `invalid configuration: ${issues[0]!.path}: ${issues[0]!.message}`
        : `invalid configuration (${issues.length} problems):\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
    );
    this.issues = issues;
  }
}

/** Resolves a reference such as `env:NAME` (or `file:PATH`) to its value; undefined when unset. */
export type SecretResolver = (reference: string, field: string) => string | undefined;

const REFERENCE = /^(env|file):(.+)$/;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

export class Issues {
  readonly list: ConfigIssue[] = [];
  readonly resolveSecret: SecretResolver | undefined;

  constructor(resolveSecret?: SecretResolver) {
    this.resolveSecret = resolveSecret;
  }

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

/** Reads the fields of one object at `path`, reporting fields it was not asked about. */
export class ObjectReader {
  readonly #value: Record<string, unknown>;
  readonly path: string;
  readonly issues: Issues;
  readonly #seen = new Set<string>();

  constructor(value: unknown, path: string, issues: Issues) {
    this.path = path;
    this.issues = issues;
    if (value === undefined || value === null) {
      this.#value = {};
    } else if (typeof value !== 'object' || Array.isArray(value)) {
      issues.add(path || '(root)', `expected an object, got ${describe(value)}`);
      this.#value = {};
    } else {
      this.#value = value as Record<string, unknown>;
    }
  }

  at(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  raw(name: string): unknown {
    this.#seen.add(name);
    return this.#value[name];
  }

  has(name: string): boolean {
    return this.#value[name] !== undefined && this.#value[name] !== null;
  }

  /** Reports every field that no reader method asked for. Call last. */
  done(): void {
    for (const key of Object.keys(this.#value)) {
      if (!this.#seen.has(key)) this.issues.add(this.at(key), 'unknown field');
    }
  }

  string(
    name: string,
    options: {
      required?: boolean;
      secret?: boolean;
      pattern?: RegExp;
      patternText?: string;
      max?: number;
    } = {},
  ): string | undefined {
    let v = this.raw(name);
    if (v === undefined || v === null) {
      if (options.required) this.issues.add(this.at(name), 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.issues.add(this.at(name), `expected a string, got ${describe(v)}`);
      return undefined;
    }
    if (options.secret) {
      const resolved = resolveReference(v, this.at(name), this.issues);
      if (resolved === undefined) return undefined;
      v = resolved;
    }
    const s = v as string;
    if (s.length === 0) {
      this.issues.add(this.at(name), 'must not be empty');
      return undefined;
    }
    if (options.max !== undefined && s.length > options.max) {
      this.issues.add(this.at(name), `must be at most ${options.max} characters`);
      return undefined;
    }
    if (options.pattern && !options.pattern.test(s)) {
      this.issues.add(
        this.at(name),
        `expected ${options.patternText ?? `to match ${options.pattern}`}, got ${describe(s)}`,
      );
      return undefined;
    }
    return s;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback?: T): T | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      this.issues.add(this.at(name), `expected one of ${allowed.join(', ')}, got ${describe(v)}`);
      return fallback;
    }
    return v as T;
  }

  boolean(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      this.issues.add(this.at(name), `expected true or false, got ${describe(v)}`);
      return fallback;
    }
    return v;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.issues.add(this.at(name), `expected an integer from ${min} to ${max}, got ${describe(v)}`);
      return fallback;
    }
    return v;
  }

  array(name: string): unknown[] | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.issues.add(this.at(name), `expected a list, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  stringList(
    name: string,
    options: { secret?: boolean; allowed?: readonly string[] } = {},
  ): string[] | undefined {
    const list = this.array(name);
    if (list === undefined) return undefined;
    const out: string[] = [];
    list.forEach((item, i) => {
      const path = `${this.at(name)}[${i}]`;
      if (typeof item !== 'string' || item.length === 0) {
        this.issues.add(path, `expected a non-empty string, got ${describe(item)}`);
        return;
      }
      const value = options.secret ? resolveReference(item, path, this.issues) : item;
      if (value === undefined) return;
      if (options.allowed && !options.allowed.includes(value)) {
        this.issues.add(path, `expected one of ${options.allowed.join(', ')}, got ${describe(value)}`);
        return;
      }
      out.push(value);
    });
    return out;
  }

  object(name: string): ObjectReader {
    return new ObjectReader(this.raw(name), this.at(name), this.issues);
  }
}

/** Resolves `env:NAME` / `file:PATH` through the caller's resolver; other strings are literal. */
export function resolveReference(value: string, path: string, issues: Issues): string | undefined {
  const m = REFERENCE.exec(value);
  if (!m) return value;
  if (issues.resolveSecret === undefined) {
    issues.add(path, `${m[1]}: references need a resolver (pass resolveSecret to parseServerConfig)`);
    return undefined;
  }
  let resolved: string | undefined;
  try {
    resolved = issues.resolveSecret(value, path);
  } catch (e) {
    issues.add(path, `cannot resolve ${m[1]}:${m[2]}: ${(e as Error).message}`);
    return undefined;
  }
  if (resolved === undefined || resolved === '') {
    issues.add(
      path,
      m[1] === 'env' ? `environment variable ${m[2]} is not set` : `${m[1]}:${m[2]} resolved to nothing`,
    );
    return undefined;
  }
  return resolved;
}
