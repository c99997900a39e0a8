import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * /scale and /status of an ECS service under Application Auto Scaling, end to end: dockhand as a process, signed
 * requests from the fake Slack, the fake AWS answering Application Auto Scaling over JSON 1.1. production's api has a
 * scalable target (2..6, a CPU policy, past activities); staging's has none. A requests, B approves.
 */
const A = 'U0ALICE';
const B = 'U0BOB';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
approvals:
  prod: { approvers: ["${B}"], required: 1, expiresAfter: 30m }
services:
  api:
    environments:
      production:
        target: { type: ecs, cluster: prod, service: api, container: app }
        approval: prod
        scale: { min: 1, max: 10 }
      staging: { target: { type: ecs, cluster: staging, service: api, container: app } }
`;

describe('dockhand as a process: /scale and /status under Application Auto Scaling', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;

  const command = (name: string, text: string, userId = A) =>
    client.slashCommand({ command: name, text, userId, channel: '#deploys' });
  const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 30_000) =>
    slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
  const nextEphemeral = async (user: string, work: () => Promise<unknown>, predicate: (text: string) => boolean) => {
    const seen = slack.state.ephemerals(user).length;
    await work();
    return slack.state.waitFor(
      (s) =>
        s
          .ephemerals(user)
          .slice(seen)
          .find((m) => predicate(m.text + JSON.stringify(m.blocks))),
      15_000,
      'a new ephemeral reply',
    );
  };
  const scalingCalls = () => Object.entries(aws.calls).filter(([key]) => key.startsWith('ApplicationAutoScaling.'));

  beforeAll(async () => {
    const { url } = await aws.start();
    for (const cluster of ['prod', 'staging']) {
      aws.seedService({
        cluster,
        service: 'api',
        family: `api-${cluster}`,
        desiredCount: 3,
        containers: [{ name: 'app', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:1.0.0' }],
      });
    }
    aws.putScalableTarget('prod', 'api', { min: 2, max: 6 });
    aws.putScalingPolicy('prod', 'api', { name: 'api-cpu-target', targetValue: 60 });
    aws.putScalingActivity('prod', 'api', {
      description: 'Setting desired count to 3.',
      cause: 'monitor alarm TargetTracking-service/prod/api-AlarmHigh in state ALARM triggered policy api-cpu-target',
    });
    slack = await startTestSlack();
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: url,
      env: { DOCKHAND_ROLLOUT_POLL_MS: '200' },
    });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('explains that auto scaling owns the count of production, offering the bounds command; nothing changes', async () => {
    aws.resetCalls();
    const reply = await nextEphemeral(
      A,
      () => command('/scale', 'api 8 in production'),
      (t) => t.includes('Application Auto Scaling'),
    );
    expect(reply.text).toContain('min 2, max 6, desired 3 now');
    expect(reply.text).toContain('`/scale api 2..8 in production`');
    expect(aws.requestsFor('ECS.UpdateService')).toHaveLength(0);
    expect(aws.requestsFor('ApplicationAutoScaling.RegisterScalableTarget')).toHaveLength(0);
    expect(scalingCalls()).toEqual([['ApplicationAutoScaling.DescribeScalableTargets', 1]]);
    expect(slack.state.messages().filter((m) => m.text.startsWith('Scale api'))).toHaveLength(0);
  }, 30_000);

  it('refuses bounds outside the config without an AWS call, and bounds where nothing auto scales', async () => {
    aws.resetCalls();
    const outside = await command('/scale', 'api 2..20 in production');
    expect(outside.body).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(outside.body)).toContain('between 1 and 10 tasks; 20 is outside');
    const backwards = await command('/scale', 'api 8..2 in production');
    expect(JSON.stringify(backwards.body)).toContain('the minimum comes first');
    await new Promise((r) => setTimeout(r, 300));
    expect(aws.requests).toHaveLength(0);

    const none = await nextEphemeral(
      A,
      () => command('/scale', 'api 2..8 in staging'),
      (t) => t.includes('no auto scaling'),
    );
    expect(none.text).toContain('`api` in `staging` has no auto scaling');
    expect(aws.requestsFor('ApplicationAutoScaling.RegisterScalableTarget')).toHaveLength(0);
    expect(aws.autoScaling.targets.has('service/staging/api')).toBe(false);
  }, 30_000);

  it('sets production’s bounds to 2..8 after approval: one RegisterScalableTarget, card and audit with old and new', async () => {
    aws.resetCalls();
    await command('/scale', 'api 2..8 in production');
    const pending = await card(
      (m) =>
        m.text.startsWith('Scale api → production to 2..8') && JSON.stringify(m.blocks).includes('approval.approve'),
    );
    expect(JSON.stringify(pending.blocks)).toContain('were `2..6`');
    expect(aws.requestsFor('ApplicationAutoScaling.RegisterScalableTarget')).toHaveLength(0);

    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
    const done = await card((m) => m.ts === pending.ts && JSON.stringify(m.blocks).includes('*Scaled*'));
    expect(JSON.stringify(done.blocks)).toContain('*Scaled* to `2..8` tasks under auto scaling (were `2..6`)');
    const registers = aws.requestsFor('ApplicationAutoScaling.RegisterScalableTarget');
    expect(registers.map((r) => r.input)).toEqual([
      {
        ServiceNamespace: 'ecs',
        ResourceId: 'service/prod/api',
        ScalableDimension: 'ecs:service:DesiredCount',
        MinCapacity: 2,
        MaxCapacity: 8,
      },
    ]);
    expect(aws.autoScaling.targets.get('service/prod/api')).toMatchObject({ minCapacity: 2, maxCapacity: 8 });
    expect(aws.requestsFor('ECS.UpdateService')).toHaveLength(0);
    expect(scalingCalls()).toEqual([
      ['ApplicationAutoScaling.DescribeScalableTargets', 2], // at the request, and right before the change
      ['ApplicationAutoScaling.RegisterScalableTarget', 1],
    ]);

    const store = await openStore(`sqlite:${dockhand.dir}/dockhand.db`);
    try {
      const [deployment] = await store.listDeployments({ service: 'api', environment: 'production' });
      expect(deployment).toMatchObject({ kind: 'scale', state: 'succeeded', request: { type: 'scaleBounds' } });
      const trail = await store.listAudit({ subject: deployment?.id ?? '', limit: 50 });
      expect(trail.find((e) => e.action === 'autoscaling.bounds')).toMatchObject({
        actor: A,
        outcome: 'ok',
        detail: { from: { min: 2, max: 6 }, to: { min: 2, max: 8 } },
      });
      expect(trail.find((e) => e.action === 'deployment.requested')?.detail).toMatchObject({
        request: { type: 'scaleBounds', min: 2, max: 8, from: { min: 2, max: 6 } },
      });
    } finally {
      await store.close();
    }
  }, 60_000);

  it('shows the new bounds, the policy and the last activities on /status', async () => {
    aws.resetCalls();
    await command('/status', 'api in production');
    const status = await slack.state.waitForMessage((m) => m.text.startsWith('api · production'), 15_000);
    const text = JSON.stringify(status.blocks);
    expect(text).toContain('*Auto scaling* between 2 and 8 tasks');
    expect(text).toContain('`api-cpu-target` TargetTrackingScaling — keeps CPU utilization at 60');
    expect(text).toContain('Setting desired count to 3.');
    expect(Object.fromEntries(scalingCalls())).toEqual({
      'ApplicationAutoScaling.DescribeScalableTargets': 1,
      'ApplicationAutoScaling.DescribeScalingPolicies': 1,
      'ApplicationAutoScaling.DescribeScalingActivities': 1,
    });
  }, 30_000);

  it('scales staging, which nothing auto scales, as before: one UpdateService with the count', async () => {
    aws.resetCalls();
    await command('/scale', 'api 4 in staging');
    await card((m) => m.text.startsWith('Scale api → staging to 4') && JSON.stringify(m.blocks).includes('*Scaled*'));
    const updates = aws.requestsFor('ECS.UpdateService');
    expect(updates.map((u) => u.input)).toEqual([expect.objectContaining({ cluster: 'staging', desiredCount: 4 })]);
    expect(scalingCalls()).toEqual([['ApplicationAutoScaling.DescribeScalableTargets', 1]]);
  }, 60_000);

  it('fails new bounds whose scalable target was removed before approval, registering nothing', async () => {
    aws.resetCalls();
    await command('/scale', 'api 3..8 in production');
    const pending = await card(
      (m) =>
        m.text.startsWith('Scale api → production to 3..8') && JSON.stringify(m.blocks).includes('approval.approve'),
    );
    aws.autoScaling.targets.delete('service/prod/api'); // the infrastructure code deregistered it meanwhile
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
    const failed = await card(
      (m) => m.ts === pending.ts && JSON.stringify(m.blocks).includes('no auto scaling any more'),
    );
    expect(JSON.stringify(failed.blocks)).toContain('nothing was changed');
    expect(JSON.stringify(failed.blocks)).not.toContain('refused by policy');
    expect(aws.requestsFor('ApplicationAutoScaling.RegisterScalableTarget')).toHaveLength(0);
    expect(aws.autoScaling.targets.has('service/prod/api')).toBe(false);
    aws.putScalableTarget('prod', 'api', { min: 2, max: 8 });
  }, 60_000);

  it('keeps new bounds behind a freeze, like a count, and asks no AWS', async () => {
    await command('/dockhand', 'freeze production for 1h capacity review', B);
    await slack.state.waitForMessage((m) => m.text.includes('froze production'), 10_000);
    aws.resetCalls();
    const frozen = await nextEphemeral(
      A,
      () => command('/scale', 'api 3..8 in production'),
      (t) => t.includes('is frozen'),
    );
    expect(frozen.text).toContain('`production` is frozen (capacity review)');
    expect(frozen.text).toContain('--emergency');
    expect(aws.requests).toHaveLength(0);
  }, 30_000);
});
