import type Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithDocker, makeBusyboxGitRepo, testRegistry } from '../support/docker.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * /promote end to end on Docker hosts: dockhand as a process, the real engine and registry, the fake Slack. staging
 * and production are two containers on the test engine; the digest staging's container runs is promoted to
 * production after B's approval, pulled from the registry by digest.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const SUFFIX = Math.random().toString(36).slice(2, 8);
const REPOSITORY = `dockhand-e2e/promote-host-${SUFFIX}`;
const NETWORK = `dockhand-e2e-promote-${SUFFIX}`;
const container = (env: string) => `dockhand-e2e-promote-${env}-${SUFFIX}`;

await describeWithDocker('dockhand as a process: /promote between Docker hosts', ({ docker, registry }) => {
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;
  let repo: Awaited<ReturnType<typeof makeBusyboxGitRepo>>;
  const address = registry ?? testRegistry();

  const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 60_000) =>
    slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
  const ours = async (): Promise<Docker.ContainerInfo[]> =>
    (await docker.listContainers({ all: true, filters: { label: ['dockhand.service=web'] } })).filter((c) =>
      c.Names.some((n) => n.includes(SUFFIX)),
    );
  const running = async (env: string) => {
    const found = (await ours()).filter((c) => c.Names.some((n) => n.startsWith(`/${container(env)}`)));
    return Promise.all(found.map((c) => docker.getContainer(c.Id).inspect()));
  };

  beforeAll(async () => {
    await docker.createNetwork({ Name: NETWORK, Driver: 'bridge', Labels: { 'dockhand.test': SUFFIX } });
    repo = await makeBusyboxGitRepo({ dockerfileExtra: 'CMD ["sleep", "3600"]' });
    slack = await startTestSlack();
    const target = (env: string) =>
      `{ type: docker, host: "${process.env.DOCKER_HOST}", container: ${container(env)}, network: ${NETWORK}, init: true }`;
    dockhand = await startDockhand({
      config: `
defaults: { channel: "#deploys" }
registries:
  local: { type: registry, address: "${address}", insecure: true }
approvals:
  ops: { approvers: ["${B}"], required: 1 }
services:
  web:
    source: { git: "file://${repo.path}", ref: main }
    image: { registry: local, repository: ${REPOSITORY} }
    environments:
      staging: { target: ${target('staging')} }
      production: { target: ${target('production')}, approval: ops }
`,
      slackApiUrl: slack.apiUrl,
    });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    for (const c of await ours().catch(() => []))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    await docker
      .getNetwork(NETWORK)
      .remove()
      .catch(() => {});
    await repo?.cleanup();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('refuses to promote what does not run, changing nothing', async () => {
    await client.slashCommand({ command: '/promote', text: 'web to production', userId: A });
    const refusal = await slack.state.waitForEphemeral((m) => m.user === A && m.text.includes('no image to promote'));
    expect(refusal.text).toContain('Nothing of `web` in `staging` is running');
    expect(await ours()).toEqual([]);
    expect(slack.state.messages('#deploys')).toEqual([]);
  });

  it('runs the digest staging runs in production after approval', { timeout: 180_000 }, async () => {
    await client.slashCommand({ command: '/deploy', text: 'web to staging', userId: A });
    await card((m) => m.text.includes('Deploy web → staging #1: succeeded'), 120_000);
    const [staged] = await running('staging');
    expect(staged?.Config.Image).toMatch(new RegExp(`^${address}/${REPOSITORY}@sha256:[a-f0-9]{64}$`));
    expect(staged?.Config.Labels['org.opencontainers.image.revision']).toBe(repo.sha);

    await client.slashCommand({ command: '/promote', text: 'web from staging to production', userId: A });
    const pending = await card(
      (m) =>
        m.text.startsWith('Promote web staging → production #2') &&
        JSON.stringify(m.blocks).includes('approval.approve'),
    );
    expect(JSON.stringify(pending.blocks)).toContain(repo.sha.slice(0, 7));
    expect(await running('production')).toEqual([]);

    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
    await card((m) => m.text.includes('Promote web staging → production #2: succeeded'), 120_000);
    const [promoted] = await running('production');
    expect(promoted?.Config.Image).toBe(staged?.Config.Image);
    expect(promoted?.Image).toBe(staged?.Image); // the same image, byte for byte
    expect(promoted?.State.Running).toBe(true);
  });
});
