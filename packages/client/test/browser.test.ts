// The browser entry in a real Chromium (Debian's, driven by playwright-core): bundle size, a
// non-extractable key kept in IndexedDB across reloads and restarts, a DPoP call across origins
// (CORS exposing DPoP-Nonce, WWW-Authenticate and Date), the SPA login, and the typed error and
// explicit fallback when IndexedDB cannot be used.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDpopFetch, DpopSession, generateDpopKey } from '@keybound/client';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChromiumProfile, chromiumAvailable, chromiumProfile } from '../../../test/support/chromium.js';
import { bundleBrowser } from '../scripts/bundle-browser.mjs';
import { type ListeningServer, listen } from './helpers/http-test-server.js';
import {
  startTestAuthorizationServer,
  startTestResourceServer,
  type TestAuthorizationServer,
  type TestResourceServer,
} from './helpers/test-oauth-servers.js';

type Kb = typeof import('@keybound/client');
declare global {
  interface Window {
    kb: Kb;
  }
}

const available = chromiumAvailable('browser tests');

const PAGE =
  '<!doctype html><meta charset="utf-8"><title>keybound</title><script type="module">import * as kb from "/client.js"; window.kb = kb;</script>';

describe.skipIf(!available)('browser entry in Chromium', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'keybound-browser-'));
  let browser: ChromiumProfile;
  let bundle: { outfile: string; bytes: number; gzipBytes: number };
  let site: ListeningServer;
  let as: TestAuthorizationServer;
  let rs: TestResourceServer;
  let context: BrowserContext;

  async function open(path = '/', init?: string): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    if (init !== undefined) await page.addInitScript(init);
    await page.goto(`${site.origin}${path}`);
    await page.waitForFunction(() => 'kb' in window);
    return page;
  }

  beforeAll(async () => {
    bundle = await bundleBrowser(join(workDir, 'client.min.js'));
    console.log(
      `browser bundle: ${bundle.bytes} bytes minified, ${bundle.gzipBytes} bytes minified+gzipped (${(bundle.gzipBytes / 1024).toFixed(1)} KiB)`,
    );
    const code = readFileSync(bundle.outfile);
    site = await listen((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/client.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(code);
      } else if (path === '/moved') {
        res.writeHead(302, { location: '/' });
        res.end();
      } else if (path === '/' || path === '/callback') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(PAGE);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    as = await startTestAuthorizationServer({
      clients: { spa: { auth: 'none', redirectUris: [`${site.origin}/callback`] } },
      corsOrigin: site.origin,
    });
    rs = await startTestResourceServer({ tokens: as.tokens, corsOrigin: site.origin });
    browser = chromiumProfile();
    context = await browser.launch();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([site?.close(), as?.close(), rs?.close()]);
    rmSync(workDir, { recursive: true, force: true });
  });

  it('bundles without node: imports and stays small', () => {
    const text = readFileSync(bundle.outfile, 'utf8');
    expect(text).not.toMatch(/\bnode:[a-z]/);
    expect(text).not.toMatch(/\bundici\b/);
    expect(bundle.gzipBytes).toBeLessThan(32 * 1024);
  });

  it('keeps a non-extractable key in IndexedDB: the same jkt after a reload, exportKey rejected', async () => {
    const page = await open();
    const describeKey = () =>
      page.evaluate(async () => {
        const { key, created, persisted } = await window.kb.loadOrCreateBrowserKey();
        const privateKey = key.privateKey as CryptoKey;
        const exported = await crypto.subtle.exportKey('jwk', privateKey).then(
          () => 'exported',
          (e: Error) => e.name,
        );
        return {
          jkt: key.jkt,
          alg: key.alg,
          created,
          persisted,
          extractable: privateKey.extractable,
          type: privateKey.type,
          exported,
        };
      });
    const first = await describeKey();
    expect(first).toMatchObject({
      alg: 'ES256',
      created: true,
      persisted: true,
      extractable: false,
      type: 'private',
    });
    expect(first.exported).toBe('InvalidAccessError');
    await page.reload();
    await page.waitForFunction(() => 'kb' in window);
    const again = await describeKey();
    expect(again).toMatchObject({ jkt: first.jkt, created: false, persisted: true, extractable: false });
    expect(again.exported).toBe('InvalidAccessError');
    await page.close();
  });

  it('keeps the key across a browser restart', async () => {
    const jktOf = async () => {
      const page = await open();
      const jkt = await page.evaluate(async () => (await window.kb.loadOrCreateBrowserKey()).key.jkt);
      await page.close();
      return jkt;
    };
    const before = await jktOf();
    await context.close();
    context = await browser.launch();
    expect(await jktOf()).toBe(before);
  });

  it('makes a cross-origin DPoP call that the resource server verifies, retrying once for its nonce', async () => {
    const page = await open();
    for (const alg of ['ES256', 'EdDSA'] as const) {
      const jkt = await page.evaluate(
        async (a) => (await window.kb.loadOrCreateBrowserKey({ alg: a, id: a })).key.jkt,
        alg,
      );
      const token = `at_browser_${alg}`;
      as.tokens.set(token, { clientId: 'spa', jkt, expiresAt: Date.now() / 1000 + 600 });
      const before = rs.requests.length;
      const result = await page.evaluate(
        async ({ a, origin, token }) => {
          const { key } = await window.kb.loadOrCreateBrowserKey({ alg: a, id: a });
          const session = new window.kb.DpopSession({ key });
          const fetch = window.kb.createDpopFetch({
            session,
            origins: [origin],
            getAccessToken: () => token,
          });
          const response = await fetch(`${origin}/api/hello?from=browser`, { method: 'POST', body: 'hi' });
          return { status: response.status, body: await response.json() };
        },
        { a: alg, origin: rs.origin, token },
      );
      expect(result).toMatchObject({ status: 200, body: { ok: true, jkt, body: 'hi' } });
      expect(rs.requests.slice(before).map((r) => r.status)).toEqual([401, 200]);
      expect(rs.requests.at(-1)!.proof!.htu).toBe(`${rs.origin}/api/hello`);
    }
    await page.close();
  });

  it('logs in as a single-page app (code + PKCE + dpop_jkt), calls the API, and the copied token fails from Node', async () => {
    const page = await open();
    const url = await page.evaluate(
      async ({ issuer, redirectUri }) => {
        const { key } = await window.kb.loadOrCreateBrowserKey();
        const client = await window.kb.OAuthClient.discover(issuer, { clientId: 'spa', dpopKey: key });
        return (await window.kb.startLogin(client, { redirectUri, scope: 'read', navigate: false })).url;
      },
      { issuer: as.issuer, redirectUri: `${site.origin}/callback` },
    );
    // the browser goes to the AS, which redirects back to /callback with the code
    await page.goto(url);
    expect(new URL(page.url()).pathname).toBe('/callback');
    await page.waitForFunction(() => 'kb' in window);
    const result = await page.evaluate(
      async ({ issuer, api }) => {
        const { key } = await window.kb.loadOrCreateBrowserKey();
        const client = await window.kb.OAuthClient.discover(issuer, {
          clientId: 'spa',
          dpopKey: key,
          protectedOrigins: [api],
        });
        const tokens = await window.kb.finishLogin(client);
        const response = await client.fetch(`${api}/api/profile`);
        const reused = await window.kb.finishLogin(client).then(
          () => 'accepted',
          (e: { code: string }) => e.code,
        );
        return {
          tokenType: tokens?.tokenType,
          accessToken: tokens!.accessToken,
          jkt: key.jkt,
          status: response.status,
          body: await response.json(),
          reused,
        };
      },
      { issuer: as.issuer, api: rs.origin },
    );
    expect(result).toMatchObject({
      tokenType: 'DPoP',
      status: 200,
      body: { clientId: 'spa', jkt: result.jkt },
      reused: 'state_mismatch',
    });
    // the token copied out of the page is useless without the page's key
    const thief = createDpopFetch({
      session: new DpopSession({ key: await generateDpopKey() }),
      origins: [rs.origin],
      getAccessToken: () => result.accessToken,
    });
    const stolen = await thief(`${rs.origin}/api/profile`);
    expect(stolen.status).toBe(401);
    expect(stolen.headers.get('www-authenticate')).toContain('invalid_token');
    const asBearer = await fetch(`${rs.origin}/api/profile`, {
      headers: { authorization: `Bearer ${result.accessToken}` },
    });
    expect(asBearer.status).toBe(401);
    await page.close();
  });

  it('reports an IndexedDB whose open() fails as key_storage_unavailable, and falls back only when asked', async () => {
    const page = await open();
    const result = await page.evaluate(async () => {
      // a database at a higher version makes open(name, 1) fail with VersionError
      await new Promise<void>((resolve, reject) => {
        const request = indexedDB.open('taken', 5);
        request.onsuccess = () => {
          request.result.close();
          resolve();
        };
        request.onerror = () => reject(request.error);
      });
      const strict = await window.kb.loadOrCreateBrowserKey({ dbName: 'taken' }).then(
        () => ({ code: 'none', received: undefined }),
        (e: { code: string; detail: { received?: string } }) => ({
          code: e.code,
          received: e.detail.received,
        }),
      );
      const fallback = await window.kb.loadOrCreateBrowserKey({ dbName: 'taken', fallback: 'memory' });
      return {
        strict,
        persisted: fallback.persisted,
        storageError: fallback.storageError?.code,
        extractable: (fallback.key.privateKey as CryptoKey).extractable,
      };
    });
    expect(result).toEqual({
      strict: { code: 'key_storage_unavailable', received: 'VersionError' },
      persisted: false,
      storageError: 'key_storage_unavailable',
      extractable: false,
    });
    await page.close();
  });

  it.each([
    ['put', 'DataCloneError'],
    ['get', 'InvalidStateError'],
  ])(
    'reports IndexedDB %s throwing %s as key_storage_unavailable, and falls back only when asked',
    async (method, name) => {
      const page = await open(
        '/',
        `IDBObjectStore.prototype.${method} = function () { throw new DOMException('refused by the test', '${name}'); };`,
      );
      const result = await page.evaluate(async (dbName) => {
        const strict = await window.kb.loadOrCreateBrowserKey({ dbName }).then(
          () => ({ code: 'none', received: undefined }),
          (e: { code?: string; name?: string; detail?: { received?: string } }) => ({
            code: e.code ?? `raw ${e.name}`,
            received: e.detail?.received,
          }),
        );
        const fallback = await window.kb.loadOrCreateBrowserKey({ dbName, fallback: 'memory' });
        return {
          strict,
          persisted: fallback.persisted,
          created: fallback.created,
          storageError: fallback.storageError?.code,
          extractable: (fallback.key.privateKey as CryptoKey).extractable,
        };
      }, `failing-${method}`);
      expect(result).toEqual({
        strict: { code: 'key_storage_unavailable', received: name },
        persisted: false,
        created: true,
        storageError: 'key_storage_unavailable',
        extractable: false,
      });
      await page.close();
    },
  );

  it('refuses to replace a stored key of another algorithm unless asked to (its tokens would be lost)', async () => {
    const page = await open();
    const result = await page.evaluate(async () => {
      const first = await window.kb.loadOrCreateBrowserKey({ id: 'alg-test', alg: 'EdDSA' });
      const again = await window.kb.loadOrCreateBrowserKey({ id: 'alg-test', alg: 'EdDSA' });
      const refused = await window.kb.loadOrCreateBrowserKey({ id: 'alg-test' }).then(
        () => 'replaced silently',
        (e: { code: string; detail: { expected?: string; received?: string } }) =>
          `${e.code} ${e.detail.expected} ${e.detail.received}`,
      );
      const still = await window.kb.loadOrCreateBrowserKey({ id: 'alg-test', alg: 'EdDSA' });
      const replaced = await window.kb.loadOrCreateBrowserKey({
        id: 'alg-test',
        alg: 'ES256',
        replace: true,
      });
      const after = await window.kb.loadOrCreateBrowserKey({ id: 'alg-test', alg: 'ES256' });
      return {
        kept: first.key.jkt === again.key.jkt && again.created === false,
        refused,
        stillFirst: still.key.jkt === first.key.jkt,
        replaced: replaced.created && replaced.key.alg === 'ES256' && replaced.key.jkt !== first.key.jkt,
        persisted: after.key.jkt === replaced.key.jkt,
      };
    });
    expect(result).toEqual({
      kept: true,
      refused: 'stored_key_mismatch ES256 EdDSA',
      stillFirst: true,
      replaced: true,
      persisted: true,
    });
    await page.close();
  });

  it('throws redirect_not_followed for a redirected protected request: the browser hides where it leads', async () => {
    const page = await open();
    const result = await page.evaluate(async (origin) => {
      const key = await window.kb.generateDpopKey('ES256');
      const fetch = window.kb.createDpopFetch({
        session: new window.kb.DpopSession({ key }),
        origins: [origin],
      });
      const plain = (await window.fetch(`${origin}/moved`)).status;
      const wrapped = await fetch(`${origin}/moved`).then(
        (r) => `status ${r.status}`,
        (e: { code?: string }) => e.code,
      );
      const manual = (await fetch(`${origin}/moved`, { redirect: 'manual' })).type;
      return { plain, wrapped, manual };
    }, site.origin);
    expect(result).toEqual({ plain: 200, wrapped: 'redirect_not_followed', manual: 'opaqueredirect' });
    await page.close();
  });

  it('does not overwrite a stored key it cannot use, and leaves no connection open when it refuses', async () => {
    const page = await open();
    const result = await page.evaluate(async () => {
      /** A key stored in dbName, then made unusable for this version: an algorithm it does not know. */
      const spoiledKey = async (dbName: string) => {
        const first = await window.kb.loadOrCreateBrowserKey({ dbName, id: 'k' });
        first.store.close();
        await new Promise<void>((resolve, reject) => {
          const request = indexedDB.open(dbName);
          request.onsuccess = () => {
            const db = request.result;
            const tx = db.transaction(db.objectStoreNames[0]!, 'readwrite');
            const store = tx.objectStore(db.objectStoreNames[0]!);
            const get = store.get('k');
            get.onsuccess = () => store.put({ ...get.result, alg: 'ES999' }, 'k');
            tx.oncomplete = () => {
              db.close();
              resolve();
            };
            tx.onerror = () => reject(tx.error);
          };
          request.onerror = () => reject(request.error);
        });
        return first.key;
      };
      await spoiledKey('unusable-record');
      const refused = await window.kb.loadOrCreateBrowserKey({ dbName: 'unusable-record', id: 'k' }).then(
        () => 'overwritten',
        (e: { code: string }) => e.code,
      );
      // the refusal closed its connection: an upgrade of the database is not blocked by it
      const blocked = await new Promise<string>((resolve) => {
        const request = indexedDB.open('unusable-record', 99);
        request.onblocked = () => resolve('blocked');
        request.onsuccess = () => {
          request.result.close();
          resolve('not blocked');
        };
        request.onerror = () => resolve(`error ${request.error?.name}`);
      });
      // with replace: true, a new key takes its place
      const first = await spoiledKey('unusable-record-2');
      const again = await window.kb.loadOrCreateBrowserKey({
        dbName: 'unusable-record-2',
        id: 'k',
        replace: true,
      });
      return { refused, blocked, replaced: { created: again.created, differs: again.key.jkt !== first.jkt } };
    });
    expect(result).toEqual({
      refused: 'stored_key_mismatch',
      blocked: 'not blocked',
      replaced: { created: true, differs: true },
    });
    await page.close();
  });

  it('reports a page without IndexedDB as key_storage_unavailable', async () => {
    const page = await open(
      '/',
      "Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true });",
    );
    const code = await page.evaluate(() =>
      window.kb.loadOrCreateBrowserKey().then(
        () => 'no error',
        (e: { code: string }) => e.code,
      ),
    );
    expect(code).toBe('key_storage_unavailable');
    await page.close();
  });

  it('refuses to store an extractable key in IndexedDB', async () => {
    const page = await open();
    const message = await page.evaluate(async () => {
      const store = await window.kb.openIndexedDbKeyStore({ dbName: 'strict' });
      const key = await window.kb.generateDpopKey('ES256', { extractable: true });
      return store.save(key).then(
        () => 'stored',
        (e: Error) => e.message,
      );
    });
    expect(message).toContain('extractable');
    await page.close();
  });
});
