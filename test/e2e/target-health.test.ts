import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * Load balancer target health end to end: dockhand as a process (signed requests, the fake Slack) and the fake AWS,
 * whose ELBv2 answers DescribeTargetHealth over the query protocol with targets that follow the service's tasks.
 * /status shows the targets; a rollout ECS completed waits for its targets (the card says which and why) and
 * succeeds once they are healthy; the health watch, on its real cron schedule (every minute, so about two minutes),
 * alerts once when a target turns unhealthy.
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
      production: { target: { type: ecs, cluster: prod, service: api, container: app } }
    watch:
      health: "* * * * *"
`;

describe('dockhand as a process: load balancer target health', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;

  const texts = () => slack.state.messages('#deploys').map((m) => m.text);
  const ticksDone = () => dockhand.logs.filter((l) => l.msg === 'watch tick done').length;
  const nextTick = async (timeoutMs = 75_000) => {
    const seen = ticksDone();
    const deadline = Date.now() + timeoutMs;
    while (ticksDone() <= seen) {
      if (Date.now() > deadline) throw new Error(`no watch tick within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const targetHealthCalls = () => aws.requestsFor('ELBv2.DescribeTargetHealth');

  beforeAll(async () => {
    const { url } = await aws.start();
    aws.seedService({
      cluster: 'prod',
      service: 'api',
      family: 'api',
      desiredCount: 2,
      containers: [
        {
          name: 'app',
          image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${REPO}:1.0.0`,
          portMappings: [{ containerPort: 8080 }],
        },
      ],
      loadBalancers: [{ targetGroup: 'api-tg', containerPort: 8080 }],
    });
    aws.putImage(REPO, '1.1.0', `sha256:${'1'.repeat(64)}`);
    aws.putImage(REPO, '1.2.0', `sha256:${'2'.repeat(64)}`);
    slack = await startTestSlack();
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: url,
      env: { DOCKHAND_ROLLOUT_POLL_MS: '200', DOCKHAND_SNAPSHOT_MAX_AGE_MS: '0' },
    });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('shows each target with its state and task on /status, one DescribeTargetHealth per target group', async () => {
    aws.resetCalls();
    const response = await client.slashCommand({ command: '/status', text: 'api in production', userId: A });
    expect(response.status).toBe(200);
    const card = await slack.state.waitForMessage((m) => m.text.startsWith('api · production'), 10_000);
    const blocks = JSON.stringify(card.blocks);
    expect(blocks).toContain('*Load balancer targets*');
    expect(blocks).toContain('*Target group* `api-tg` — 2/2 healthy');
    for (const task of aws.serviceTasks('prod', 'api')) {
      expect(blocks).toContain(`\`${task.privateIp}:8080\` task \`${task.id.slice(0, 12)}\` healthy`);
    }
    expect(targetHealthCalls().map((r) => [r.status, r.input.TargetGroupArn])).toEqual([
      [200, aws.targetGroup('api-tg').arn],
    ]);
  });

  it('keeps a rollout ECS completed waiting while its targets fail health checks, then succeeds', async () => {
    aws.failNewTargets('api-tg');
    await client.slashCommand({ command: '/deploy', text: 'api image:1.1.0 to production', userId: A });
    const waiting = await slack.state.waitForMessage(
      (m) =>
        m.text.startsWith('Deploy api → production') && JSON.stringify(m.blocks).includes('waiting for its targets'),
      60_000,
    );
    const blocks = JSON.stringify(waiting.blocks);
    expect(blocks).toContain('Target.FailedHealthChecks');
    expect(blocks).toMatch(/`api-tg` — 0\/\d healthy/);
    expect(waiting.text).not.toContain('succeeded');
    // ECS finished long ago; the rollout still is not done.
    const service = aws.service('prod', 'api');
    expect(service.deployments.map((d) => d.rolloutState)).toEqual(['COMPLETED']);

    aws.healTargets('api-tg');
    const done = await slack.state.waitForMessage(
      (m) => m.text.startsWith('Deploy api → production') && m.text.includes('succeeded'),
      60_000,
    );
    expect(done.history.some((v) => JSON.stringify(v.blocks).includes('Target.FailedHealthChecks'))).toBe(true);
    expect(targetHealthCalls().every((r) => r.status === 200)).toBe(true);
  }, 120_000);

  it('alerts once when a target turns unhealthy, on the health watch’s tick', async () => {
    await nextTick();
    expect(texts().filter((t) => t.includes('lost healthy targets'))).toEqual([]);
    const [task] = aws.serviceTasks('prod', 'api');
    if (!task) throw new Error('no task');
    aws.setTargetHealth(task.arn, 'unhealthy', { reason: 'Target.ResponseCodeMismatch' });
    await nextTick();
    const alert = await slack.state.waitForMessage((m) => m.text.includes('lost healthy targets'), 10_000);
    expect(alert.text).toBe(
      'api · production: target group api-tg lost healthy targets (1/2 healthy): unhealthy Target.ResponseCodeMismatch',
    );
    expect(JSON.stringify(alert.blocks)).toContain(`task \`${task.id.slice(0, 12)}\``);
    await nextTick();
    expect(texts().filter((t) => t.includes('lost healthy targets'))).toHaveLength(1);
    expect(texts().join('\n')).not.toMatch(/fake-secret|at .*\.ts:\d+/);
  }, 300_000);
  it('succeeds on ECS alone when the role may not read target health, warning once without AWS’s message', async () => {
    // A role written before dockhand read target health: AWS's refusal names the account and the role.
    const message =
      'User: arn:aws:sts::123456789012:assumed-role/dockhand-prod/i-0abc is not authorized to perform: elasticloadbalancing:DescribeTargetHealth';
    aws.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'AccessDenied', message, count: 100_000 } });
    try {
      const before = new Set(slack.state.messages('#deploys').map((m) => m.ts));
      await client.slashCommand({ command: '/deploy', text: 'api image:1.2.0 to production', userId: A });
      // Before, every look failed with AccessDenied and so did the rollout.
      const done = await slack.state.waitForMessage(
        (m) => !before.has(m.ts) && m.text.startsWith('Deploy api → production') && /succeeded|failed/.test(m.text),
        60_000,
      );
      expect(done.text).toContain('succeeded');
      expect(JSON.stringify(done.history.map((v) => v.blocks))).not.toContain('assumed-role');
      const warned = dockhand.logs.filter((l) => String(l.msg).startsWith('target health may not be read'));
      expect(warned).toHaveLength(1);
      expect(JSON.stringify(warned)).not.toContain('assumed-role');
    } finally {
      aws.faults(null);
    }
  }, 120_000);
});
