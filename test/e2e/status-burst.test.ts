import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, signedClient, startTestSlack } from '../support/slack/index.ts';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
services:
  api:
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app } }
`;

const BURST = 50;

/**
 * Issue 12: a burst of /status for one service, as a channel does when something looks wrong. dockhand as a process
 * with its default snapshot age, over signed HTTP, against the fake Slack and the fake AWS (which counts calls).
 */
describe('dockhand as a process: fifty /status api at once share one ECS read', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;

  beforeAll(async () => {
    const { url } = await aws.start();
    aws.seedService({
      cluster: 'prod',
      service: 'api',
      desiredCount: 3,
      containers: [{ name: 'app', image: 'acme/api:1' }],
    });
    slack = await startTestSlack();
    dockhand = await startDockhand({ config: CONFIG, slackApiUrl: slack.apiUrl, awsEndpointUrl: url });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it(`answers ${BURST} concurrent /status api with at most 6 AWS calls in all, every card with the public IPs`, async () => {
    aws.resetCalls();
    const acks = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        client.slashCommand({ command: '/status', text: 'api', userId: `U0DEV${String(i).padStart(3, '0')}` }),
      ),
    );
    expect(acks.every((a) => a.status === 200)).toBe(true);
    const cards = () => slack.state.messages().filter((m) => m.text.startsWith('api · production'));
    await slack.state.waitFor(() => cards().length >= BURST, 30_000);

    const calls = aws.calls;
    const total = Object.values(calls).reduce((a, b) => a + b, 0);
    // One read: DescribeServices, DescribeTaskDefinition (first read after start), ListTasks, DescribeTasks, and
    // EC2 DescribeNetworkInterfaces for the tasks' public IPs; and one DescribeScalableTargets (no scalable target:
    // no policies or activities to read), shared the same way.
    expect(total, JSON.stringify(calls)).toBeLessThanOrEqual(6);
    expect(calls['ECS.DescribeServices']).toBe(1);
    expect(calls['ApplicationAutoScaling.DescribeScalableTargets']).toBe(1);

    const ips = aws.publicIps('prod', 'api');
    expect(ips).toHaveLength(3);
    for (const card of cards()) {
      const blocks = JSON.stringify(card.blocks);
      for (const ip of ips) expect(blocks).toContain(ip);
    }
  });

  it('serves a /status soon after from the same snapshot, and the card says how old it is', async () => {
    aws.resetCalls();
    // Older than the 2 s from which a card states its age, well within the default 10 s bound.
    await new Promise((r) => setTimeout(r, 2_500));
    const before = slack.state.messages().length;
    await client.slashCommand({ command: '/status', text: 'api', userId: 'U0LATE' });
    await slack.state.waitFor(() => slack.state.messages().length > before, 10_000);
    const card = slack.state.messages().at(-1);
    expect(JSON.stringify(card?.blocks)).toMatch(/As of <!date\^\d+\^[^|]+\|[^>]+>, [2-9] s ago/);
    expect(aws.calls).toEqual({});
  });
});
