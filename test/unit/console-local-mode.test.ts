import { createServer, request, type Server } from 'node:http';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../src/config/env.ts';
import { LOCAL_CONFIG_PATH, type LocalMode, prepareLocalMode } from '../../src/local/local-mode.ts';

describe('local mode: the console and the Slack emulator on one 127.0.0.1 server', () => {
  let local: LocalMode;
  let server: Server;

  beforeAll(async () => {
    local = await prepareLocalMode(readEnv({ PORT: '0', DOCKER_HOST: 'unix:///nonexistent/docker.sock' }), {});
    server = createServer((req, res) => {
      void local.extraRoutes(req, res).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(local.settings.port, local.listenHost, resolve));
  });

  afterAll(async () => {
    local.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('picks a port before dockhand starts and points the bot at the emulator on it', () => {
    expect(local.settings.port).toBeGreaterThan(0);
    expect(local.url).toBe(`http://127.0.0.1:${local.settings.port}`);
    expect(local.settings.slackApiUrl).toBe(`${local.url}/api/`);
    expect(local.settings.slackBotToken).toMatch(/^xoxb-local-/);
    expect(local.settings.slackSigningSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(local.settings.configPath).toBe(LOCAL_CONFIG_PATH);
    expect(local.listenHost).toBe('127.0.0.1');
  });

  it('rejects a chat.postMessage with 51 blocks as Slack does (invalid_blocks) and accepts 50', async () => {
    const client = new WebClient(local.settings.slackBotToken, {
      slackApiUrl: local.settings.slackApiUrl,
      retryConfig: { retries: 0 },
    });
    const blocks = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ type: 'section', text: { type: 'mrkdwn', text: `${i}` } }));
    await expect(
      client.chat.postMessage({ channel: '#deploys', text: 'too many', blocks: blocks(51) }),
    ).rejects.toMatchObject({
      data: { ok: false, error: 'invalid_blocks' },
    });
    await expect(
      client.chat.postMessage({ channel: '#deploys', text: 'fine', blocks: blocks(50) }),
    ).resolves.toMatchObject({ ok: true });
  });

  it('refuses the bot token it did not hand out', async () => {
    const client = new WebClient('xoxb-someone-else', {
      slackApiUrl: local.settings.slackApiUrl,
      retryConfig: { retries: 0 },
    });
    await expect(client.auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
  });

  it('serves the page, and the workspace as the chosen person sees it, with the engine status', async () => {
    const page = await fetch(`${local.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/console/app.js">');
    const view = (await (await fetch(`${local.url}/console/state?user=U0LOCALLEAD`)).json()) as {
      me: string;
      people: { name: string }[];
      groups: Record<string, string>;
      commands: { command: string; usage: string }[];
      engine?: { ok: boolean; message?: string };
    };
    expect(view.me).toBe('U0LOCALLEAD');
    expect(view.people.map((p) => p.name)).toEqual(['dev', 'lead']);
    expect(view.groups).toEqual({ S0LOCALLEADS: 'leads' });
    expect(view.commands.map((c) => c.command)).toEqual([
      '/deploy',
      '/promote',
      '/rollback',
      '/scale',
      '/status',
      '/logs',
      '/dockhand',
    ]);
    expect(view.engine).toMatchObject({ ok: false });
    expect(view.engine?.message).toMatch(
      /No Docker engine answers at unix:\/\/\/nonexistent\/docker\.sock.*start Docker/,
    );
  });

  it('serves a favicon as SVG, linked from the page, and only to its own origin', async () => {
    const page = await (await fetch(`${local.url}/`)).text();
    expect(page).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml" />');
    for (const path of ['/favicon.svg', '/favicon.ico']) {
      const icon = await fetch(`${local.url}${path}`);
      expect(icon.status, path).toBe(200);
      expect(icon.headers.get('content-type')).toBe('image/svg+xml');
      expect(await icon.text()).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>\s*$/);
    }
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        `${local.url}/favicon.svg`,
        { headers: { host: `evil.example:${local.settings.port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject).end();
    });
    expect(rebound).toBe(403);
  });

  it('refuses requests from other sites: a foreign Origin, a foreign Host, or a non-JSON command', async () => {
    const body = JSON.stringify({ user: 'U0LOCALDEV', text: '/dockhand help' });
    const foreign = await fetch(`${local.url}/console/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body,
    });
    expect(foreign.status).toBe(403);
    const form = await fetch(`${local.url}/console/command`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body,
    });
    expect(form.status).toBe(415);
    // DNS rebinding: a foreign name resolving to 127.0.0.1 (fetch cannot set Host, node:http can).
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        `${local.url}/console/state`,
        { headers: { host: `evil.example:${local.settings.port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject).end();
    });
    expect(rebound).toBe(403);
  });
});
