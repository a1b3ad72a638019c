/**
 * Debian's Chromium for the browser tests and the UI benchmark, driven by playwright-core (never
 * a downloaded browser). CHROMIUM_PATH or /usr/bin/chromium; without it a browser test is
 * skipped with the reason, except under CI=true, where it is a failure (`.ci/run` installs it
 * through scripts/services/chromium.sh). Each launch gets a fresh profile directory.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export interface ChromiumHandle {
  path: string;
  /** Pass as the `skip` option of test(): a reason, or false. */
  skip: string | false;
}

export function chromium(): ChromiumHandle {
  const path = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (existsSync(path)) return { path, skip: false };
  if (process.env.CI === 'true') {
    throw new Error(`Chromium not found at ${path}: under CI=true the browser tests must run (.ci/run installs Debian's chromium through scripts/services/chromium.sh; or set CHROMIUM_PATH)`);
  }
  return { path, skip: `Chromium not found at ${path}: install Debian's (apt-get install chromium, or bash scripts/services/chromium.sh) or set CHROMIUM_PATH` };
}

/** A headless browser context on a fresh profile; close() also removes the profile. */
export async function launchChromium(path: string, viewport = { width: 1400, height: 900 }): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const { chromium: pw } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'wattflow-chromium-'));
  const context = await pw.launchPersistentContext(profile, { executablePath: path, headless: true, args: CHROMIUM_ARGS, viewport, reducedMotion: 'reduce' });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A headless browser (Playwright gives it a temporary profile); each newContext() is a fresh cache and storage. */
export async function launchBrowser(path: string): Promise<Browser> {
  const { chromium: pw } = await import('playwright-core');
  return pw.launch({ executablePath: path, headless: true, args: CHROMIUM_ARGS });
}
