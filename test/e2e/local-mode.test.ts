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

  it('shows the /deploy form in the console and submits it: errors on their field, Cancel closes it', async () => {
    const post = async (path: string, body: Record<string, unknown>) => {
      const res = await fetch(`${dockhand.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    type Modal = {
      id: string;
      title: { text: string };
      blocks: { block_id: string }[];
      errors?: Record<string, string>;
    };
    const modalOf = async (user: string) =>
      ((await (await fetch(`${dockhand.url}/console/state?user=${user}`)).json()) as { modal: Modal | null }).modal;
    expect((await post('/console/command', { user: 'U0LOCALDEV', text: '/deploy' })).status).toBe(200);
    let modal: Modal | null = null;
    for (let i = 0; i < 50 && !modal; i++) {
      modal = await modalOf('U0LOCALDEV');
      if (!modal) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(modal?.title.text).toBe('Deploy');
    expect(modal?.blocks.map((b) => b.block_id)).toEqual([
      'deploy_service',
      'deploy_environment',
      'deploy_ref',
      'deploy_options',
      'deploy_emergency',
    ]);
    // The form is the requester's: the other person does not see it.
    expect(await modalOf('U0LOCALLEAD')).toBeNull();
    // hello is built from a directory: a git ref is refused on the ref field, as `/deploy hello v1` would be.
    const submitted = await post('/console/view', {
      user: 'U0LOCALDEV',
      viewId: modal?.id,
      blockId: 'deploy_ref',
      value: 'v1',
      submit: true,
    });
    expect(submitted.body).toMatchObject({ ok: true, errors: { deploy_ref: expect.stringContaining('not from git') } });
    expect((await modalOf('U0LOCALDEV'))?.errors).toEqual(submitted.body.errors);
    expect((await post('/console/view', { user: 'U0LOCALDEV', viewId: modal?.id, close: true })).status).toBe(200);
    expect(await modalOf('U0LOCALDEV')).toBeNull();
  });
});
