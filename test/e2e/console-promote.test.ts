import type Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { renderBlocks } from '../../src/local/console/render.js';
import { describeWithAuthRegistry, makeBusyboxGitRepo } from '../support/docker.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';

/**
 * The local console shows a promote: dockhand as a process in local mode (no SLACK_BOT_TOKEN) with a config of two
 * Docker-host environments on the test engine, staging's images in the plain registry and production's in the one
 * with basic auth. Commands and clicks go in as the console page sends them; the page's state is read back as it
 * reads it, and its cards rendered with the page's own renderer.
 */
const DEV = 'U0LOCALDEV';
const LEAD = 'U0LOCALLEAD';
const SUFFIX = Math.random().toString(36).slice(2, 8);
const container = (env: string) => `dockhand-e2e-console-promote-${env}-${SUFFIX}`;

interface Item {
  kind: 'message' | 'ephemeral' | 'typed';
  ts: string;
  text: string;
  blocks?: { type: string; elements?: { action_id?: string; value?: string }[] }[];
}

await describeWithAuthRegistry('the local console: /promote across two registries', ({ docker, registry, auth }) => {
  let dockhand: DockhandProcess;
  let repo: Awaited<ReturnType<typeof makeBusyboxGitRepo>>;

  const post = async (path: string, body: Record<string, unknown>) => {
    const res = await fetch(`${dockhand.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  };
  const timeline = async (user: string): Promise<Item[]> =>
    ((await (await fetch(`${dockhand.url}/console/state?user=${user}`)).json()) as { timeline: Item[] }).timeline;
  /** The newest message on `user`'s page whose text matches, once there. */
  const shows = async (user: string, match: (item: Item) => boolean, timeoutMs = 120_000): Promise<Item> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const items = await timeline(user);
      const found = items.filter(match).at(-1);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`the console never showed it: ${JSON.stringify(items.map((i) => i.text)).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const ours = async (): Promise<Docker.ContainerInfo[]> =>
    (await docker.listContainers({ all: true, filters: { label: ['dockhand.service=hello'] } })).filter((c) =>
      c.Names.some((n) => n.includes(SUFFIX)),
    );

  beforeAll(async () => {
    repo = await makeBusyboxGitRepo({ dockerfileExtra: 'CMD ["sleep", "3600"]' });
    const target = (env: string) =>
      `{ type: docker, host: "${process.env.DOCKER_HOST}", container: ${container(env)}, init: true }`;
    dockhand = await startDockhand({
      config: `
defaults: { channel: "#deploys" }
registries:
  plain: { type: registry, address: "${registry}", insecure: true }
  inhouse: { type: registry, address: "${auth.address}", insecure: true, username: "${auth.username}", password: "\${PROD_REGISTRY_PASSWORD}" }
approvals:
  local: { approvers: ["S0LOCALLEADS"], required: 1, allowSelfApproval: false }
services:
  hello:
    source: { git: "file://${repo.path}", ref: main }
    image: { registry: plain, repository: dockhand-e2e/console-promote-${SUFFIX} }
    environments:
      staging: { target: ${target('staging')} }
      production:
        target: ${target('production')}
        approval: local
        image: { registry: inhouse, repository: dockhand-e2e/console-promote-prod-${SUFFIX} }
`,
      slackApiUrl: 'http://127.0.0.1:9/api/',
      env: { SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: '', LOG_LEVEL: 'info', PROD_REGISTRY_PASSWORD: auth.password },
    });
  }, 60_000);

  afterAll(async () => {
    await dockhand?.stop();
    for (const c of await ours().catch(() => []))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    await repo?.cleanup();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('shows the promote card waiting for lead, then the copy and the rollout once lead approves', async () => {
    await post('/console/command', { user: DEV, text: '/deploy hello to staging' });
    await shows(DEV, (i) => i.text.includes('Deploy hello → staging #1: succeeded'));

    await post('/console/command', { user: DEV, text: '/promote hello to production' });
    const pending = await shows(
      LEAD,
      (i) =>
        i.kind === 'message' &&
        i.text.startsWith('Promote hello staging → production #2') &&
        JSON.stringify(i.blocks).includes('approval.approve'),
    );
    const html = renderBlocks(pending.blocks, { users: { [DEV]: 'dev', [LEAD]: 'lead' } });
    expect(html).not.toContain('bk-unknown');
    expect(html).toContain('<div class="bk-header">Promote hello staging → production #2</div>');
    expect(html).toContain(`by digest to <code>${auth.address}/dockhand-e2e/console-promote-prod-${SUFFIX}</code>`);
    expect(html).toContain(repo.sha.slice(0, 7));

    const approve = pending.blocks?.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'approval.approve');
    expect(approve).toBeDefined();
    await post('/console/click', {
      user: LEAD,
      channel: '#deploys',
      ts: pending.ts,
      ephemeral: false,
      actionId: 'approval.approve',
      ...(approve?.value ? { value: approve.value } : {}),
    });
    const done = await shows(DEV, (i) => i.ts === pending.ts && i.text.includes(': succeeded'));
    const finished = renderBlocks(done.blocks, {});
    expect(finished).not.toContain('bk-unknown');
    expect(finished).toMatch(/<strong>Copy<\/strong><br>pulled and pushed, [\d.]+ (kB|MB), digest verified/);
    expect((await ours()).filter((c) => c.Names.some((n) => n.includes('production'))).map((c) => c.State)).toEqual([
      'running',
    ]);
  }, 240_000);
});
