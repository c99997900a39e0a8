/** The fake ELBv2 as the real SDK client sees it: query-protocol requests, XML answers and errors. */
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  TargetGroupNotFoundException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeAws } from '../support/fake-aws/index.ts';

let fake: FakeAws;
let client: ElasticLoadBalancingV2Client;
const credentials = { accessKeyId: 'AKIAFAKEFAKEFAKEFAKE', secretAccessKey: 'fake-secret' };

beforeAll(async () => {
  fake = new FakeAws({ autoStep: 'manual' });
  await fake.start();
  client = new ElasticLoadBalancingV2Client({ endpoint: fake.url, region: 'us-east-1', credentials, maxAttempts: 1 });
});
afterAll(async () => {
  client.destroy();
  await fake.stop();
});
beforeEach(() => fake.reset());

const seed = () =>
  fake.seedService({
    cluster: 'prod',
    service: 'api',
    containers: [{ name: 'app', image: 'api:1', portMappings: [{ containerPort: 8080 }] }],
    desiredCount: 2,
    loadBalancers: [{ targetGroup: 'api-tg', containerPort: 8080, healthyAfterSteps: 2 }],
  });

const health = async (arn: string) => {
  const out = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
  return (out.TargetHealthDescriptions ?? []).map((d) => ({
    id: d.Target?.Id,
    port: d.Target?.Port,
    state: d.TargetHealth?.State,
    reason: d.TargetHealth?.Reason,
  }));
};

describe('fake ELBv2', () => {
  it('registers a seeded service’s tasks as healthy ip targets on the container port', async () => {
    const seeded = seed();
    const arn = fake.targetGroup('api-tg').arn;
    expect(arn).toMatch(/^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/api-tg\/[0-9a-f]{16}$/);
    expect(await health(arn)).toEqual(
      seeded.tasks.map((t) => ({ id: t.privateIp, port: 8080, state: 'healthy', reason: undefined })),
    );
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(1);
    expect(fake.requestsFor('ELBv2.DescribeTargetHealth')[0]?.input).toEqual({ TargetGroupArn: arn });
  });

  it('moves new targets from initial to healthy and old ones through draining as a rollout steps', async () => {
    seed();
    const arn = fake.targetGroup('api-tg').arn;
    const svc = fake.service('prod', 'api');
    fake.invoke('ECS', 'UpdateService', { cluster: 'prod', service: 'api', forceNewDeployment: true });
    fake.step(2); // launch, then RUNNING: the new tasks register
    const registering = await health(arn);
    expect(registering.filter((t) => t.state === 'initial')).toHaveLength(2);
    expect(registering.find((t) => t.state === 'initial')?.reason).toBe('Elb.RegistrationInProgress');
    fake.step(1); // old tasks stop: their targets drain
    expect((await health(arn)).filter((t) => t.state === 'draining').map((t) => t.reason)).toEqual([
      'Target.DeregistrationInProgress',
      'Target.DeregistrationInProgress',
    ]);
    fake.step(1);
    const after = await health(arn);
    expect(after.map((t) => t.state)).toEqual(['healthy', 'healthy']);
    const running = fake.serviceTasks('prod', 'api').map((t) => t.privateIp);
    expect(after.map((t) => t.id)).toEqual(running);
    expect(svc.loadBalancers).toEqual([{ targetGroupArn: arn, containerName: 'app', containerPort: 8080 }]);
  });

  it('fails new targets’ health checks on demand, heals them, and forces one target’s state', async () => {
    const seeded = seed();
    const arn = fake.targetGroup('api-tg').arn;
    fake.failNewTargets('api-tg');
    fake.invoke('ECS', 'UpdateService', { cluster: 'prod', service: 'api', forceNewDeployment: true });
    fake.step(6);
    const failing = await health(arn);
    expect(failing.map((t) => [t.state, t.reason])).toEqual([
      ['unhealthy', 'Target.FailedHealthChecks'],
      ['unhealthy', 'Target.FailedHealthChecks'],
    ]);
    fake.healTargets('api-tg');
    expect((await health(arn)).map((t) => t.state)).toEqual(['healthy', 'healthy']);
    const task = fake.serviceTasks('prod', 'api')[0];
    expect(task && fake.setTargetHealth(task.arn, 'unhealthy', { reason: 'Target.Timeout' })).toBe(1);
    fake.step(3);
    expect((await health(arn))[0]).toMatchObject({ state: 'unhealthy', reason: 'Target.Timeout' });
    expect(seeded.tasks).toHaveLength(2);
  });

  it('answers a target that is not registered as unused', async () => {
    seed();
    const out = await client.send(
      new DescribeTargetHealthCommand({
        TargetGroupArn: fake.targetGroup('api-tg').arn,
        Targets: [{ Id: '10.9.9.9', Port: 8080 }],
      }),
    );
    expect(out.TargetHealthDescriptions?.[0]?.TargetHealth).toEqual({
      State: 'unused',
      Reason: 'Target.NotRegistered',
      Description: 'Target is not registered to the target group',
    });
  });

  it('answers like ELBv2 for an unknown or malformed target group, and for injected faults', async () => {
    const missing = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gone/0123456789abcdef';
    const error = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: missing })).catch((e) => e);
    expect(error).toBeInstanceOf(TargetGroupNotFoundException);
    expect(error.message).toBe(`Target groups '${missing}' not found`);
    const malformed = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: 'tg' })).catch((e) => e);
    expect(malformed.name).toBe('ValidationError');
    seed();
    fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth' } });
    const throttled = await health(fake.targetGroup('api-tg').arn).catch((e) => e);
    expect(throttled.name).toBe('Throttling');
    expect(fake.requestsFor('ELBv2.DescribeTargetHealth').map((r) => r.injected)).toEqual([undefined, undefined, true]);
  });
});
