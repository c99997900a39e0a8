/**
 * ECS blue/green end to end: dockhand as a process, signed requests from the fake Slack, the fake AWS over the wire
 * (stepped by hand, with a clock the test moves). A /deploy to a BLUE_GREEN service shows each lifecycle stage on the
 * card in turn and succeeds only once the service deployment is SUCCESSFUL; an Abort during bake time rolls back with
 * StopServiceDeployment (ROLLBACK), the card says so, and the service returns to its old revision.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

const A = 'U0ALICE';
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  ecr: { type: ecr }
services:
  api:
    image: { registry: ecr, repository: acme/api }
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app } }
  web:
    image: { registry: ecr, repository: acme/web }
    environments:
      production: { target: { type: ecs, cluster: prod, service: web, container: app } }
  jobs:
    image: { registry: ecr, repository: acme/jobs }
    environments:
      production: { target: { type: ecs, cluster: prod, service: jobs, container: app } }
  count:
    image: { registry: ecr, repository: acme/count }
    environments:
      production: { target: { type: ecs, cluster: prod, service: count, container: app } }
`;

describe('dockhand as a process: ECS blue/green deployments', () => {
  let offsetMs = 0;
  const aws = new FakeAws({ autoStep: 'manual', now: () => new Date(Date.now() + offsetMs) });
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;

  const card = (service: string, predicate: (text: string) => boolean, timeoutMs = 15_000) =>
    slack.state.waitForMessage(
      (m) => m.text.startsWith(`Deploy ${service} → production`) && predicate(JSON.stringify(m.blocks) + m.text),
      timeoutMs,
    );

  beforeAll(async () => {
    const { url } = await aws.start();
    for (const [service, bake, digit] of [
      ['api', 1, '1'],
      ['web', 30, '2'],
      ['jobs', 5, '3'],
      ['count', 5, '4'],
    ] as const) {
      aws.seedService({
        cluster: 'prod',
        service,
        desiredCount: 2,
        strategy: 'BLUE_GREEN',
        bakeTimeInMinutes: bake,
        containers: [{ name: 'app', image: `${ECR}/acme/${service}:1.0.0` }],
      });
      aws.putImage(`acme/${service}`, '1.1.0', `sha256:${digit.repeat(64)}`);
    }
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

  it('walks the card through every stage, with the bake time left, and succeeds after clean-up', async () => {
    await client.slashCommand({ command: '/deploy', text: 'api image:1.1.0 to production', userId: A });
    await card('api', (t) => t.includes('Preparing to start the green revision'), 30_000);
    const stages = [
      'Starting the green revision beside the blue one',
      'The green revision runs; production traffic stays on blue',
      'Shifting test traffic to the green revision',
      'Test traffic is on the green revision',
      'Shifting production traffic to the green revision',
      'Production traffic is on the green revision',
      'Bake time: both revisions run, production traffic is on green',
    ];
    for (const words of stages) {
      aws.step();
      await card('api', (t) => t.includes(words));
    }
    const baking = await card('api', (t) => /\d+s left of 1m|1m left of 1m/.test(t));
    expect(baking.text).toMatch(/rolling out · 2\/2 running · bake time, /);
    // Both revisions run during bake; the rollout is not done although the green tasks all run.
    expect(aws.serviceTasks('prod', 'api')).toHaveLength(4);

    // One DescribeServiceDeployments per look, beside the DescribeServices of that look.
    aws.resetCalls();
    await new Promise((r) => setTimeout(r, 1_000));
    const calls = aws.calls;
    expect(calls['ECS.DescribeServiceDeployments']).toBeGreaterThan(0);
    expect(
      Math.abs((calls['ECS.DescribeServiceDeployments'] ?? 0) - (calls['ECS.DescribeServices'] ?? 0)),
    ).toBeLessThanOrEqual(1);
    expect(calls['ECS.ListServiceDeployments']).toBeUndefined();

    offsetMs += 60_000;
    aws.step();
    await card('api', (t) => t.includes('Cleaning up: the blue revision is being stopped'));
    aws.step();
    const done = await card('api', (t) => t.includes('succeeded'));
    expect(done.text).toContain('Deploy api → production #1: succeeded');
    expect(aws.service('prod', 'api').serviceDeployments[0]?.status).toBe('SUCCESSFUL');
    expect(aws.service('prod', 'api').taskDefinition).toMatch(/api:2$/);
  });

  it('Abort during bake rolls back with StopServiceDeployment ROLLBACK, and the card says so', async () => {
    await client.slashCommand({ command: '/deploy', text: 'web image:1.1.0 to production', userId: A });
    await card('web', (t) => t.includes('Preparing to start the green revision'), 30_000);
    for (let i = 0; i < 7; i++) aws.step();
    const baking: StoredMessage = await card('web', (t) => t.includes('left of 30m'));
    expect(JSON.stringify(baking.blocks)).toContain('deploy.abort');

    await client.clickButton({ message: baking, actionId: 'deploy.abort', userId: A });
    const aborted = await card('web', (t) => t.includes('aborted') && t.includes('StopServiceDeployment'));
    expect(JSON.stringify(aborted.blocks)).toContain(
      'Aborted during bake time: ECS rolls the blue/green deployment back to `web:1` (StopServiceDeployment, ROLLBACK)',
    );
    const stops = aws.requestsFor('ECS.StopServiceDeployment');
    expect(stops.map((r) => r.input.stopType)).toEqual(['ROLLBACK']);
    expect(stops[0]?.status).toBe(200);
    expect(aws.requestsFor('ECS.UpdateService').filter((r) => r.input.service === 'web')).toHaveLength(1);

    // ECS carries the rollback out: the green tasks stop, blue keeps production.
    aws.step(5);
    const web = aws.service('prod', 'web');
    expect(web.serviceDeployments[0]?.status).toBe('ROLLBACK_SUCCESSFUL');
    expect(web.taskDefinition).toMatch(/web:1$/);
    expect(aws.serviceTasks('prod', 'web').every((t) => t.taskDefinitionArn.endsWith('web:1'))).toBe(true);
  });

  it('follows /scale of a blue/green service by its tasks, not by the previous rollout’s service deployment', async () => {
    // A new count makes no service deployment: ECS's current one is the earlier rollout's, SUCCESSFUL.
    const scaleCard = (predicate: (text: string) => boolean) =>
      slack.state.waitForMessage((m) => m.text.startsWith('Scale count') && predicate(m.text), 15_000);
    await client.slashCommand({ command: '/scale', text: 'count 6 in production', userId: A });
    await scaleCard((t) => t.includes('rolling out'));
    await new Promise((r) => setTimeout(r, 1_000));
    const early = slack.state.messages().filter((m) => m.text.startsWith('Scale count'));
    expect(early.some((m) => m.text.includes('succeeded'))).toBe(false);
    expect(aws.serviceTasks('prod', 'count')).toHaveLength(2);
    aws.step(4);
    const done = await scaleCard((t) => t.includes('succeeded'));
    expect(done.text).toContain('succeeded');
    expect(aws.serviceTasks('prod', 'count').filter((t) => t.lastStatus === 'RUNNING')).toHaveLength(6);
  });

  it('fails the rollout with ECS’s reason when ECS rolls the blue/green deployment back', async () => {
    aws.failNextRollout('prod', 'jobs', { reason: 'green tasks failed to start: exec format error' });
    await client.slashCommand({ command: '/deploy', text: 'jobs image:1.1.0 to production', userId: A });
    await card('jobs', (t) => t.includes('Preparing to start the green revision'), 30_000);
    aws.step(2);
    const failed = await card('jobs', (t) => t.includes(': failed'));
    expect(failed.text).toContain(
      'failed: Rollout failed: the blue/green deployment is rolling back: green tasks failed to start: exec format error',
    );
    expect(JSON.stringify(failed.blocks)).toContain(
      'ECS is rolling the blue/green deployment back: production traffic returns to blue* during scale-up',
    );
    aws.step(3);
    expect(aws.service('prod', 'jobs').serviceDeployments[0]?.status).toBe('ROLLBACK_SUCCESSFUL');
    expect(aws.service('prod', 'jobs').taskDefinition).toMatch(/jobs:1$/);
  });
});
