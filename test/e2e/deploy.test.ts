import { afterAll, beforeAll, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import { describeWithDocker, makeBusyboxGitRepo, testRegistry } from '../support/docker.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * /deploy end to end: dockhand as a process, the real Docker engine and registry (DESIGN.md §4), the fake
 * Slack and the fake AWS. A is the requester, B an approver, M nobody in particular.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const M = 'U0MALLORY';

const config = (repo: string, broken: string, registry: string) => `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  local: { type: registry, address: "${registry}", insecure: true }
approvals:
  prod: { approvers: ["${B}"], required: 1, expiresAfter: 30m }
  quick: { approvers: ["${B}"], required: 1, expiresAfter: 1s }
services:
  hello:
    source: { git: "file://${repo}", ref: main }
    image: { registry: local, repository: dockhand-e2e/hello }
    environments:
      production: { target: { type: ecs, cluster: prod, service: hello, container: app }, approval: prod }
      staging: { target: { type: ecs, cluster: staging, service: hello, container: app }, approval: quick }
      canary: { target: { type: ecs, cluster: prod, service: hello-canary, container: app } }
  broken:
    source: { git: "file://${broken}", ref: main }
    image: { registry: local, repository: dockhand-e2e/broken }
    environments:
      production: { target: { type: ecs, cluster: prod, service: broken, container: app } }
`;

await describeWithDocker('dockhand as a process: /deploy with a real engine and registry', ({ registry }) => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;
  let repo: Awaited<ReturnType<typeof makeBusyboxGitRepo>>;
  let broken: Awaited<ReturnType<typeof makeBusyboxGitRepo>>;
  let configText: string;
  let awsUrl: string;

  const cards = () => slack.state.messages('#deploys');
  const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 30_000) =>
    slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
  const start = async (dir?: string) =>
    startDockhand({
      config: configText,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: awsUrl,
      env: { DOCKHAND_ROLLOUT_POLL_MS: '300' },
      ...(dir ? { dir } : {}),
    });

  beforeAll(async () => {
    awsUrl = (await aws.start()).url;
    const seed = (cluster: string, service: string) =>
      aws.seedService({
        cluster,
        service,
        family: `${service}-${cluster}`,
        desiredCount: 2,
        containers: [
          { name: 'app', image: `${registry ?? testRegistry()}/dockhand-e2e/${service}:0000000` },
          {
            name: 'sidecar',
            image: 'public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0',
            environment: { MODE: 'agent' },
          },
        ],
      });
    seed('prod', 'hello');
    seed('staging', 'hello');
    seed('prod', 'hello-canary');
    seed('prod', 'broken');
    repo = await makeBusyboxGitRepo({ dockerfileExtra: 'RUN echo built > /built.txt\nCMD ["sleep", "3600"]' });
    broken = await makeBusyboxGitRepo({ dockerfileExtra: 'RUN echo boom-from-the-build; exit 3' });
    slack = await startTestSlack();
    configText = config(repo.path, broken.path, registry ?? testRegistry());
    dockhand = await start();
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    await repo?.cleanup();
    await broken?.cleanup();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('builds the commit, pushes it, waits for approval, and rolls it out; refusals change nothing', async () => {
    const ack = await client.slashCommand({ command: '/deploy', text: 'hello to production', userId: A });
    expect(ack.status).toBe(200);
    const pending = await card((m) => JSON.stringify(m.blocks).includes('approval.approve'));
    expect(pending.text).toContain('Deploy hello → production #1');
    expect(JSON.stringify(pending.blocks)).toContain(repo.sha.slice(0, 7));

    // A second request while the first is pending is refused as locked.
    await client.slashCommand({ command: '/deploy', text: 'hello to production', userId: M });
    const locked = await slack.state.waitForEphemeral((m) => m.user === M && m.text.includes('locked'), 10_000);
    expect(locked.text).toContain('#1');

    // The requester's own click and a non-approver's click are refused, to the clicker alone.
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: A });
    const selfRefusal = await slack.state.waitForEphemeral(
      (m) => m.user === A && m.text.includes('someone else'),
      10_000,
    );
    expect(selfRefusal.text).toContain('someone else must approve');
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: M });
    await slack.state.waitForEphemeral((m) => m.user === M && m.text.includes('Only approvers'), 10_000);
    expect(aws.requestsFor('ECS.RegisterTaskDefinition')).toHaveLength(0);

    // B double-clicks: exactly one pipeline.
    await Promise.all([
      client.clickButton({ message: pending, actionId: 'approval.approve', userId: B }),
      client.clickButton({ message: pending, actionId: 'approval.approve', userId: B }),
    ]);
    const done = await card((m) => m.text.includes('Deploy hello → production #1: succeeded'), 90_000);

    const shortSha = repo.sha.slice(0, 7);
    const manifest = await fetch(`http://${registry}/v2/dockhand-e2e/hello/manifests/${shortSha}`, {
      headers: {
        accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
      },
    });
    expect(manifest.status).toBe(200);
    const digest = manifest.headers.get('docker-content-digest');
    expect(digest).toMatch(/^sha256:/);

    const registrations = aws.requestsFor('ECS.RegisterTaskDefinition');
    expect(registrations).toHaveLength(1);
    const input = registrations[0]?.input as {
      containerDefinitions: { name: string; image: string; environment: unknown }[];
    };
    const app = input.containerDefinitions.find((c) => c.name === 'app');
    const sidecar = input.containerDefinitions.find((c) => c.name === 'sidecar');
    expect(app?.image).toBe(`${registry}/dockhand-e2e/hello@${digest}`);
    expect(sidecar).toMatchObject({
      image: 'public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0',
      environment: [{ name: 'MODE', value: 'agent' }],
    });
    const updates = aws
      .requestsFor('ECS.UpdateService')
      .filter((u) => (u.input as { service: string }).service === 'hello');
    expect(updates).toHaveLength(1);
    expect(updates[0]?.input.taskDefinition).toContain('hello-prod:2');

    const blocks = JSON.stringify(done.blocks);
    for (const ip of aws.publicIps('prod', 'hello')) expect(blocks).toContain(ip);
    expect(blocks).toContain(B); // who approved

    const store = await openStore(`sqlite:${dockhand.dir}/dockhand.db`);
    try {
      const [deployment] = await store.listDeployments({ service: 'hello', environment: 'production' });
      const trail = (await store.listAudit({ subject: deployment?.id ?? '', limit: 50 }))
        .map((e) => e.action)
        .filter((action) => action.startsWith('deployment.'))
        .reverse();
      expect(trail).toEqual([
        'deployment.requested',
        'deployment.awaiting_approval',
        'deployment.approved',
        'deployment.building',
        'deployment.pushing',
        'deployment.registering',
        'deployment.rolling_out',
        'deployment.succeeded',
      ]);
      expect(await store.getLock({ service: 'hello', environment: 'production' }, new Date())).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('refuses an approval after the request expired and releases the lock', async () => {
    await client.slashCommand({ command: '/deploy', text: 'hello to staging', userId: A });
    const pending = await card(
      (m) => m.text.startsWith('Deploy hello → staging') && JSON.stringify(m.blocks).includes('approval.approve'),
    );
    const shownBlocks = structuredClone(pending.blocks); // the stored message is updated in place
    await new Promise((r) => setTimeout(r, 1500));
    // B's client still shows the card with its buttons when B clicks
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B, blocks: shownBlocks });
    const refusal = await slack.state.waitForEphemeral((m) => m.user === B && /expired/.test(m.text), 10_000);
    expect(refusal.text).toMatch(/expired/);
    await card((m) => m.text.startsWith('Deploy hello → staging') && m.text.includes('expired'), 10_000);
    expect(
      aws.requestsFor('ECS.UpdateService').filter((u) => (u.input as { cluster: string }).cluster === 'staging'),
    ).toHaveLength(0);
  });

  it('shows the failing build step and its output, releases the lock, and pushes nothing', async () => {
    const before = aws.requestsFor('ECS.RegisterTaskDefinition').length;
    await client.slashCommand({ command: '/deploy', text: 'broken', userId: A });
    const failed = await card(
      (m) => m.text.startsWith('Deploy broken → production') && m.text.includes('failed'),
      60_000,
    );
    const blocks = JSON.stringify(failed.blocks);
    expect(blocks).toContain('exit 3');
    expect(blocks).toContain('boom-from-the-build');
    expect(aws.requestsFor('ECS.RegisterTaskDefinition')).toHaveLength(before);
    const tags = await fetch(`http://${registry}/v2/dockhand-e2e/broken/tags/list`);
    expect(tags.status === 404 || !((await tags.json()) as { tags?: string[] }).tags?.length).toBe(true);
    // the lock is free again: a new request is accepted (and fails the same way)
    await client.slashCommand({ command: '/deploy', text: 'broken', userId: A });
    await card(
      (m) =>
        m.text.startsWith('Deploy broken → production #') &&
        !m.text.includes(failed.text.split(':')[0] ?? '') &&
        m.text.includes('failed'),
      60_000,
    );
  });

  it('offers Rollback after a failed rollout; the rollback registers nothing and restores the previous revision', async () => {
    aws.failNextRollout('prod', 'hello-canary', { reason: 'Essential container in task exited' });
    await client.slashCommand({ command: '/deploy', text: 'hello in canary', userId: A });
    const failed = await card((m) => m.text.startsWith('Deploy hello → canary') && m.text.includes('failed'), 90_000);
    expect(JSON.stringify(failed.blocks)).toContain('deploy.rollback');
    const registered = aws.requestsFor('ECS.RegisterTaskDefinition').length;
    await client.clickButton({ message: failed, actionId: 'deploy.rollback', userId: A });
    await card((m) => m.text.startsWith('Rollback hello → canary') && m.text.includes('succeeded'), 60_000);
    expect(aws.requestsFor('ECS.RegisterTaskDefinition')).toHaveLength(registered);
    const last = aws
      .requestsFor('ECS.UpdateService')
      .filter((u) => (u.input as { service: string }).service === 'hello-canary')
      .at(-1);
    expect(last?.input.taskDefinition).toContain('hello-canary-prod:1');
  });

  it('finishes the card and releases the lock after being killed (SIGKILL) during a rollout', async () => {
    await client.slashCommand({ command: '/deploy', text: 'hello in canary --restart', userId: A });
    await card((m) => m.text.startsWith('Restart hello → canary') && m.text.includes('rolling out'), 30_000);
    const dir = dockhand.dir;
    await dockhand.stop('SIGKILL');
    dockhand = await start(dir);
    client = signedClient(slack, dockhand.eventsUrl);
    await card((m) => m.text.startsWith('Restart hello → canary') && m.text.includes('succeeded'), 60_000);
    const store = await openStore(`sqlite:${dir}/dockhand.db`);
    try {
      expect(await store.getLock({ service: 'hello', environment: 'canary' }, new Date())).toBeUndefined();
    } finally {
      await store.close();
    }
    expect(cards().length).toBeGreaterThan(3);
  });
});
