// Debian's Chromium driven by playwright-core, for browser tests: the fixed executable, headless
// flags that keep it from phoning home, and a fresh profile directory per session, removed by
// close(). Never downloads a browser.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * True when Chromium is installed. When it is not: throws under CI=true, otherwise prints that
 * `what` is skipped and returns false (use with describe.skipIf(!available)).
 */
export function chromiumAvailable(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true')
    throw new Error(`${CHROMIUM} is required under CI=true (apt-get install chromium)`);
  console.warn(`skipping ${what}: ${CHROMIUM} not found (apt-get install chromium)`);
  return false;
}

export interface ChromiumProfile {
  /** The user-data-dir: what the browser keeps (IndexedDB, cookies) survives a relaunch. */
  dir: string;
  /** Launches Chromium on this profile; call again after closing the context to restart it. */
  launch(): Promise<BrowserContext>;
  /** Closes the browser if it is open and removes the profile. */
  close(): Promise<void>;
}

/** A fresh, empty profile; `viewport` as in playwright (default 1280×720). */
export function chromiumProfile(
  options: { viewport?: { width: number; height: number } } = {},
): ChromiumProfile {
  const dir = mkdtempSync(join(tmpdir(), 'keybound-chromium-'));
  let context: BrowserContext | undefined;
  return {
    dir,
    launch: async () => {
      context = await chromium.launchPersistentContext(dir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        ...options,
      });
      return context;
    },
    close: async () => {
      try {
        await context?.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
