/**
 * The fake ECS's blue/green part, through the real SDK client over the wire: a BLUE_GREEN service's deployment walks
 * the lifecycle stages one per step, bakes by the fake's clock, and StopServiceDeployment (ROLLBACK) during bake
 * returns production to the blue revision. A rolling service answers as before (no strategy, no lifecycleStage).
 */
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  type ServiceDeployment,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeAws } from '../support/fake-aws/index.ts';

const credentials = { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake-secret' };

describe('fake AWS: ECS blue/green service deployments', () => {
  let clock = new Date('2026-12-01T10:00:00Z');
  const fake = new FakeAws({ autoStep: 'manual', now: () => clock });
  let ecs: ECSClient;

  beforeAll(async () => {
    const { url } = await fake.start();
    ecs = new ECSClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    ecs.destroy();
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
    clock = new Date('2026-12-01T10:00:00Z');
    fake.seedService({
      cluster: 'prod',
      service: 'api',
      desiredCount: 2,
      revisions: 2,
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 5,
      containers: [{ name: 'app', image: 'acme/api:1' }],
    });
    fake.seedService({ cluster: 'prod', service: 'rolling', containers: [{ name: 'app', image: 'acme/r:1' }] });
  });

  const service = async (name = 'api') =>
    (await ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: [name] }))).services?.[0];
  const current = async (): Promise<ServiceDeployment | undefined> => {
    const arn = (await service())?.currentServiceDeployment ?? '';
    return (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })))
      .serviceDeployments?.[0];
  };
  const deployRevision1 = () =>
    ecs.send(
      new UpdateServiceCommand({
        cluster: 'prod',
        service: 'api',
        taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:1',
      }),
    );

  it('reports the strategy and bake time on the service, and nothing new on a rolling one', async () => {
    expect((await service())?.deploymentConfiguration).toMatchObject({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 5 });
    const rolling = (await service('rolling'))?.deploymentConfiguration;
    expect(rolling?.strategy).toBeUndefined();
    expect(rolling?.bakeTimeInMinutes).toBeUndefined();
  });

  it('walks the lifecycle stages one per step, bakes by the clock, and succeeds after clean-up', async () => {
    await deployRevision1();
    const stages: (string | undefined)[] = [(await current())?.lifecycleStage];
    for (let i = 0; i < 7; i++) {
      fake.step();
      stages.push((await current())?.lifecycleStage);
    }
    expect(stages).toEqual([
      'PRE_SCALE_UP',
      'SCALE_UP',
      'POST_SCALE_UP',
      'TEST_TRAFFIC_SHIFT',
      'POST_TEST_TRAFFIC_SHIFT',
      'PRODUCTION_TRAFFIC_SHIFT',
      'POST_PRODUCTION_TRAFFIC_SHIFT',
      'BAKE_TIME',
    ]);
    // Both revisions run during bake; the bake lasts 5 minutes of the fake's clock.
    expect(fake.serviceTasks('prod', 'api')).toHaveLength(4);
    fake.step(3);
    expect((await current())?.lifecycleStage).toBe('BAKE_TIME');
    clock = new Date(clock.getTime() + 5 * 60_000);
    fake.step();
    expect(await current()).toMatchObject({ lifecycleStage: 'CLEAN_UP', status: 'IN_PROGRESS' });
    expect(fake.serviceTasks('prod', 'api')).toHaveLength(2);
    fake.step();
    expect(await current()).toMatchObject({ status: 'SUCCESSFUL' });
    const done = await service();
    expect(done?.deployments).toHaveLength(1);
    expect(done?.deployments?.[0]).toMatchObject({
      rolloutState: 'COMPLETED',
      taskDefinition: expect.stringContaining('api:1'),
    });
  });

  it('rolls back to the blue revision when stopped with ROLLBACK during bake', async () => {
    await deployRevision1();
    fake.step(7);
    const baking = await current();
    expect(baking?.lifecycleStage).toBe('BAKE_TIME');
    await ecs.send(
      new StopServiceDeploymentCommand({ serviceDeploymentArn: baking?.serviceDeploymentArn, stopType: 'ROLLBACK' }),
    );
    expect((await current())?.status).toBe('ROLLBACK_REQUESTED');
    fake.step(5);
    expect(await current()).toMatchObject({ status: 'ROLLBACK_SUCCESSFUL' });
    const after = await service();
    expect(after?.taskDefinition).toContain('api:2');
    expect(after?.deployments).toHaveLength(1);
    const live = fake.serviceTasks('prod', 'api');
    expect(live).toHaveLength(2);
    expect(live.every((t) => t.taskDefinitionArn.endsWith('api:2'))).toBe(true);
  });
});
