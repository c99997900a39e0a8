import { afterAll, beforeAll, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import { describeWithDocker, makeBusyboxGitRepo, testRegistry } from '../support/docker.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * /promote end to end on ECS: dockhand as a process, the real engine and registry, the fake Slack and the fake AWS.
 * staging is deployed from git (built, labelled, pushed), then the digest ECS runs there is promoted to production,
 * which needs B's approval. A is the requester.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const SUFFIX = Math.random().toString(36).slice(2, 8);
const REPOSITORY = `dockhand-e2e/promote-${SUFFIX}`;

await describeWithDocker('dockhand as a process: /promote on ECS', ({ registry }) => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;
  let repo: Awaited<ReturnType<typeof makeBusyboxGitRepo>>;
  const address = registry ?? testRegistry();

  const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 60_000) =>
    slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
  const appImage = (cluster: string): string | undefined =>
    aws
      .requestsFor('ECS.RegisterTaskDefinition')
      .map((r) => r.input as { family: string; containerDefinitions: { name: string; image: string }[] })
      .filter((r) => r.family === `api-${cluster}`)
      .at(-1)
      ?.containerDefinitions.find((c) => c.name === 'app')?.image;

  beforeAll(async () => {
    const { url } = await aws.start();
    for (const cluster of ['staging', 'prod'])
      aws.seedService({
        cluster,
        service: 'api',
        family: `api-${cluster}`,
        desiredCount: 2,
        containers: [{ name: 'app', image: `${address}/${REPOSITORY}:0000000` }],
      });
    repo = await makeBusyboxGitRepo({ dockerfileExtra: 'CMD ["sleep", "3600"]' });
    slack = await startTestSlack();
    dockhand = await startDockhand({
      config: `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  local: { type: registry, address: "${address}", insecure: true }
approvals:
  prod: { approvers: ["${B}"], required: 1, expiresAfter: 30m }
services:
  api:
    source: { git: "file://${repo.path}", ref: main }
    image: { registry: local, repository: ${REPOSITORY} }
    environments:
      staging: { target: { type: ecs, cluster: staging, service: api, container: app } }
      production: { target: { type: ecs, cluster: prod, service: api, container: app }, approval: prod }
`,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: url,
      env: { DOCKHAND_ROLLOUT_POLL_MS: '300' },
    });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    await repo?.cleanup();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('refuses a promote from the first environment or with nothing to promote, recording nothing', async () => {
    // Refused before the ack: the answer to the command itself, seen by the requester alone.
    const refusal = async (text: string) => {
      const answer = await client.slashCommand({ command: '/promote', text, userId: A });
      return JSON.stringify(answer.body);
    };
    expect(await refusal('api to staging')).toContain('`staging` is the first environment of `api`');
    expect(await refusal('api from staging to staging')).toContain('both the source and the target');
    expect(await refusal('api from staging to qa')).toContain('`api` has no environment `qa`');
    // staging runs a tag, and ECS reports no digest its tasks pulled (nothing was pushed yet): no digest to promote.
    await client.slashCommand({ command: '/promote', text: 'api to production', userId: A });
    const unknown = await slack.state.waitForEphemeral(
      (m) => m.user === A && m.text.includes('does not say which digest'),
    );
    expect(unknown.text).toContain(`${REPOSITORY}:0000000`);
    expect(aws.requestsFor('ECS.RegisterTaskDefinition')).toHaveLength(0);
    const store = await openStore(`sqlite:${dockhand.dir}/dockhand.db`);
    try {
      expect(await store.listDeployments({ service: 'api' })).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('promotes the digest staging runs to production after approval, with its commit, and no build', {
    timeout: 180_000,
  }, async () => {
    await client.slashCommand({ command: '/deploy', text: 'api to staging', userId: A });
    await card((m) => m.text.includes('Deploy api → staging #1: succeeded'), 120_000);
    const staged = appImage('staging');
    expect(staged).toMatch(new RegExp(`^${address}/${REPOSITORY}@sha256:[a-f0-9]{64}$`));
    const digest = staged?.split('@')[1] ?? '';

    // The image carries the commit it was built from.
    const manifest = await fetch(`http://${address}/v2/${REPOSITORY}/manifests/${digest}`, {
      headers: {
        accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
      },
    });
    const configDigest = ((await manifest.json()) as { config: { digest: string } }).config.digest;
    const imageConfig = (await (await fetch(`http://${address}/v2/${REPOSITORY}/blobs/${configDigest}`)).json()) as {
      config: { Labels: Record<string, string> };
    };
    expect(imageConfig.config.Labels['org.opencontainers.image.revision']).toBe(repo.sha);

    const before = aws.requests.length;
    await client.slashCommand({ command: '/promote', text: 'api to production', userId: A });
    const pending = await card(
      (m) =>
        m.text.startsWith('Promote api staging → production #2') &&
        JSON.stringify(m.blocks).includes('approval.approve'),
    );
    const blocks = JSON.stringify(pending.blocks);
    expect(blocks).toContain(digest.slice(0, 19));
    expect(blocks).toContain(repo.sha.slice(0, 7)); // the commit, from the record of the staging deploy
    expect(appImage('prod')).toBeUndefined(); // nothing before the approval

    // The source's read adds one DescribeServices (and its task definition, unless the store has it) to the plan
    // of production that every deploy makes.
    expect(aws.requests.slice(before).map((r) => r.key)).toEqual([
      'ECS.DescribeServices',
      'ECS.DescribeTaskDefinition',
      'ECS.DescribeServices',
      'ECS.DescribeTaskDefinition',
    ]);
    const approvedAt = aws.requests.length;
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
    await card((m) => m.text.includes('Promote api staging → production #2: succeeded'), 90_000);
    // Executing a promote between environments of one registry asks AWS what any image deploy does.
    expect(aws.requests.slice(approvedAt).map((r) => r.key)).toContain('ECS.RegisterTaskDefinition');
    expect(appImage('prod')).toBe(staged); // the same bytes, by digest

    const store = await openStore(`sqlite:${dockhand.dir}/dockhand.db`);
    try {
      const [promoted] = await store.listDeployments({ service: 'api', environment: 'production' });
      expect(promoted?.request).toEqual({ type: 'promote', from: 'staging', digest });
      const trail = (await store.listAudit({ subject: promoted?.id ?? '', limit: 50 }))
        .map((e) => e.action)
        .filter((action) => action.startsWith('deployment.'))
        .reverse();
      // No build and no push: the same registry, so nothing is copied either.
      expect(trail).toEqual([
        'deployment.requested',
        'deployment.awaiting_approval',
        'deployment.approved',
        'deployment.registering',
        'deployment.rolling_out',
        'deployment.succeeded',
      ]);
    } finally {
      await store.close();
    }
  });
});
