/**
 * ECS deployment alarms below the pipeline: AwsEcsDeployer's plan and progress read the alarms of a service that has
 * them (one DescribeAlarms each, real SDK clients against the fake AWS) and make no CloudWatch call for one that has
 * none; the fake ECS fails and rolls back a rollout when a watched alarm goes into ALARM.
 */
import { DescribeServiceDeploymentsCommand, DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsDeployer } from '../../src/adapters/aws/ecs-deployer.ts';
import type { EcsDeployTarget, RolloutProgress } from '../../src/ports.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

const credentials = { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake-secret' };
const target: EcsDeployTarget = { cluster: 'prod', service: 'api', container: 'app' };
const plain: EcsDeployTarget = { cluster: 'prod', service: 'worker', container: 'app' };

let fake: FakeAws;
let clients: AwsClients;
let deployer: AwsEcsDeployer;
const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

beforeAll(() => {
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
});

afterAll(() => {
  if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
  else process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
  if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  else process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
});

beforeEach(async () => {
  fake = new FakeAws({ autoStep: 'manual' });
  await fake.start();
  fake.putAlarm('api-latency', { state: 'INSUFFICIENT_DATA', reason: 'Insufficient Data: 1 datapoint was unknown.' });
  fake.seedService({
    cluster: 'prod',
    service: 'api',
    desiredCount: 2,
    containers: [{ name: 'app', image: 'registry.example/api:1' }],
    alarms: { alarmNames: ['api-5xx', 'api-latency'] },
  });
  fake.seedService({
    cluster: 'prod',
    service: 'worker',
    desiredCount: 1,
    containers: [{ name: 'app', image: 'registry.example/worker:1' }],
  });
  clients = createAwsClients({ endpoint: fake.url, region: 'us-east-1', maxAttempts: 1 });
  deployer = new AwsEcsDeployer({ clients });
});

afterEach(async () => {
  clients.destroy();
  await fake.stop();
});

/** Registers and starts a rollout of `image`; returns the ECS deployment id. */
const rollOut = async (t: EcsDeployTarget, image: string): Promise<string> => {
  const registered = await deployer.registerImage(t, image);
  return (await deployer.updateService(t, { taskDefinitionArn: registered.taskDefinitionArn })).deploymentId;
};

/** Steps the fake and polls once per step until the rollout ends. */
const follow = async (
  t: EcsDeployTarget,
  id: string,
  onPoll: (p: RolloutProgress, n: number) => void = () => {},
): Promise<RolloutProgress> => {
  for (let n = 1; n <= 30; n++) {
    const progress = await deployer.rolloutProgress(t, id);
    onPoll(progress, n);
    if (progress.outcome !== 'in_progress') return progress;
    fake.step();
  }
  throw new Error('the rollout did not end');
};

describe('the ECS deployer reads deployment alarms', () => {
  it('a service without alarms: plan and every poll make no CloudWatch call, and nothing about alarms is added', async () => {
    const plan = await deployer.planImage(plain, 'registry.example/worker:2');
    expect(plan.alarms).toBeUndefined();
    const id = await rollOut(plain, 'registry.example/worker:2');
    const last = await follow(plain, id, (p) => expect(p.alarms).toBeUndefined());
    expect(last.outcome).toBe('completed');
    expect(fake.calls['CloudWatch.DescribeAlarms'] ?? 0).toBe(0);
  });

  it('the plan names the alarms with their states, in the order ECS lists them: one DescribeAlarms', async () => {
    fake.resetCalls();
    const plan = await deployer.planImage(target, 'registry.example/api:2');
    expect(plan.alarms).toMatchObject({
      rollback: true,
      alarms: [
        { name: 'api-5xx', state: 'OK' },
        { name: 'api-latency', state: 'INSUFFICIENT_DATA', reason: 'Insufficient Data: 1 datapoint was unknown.' },
      ],
    });
    expect(plan.alarms?.triggered).toBeUndefined();
    expect(fake.calls['CloudWatch.DescribeAlarms']).toBe(1);
    expect(fake.requestsFor('CloudWatch.DescribeAlarms')[0]?.input).toEqual({
      AlarmNames: ['api-5xx', 'api-latency'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      MaxRecords: 100,
    });
  });

  it('a healthy rollout: one DescribeAlarms per poll, states shown, no trigger', async () => {
    const id = await rollOut(target, 'registry.example/api:2');
    fake.resetCalls();
    let polls = 0;
    const last = await follow(target, id, (p, n) => {
      polls = n;
      expect(p.alarms?.alarms.map((a) => a.state)).toEqual(['OK', 'INSUFFICIENT_DATA']);
    });
    expect(last.outcome).toBe('completed');
    expect(last.alarms?.triggered).toBeUndefined();
    expect(fake.calls['CloudWatch.DescribeAlarms']).toBe(polls);
    expect(fake.calls['ECS.DescribeServices']).toBe(polls);
  });

  it('an alarm that goes into ALARM mid-rollout fails it; ECS rolls back and the progress names the alarm', async () => {
    const id = await rollOut(target, 'registry.example/api:2');
    const last = await follow(target, id, (p) => {
      // Once the new tasks run, the alarm fires.
      if ((p.deployment?.running ?? 0) > 0 && fake.alarms.get('api-5xx')?.state === 'OK') {
        fake.setAlarmState(
          'api-5xx',
          'ALARM',
          'Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).',
        );
      }
    });
    expect(last.outcome).toBe('failed');
    expect(last.deployment?.rolloutState).toBe('FAILED');
    expect(last.alarms?.triggered).toEqual(['api-5xx']);
    expect(last.alarms?.alarms[0]).toMatchObject({ name: 'api-5xx', state: 'ALARM' });
    // ECS started a rollback: a new PRIMARY deployment of the previous revision.
    const primary = last.deployments.find((d) => d.status === 'PRIMARY');
    expect(primary?.id).not.toBe(id);
    expect(primary?.revision).toBe('api:1');

    // The service deployment says which alarm triggered, as ECS's does.
    const ecs = new ECSClient({ endpoint: fake.url, region: 'us-east-1', credentials, maxAttempts: 1 });
    try {
      const svc = (await ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['api'] }))).services?.[0];
      expect(svc?.deploymentConfiguration?.alarms).toEqual({
        alarmNames: ['api-5xx', 'api-latency'],
        enable: true,
        rollback: true,
      });
      const arn = svc?.currentServiceDeployment ?? '';
      const sd = (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })))
        .serviceDeployments?.[0];
      expect(sd?.status).toBe('ROLLBACK_IN_PROGRESS');
      expect(sd?.alarms).toEqual({
        status: 'TRIGGERED',
        alarmNames: ['api-5xx', 'api-latency'],
        triggeredAlarmNames: ['api-5xx'],
      });
    } finally {
      ecs.destroy();
    }
  });

  it('an alarm firing during a blue/green rollout rolls it back; the service deployment names the alarm', async () => {
    fake.seedService({
      cluster: 'prod',
      service: 'web',
      desiredCount: 2,
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 0,
      containers: [{ name: 'app', image: 'registry.example/web:1' }],
      alarms: { alarmNames: ['api-5xx', 'api-latency'] },
    });
    const web: EcsDeployTarget = { cluster: 'prod', service: 'web', container: 'app' };
    const id = await rollOut(web, 'registry.example/web:2');
    const last = await follow(web, id, (p) => {
      if ((p.deployment?.running ?? 0) > 0 && fake.alarms.get('api-5xx')?.state === 'OK') {
        fake.setAlarmState('api-5xx', 'ALARM', 'Threshold Crossed: 1 datapoint [12.0] was greater than 5.0.');
      }
    });
    expect(last).toMatchObject({ outcome: 'failed', staged: { status: 'rolling_back', triggeredAlarms: ['api-5xx'] } });
    expect(last.alarms?.triggered).toEqual(['api-5xx']);
    expect(last.reason).toBe(
      'the blue/green deployment is rolling back: Service deployment rolled back: a deployment alarm went into ALARM.',
    );
    // The alarm is back to OK by the next look, and ECS's words name no alarm: its record still does.
    fake.setAlarmState('api-5xx', 'OK', 'Threshold Crossed: no datapoint was greater than 5.0.');
    const later = await deployer.rolloutProgress(web, id);
    expect(later.outcome).toBe('failed');
    expect(later.alarms?.triggered).toEqual(['api-5xx']);
    fake.step(6);
    expect(fake.service('prod', 'web').taskDefinition).toMatch(/web:1$/);
  });

  it('with rollback off, the deployment fails and nothing rolls back', async () => {
    fake.services.get('prod/api')!.deploymentConfiguration.alarms!.rollback = false;
    const id = await rollOut(target, 'registry.example/api:2');
    const last = await follow(target, id, (p) => {
      if ((p.deployment?.running ?? 0) > 0) fake.setAlarmState('api-latency', 'ALARM', 'p99 too high');
    });
    expect(last.outcome).toBe('failed');
    expect(last.alarms).toMatchObject({ rollback: false, triggered: ['api-latency'] });
    expect(last.deployments.find((d) => d.status === 'PRIMARY')?.id).toBe(id);
  });

  it('an alarm already in ALARM when the rollout starts does not fail it (ECS ignores it)', async () => {
    fake.setAlarmState('api-5xx', 'ALARM', 'was already firing');
    const id = await rollOut(target, 'registry.example/api:2');
    const last = await follow(target, id);
    expect(last.outcome).toBe('completed');
    expect(last.alarms?.triggered).toBeUndefined();
  });

  it('a circuit-breaker failure of a service with alarms is not blamed on an alarm', async () => {
    fake.failNextRollout('prod', 'api');
    const id = await rollOut(target, 'registry.example/api:broken');
    const last = await follow(target, id);
    expect(last.outcome).toBe('failed');
    expect(last.alarms?.alarms).toHaveLength(2);
    expect(last.alarms?.triggered).toBeUndefined();
  });

  it('DescribeAlarms failing (no permission) leaves plan and rollout going: names shown, states unreadable', async () => {
    const denied =
      'User: arn:aws:sts::123456789012:assumed-role/dockhand-task/9f8e7d is not authorized to perform: ' +
      'cloudwatch:DescribeAlarms';
    const logged: unknown[] = [];
    const warned = new AwsEcsDeployer({ clients, onAlarmsUnreadable: (err) => logged.push(err) });
    fake.faults({
      failNext: { op: 'CloudWatch.DescribeAlarms', count: 100, code: 'AccessDenied', status: 403, message: denied },
    });
    const plan = await warned.planImage(target, 'registry.example/api:2');
    expect(plan.alarms?.alarms).toEqual([{ name: 'api-5xx' }, { name: 'api-latency' }]);
    // The cards are in the channel: the error code and what to do, not AWS's message naming account and role.
    expect(plan.alarms?.unreadable).toMatch(
      /^read the CloudWatch alarms: AccessDenied\. .*IAM role lacks cloudwatch:DescribeAlarms/,
    );
    expect(plan.alarms?.unreadable).not.toContain('123456789012');
    const id = await rollOut(target, 'registry.example/api:2');
    let last: RolloutProgress | undefined;
    let polls = 0;
    for (; polls < 30 && last?.outcome !== 'completed'; polls++) {
      last = await warned.rolloutProgress(target, id);
      fake.step();
    }
    expect(last?.outcome).toBe('completed');
    expect(polls).toBeGreaterThan(1);
    expect(last?.alarms?.unreadable).toMatch(/^read the CloudWatch alarms: AccessDenied\./);
    expect(JSON.stringify(last?.alarms)).not.toContain('assumed-role');
    // The whole message goes to the log, once while it stays the same (not once per poll).
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ message: expect.stringContaining(denied) });
  });

  it('more than 100 alarm names: DescribeAlarms in batches of 100', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `many-${String(i).padStart(3, '0')}`);
    for (const n of names) fake.putAlarm(n);
    fake.services.get('prod/api')!.deploymentConfiguration.alarms!.alarmNames = names;
    fake.resetCalls();
    const plan = await deployer.planImage(target, 'registry.example/api:2');
    expect(plan.alarms?.alarms).toHaveLength(150);
    expect(plan.alarms?.alarms.every((a) => a.state === 'OK')).toBe(true);
    expect(fake.requestsFor('CloudWatch.DescribeAlarms').map((r) => (r.input.AlarmNames as string[]).length)).toEqual([
      100, 50,
    ]);
  });

  it('alarms disabled (enable: false): no call, no alarms', async () => {
    fake.services.get('prod/api')!.deploymentConfiguration.alarms!.enable = false;
    fake.resetCalls();
    const plan = await deployer.planImage(target, 'registry.example/api:2');
    expect(plan.alarms).toBeUndefined();
    expect(fake.calls['CloudWatch.DescribeAlarms'] ?? 0).toBe(0);
  });
});
