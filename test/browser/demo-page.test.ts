// The /demo page of `keybound serve` in a real Chromium (Debian's, driven by playwright-core): the
// page loads under its CSP without inline script, keeps a non-extractable key in IndexedDB, signs
// in as the demo user (code + PKCE + DPoP with dpop_jkt, the built-in login page), calls the API,
// and shows the refusal when the token is replayed without the key; the token copied out of the
// page fails from Node too. A screenshot goes to test-results/demo-page.png.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_CSP, loadServeConfig, type RunningServe, startServe } from '@keybound/cli/serve';
import { createProof, generateDpopKey, parseWwwAuthenticate } from '@keybound/core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleDemo } from '../../packages/cli/scripts/bundle-demo.mjs';
import { type ChromiumProfile, chromiumAvailable, chromiumProfile } from '../support/chromium.js';

const available = chromiumAvailable('the demo page test');

const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe.skipIf(!available)('the keybound serve demo page in Chromium', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'keybound-demo-page-'));
  let serve: RunningServe;
  let browser: ChromiumProfile;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  let accessToken = '';
  let pageJkt = '';

  beforeAll(async () => {
    const assets = join(workDir, 'demo');
    await bundleDemo(assets);
    const config = await loadServeConfig(
      { port: '0' },
      { stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd: workDir },
    );
    serve = await startServe(config, { demoAssetsDir: assets });
    browser = chromiumProfile({ viewport: { width: 1000, height: 900 } });
    page = await (await browser.launch()).newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await serve?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('serves the page with a strict CSP and no inline script, and it starts without errors', async () => {
    const response = await page.goto(serve.urls.demo);
    expect(response?.status()).toBe(200);
    const csp = response?.headers()['content-security-policy'];
    expect(csp).toBe(DEMO_CSP);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Ready.');
    expect(await page.locator('script:not([src])').count()).toBe(0);
    expect(await page.locator('[onclick], [onload], [onerror]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it('keeps a non-extractable key in IndexedDB: the page says so, and exportKey is refused', async () => {
    expect(await page.textContent('#key-extractable')).toBe('false');
    expect(await page.textContent('#key-alg')).toBe('ES256');
    expect(await page.textContent('#key-stored')).toMatch(/^IndexedDB/);
    pageJkt = (await page.textContent('#key-jkt')) ?? '';
    expect(pageJkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.click('#export-key');
    await expect.poll(() => page.getAttribute('#key-result', 'data-outcome')).toBe('InvalidAccessError');
    // independently of the page's own code: read the stored CryptoKey from IndexedDB and try
    const stored = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('keybound');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const record = await new Promise<{ privateKey: CryptoKey }>((resolve, reject) => {
        const get = db.transaction('dpop-keys').objectStore('dpop-keys').get('default');
        get.onsuccess = () => resolve(get.result as { privateKey: CryptoKey });
        get.onerror = () => reject(get.error);
      });
      db.close();
      const exported = await crypto.subtle.exportKey('pkcs8', record.privateKey).then(
        () => 'exported',
        (e: Error) => e.name,
      );
      return {
        type: record.privateKey.type,
        extractable: record.privateKey.extractable,
        isCryptoKey: record.privateKey instanceof CryptoKey,
        exported,
      };
    });
    expect(stored).toEqual({
      type: 'private',
      extractable: false,
      isCryptoKey: true,
      exported: 'InvalidAccessError',
    });
  });

  it('signs in as the demo user with code + PKCE + DPoP through the built-in login page', async () => {
    const demo = serve.demo!;
    await page.click('#login');
    await page.waitForURL((url) => url.pathname === '/authorize' || url.pathname === '/login');
    const authorizeUrl = new URL(page.url());
    if (authorizeUrl.pathname === '/authorize') {
      expect(authorizeUrl.searchParams.get('dpop_jkt')).toBe(pageJkt);
      expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    }
    await page.fill('#username', demo.username);
    await page.fill('#password', demo.password);
    await Promise.all([page.waitForURL(`${serve.urls.demo}**`), page.click('button[type=submit]')]);
    await page.waitForFunction(() =>
      document.getElementById('session')?.textContent?.startsWith('Signed in'),
    );
    // the code and state are gone from the address bar
    expect(page.url()).toBe(serve.urls.demo);
    const session = await page.textContent('#session');
    expect(session).toContain(`Signed in as ${demo.username}: token_type DPoP`);
    expect(session).toContain('= this browser’s key');
    accessToken = await page.inputValue('#token');
    const claims = claimsOf(accessToken);
    expect(claims).toMatchObject({ sub: demo.username, client_id: demo.spaClientId, cnf: { jkt: pageJkt } });
  });

  it('calls the API with the DPoP-bound token and shows its answer', async () => {
    await page.click('#call-api');
    const card = page.locator('#api-result[data-status]');
    await card.waitFor();
    expect(await card.getAttribute('data-status')).toBe('200');
    expect(await card.getAttribute('class')).toContain('ok');
    const text = (await card.textContent()) ?? '';
    expect(text).toContain(`"message": "hello ${serve.demo!.username}"`);
    expect(text).toContain(`"jkt": "${pageJkt}"`);
    expect(text).toContain('"binding": "dpop"');
  });

  it('replays the stolen token without the key and shows both refusals (status, WWW-Authenticate, code)', async () => {
    await page.click('#replay');
    const bearer = page.locator('#replay-bearer');
    const ownKey = page.locator('#replay-own-key');
    await ownKey.waitFor();
    expect(await bearer.getAttribute('data-status')).toBe('401');
    expect(await bearer.getAttribute('data-code')).toBe('bound_token_as_bearer');
    expect(await bearer.locator('.challenge').textContent()).toMatch(/^DPoP .*error="invalid_token"/);
    expect(await ownKey.getAttribute('data-status')).toBe('401');
    expect(await ownKey.getAttribute('data-code')).toBe('jkt_mismatch');
    expect(await ownKey.locator('.challenge').textContent()).toContain('error="invalid_token"');
    expect(await page.textContent('#status')).toBe('Both replays were refused.');
    expect(pageErrors).toEqual([]);
  });

  it('looks right: a screenshot of the whole page after the replay', async () => {
    mkdirSync(RESULTS, { recursive: true });
    const path = join(RESULTS, 'demo-page.png');
    await page.screenshot({ path, fullPage: true });
    expect(existsSync(path)).toBe(true);
  });

  it('the token copied out of the page fails from Node: as Bearer, and with a proof from another key', async () => {
    expect(accessToken).not.toBe('');
    const api = serve.urls.api;
    const asBearer = await fetch(api, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers.get('keybound-code')).toBe('bound_token_as_bearer');
    const thief = await generateDpopKey('ES256');
    const proof = await createProof(thief, { htm: 'GET', htu: api, accessToken });
    const withProof = await fetch(api, { headers: { authorization: `DPoP ${accessToken}`, dpop: proof } });
    expect(withProof.status).toBe(401);
    expect(withProof.headers.get('keybound-code')).toBe('jkt_mismatch');
    const [challenge] = parseWwwAuthenticate(withProof.headers.get('www-authenticate') ?? '');
    expect(challenge).toMatchObject({ scheme: 'DPoP', params: { error: 'invalid_token' } });
    // the page itself still gets through: the token is fine, only its holder is checked
    await page.click('#call-api');
    await expect.poll(() => page.getAttribute('#api-result', 'data-status')).toBe('200');
  });

  it('keeps the key and the session across a reload (same jkt, still signed in)', async () => {
    await page.reload();
    await page.waitForFunction(() =>
      document.getElementById('session')?.textContent?.startsWith('Signed in'),
    );
    expect(await page.textContent('#key-jkt')).toBe(pageJkt);
    expect(await page.inputValue('#token')).toBe(accessToken);
  });
});
