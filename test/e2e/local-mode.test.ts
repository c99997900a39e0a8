import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';

/**
 * dockhand started as a process in local mode (no SLACK_BOT_TOKEN): what its one 127.0.0.1 server answers to
 * whom. No Docker engine and no browser are needed.
 */

/** A GET with a Host header of our choosing (fetch cannot set Host; node:http can). */
const get = (url: string, host: string): Promise<{ status: number; type: string; body: string }> =>
  new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body }));
    });
    req.on('error', reject).end();
  });

describe('local mode as a process: every route answers only its own page on 127.0.0.1', () => {
  let dockhand: DockhandProcess;
  let port = '';

  beforeAll(async () => {
    dockhand = await startDockhand({
      config: '# unused: local mode reads the bundled examples/dockhand.local.yml\n',
      slackApiUrl: 'http://127.0.0.1:9/api/',
      env: {
        SLACK_BOT_TOKEN: '',
        SLACK_SIGNING_SECRET: '',
        DOCKHAND_CONFIG: '',
        LOG_LEVEL: 'info',
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
      },
    });
    port = new URL(dockhand.url).port;
  }, 60_000);

  afterAll(async () => {
    await dockhand?.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('refuses /healthz and /metrics to a DNS-rebinding page (a foreign Host header), and reveals nothing', async () => {
    for (const path of ['/healthz', '/metrics']) {
      const forged = await get(`${dockhand.url}${path}`, `evil.example:${port}`);
      expect(forged.status, `${path} with a foreign Host`).toBe(403);
      expect(forged.body).not.toMatch(/dockhand_|"checks"/);
    }
  });

  it('answers /healthz and /metrics to 127.0.0.1 and localhost', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const health = await get(`${dockhand.url}/healthz`, host);
      expect(health.status, `/healthz as ${host}`).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ ok: true, checks: { store: 'ok' } });
      const metrics = await get(`${dockhand.url}/metrics`, host);
      expect(metrics.status, `/metrics as ${host}`).toBe(200);
      expect(metrics.body).toContain('dockhand_commands_total');
    }
  });
});
