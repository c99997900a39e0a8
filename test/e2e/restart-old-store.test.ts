import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import { openSqliteDriver } from '../../src/adapters/store/sqlite-driver.ts';
import { deploymentCard } from '../../src/slack/blocks/deploy.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { insertOldDeployment, insertOldLock, migrateAsBeforeTypedModel } from '../support/old-store.ts';
import { type FakeSlack, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * Upgrade end to end: a store written by the dockhand before the typed deployment model (schema 2, loose request
 * and facts JSON, written with its SQL) holds a rollout in progress and a deploy waiting for approval, with their
 * locks and cards. The new dockhand starts over it: it migrates the rows, follows the rollout to its end, and the
 * waiting deploy's Approve button (on the card the old process posted) still starts it.
 * Fake Slack and fake AWS only (image:<tag> from the fake ECR: no Docker).
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const REPO = 'acme/api';
const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const DIGEST = `sha256:${'2'.repeat(64)}`;

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  ecr: { type: ecr }
approvals:
  prod: { approvers: ["${B}"], required: 1, expiresAfter: 30m }
services:
  api:
    image: { registry: ecr, repository: ${REPO} }
    environments:
      canary: { target: { type: ecs, cluster: prod, service: api-canary, container: app } }
      production: { target: { type: ecs, cluster: prod, service: api, container: app }, approval: prod }
`;

describe('dockhand as a process: started over a store written by the dockhand before it', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess | undefined;
  let awsUrl: string;
  const dir = mkdtempSync(join(tmpdir(), 'dockhand-e2e-upgrade-'));

  beforeAll(async () => {
    awsUrl = (await aws.start()).url;
    for (const service of ['api', 'api-canary']) {
      aws.seedService({
        cluster: 'prod',
        service,
        family: service,
        desiredCount: 2,
        containers: [{ name: 'app', image: `${REGISTRY}/${REPO}:1.0.0` }],
      });
    }
    aws.putImage(REPO, '1.1.0', DIGEST);
    slack = await startTestSlack();
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    removeDir(dir);
  });

  it('resumes the rollout to its end and takes the approval of the waiting deploy', async () => {
    // What the old process had done: UpdateService on api-canary (its ECS deployment still rolling out) and the
    // plan of a production deploy, with both cards posted.
    const canary = aws.service('prod', 'api-canary');
    const previousArn = canary.taskDefinition;
    aws.updateService(canary, { forceNewDeployment: true });
    const ecsDeploymentId = canary.deployments[0]?.id ?? '';
    expect(canary.deployments[0]?.rolloutState).toBe('IN_PROGRESS');
    const channel = slack.state.resolveChannel('#deploys', true)?.id ?? '';
    const now = Date.now();
    const image = `${REGISTRY}/${REPO}@${DIGEST}`;
    const waitingFacts = {
      imageTag: '1.1.0',
      digest: DIGEST,
      image,
      previousRevision: 'api:1',
      previousTaskDefinitionArn: aws.service('prod', 'api').taskDefinition,
      expiresAt: new Date(now + 30 * 60_000).toISOString(),
    };
    const waitingCard = deploymentCard(
      {
        id: 'dep_old_waiting',
        seq: 2,
        kind: 'deploy',
        service: 'api',
        environment: 'production',
        state: 'awaiting_approval',
        requestedBy: A,
        requestedAt: new Date(now),
        updatedAt: new Date(now),
        request: { type: 'image', imageTag: '1.1.0' },
        facts: waitingFacts,
        approvals: [],
        approvalPolicy: { required: 1, approvers: [B] },
      },
      new Date(now),
    );
    const rollingMessage = slack.state.postMessage({
      channel,
      text: 'Deploy api → canary #1',
      via: 'chat.postMessage',
    });
    const waitingMessage = slack.state.postMessage({
      channel,
      text: waitingCard.text,
      blocks: waitingCard.blocks.map((block) => ({ ...block })),
      via: 'chat.postMessage',
    });

    const driver = openSqliteDriver(join(dir, 'dockhand.db'));
    await migrateAsBeforeTypedModel(driver, new Date(now));
    await insertOldDeployment(driver, {
      id: 'dep_old_rolling',
      kind: 'deploy',
      service: 'api',
      environment: 'canary',
      state: 'rolling_out',
      requestedBy: A,
      requestedAt: now - 60_000,
      channel,
      messageTs: rollingMessage.ts,
      request: { imageTag: '1.1.0' },
      facts: {
        imageTag: '1.1.0',
        digest: DIGEST,
        image,
        previousRevision: 'api-canary:1',
        previousTaskDefinitionArn: previousArn,
        taskDefinitionArn: canary.taskDefinition,
        revision: 'api-canary:1',
        updateServiceSentAt: new Date(now - 30_000).toISOString(),
        ecsDeploymentId,
        rolloutStartedAt: new Date(now - 30_000).toISOString(),
      },
    });
    await insertOldDeployment(driver, {
      id: 'dep_old_waiting',
      kind: 'deploy',
      service: 'api',
      environment: 'production',
      state: 'awaiting_approval',
      requestedBy: A,
      requestedAt: now,
      channel,
      messageTs: waitingMessage.ts,
      request: { imageTag: '1.1.0' },
      facts: waitingFacts,
    });
    for (const [environment, owner] of [
      ['canary', 'dep_old_rolling'],
      ['production', 'dep_old_waiting'],
    ] as const) {
      await insertOldLock(driver, { service: 'api', environment, owner, holder: A, acquiredAt: now - 60_000 });
    }
    await driver.close();

    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: awsUrl,
      env: { DOCKHAND_ROLLOUT_POLL_MS: '200' },
      dir,
    });

    const rolled = await slack.state.waitForMessage(
      (m) => m.ts === rollingMessage.ts && /succeeded|failed/.test(m.text),
      30_000,
    );
    expect(rolled.text).toContain('succeeded');

    await signedClient(slack, dockhand.eventsUrl).clickButton({
      message: waitingMessage,
      actionId: 'approval.approve',
      userId: B,
    });
    const deployed = await slack.state.waitForMessage(
      (m) => m.ts === waitingMessage.ts && /succeeded|failed/.test(m.text),
      30_000,
    );
    expect(deployed.text).toContain('succeeded');
    // The approved image, by the digest the old process had planned: one revision registered, one UpdateService.
    expect(aws.requestsFor('ECS.RegisterTaskDefinition')).toHaveLength(1);
    expect(aws.requestsFor('ECS.UpdateService')).toHaveLength(1);

    const store = await openStore(`sqlite:${join(dir, 'dockhand.db')}`);
    try {
      const rolling = await store.getDeployment('dep_old_rolling');
      expect(rolling).toMatchObject({ state: 'succeeded', request: { type: 'image', imageTag: '1.1.0' } });
      expect(rolling?.facts.ecsDeploymentId).toBe(ecsDeploymentId);
      const waiting = await store.getDeployment('dep_old_waiting');
      expect(waiting).toMatchObject({ state: 'succeeded', approvals: [{ user: B }] });
      expect(waiting?.expiresAt?.toISOString()).toBe(waitingFacts.expiresAt);
      expect(await store.listLocks(new Date())).toEqual([]);
    } finally {
      await store.close();
    }
  }, 60_000);
});
