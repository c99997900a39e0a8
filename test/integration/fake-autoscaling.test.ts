/**
 * The fake Application Auto Scaling as the real SDK client sees it (JSON 1.1, `AnyScaleFrontendService.<Op>`), and
 * dockhand's adapter (src/adapters/aws/autoscaling.ts) over it: bounds, detail, setBounds, errors, call counts.
 */
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsAutoScaling } from '../../src/adapters/aws/autoscaling.ts';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { aConfig } from '../support/builders.ts';
import { FakeClock } from '../support/deploy-fakes.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

let fake: FakeAws;
let client: ApplicationAutoScalingClient;
let clients: AwsClients;
let scaling: AwsAutoScaling;
const credentials = { accessKeyId: 'AKIAFAKEFAKEFAKEFAKE', secretAccessKey: 'fake-secret' };
const config = aConfig();
const production = resolveTarget(config, 'api', 'production');
const staging = resolveTarget(config, 'api', 'staging');

beforeAll(async () => {
  fake = new FakeAws();
  await fake.start();
  client = new ApplicationAutoScalingClient({ endpoint: fake.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  process.env.AWS_ACCESS_KEY_ID ??= credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= credentials.secretAccessKey;
  clients = createAwsClients({ endpoint: fake.url, region: 'us-east-1', maxAttempts: 1 });
  scaling = new AwsAutoScaling({ clients, defaultRegion: 'us-east-1' });
});
afterAll(async () => {
  client.destroy();
  clients.destroy();
  await fake.stop();
});
beforeEach(() => {
  fake.reset();
  for (const cluster of ['prod', 'staging']) {
    fake.seedService({ cluster, service: 'api', containers: [{ name: 'app', image: 'acme/api:1' }], desiredCount: 3 });
  }
});

describe('fake Application Auto Scaling (wire)', () => {
  it('registers a target, answers it, and re-bounds it moving the desired count inside', async () => {
    await client.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'ecs',
        ResourceId: 'service/prod/api',
        ScalableDimension: 'ecs:service:DesiredCount',
        MinCapacity: 2,
        MaxCapacity: 6,
      }),
    );
    const out = await client.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: ['service/prod/api'] }),
    );
    expect(out.ScalableTargets).toHaveLength(1);
    expect(out.ScalableTargets?.[0]).toMatchObject({ MinCapacity: 2, MaxCapacity: 6, ResourceId: 'service/prod/api' });
    expect(out.ScalableTargets?.[0]?.CreationTime).toBeInstanceOf(Date);

    await client.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'ecs',
        ResourceId: 'service/prod/api',
        ScalableDimension: 'ecs:service:DesiredCount',
        MinCapacity: 5,
      }),
    );
    expect(fake.autoScaling.targets.get('service/prod/api')).toMatchObject({ minCapacity: 5, maxCapacity: 6 });
    expect(fake.services.get('prod/api')?.desiredCount).toBe(5);
    expect(fake.autoScaling.activities.at(-1)?.description).toBe('Setting desired count to 5.');
  });

  it('answers the errors Application Auto Scaling sends', async () => {
    const register = (input: Record<string, unknown>) =>
      client.send(
        new RegisterScalableTargetCommand({
          ServiceNamespace: 'ecs',
          ResourceId: 'service/prod/api',
          ScalableDimension: 'ecs:service:DesiredCount',
          ...input,
        }),
      );
    await expect(register({ MinCapacity: 2 })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(register({ MinCapacity: 8, MaxCapacity: 2 })).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('cannot be greater'),
    });
    await expect(register({ ResourceId: 'service/prod/nope', MinCapacity: 1, MaxCapacity: 2 })).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("doesn't exist"),
    });
    expect(() => fake.putScalingPolicy('prod', 'api', { name: 'cpu' })).toThrow(/No scalable target/);
    expect(fake.autoScaling.targets.size).toBe(0);
  });
});

