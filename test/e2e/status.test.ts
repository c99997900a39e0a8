import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import {
  type FakeSlack,
  signedClient,
  startTestSlack,
  TEST_BOT_TOKEN,
  TEST_SIGNING_SECRET,
} from '../support/slack/index.ts';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
services:
  api:
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app } }
      staging: { target: { type: ecs, cluster: staging, service: api, container: app } }
  worker:
    environments:
      production: { target: { type: ecs, cluster: prod, service: worker, container: app } }
`;

describe('dockhand as a process: /status end to end over signed HTTP, the fake Slack and the fake AWS', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;

  beforeAll(async () => {
    const { url } = await aws.start();
    aws.seedService({
      cluster: 'prod',
      service: 'api',
      family: 'api',
      revisions: 3,
      desiredCount: 2,
      containers: [
        { name: 'app', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:3f2a1bc' },
        { name: 'sidecar', image: 'public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0' },
      ],
    });
    aws.seedService({
      cluster: 'staging',
      service: 'api',
      family: 'api-staging',
      desiredCount: 1,
      containers: [{ name: 'app', image: 'acme/api:main' }],
    });
    aws.seedService({
      cluster: 'prod',
      service: 'worker',
      desiredCount: 1,
      publicIp: false,
      containers: [{ name: 'app', image: 'acme/worker:1' }],
    });
    slack = await startTestSlack();
    // Every /status here reads ECS afresh (what one read costs, faults); sharing reads is status-burst.test.ts's.
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: url,
      env: { DOCKHAND_SNAPSHOT_MAX_AGE_MS: '0' },
    });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('answers /status api with a card carrying the revision, counts, deployment state, events and public IPs', async () => {
    const response = await client.slashCommand({ command: '/status', text: 'api in production', userId: 'U0DEV' });
    expect(response.status).toBe(200);
    const message = await slack.state.waitForMessage((m) => m.text.startsWith('api · production'), 10_000);
    const blocks = JSON.stringify(message.blocks);
    expect(blocks).toContain('`api:3`');
    expect(blocks).toContain('2 running · 0 pending · 2 desired');
    expect(blocks).toContain('COMPLETED');
    expect(blocks).toContain('has reached a steady state');
    expect(blocks).toContain('acme/api:3f2a1bc');
    expect(blocks).toContain('aws-otel-collector');
    const ips = aws.publicIps('prod', 'api');
    expect(ips).toHaveLength(2);
    for (const ip of ips) expect(blocks).toContain(ip);
  });

  it('answers /status with one line per configured service and environment', async () => {
    await client.slashCommand({ command: '/status', text: '', userId: 'U0DEV' });
    const message = await slack.state.waitForMessage((m) => m.text.startsWith('Services:'), 10_000);
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('*api* · production — `api:3` · 2/2 running · healthy');
    expect(text).toContain('*api* · staging — `api-staging:1` · 1/1 running · healthy');
    expect(text).toContain('*worker* · production — `worker:1` · 1/1 running');
  });

  it('batches AWS calls: one DescribeServices and one ListTasks for two services in one cluster', async () => {
    aws.resetCalls();
    await client.slashCommand({ command: '/status', text: '', userId: 'U0DEV' });
    await slack.state.waitFor((s) => s.messages().filter((m) => m.text.startsWith('Services:')).length >= 2, 10_000);
    expect(aws.calls['ECS.DescribeServices']).toBe(2); // one per cluster
    expect(aws.calls['ECS.ListTasks']).toBe(2);
    expect(aws.calls['ECS.DescribeTasks']).toBe(2);
    expect(aws.calls['ECS.DescribeTaskDefinition'] ?? 0).toBe(0); // cached from the first /status
    expect(aws.calls['EC2.DescribeNetworkInterfaces'] ?? 0).toBe(0); // the overview shows no IPs
  });

  it('refuses an unknown service with the usage, ephemerally, without calling AWS', async () => {
    aws.resetCalls();
    const response = await client.slashCommand({ command: '/status', text: 'billing', userId: 'U0DEV' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(response.body)).toContain('There is no service `billing`');
    expect(JSON.stringify(response.body)).toContain('`api`, `worker`');
    const extra = await client.slashCommand({ command: '/status', text: 'api production', userId: 'U0DEV' });
    expect(JSON.stringify(extra.body)).toContain('Usage: `/status [&lt;service&gt;] [in &lt;env&gt;]`'); // mrkdwn-escaped, rendered as <service>
    expect(aws.calls['ECS.DescribeServices'] ?? 0).toBe(0);
  });

  // AWS's message names the account and the role: the reply says what dockhand did, the code and the permission.
  const denied = {
    op: 'ECS.DescribeServices',
    count: 10,
    code: 'AccessDeniedException',
    message:
      'User: arn:aws:sts::123456789012:assumed-role/dockhand-task/9f8e7d is not authorized to perform: ' +
      'ecs:DescribeServices on resource: arn:aws:ecs:us-east-1:123456789012:service/prod/api',
  };

  it('explains an AWS error in plain words, naming the service and the AWS error code', async () => {
    aws.faults({ failNext: denied });
    try {
      await client.slashCommand({ command: '/status', text: 'api in production', userId: 'U0OPS' });
      const reply = await slack.state.waitForEphemeral((m) => m.user === 'U0OPS', 15_000);
      expect(reply.text).toContain('describe services api in cluster prod');
      expect(reply.text).toContain('AccessDeniedException');
      expect(reply.text).toContain('ecs:DescribeServices');
      expect(reply.text).not.toMatch(/123456789012|arn:aws|assumed-role/);
      expect(reply.text).not.toMatch(/\n\s+at /); // no stack trace
      // The log line keeps AWS's whole answer.
      expect(JSON.stringify(dockhand.logs)).toContain('assumed-role/dockhand-task');
    } finally {
      aws.faults(null);
    }
  });

  it('explains an AWS error of the overview without the message AWS wrote', async () => {
    aws.faults({ failNext: denied });
    try {
      await client.slashCommand({ command: '/status', text: '', userId: 'U0OPS2' });
      const reply = await slack.state.waitForEphemeral((m) => m.user === 'U0OPS2', 15_000);
      expect(reply.text).toContain('AccessDeniedException');
      expect(reply.text).toContain('describe services');
      expect(reply.text).not.toMatch(/123456789012|arn:aws|assumed-role/);
    } finally {
      aws.faults(null);
    }
  });

  it.each([
    ['a bad signature', { badSignature: true }],
    ['a stale timestamp (10 minutes old)', { timestampOffsetSeconds: -600 }],
    ['a timestamp 10 minutes in the future', { timestampOffsetSeconds: 600 }],
    ['no signature at all', { unsigned: true }],
  ])('refuses a request with %s with 401 and does not process it', async (_label, sign) => {
    aws.resetCalls();
    const before = slack.state.messages().length;
    const response = await client.slashCommand({ command: '/status', text: 'api', userId: 'U0EVIL', sign });
    expect(response.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.state.messages().length).toBe(before);
    expect(aws.calls['ECS.DescribeServices'] ?? 0).toBe(0);
  });

  it('serves /healthz and /metrics', async () => {
    const health = await fetch(`${dockhand.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, checks: { store: 'ok', app: 'ok' } });
    const metrics = await (await fetch(`${dockhand.url}/metrics`)).text();
    expect(metrics).toMatch(/dockhand_commands_total\{command="\/status",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/dockhand_commands_total\{command="\/status",outcome="refused"\} [1-9]/);
    expect(metrics).toMatch(/dockhand_ack_latency_seconds_count [1-9]/);
    expect(metrics).toMatch(
      /dockhand_aws_calls_total\{service="ECS",operation="DescribeServices",outcome="ok"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /dockhand_aws_calls_total\{service="ECS",operation="DescribeServices",outcome="AccessDeniedException"\} [1-9]/,
    );
  });

  it('writes JSON logs without the bot token or the signing secret', () => {
    expect(dockhand.logs.length).toBeGreaterThan(3);
    expect(dockhand.logs.filter((l) => l.unparsed)).toEqual([]);
    expect(dockhand.output()).not.toContain(TEST_BOT_TOKEN);
    expect(dockhand.output()).not.toContain(TEST_SIGNING_SECRET);
  });
});
