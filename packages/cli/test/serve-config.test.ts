// keybound serve's configuration: flags, the file (YAML or JSON), the four sections, secrets from
// the environment; every problem is a usage error (exit 2) naming its field, reported together,
// before anything is bound or written; nothing secret is echoed.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { checkServeConfig, parseConfigText, readServeConfig, ServeConfigError } from '../src/serve/index.js';
import { captureIo, cli, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const EXAMPLE = readFileSync(new URL('../keybound.config.example.yaml', import.meta.url), 'utf8');
const EXAMPLE_ENV = {
  BILLING_SECRET: 'billing-secret-0123456789abcdef0123',
  ALICE_PASSWORD: 'alice-password-123',
  AS_NONCE_SECRET: 'as-nonce-secret-0123456789abcdef0123',
  API_NONCE_SECRET: 'api-nonce-secret-0123456789abcdef012',
};

/** readServeConfig + checkServeConfig on a parsed document: the issues, or [] when valid. */
function issuesOf(value: Record<string, unknown>, env: Record<string, string> = {}): string[] {
  try {
    const { config, issues } = readServeConfig(value, { baseDir: tmp.dir, env, flags: {} });
    checkServeConfig(config, issues);
    return [];
  } catch (e) {
    if (!(e instanceof ServeConfigError)) throw e;
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

/** Runs `keybound serve --config FILE` in-process with a file holding `text`. */
async function serveWith(text: string, name = 'config.yaml', env: Record<string, string> = {}) {
  const file = tmp.write(name, text);
  const io = captureIo(tmp.dir);
  Object.assign(io, { env });
  const { main } = await import('../src/main.js');
  const code = await main(['serve', '--port', '0', '--config', file], io);
  return { code, stdout: io.out.join(''), stderr: io.err.join('') };
}

describe('keybound serve configuration', () => {
  it('accepts the shipped example when its environment variables are set', () => {
    expect(issuesOf(parseConfigText(EXAMPLE, 'example'), EXAMPLE_ENV)).toEqual([]);
  });

  it('names every unset environment variable of the example, by field, in one error', () => {
    const issues = issuesOf(parseConfigText(EXAMPLE, 'example'));
    expect(issues).toEqual(
      expect.arrayContaining([
        'authorization_server.clients[0].client_secret: environment variable BILLING_SECRET is not set',
        'authorization_server.users[0].password: environment variable ALICE_PASSWORD is not set',
        'authorization_server.dpop.nonce.secrets[0]: environment variable AS_NONCE_SECRET is not set',
        'api.nonce_secrets[0]: environment variable API_NONCE_SECRET is not set',
      ]),
    );
  });

  it('exits 2 and names the bad field of an authorization server client, without binding the port', async () => {
    const r = await serveWith(
      [
        'authorization_server:',
        '  clients:',
        '    - { client_id: a, token_endpoint_auth_method: none, grant_types: [authorization_code], redirect_uris: [http://127.0.0.1/cb] }',
        '    - { client_id: b, client_secret: s, token_endpoint_auth_method: client_secret_jwt, grant_types: [client_credentials] }',
      ].join('\n'),
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^keybound serve: invalid configuration in '.*config\.yaml': authorization_server\.clients\[1\]\.token_endpoint_auth_method: expected one of .*, got "client_secret_jwt"; see 'keybound serve --help'\n$/,
    );
    expect(r.stderr.split('\n')).toHaveLength(2); // one line
  });

  it('names a bad field of the API policy under api.policy', () => {
    expect(issuesOf({ api: { policy: { routes: [{ path: '/api/hello', mode: 'enforced' }] } } })).toEqual([
      'api.policy.routes[0].mode: expected off|report|enforce, received "enforced"',
    ]);
  });

  it('reports problems of every section together', () => {
    const issues = issuesOf({
      server: { port: 70000, colour: 'blue' },
      demo: { enabled: 'yes' },
      api: { nonce_secrets: ['short'], policy: { defaults: { require: 'both' } } },
      authorization_server: { tokens: { access_token_ttl: 1 } },
      extra: {},
    });
    expect(issues.map((i) => i.split(':')[0])).toEqual(
      expect.arrayContaining([
        'extra',
        'server.port',
        'server.colour',
        'demo.enabled',
        'api.nonce_secrets[0]',
        'api.policy.defaults.require',
        'authorization_server.tokens.access_token_ttl',
      ]),
    );
  });

  it('refuses the fields serve owns: issuer, listeners and the API resource', () => {
    expect(
      issuesOf({
        authorization_server: { issuer: 'https://as.example', listeners: { http: { port: 1 } } },
        api: { policy: { resource: 'https://api.example' } },
      }).map((i) => i.split(':')[0]),
    ).toEqual(['authorization_server.issuer', 'authorization_server.listeners', 'api.policy.resource']);
  });

  it('refuses a public_url that is not an origin, and explains why the demo cannot use plain http elsewhere', () => {
    expect(issuesOf({ server: { public_url: 'https://as.example/keybound' } })[0]).toMatch(
      /^server\.public_url: expected an origin without a path/,
    );
    const demo = issuesOf({ server: { public_url: 'http://as.example.com' } });
    expect(demo).toHaveLength(1);
    expect(demo[0]).toMatch(/^demo: the client serve adds \(keybound-demo-spa\), redirect_uris\[0\]: /);
    expect(issuesOf({ server: { public_url: 'http://as.example.com' }, demo: { enabled: false } })).toEqual(
      [],
    );
  });

  it('reads secrets from files relative to the configuration file', () => {
    tmp.write('nonce.txt', 'n'.repeat(40));
    expect(issuesOf({ api: { nonce_secrets: ['file:nonce.txt'] } })).toEqual([]);
    expect(issuesOf({ api: { nonce_secrets: ['file:missing.txt'] } })).toEqual([
      'api.nonce_secrets[0]: cannot resolve file:missing.txt: no such file',
    ]);
  });

  it('keeps authorization_server.storage.encryption_secrets when --database switches storage to PostgreSQL', () => {
    const value = {
      authorization_server: {
        storage: { type: 'sqlite', path: 'x.db', encryption_secrets: ['env:KEY_SEAL_SECRET'] },
      },
    };
    const flags = { database: 'postgres://127.0.0.1/test' };
    const { config } = readServeConfig(value, { baseDir: tmp.dir, env: {}, flags });
    expect(config.authorizationServer.storage).toEqual({
      type: 'postgres',
      url: 'postgres://127.0.0.1/test',
      encryption_secrets: ['env:KEY_SEAL_SECRET'],
    });
    expect(issuesOf(value, { KEY_SEAL_SECRET: 'too short' })).toEqual([
      'authorization_server.storage.encryption_secrets[0]: must be at least 32 bytes',
    ]);
    expect(issuesOf(value, { KEY_SEAL_SECRET: 's'.repeat(32) })).toEqual([]);
  });

  it('never echoes a secret value in an error', () => {
    const secret = 'too-short-but-secret';
    const issues = issuesOf({ api: { nonce_secrets: [secret] } }).join('\n');
    expect(issues).toBe('api.nonce_secrets[0]: must be at least 32 bytes');
    expect(issues).not.toContain(secret);
  });

  it('reads JSON files as well, and refuses duplicate keys with their line', async () => {
    const json = await serveWith(
      '{ "server": { "host": "127.0.0.1" }, "demo": { "enabled": "yes" } }',
      'c.json',
    );
    expect(json.code).toBe(2);
    expect(json.stderr).toContain('demo.enabled: expected true or false, got "yes"');
    const duplicated = await serveWith('server:\n  port: 1\n  port: 2\n');
    expect(duplicated.code).toBe(2);
    expect(duplicated.stderr).toMatch(/is not valid YAML or JSON at line 3, column 3: a key is repeated/);
    const duplicatedJson = await serveWith('{"demo": {"enabled": true, "enabled": false}}', 'd.json');
    expect(duplicatedJson.stderr).toMatch(/a key is repeated/);
  });

  it('refuses a document that is not a mapping, broken YAML, several documents and huge files', async () => {
    expect((await serveWith('- a\n- b\n')).stderr).toMatch(/must hold a mapping of sections/);
    expect((await serveWith('server: [\n')).stderr).toMatch(/is not valid YAML or JSON at line/);
    expect((await serveWith('server: {}\n---\ndemo: {}\n')).code).toBe(2);
    const big = await serveWith(`# ${'x'.repeat(1024 * 1024 + 10)}\n`);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/is larger than 1048576 bytes/);
  });

  it('refuses a YAML alias bomb instead of expanding it', async () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
      'f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]',
    ].join('\n');
    const r = await serveWith(bomb);
    expect(r.code).toBe(2);
    expect(r.stderr.length).toBeLessThan(400);
  });

  it('exits 2 for a missing --config file, and reads keybound.config.yaml from the directory by default', async () => {
    const missing = await cli(['serve', '--config', 'nope.yaml'], tmp.dir);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toMatch(/--config file 'nope\.yaml': no such file/);
    const dir = tempDir();
    try {
      dir.write('keybound.config.yaml', 'server: { port: -1 }\n');
      const r = await cli(['serve'], dir.dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /in 'keybound\.config\.yaml': server\.port: expected an integer from 0 to 65535/,
      );
      // nothing was written: the data directory is made only once the configuration is valid
      expect(existsSync(join(dir.dir, '.keybound'))).toBe(false);
    } finally {
      dir.cleanup();
    }
  });

  it('checks the flags: --port, and --database / --redis URLs without echoing them', async () => {
    expect((await cli(['serve', '--port', '65536'], tmp.dir)).stderr).toMatch(
      /--port must be an integer from 0 to 65535, not '65536'/,
    );
    expect((await cli(['serve', '--port', '0x10'], tmp.dir)).code).toBe(2);
    const db = await cli(['serve', '--database', 'mysql://root:hunter2@db/x'], tmp.dir);
    expect(db.code).toBe(2);
    expect(db.stderr).toMatch(/--database must be a URL like postgres:\/\//);
    expect(db.stderr).not.toContain('hunter2');
    const redis = await cli(['serve', '--redis', 'http://:hunter2@cache'], tmp.dir);
    expect(redis.code).toBe(2);
    expect(redis.stderr).not.toContain('hunter2');
    expect((await cli(['serve', '--port', '1', '--port', '2'], tmp.dir)).stderr).toMatch(
      /given more than once/,
    );
  });

  it('exits 1 with a clear message when the port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dir = tempDir();
      const r = await cli(['serve', '--port', String(port)], dir.dir);
      dir.cleanup();
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `keybound serve: port ${port} on 127.0.0.1 is in use: choose another with --port (0 picks a free one)\n`,
      );
    } finally {
      blocker.close();
    }
  });

  it('answers any document with a valid configuration or a ServeConfigError, nothing else (property)', () => {
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.double());
    const section = fc.dictionary(
      fc.constantFrom(
        'port',
        'host',
        'public_url',
        'data_dir',
        'enabled',
        'username',
        'policy',
        'nonce_secrets',
        'replay_prefix',
        'clients',
        'users',
        'storage',
        'replay',
        'tokens',
        'x',
      ),
      fc.oneof(
        leaf,
        fc.array(leaf, { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 8 }), leaf, { maxKeys: 3 }),
      ),
      { maxKeys: 4 },
    );
    const doc = fc.dictionary(
      fc.constantFrom('server', 'authorization_server', 'api', 'demo', 'other'),
      fc.oneof(section, leaf),
      { maxKeys: 4 },
    );
    fc.assert(
      fc.property(doc, (value) => {
        try {
          const { config, issues } = readServeConfig(value, { baseDir: tmp.dir, env: {}, flags: {} });
          checkServeConfig(config, issues);
        } catch (e) {
          if (!(e instanceof ServeConfigError)) throw e;
          expect(e.issues.length).toBeGreaterThan(0);
          for (const issue of e.issues)
            expect(issue.path).toMatch(/^(server|authorization_server|api|demo|other)\b/);
        }
      }),
      { numRuns: 150 },
    );
  });
});
