import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * Restart recovery end to end: dockhand as a process is killed (SIGKILL) while UpdateService is in flight, after
 * ECS applied it; the restarted process must follow that rollout to its end instead of failing the deployment.
 * Fake Slack and fake AWS only (image:<tag> from the fake ECR: no Docker).
 */
const A = 'U0ALICE';
const REPO = 'acme/api';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  ecr: { type: ecr }
services:
  api:
    image: { registry: ecr, repository: ${REPO} }
    environments:
      canary: { target: { type: ecs, cluster: prod, service: api, container: app } }
`;

describe('dockhand as a process: killed while UpdateService is in flight', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let awsUrl: string;

  const start = (dir?: string) =>
    startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: awsUrl,
      env: { DOCKHAND_ROLLOUT_POLL_MS: '200' },
      ...(dir ? { dir } : {}),
    });

  beforeAll(async () => {
    awsUrl = (await aws.start()).url;
    aws.seedService({
      cluster: 'prod',
      service: 'api',
      family: 'api',
      desiredCount: 2,
      containers: [{ name: 'app', image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${REPO}:1.0.0` }],
    });
    aws.putImage(REPO, '1.1.0', `sha256:${'1'.repeat(64)}`);
    slack = await startTestSlack();
    dockhand = await start();
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('follows the rollout ECS applied to the end after a restart, without sending UpdateService again', async () => {
    aws.slowNext('ECS.UpdateService', 5000);
    await signedClient(slack, dockhand.eventsUrl).slashCommand({
      command: '/deploy',
      text: 'api image:1.1.0 to canary',
      userId: A,
    });
    const deadline = Date.now() + 20_000;
    while (aws.requestsFor('ECS.UpdateService').length === 0) {
      if (Date.now() > deadline) throw new Error('dockhand never sent UpdateService');
      await new Promise((r) => setTimeout(r, 20));
    }
    const dir = dockhand.dir;
    await dockhand.stop('SIGKILL');
    dockhand = await start(dir);

    const done = await slack.state.waitForMessage(
      (m) => m.text.startsWith('Deploy api → canary') && /succeeded|failed/.test(m.text),
      30_000,
    );
    expect(done.text).toContain('succeeded');
    expect(aws.requestsFor('ECS.UpdateService')).toHaveLength(1);
    expect(aws.requestsFor('ECS.RegisterTaskDefinition')).toHaveLength(1);

    const store = await openStore(`sqlite:${dir}/dockhand.db`);
    try {
      const [deployment] = await store.listDeployments({ service: 'api', environment: 'canary' });
      expect(deployment?.state).toBe('succeeded');
      expect(deployment?.facts.ecsDeploymentId).toMatch(/^ecs-svc\//);
      expect(await store.getLock({ service: 'api', environment: 'canary' }, new Date())).toBeUndefined();
    } finally {
      await store.close();
    }
  }, 60_000);
});