describe('AwsAutoScaling over the fake', () => {
  it('reads no bounds where nothing auto scales the service, in one call', async () => {
    fake.resetCalls();
    expect(await scaling.bounds(production)).toBeUndefined();
    expect(await scaling.detail(production, 3)).toBeUndefined();
    expect(fake.calls).toEqual({ 'ApplicationAutoScaling.DescribeScalableTargets': 2 });
  });

  it('reads the bounds, policies and newest activities, and sets new bounds', async () => {
    fake.putScalableTarget('prod', 'api', { min: 2, max: 6 });
    fake.putScalableTarget('staging', 'api', { min: 1, max: 1 });
    fake.putScalingPolicy('prod', 'api', { name: 'cpu50', targetValue: 50 });
    fake.putScalingPolicy('prod', 'api', { name: 'steps', type: 'StepScaling' });
    for (const n of [1, 2, 3, 4]) {
      fake.putScalingActivity('prod', 'api', {
        description: `Setting desired count to ${n + 2}.`,
        cause: `monitor alarm ${n} in state ALARM triggered policy cpu50`,
        startTime: new Date(Date.UTC(2026, 10, 20, 10, n)),
      });
    }
    fake.resetCalls();
    expect(await scaling.bounds(production)).toEqual({ min: 2, max: 6 });
    const detail = await scaling.detail(production, 3);
    expect(detail).toMatchObject({
      min: 2,
      max: 6,
      policies: [
        { name: 'cpu50', type: 'TargetTrackingScaling', targetValue: 50, metric: 'ECSServiceAverageCPUUtilization' },
        { name: 'steps', type: 'StepScaling' },
      ],
    });
    expect(detail?.activities.map((a) => a.description)).toEqual([
      'Setting desired count to 6.',
      'Setting desired count to 5.',
      'Setting desired count to 4.',
    ]);
    expect(fake.calls).toEqual({
      'ApplicationAutoScaling.DescribeScalableTargets': 2,
      'ApplicationAutoScaling.DescribeScalingPolicies': 1,
      'ApplicationAutoScaling.DescribeScalingActivities': 1,
    });

    await scaling.setBounds(production, { min: 3, max: 8 });
    expect(fake.autoScaling.targets.get('service/prod/api')).toMatchObject({ minCapacity: 3, maxCapacity: 8 });
    expect(fake.autoScaling.targets.get('service/staging/api')).toMatchObject({ minCapacity: 1, maxCapacity: 1 });
    expect(fake.requestsFor('ApplicationAutoScaling.RegisterScalableTarget')[0]?.input).toEqual({
      ServiceNamespace: 'ecs',
      ResourceId: 'service/prod/api',
      ScalableDimension: 'ecs:service:DesiredCount',
      MinCapacity: 3,
      MaxCapacity: 8,
    });
    expect(await scaling.bounds(staging)).toEqual({ min: 1, max: 1 });
  });

  it('names the service by its names when dockhand.yml names the cluster and the service by their ARNs', async () => {
    fake.putScalableTarget('prod', 'api', { min: 2, max: 6 });
    const byArn = (cluster: string, service: string) =>
      resolveTarget(
        aConfig({
          services: {
            api: { environments: { production: { target: { type: 'ecs', cluster, service, container: 'app' } } } },
          },
        }),
        'api',
        'production',
      );
    const arn = 'arn:aws:ecs:us-east-1:123456789012';
    fake.resetCalls();
    // The new (cluster in the service ARN) and the old (service name only) service ARN formats.
    expect(await scaling.bounds(byArn(`${arn}:cluster/prod`, `${arn}:service/prod/api`))).toEqual({ min: 2, max: 6 });
    expect(await scaling.bounds(byArn(`${arn}:cluster/prod`, `${arn}:service/api`))).toEqual({ min: 2, max: 6 });
    expect(await scaling.bounds(byArn('prod', `${arn}:service/prod/api`))).toEqual({ min: 2, max: 6 });
    expect(fake.requestsFor('ApplicationAutoScaling.DescribeScalableTargets').map((r) => r.input.ResourceIds)).toEqual([
      ['service/prod/api'],
      ['service/prod/api'],
      ['service/prod/api'],
    ]);
    await scaling.setBounds(byArn(`${arn}:cluster/prod`, `${arn}:service/prod/api`), { min: 3, max: 7 });
    expect(fake.autoScaling.targets.get('service/prod/api')).toMatchObject({ minCapacity: 3, maxCapacity: 7 });
    expect(fake.autoScaling.targets.size).toBe(1);
  });

  it('shares a /status read of the same service while it is fresh, and reads again after new bounds', async () => {
    fake.putScalableTarget('prod', 'api', { min: 2, max: 6 });
    const clock = new FakeClock('2026-11-20T10:00:00Z');
    const shared = new AwsAutoScaling({ clients, defaultRegion: 'us-east-1', clock, maxAgeMs: 10_000 });
    fake.resetCalls();
    const answers = await Promise.all(Array.from({ length: 20 }, () => shared.detail(production, 3)));
    expect(answers.every((a) => a?.max === 6)).toBe(true);
    clock.advance(5_000);
    await shared.detail(production, 3);
    expect(fake.calls['ApplicationAutoScaling.DescribeScalableTargets']).toBe(1);
    await shared.setBounds(production, { min: 2, max: 9 });
    expect((await shared.detail(production, 3))?.max).toBe(9);
    clock.advance(10_001);
    await shared.detail(production, 3);
    expect(fake.calls['ApplicationAutoScaling.DescribeScalableTargets']).toBe(3);
    expect(fake.calls['ApplicationAutoScaling.DescribeScalingPolicies']).toBe(3);
  });

  it('turns injected faults and refusals into errors that say what failed', async () => {
    fake.putScalableTarget('prod', 'api', { min: 2, max: 6 });
    fake.faults({ failNext: { op: 'ApplicationAutoScaling.DescribeScalableTargets', code: 'AccessDeniedException' } });
    await expect(scaling.bounds(production)).rejects.toMatchObject({
      awsCode: 'AccessDeniedException',
      message: expect.stringContaining('read the auto scaling of service/prod/api'),
      hint: expect.stringContaining('IAM'),
    });
    fake.faults({ failNext: { op: 'RegisterScalableTarget' } });
    await expect(scaling.setBounds(production, { min: 2, max: 4 })).rejects.toMatchObject({
      awsCode: 'ThrottlingException',
    });
    expect(fake.autoScaling.targets.get('service/prod/api')).toMatchObject({ minCapacity: 2, maxCapacity: 6 });
    expect(fake.requestsFor('ApplicationAutoScaling.RegisterScalableTarget')[0]?.injected).toBe(true);
  });
});
