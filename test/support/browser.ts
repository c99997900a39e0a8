// Headless Chromium for browser tests: Debian's `chromium` package driven by playwright-core (never a browser
// download). Without /usr/bin/chromium (or DOCKHAND_CHROMIUM) browser suites are skipped with a visible notice,
// and fail instead when DOCKHAND_REQUIRE_BROWSER=1 (CI).
//
//   await describeWithBrowser('the console', (browser) => { it(...) });

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';

export const CHROMIUM = process.env.DOCKHAND_CHROMIUM?.trim() || '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const browserRequired = (env: NodeJS.ProcessEnv = process.env): boolean => env.DOCKHAND_REQUIRE_BROWSER === '1';

const HOW_TO_INSTALL = 'install it with: apt-get install -y chromium';

/**
 * `describe` with a browser context: runs only when Chromium is installed; otherwise skipped with a notice, or a
 * single failing test when DOCKHAND_REQUIRE_BROWSER=1.
 */
export const describeWithBrowser = (name: string, fn: (ctx: { context: () => BrowserContext }) => void): void => {
  if (!existsSync(CHROMIUM)) {
    const reason = `no Chromium at ${CHROMIUM}`;
    if (browserRequired()) {
      describe(name, () => {
        it('has a browser', () => {
          throw new Error(`DOCKHAND_REQUIRE_BROWSER=1 but ${reason}; ${HOW_TO_INSTALL}`);
        });
      });
      return;
    }
    console.warn(`\n⚠ Skipping browser test suite "${name}": ${reason}; ${HOW_TO_INSTALL}\n`);
    describe.skip(name, () => {
      it(`needs Chromium (${reason})`, () => {});
    });
    return;
  }
  describe(name, () => {
    let profile = '';
    let context: BrowserContext | undefined;
    beforeAll(async () => {
      profile = mkdtempSync(join(tmpdir(), 'dockhand-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: ARGS,
        headless: true,
        viewport: { width: 1280, height: 900 },
      });
    }, 60_000);
    afterAll(async () => {
      await context?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
    });
    fn({
      context: () => {
        if (!context) throw new Error('the browser did not start');
        return context;
      },
    });
  });
};
