import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanExample } from '../../src/local/example.ts';
import { describeWithBrowser } from '../support/browser.ts';
import { followStream, makeBusyboxContext, packContext, requireDocker, streamError } from '../support/docker.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';

/**
 * The local console in headless Chromium, against dockhand started as a process in local mode (no
 * SLACK_BOT_TOKEN, the bundled examples/dockhand.local.yml) on the test Docker engine. Everything is asserted on
 * the page's text, as a person would read it.
 */

const OUTPUT = new URL('../../test-output/', import.meta.url).pathname;
/** The example's Dockerfile builds FROM ${BASE}; nothing can be pulled here, so the base is built locally. */
const BASE_IMAGE = 'dockhand-test/console-base:busybox';
const DEV = 'U0LOCALDEV';
const LEAD = 'U0LOCALLEAD';
const DEPLOY_TIMEOUT = 180_000;
/** How long the page may take to show an answer (expect.poll's own default is 1 s). */
const SOON = { timeout: 10_000 };
/** The example's per-checkout id, unique to this run: its container and image are this test's alone. */
const LOCAL_ID = `e2e-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const CONTAINER = `dockhand-hello-${LOCAL_ID}`;

const docker = await requireDocker();

describeWithBrowser('the local console: dockhand without a Slack workspace, in a browser', ({ context }) => {
  let dockhand: DockhandProcess;
  let page: Page;

  const send = async (text: string) => {
    await page.locator('#command').fill(text);
    await page.locator('#command').press('Enter');
  };
  const switchTo = async (user: string) => {
    await page.locator('#user').selectOption(user);
    await expect.poll(() => page.locator('#user').inputValue(), SOON).toBe(user);
  };
  const timelineText = () => page.locator('#timeline').innerText();
  const card = () => page.locator('li.msg[data-kind="message"]', { hasText: 'Deploy hello' }).last();

  beforeAll(async () => {
    if (docker) {
      const dir = await mkdtemp(join(tmpdir(), 'dockhand-console-base-'));
      await makeBusyboxContext(dir);
      const stream = await docker.buildImage(packContext(dir) as unknown as NodeJS.ReadableStream, {
        t: BASE_IMAGE,
      });
      const failed = streamError(await followStream(docker, stream));
      await rm(dir, { recursive: true, force: true });
      if (failed) throw new Error(`could not build the base image: ${failed}`);
    }
    dockhand = await startDockhand({
      config: '# unused: local mode reads the bundled examples/dockhand.local.yml\n',
      slackApiUrl: 'http://127.0.0.1:9/api/',
      env: {
        // Unset (empty = unset): local mode, the bundled config.
        SLACK_BOT_TOKEN: '',
        SLACK_SIGNING_SECRET: '',
        DOCKHAND_CONFIG: '',
        LOG_LEVEL: 'info',
        HELLO_BASE_IMAGE: BASE_IMAGE,
        // Without a test engine, dockhand must not find one either (it would try the default socket, where a
        // machine's own Docker may answer): the page then shows the banner this suite expects.
        ...(docker ? {} : { DOCKER_HOST: process.env.DOCKER_HOST?.trim() || 'unix:///nonexistent/docker.sock' }),
        DOCKHAND_LOCAL_ID: LOCAL_ID,
      },
    });
    page = await context().newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`${dockhand.url}/`);
    await mkdir(OUTPUT, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    if (page) await page.screenshot({ path: join(OUTPUT, 'console-last.png'), fullPage: true }).catch(() => {});
    await dockhand?.stop();
    if (dockhand) removeDir(dockhand.dir);
    // What this run's example left (its container and image, by this run's id): never anyone else's.
    if (docker) await cleanExample({ DOCKHAND_LOCAL_ID: LOCAL_ID }, () => docker).catch(() => {});
  });

  it('says in its first log lines that it runs locally, where the console is, and how to use a real workspace', () => {
    const lines = dockhand.logs.slice(0, 3).map((l) => String(l.msg));
    expect(lines[0]).toMatch(
      /^local mode: SLACK_BOT_TOKEN is not set.*Open the console at http:\/\/127\.0\.0\.1:\d+\/$/,
    );
    expect(lines[1]).toContain('set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET');
    expect(lines[2]).toContain('examples/dockhand.local.yml');
  });

  it('shows #deploys, the people to switch between, and no engine banner while the engine answers', async () => {
    await expect.poll(() => page.locator('#channel-name').innerText(), SOON).toBe('#deploys');
    expect(await page.locator('#user option').allInnerTexts()).toEqual(['Dev (requester)', 'Lead (approver)']);
    await expect.poll(() => page.locator('#engine').isHidden(), SOON).toBe(docker !== null);
  });

  it('suggests the slash commands with their usage hints', async () => {
    await page.locator('#command').fill('/de');
    await expect
      .poll(() => page.locator('#suggestions').innerText(), SOON)
      .toContain('/deploy <service> [<git-ref> | image:<tag>]');
    await page.locator('#command').press('Tab');
    expect(await page.locator('#command').inputValue()).toBe('/deploy ');
    await page.locator('#command').fill('');
  });

  it('answers /dockhand help to the person who asked, only', async () => {
    await switchTo(DEV);
    await send('/dockhand help');
    await expect.poll(timelineText, SOON).toContain('builds, approves and rolls out your services');
    expect(await page.locator('li.msg.ephemeral', { hasText: 'builds, approves' }).innerText()).toContain(
      'Only visible to you',
    );
    await switchTo(LEAD);
    await expect.poll(timelineText, SOON).not.toContain('builds, approves and rolls out your services');
    await switchTo(DEV);
  });

  it('shows what it renders as text, never as markup', async () => {
    await send('/status <img src=x onerror="window.__xss=1">');
    await expect.poll(timelineText, SOON).toContain('ran /status <img src=x onerror="window.__xss=1">');
    expect(await page.evaluate('window.__xss')).toBeUndefined();
  });

  // /status hello and the cards need the engine; without one, the suite below checks the answer dockhand gives.
  it.skipIf(!docker)('answers /status hello', async () => {
    await send('/status hello');
    await expect.poll(timelineText, { timeout: 15_000 }).toMatch(/ran \/status hello\n[\s\S]*hello/);
  });

  // Deploying needs the engine: without one these are skipped (requireDocker already failed the file under CI).
  it.skipIf(!docker)(
    'refuses the requester’s own Approve with a message only the requester sees',
    async () => {
      await switchTo(DEV);
      await send('/deploy hello');
      await expect.poll(() => card().innerText(), { timeout: 30_000 }).toMatch(/Waiting for approval/i);
      await card().getByRole('button', { name: 'Approve' }).click();
      const dialog = page.locator('dialog#confirm');
      await expect.poll(() => dialog.isVisible(), SOON).toBe(true);
      expect(await dialog.innerText()).toMatch(/Approve #\d+\?[\s\S]*Deploy .* to .*hello/);
      await dialog.getByRole('button', { name: 'Approve' }).click();
      await expect
        .poll(timelineText, { timeout: 15_000 })
        .toContain('You requested this deployment; someone else must approve it.');
      expect(await page.locator('li.msg.ephemeral', { hasText: 'someone else must approve' }).innerText()).toContain(
        'Only visible to you',
      );

      await switchTo(LEAD);
      await expect.poll(timelineText, SOON).not.toContain('someone else must approve it');
    },
    60_000,
  );

  it.skipIf(!docker)(
    'deploys hello when the approver approves, and /status hello shows the running container',
    async () => {
      await switchTo(LEAD);
      await expect.poll(() => card().innerText(), { timeout: 30_000 }).toMatch(/Waiting for approval/i);
      await card().getByRole('button', { name: 'Approve' }).click();
      const dialog = page.locator('dialog#confirm');
      await expect.poll(() => dialog.isVisible(), SOON).toBe(true);
      expect(await dialog.getByRole('button', { name: 'Go back' }).isVisible()).toBe(true);
      await dialog.getByRole('button', { name: 'Approve' }).click();
      await expect
        .poll(() => card().innerText(), { timeout: DEPLOY_TIMEOUT, interval: 1000 })
        .toMatch(/Deployed \S+ in local/);
      expect(await card().innerText()).toMatch(/Requested by @dev .* approved by @lead/);

      await send('/status hello');
      await expect
        .poll(() => page.locator('li.msg[data-kind="message"]').last().innerText(), { timeout: 30_000 })
        .toMatch(new RegExp(`healthy[\\s\\S]*1 running[\\s\\S]*${CONTAINER} running · HEALTHY`));
      await page.screenshot({ path: join(OUTPUT, 'console.png') });
    },
    DEPLOY_TIMEOUT + 60_000,
  );

  it.skipIf(!docker)(
    'never had a chat.postMessage or chat.update refused by the (emulated) Slack Web API',
    async () => {
      const calls: { method: string; response: { ok: boolean; error?: string } }[] = [];
      for (const method of ['chat.postMessage', 'chat.update']) {
        const res = await fetch(`${dockhand.url}/_emulator/calls?method=${method}`);
        calls.push(...((await res.json()) as { calls: typeof calls }).calls);
      }
      expect(calls.length).toBeGreaterThan(0);
      expect(calls.filter((c) => !c.response.ok).map((c) => `${c.method}: ${c.response.error}`)).toEqual([]);
    },
  );
});

describeWithBrowser('the local console without a Docker engine', ({ context }) => {
  let dockhand: DockhandProcess;

  beforeAll(async () => {
    dockhand = await startDockhand({
      config: '# unused\n',
      slackApiUrl: 'http://127.0.0.1:9/api/',
      env: {
        SLACK_BOT_TOKEN: '',
        SLACK_SIGNING_SECRET: '',
        DOCKHAND_CONFIG: '',
        LOG_LEVEL: 'info',
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
      },
    });
  }, 60_000);

  afterAll(async () => {
    await dockhand?.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('explains in a banner what is missing, and commands still answer with dockhand’s error', async () => {
    const page = await context().newPage();
    await page.goto(`${dockhand.url}/`);
    await expect
      .poll(() => page.locator('#engine').innerText(), SOON)
      .toMatch(/No Docker engine answers at unix:\/\/\/nonexistent\/docker\.sock .*start Docker/);
    await page.locator('#command').fill('/status hello');
    await page.locator('#command').press('Enter');
    await expect
      .poll(() => page.locator('li.msg.ephemeral').last().innerText(), { timeout: 15_000 })
      .toMatch(
        /cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker\.sock[\s\S]*Only visible to you|Only visible to you[\s\S]*cannot reach the Docker engine/,
      );
    await page.close();
  });

  it('wraps a long command in the composer and the timeline, and shows what was typed as text, not code', async () => {
    const page = await context().newPage();
    await page.goto(`${dockhand.url}/`);
    const composer = page.locator('#command');
    const oneLine = await composer.evaluate((el) => el.clientHeight);
    const long = `/status ${'hello-'.repeat(30)}${'x'.repeat(300)}`;
    await composer.fill(long);
    const box = await composer.evaluate((el) => ({
      client: el.clientHeight,
      scroll: el.scrollHeight,
      width: el.clientWidth,
      scrollWidth: el.scrollWidth,
    }));
    expect(box.client, 'the composer grows to show every line').toBeGreaterThan(oneLine * 2);
    expect(box.scroll).toBeLessThanOrEqual(box.client + 1);
    expect(box.scrollWidth).toBeLessThanOrEqual(box.width);

    await composer.press('Enter');
    const typed = page.locator('li.msg.typed', { hasText: 'xxxxxxxx' });
    await expect.poll(() => typed.count(), SOON).toBe(1);
    expect(await composer.inputValue(), 'Enter sends, it does not add a line').toBe('');
    expect(await typed.locator('code').count(), 'a typed command is plain text').toBe(0);
    await expect.poll(() => page.locator('li.msg.ephemeral').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    const timeline = await page
      .locator('#timeline')
      .evaluate((el) => ({ width: el.clientWidth, scrollWidth: el.scrollWidth }));
    expect(timeline.scrollWidth, 'nothing in the timeline overflows sideways').toBeLessThanOrEqual(timeline.width);
    await page.close();
  });

  it('shows the /deploy form as a dialog, its error under the field, and closes it on Cancel', async () => {
    const page = await context().newPage();
    await page.goto(`${dockhand.url}/`);
    await page.locator('#command').fill('/deploy');
    await page.locator('#command').press('Enter');
    const dialog = page.locator('#modal');
    await expect.poll(() => dialog.isVisible(), SOON).toBe(true);
    expect(await page.locator('#modal-title').innerText()).toBe('Deploy');
    expect(await page.locator('#field-deploy_service option').allInnerTexts()).toEqual(['hello']);
    await page.locator('#field-deploy_ref').fill('v1');
    await page.locator('#modal-submit').click();
    await expect
      .poll(() => page.locator('.modal-error').allInnerTexts(), { timeout: 15_000 })
      .toEqual([expect.stringContaining('not from git')]);
    await page.locator('#modal-close').click();
    await expect.poll(() => dialog.isVisible(), SOON).toBe(false);
    await page.close();
  });
});
