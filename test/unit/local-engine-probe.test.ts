import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../src/config/env.ts';
import { type LocalMode, prepareLocalMode } from '../../src/local/local-mode.ts';

/** The console's engine status as /console/state shows it, once the first probe has answered. */
const engineOf = async (local: LocalMode): Promise<{ ok: boolean; message?: string }> => {
  const server = createServer((req, res) => {
    void local.extraRoutes(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(local.settings.port, local.listenHost, resolve));
  try {
    for (let i = 0; i < 100; i++) {
      const view = (await (await fetch(`${local.url}/console/state?user=U0LOCALDEV`)).json()) as {
        engine?: { ok: boolean; message?: string };
      };
      if (view.engine) return view.engine;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    throw new Error('the engine was never probed');
  } finally {
    local.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
};

describe("local mode's engine probe: GET /_ping on a unix socket, without loading the Docker client", () => {
  let dir: string;
  let answering: Server;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dockhand-probe-'));
    // An engine that is there but unwell: it answers /_ping with 500.
    answering = createServer((_req, res) => res.writeHead(500).end('Internal Server Error'));
    await new Promise<void>((resolve) => answering.listen(join(dir, 'sick.sock'), resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => answering.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!process.env.DOCKER_HOST?.startsWith('unix://'))('finds the real engine of DOCKER_HOST', async () => {
    const local = await prepareLocalMode(readEnv({ PORT: '0', DOCKER_HOST: process.env.DOCKER_HOST ?? '' }), {});
    expect(await engineOf(local)).toMatchObject({ ok: true });
  });

  it('says what is missing when the socket answers with an error', async () => {
    const host = `unix://${join(dir, 'sick.sock')}`;
    const local = await prepareLocalMode(readEnv({ PORT: '0', DOCKER_HOST: host }), {});
    const engine = await engineOf(local);
    expect(engine.ok).toBe(false);
    expect(engine.message).toContain(`No Docker engine answers at ${host} (the engine answered HTTP 500 to /_ping)`);
  });

  it('leaves dockerode unloaded while local mode idles (it is loaded when something is built or run)', () => {
    const script = `
      import { createRequire } from 'node:module';
      import { readEnv } from './src/config/env.ts';
      import { prepareLocalMode } from './src/local/local-mode.ts';
      const local = await prepareLocalMode(readEnv({ PORT: '0', DOCKER_HOST: ${JSON.stringify(`unix://${join(dir, 'absent.sock')}`)} }), {});
      await new Promise((resolve) => setTimeout(resolve, 300));
      local.stop();
      const require = createRequire(import.meta.url);
      const loaded = Object.keys(require.cache).filter((f) => f.includes('/node_modules/dockerode/'));
      process.stdout.write(JSON.stringify({ loaded: loaded.length }), () => process.exit(0));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '../..'),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(JSON.parse(out)).toEqual({ loaded: 0 });
  });
});
