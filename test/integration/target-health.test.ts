/**
 * Target health through the ECS runtime with the real SDK clients against the fake AWS over HTTP: a rollout waits for
 * its tasks' targets, /status-depth describes carry them, and each read costs one DescribeTargetHealth per target group.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsDeployer } from '../../src/adapters/aws/ecs-deployer.ts';
import { AwsEcsReader } from '../../src/adapters/aws/ecs-reader.ts';
import { EcsRuntime } from '../../src/adapters/aws/ecs-runtime.ts';
import { AwsLogReader } from '../../src/adapters/aws/log-reader.ts';
import { TargetHealthReader } from '../../src/adapters/aws/target-health.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { configSchema } from '../../src/config/schema.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import type { Logger } from '../../src/logger.ts';
import type { RolloutProgress } from '../../src/ports.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
let fake: FakeAws;
let clients: AwsClients;
let runtime: EcsRuntime;

const target = resolveTarget(
  configSchema.parse({
    defaults: { channel: '#deploys', region: 'us-east-1' },
    registries: { ecr: { type: 'ecr' } },
    services: {
      api: {
        image: { registry: 'ecr', repository: 'acme/api' },
        environments: { production: { target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' } } },
      },
    },
  }),
  'api',
  'production',
);

beforeAll(() => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
});
afterAll(() => {
  if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
  else process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
  if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  else process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
});

/** More services in cluster prod, one task each, behind a target group of their own (`<name>-tg`). */
const seedBehindTargetGroups = (...names: string[]) => {
  for (const name of names)
    fake.seedService({
      cluster: 'prod',
      service: name,
      desiredCount: 1,
      containers: [{ name: 'app', image: `registry.example/${name}:1`, portMappings: [{ containerPort: 8080 }] }],
      loadBalancers: [{ targetGroup: `${name}-tg`, containerPort: 8080 }],
    });
};

beforeEach(async () => {
  fake = new FakeAws();
  await fake.start();
  fake.seedService({
    cluster: 'prod',
    service: 'api',
    desiredCount: 2,
    containers: [{ name: 'app', image: 'registry.example/api:1', portMappings: [{ containerPort: 8080 }] }],
    loadBalancers: [{ targetGroup: 'api-tg', containerPort: 8080 }],
  });
  clients = createAwsClients({ endpoint: fake.url, region: 'us-east-1', maxAttempts: 1 });
  const targetHealth = new TargetHealthReader({ clients });
  runtime = new EcsRuntime({
    reader: new AwsEcsReader({ clients }),
    deployer: new AwsEcsDeployer({ clients, targetHealth }),
    logs: new AwsLogReader({ clients }),
    clock: systemClock,
    defaultRegion: 'us-east-1',
    targetHealth,
  });
});
afterEach(async () => {
  clients.destroy();
  await fake.stop();
});

const follow = async (rolloutId: string, polls = 20): Promise<RolloutProgress[]> => {
  const looks: RolloutProgress[] = [];
  for (let i = 0; i < polls; i++) {
    const look = await runtime.progress(target, { rolloutId, done: false });
    looks.push(look);
    if (look.outcome !== 'in_progress') break;
  }
  return looks;
};

describe('target health through the ECS runtime', () => {
  it('describes a service behind a load balancer with its targets mapped to its tasks, one call per group', async () => {
    fake.resetCalls();
    const [lookup] = await runtime.describe([target], { units: true, targetHealth: true });
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(1);
    if (!lookup?.found || lookup.snapshot.detail.kind !== 'ecs') throw new Error('not found');
    const service = lookup.snapshot.detail.service;
    expect(service.loadBalancers).toEqual([
      { targetGroupArn: fake.targetGroup('api-tg').arn, containerName: 'app', containerPort: 8080 },
    ]);
    expect(service.targetHealth?.[0]?.name).toBe('api-tg');
    expect(service.targetHealth?.[0]?.targets.map((t) => [t.taskId, t.state, t.port])).toEqual(
      service.tasks.map((t) => [t.id, 'healthy', 8080]),
    );

    fake.resetCalls();
    await runtime.describe([target], { units: true });
    const [unpicked] = await runtime.describe([target], { units: true, targetHealth: (t) => t.service !== 'api' });
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBeUndefined();
    expect(
      unpicked?.found && unpicked.snapshot.detail.kind === 'ecs' && unpicked.snapshot.detail.service.targetHealth,
    ).toBe(undefined);
  });

  it('shares a /status read of a target group while it is fresh, never a rollout’s look', async () => {
    let now = Date.parse('2026-11-21T12:00:00Z');
    const clock = { now: () => new Date(now) };
    const reader = new TargetHealthReader({ clients, maxAgeMs: 10_000, clock });
    const ref = { cluster: 'prod', service: 'api' };
    const lbs = [{ targetGroupArn: fake.targetGroup('api-tg').arn, containerPort: 8080 }];
    fake.resetCalls();
    const [a, b] = await Promise.all([
      reader.read(ref, lbs, [], { settle: true }),
      reader.read(ref, lbs, [], { settle: true }),
    ]);
    await reader.read(ref, lbs, [], { settle: true });
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(1);
    expect(a).toEqual(b);
    await reader.read(ref, lbs, []);
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(2);
    now += 10_001;
    await reader.read(ref, lbs, [], { settle: true });
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(3);
  });

  it('keeps a failed target health read as that group’s error instead of failing the describe', async () => {
    const message = 'User: arn:aws:sts::123456789012:assumed-role/dockhand-prod/i-0abc is not authorized';
    fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'AccessDenied', message } });
    const [lookup] = await runtime.describe([target], { units: true, targetHealth: true });
    if (!lookup?.found || lookup.snapshot.detail.kind !== 'ecs') throw new Error('not found');
    expect(lookup.snapshot.detail.service.targetHealth?.[0]?.error).toBe(
      'read the target health of target group api-tg: AccessDenied: dockhand’s role lacks elasticloadbalancing:DescribeTargetHealth',
    );
  });

  it('keeps only the action and code of any other failed read, not AWS’s message', async () => {
    const message =
      "Target groups 'arn:aws:elasticloadbalancing:us-east-1:999988887777:targetgroup/api-tg/0f' not found";
    fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'TargetGroupNotFound', message } });
    const [lookup] = await runtime.describe([target], { units: true, targetHealth: true });
    if (!lookup?.found || lookup.snapshot.detail.kind !== 'ecs') throw new Error('not found');
    expect(lookup.snapshot.detail.service.targetHealth?.[0]?.error).toBe(
      'read the target health of target group api-tg: TargetGroupNotFoundException',
    );
  });

  it('hands the whole error of a settled read to the log hook, once until it changes or clears', async () => {
    const logged: string[] = [];
    const reader = new TargetHealthReader({ clients, onSettledError: (e) => logged.push(e.message) });
    const message =
      "Target groups 'arn:aws:elasticloadbalancing:us-east-1:999988887777:targetgroup/api-tg/0f' not found";
    const lbs = [{ targetGroupArn: fake.targetGroup('api-tg').arn, containerPort: 8080 }];
    const read = () => reader.read({ cluster: 'prod', service: 'api' }, lbs, [], { settle: true });
    for (let i = 0; i < 3; i++) {
      fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'TargetGroupNotFound', message } });
      const [group] = await read();
      expect(group?.error).not.toContain('999988887777');
    }
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('999988887777');
    // A read that works clears it: the same failure afterwards is told again.
    await read();
    fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'TargetGroupNotFound', message } });
    await read();
    expect(logged).toHaveLength(2);
  });

  it('tells a refusal once for every target group, the permission being the same for all', async () => {
    const logged: string[] = [];
    const reader = new TargetHealthReader({ clients, onSettledError: (e) => logged.push(e.message) });
    // Refused before anything is looked up: the groups need not exist in the fake.
    const lbs = ['api-tg', 'web-tg', 'jobs-tg'].map((name) => ({
      targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/0f`,
      containerPort: 8080,
    }));
    const message = 'User: arn:aws:sts::999988887777:assumed-role/dockhand/i-0abc is not authorized';
    for (let i = 0; i < 2; i++) {
      fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'AccessDenied', message, count: 3 } });
      const groups = await reader.read({ cluster: 'prod', service: 'api' }, lbs, [], { settle: true });
      expect(groups.map((g) => g.error?.includes('AccessDenied'))).toEqual([true, true, true]);
    }
    expect(logged).toHaveLength(1);
  });

  it('asks no more for five minutes after a refusal, for any group, tick or rollout look; then once', async () => {
    seedBehindTargetGroups('web', 'jobs');
    let now = Date.parse('2026-11-21T12:00:00Z');
    const reader = new TargetHealthReader({ clients, clock: { now: () => new Date(now) } });
    const lbs = ['api-tg', 'web-tg', 'jobs-tg'].map((name) => ({
      targetGroupArn: fake.targetGroup(name).arn,
      containerPort: 8080,
    }));
    const ref = { cluster: 'prod', service: 'api' };
    const tick = () => reader.read(ref, lbs, [], { settle: true });
    const denied = 'User: arn:aws:sts::999988887777:assumed-role/dockhand/i-0abc is not authorized';
    fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'AccessDenied', message: denied, count: 1000 } });
    fake.resetCalls();
    const unreadable = (groups: { error?: string | undefined }[]) =>
      groups.map((g) =>
        g.error?.endsWith('AccessDenied: dockhand’s role lacks elasticloadbalancing:DescribeTargetHealth'),
      );

    // The first tick asks for its three groups at once, before any answer.
    expect(unreadable(await tick())).toEqual([true, true, true]);
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(3);
    // Ticks and rollout looks within five minutes: no call, each still says why target health is missing.
    for (let i = 0; i < 9; i++) {
      now += 30_000;
      expect(unreadable(await tick())).toEqual([true, true, true]);
      const look = await reader.read(ref, lbs.slice(0, 1), []).catch((e: unknown) => e);
      expect(look).toMatchObject({ awsCode: 'AccessDenied' });
    }
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(3);

    // Five minutes on: one call asks again for all of them.
    now = Date.parse('2026-11-21T12:05:00.001Z');
    expect(unreadable(await tick())).toEqual([true, true, true]);
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(4);

    // The operator grants the permission: five minutes later the asking call works and the others ask too.
    fake.faults(null);
    now += 5 * 60_000 + 1;
    const fixed = await tick();
    expect(fixed.map((g) => [g.error, g.targets.length > 0])).toEqual([
      [undefined, true],
      [undefined, true],
      [undefined, true],
    ]);
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(7);
  });

  it('reads every group at once again when the asking call after a refusal fails otherwise, e.g. throttled', async () => {
    seedBehindTargetGroups('web', 'jobs', 'cron');
    // When each DescribeTargetHealth started and ended, from the clients' own call events.
    const spans: { start: number; end: number }[] = [];
    const timed = createAwsClients({
      endpoint: fake.url,
      region: 'us-east-1',
      maxAttempts: 1,
      onCall: (e) => {
        const end = performance.now();
        if (e.operation === 'DescribeTargetHealth') spans.push({ start: end - e.durationMs, end });
      },
    });
    const mostAtOnce = () =>
      Math.max(0, ...spans.map((s) => spans.filter((o) => o.start <= s.start && s.start < o.end).length));
    let now = Date.parse('2026-11-21T12:00:00Z');
    const reader = new TargetHealthReader({ clients: timed, clock: { now: () => new Date(now) } });
    const lbs = ['api-tg', 'web-tg', 'jobs-tg', 'cron-tg'].map((name) => ({
      targetGroupArn: fake.targetGroup(name).arn,
      containerPort: 8080,
    }));
    const ref = { cluster: 'prod', service: 'api' };
    const tick = () => reader.read(ref, lbs, [], { settle: true });
    try {
      fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'AccessDenied', count: 4 } });
      await tick();
      fake.resetCalls();

      // Five minutes on, the call asking again is throttled, and so are the others: not a refusal, so once it is
      // answered the others ask at once, each for itself, not one after another for as long as the throttling lasts.
      now += 5 * 60_000 + 1;
      fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'Throttling', status: 400, count: 4 } });
      spans.length = 0;
      const throttled = await tick();
      expect(throttled.map((g) => g.error?.includes('Throttling'))).toEqual([true, true, true, true]);
      expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(4);
      expect(mostAtOnce()).toBe(3);

      // The next tick asks for every group at once, and reads them all.
      now += 30_000;
      spans.length = 0;
      const read = await tick();
      expect(read.map((g) => [g.error, g.targets.length > 0])).toEqual(lbs.map(() => [undefined, true]));
      expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(8);
      expect(mostAtOnce()).toBe(4);
    } finally {
      timed.destroy();
    }
  });

  it('keeps a refusal to its region, which a policy may deny alone, and tells it once all the same', async () => {
    const logged: string[] = [];
    const reader = new TargetHealthReader({ clients, onSettledError: (e) => logged.push(e.message) });
    const lbs = [{ targetGroupArn: fake.targetGroup('api-tg').arn, containerPort: 8080 }];
    const east = { cluster: 'prod', service: 'api', region: 'us-east-1' };
    const west = { cluster: 'prod', service: 'api', region: 'eu-west-1' };
    // An SCP denying every region but eu-west-1 (aws:RequestedRegion): us-east-1 is refused.
    fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'AccessDenied' } });
    fake.resetCalls();
    const [refused] = await reader.read(east, lbs, [], { settle: true });
    expect(refused?.error).toContain('AccessDenied');
    for (let i = 0; i < 2; i++) {
      const [other] = await reader.read(west, lbs, [], { settle: true });
      expect([other?.error, other?.targets.length]).toEqual([undefined, 2]);
      const [still] = await reader.read(east, lbs, [], { settle: true });
      expect(still?.error).toContain('AccessDenied');
    }
    // us-east-1 once, then eu-west-1 on every read; us-east-1's refusal told once, eu-west-1's reads between.
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(3);
    expect(logged).toHaveLength(1);
  });

  it('follows a rollout until ECS completed it and its targets are healthy, one call per poll', async () => {
    const applied = await runtime.apply(target, { kind: 'restart' }, { operationId: 'd1' });
    fake.resetCalls();
    const looks = await follow(applied.rolloutId ?? '');
    const last = looks.at(-1);
    expect(last?.outcome).toBe('completed');
    // ECS said COMPLETED before the new targets passed their health checks: those looks kept waiting.
    const waited = looks.filter((l) => l.deployment?.rolloutState === 'COMPLETED' && l.outcome === 'in_progress');
    expect(waited.length).toBeGreaterThan(0);
    expect(waited[0]?.unhealthyTargets?.[0]).toMatchObject({ targetGroup: 'api-tg', state: 'initial' });
    expect(last?.unhealthyTargets).toEqual([]);
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(looks.length);
  });

  it('judges a rollout on ECS alone when the role may not read target health, and says so once', async () => {
    // The upgrade case: a role written before dockhand read target health. AWS's message names the account and role.
    const denied =
      'User: arn:aws:sts::123456789012:assumed-role/dockhand-prod/i-0abc is not authorized to perform: elasticloadbalancing:DescribeTargetHealth';
    fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'AccessDenied', message: denied, count: 1000 } });
    const warnings: unknown[][] = [];
    const logger = { warn: (...args: unknown[]) => void warnings.push(args) } as unknown as Pick<Logger, 'warn'>;
    const deployer = new AwsEcsDeployer({ clients, targetHealth: new TargetHealthReader({ clients }), logger });
    const applied = await runtime.apply(target, { kind: 'restart' }, { operationId: 'd9' });
    fake.resetCalls();
    const looks: RolloutProgress[] = [];
    for (let i = 0; i < 20 && looks.at(-1)?.outcome !== 'completed'; i++) {
      looks.push(await deployer.rolloutProgress({ cluster: 'prod', service: 'api' }, applied.rolloutId ?? ''));
    }
    // Refused once: the later looks did not ask again (see REFUSAL_BACKOFF_MS).
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(1);
    expect(looks.at(-1)).toMatchObject({
      outcome: 'completed',
      targetHealthUnreadable: { permission: 'elasticloadbalancing:DescribeTargetHealth', code: 'AccessDenied' },
    });
    expect(looks.at(-1)?.targetHealth).toBeUndefined();
    expect(looks.length).toBeGreaterThan(1);
    expect(warnings).toHaveLength(1);
    const said = JSON.stringify([looks, warnings]);
    expect(said).not.toContain('assumed-role');
    expect(said).not.toContain('not authorized');
  });

  it('looks again after a throttled target health read instead of failing the rollout', async () => {
    const applied = await runtime.apply(target, { kind: 'restart' }, { operationId: 'd10' });
    await runtime.progress(target, { rolloutId: applied.rolloutId ?? '', done: false });
    fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'Throttling', status: 400 } });
    const error = await runtime.progress(target, { rolloutId: applied.rolloutId ?? '', done: false }).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(runtime.classify(error)).toBe('throttled');
    const looks = await follow(applied.rolloutId ?? '');
    expect(looks.at(-1)?.outcome).toBe('completed');
  });

  it('never completes a rollout whose targets fail their health checks, and says why', async () => {
    fake.failNewTargets('api-tg');
    const applied = await runtime.apply(target, { kind: 'restart' }, { operationId: 'd2' });
    const looks = await follow(applied.rolloutId ?? '', 12);
    const last = looks.at(-1);
    expect(last?.outcome).toBe('in_progress');
    expect(last?.deployment?.rolloutState).toBe('COMPLETED');
    expect(last?.reason).toMatch(
      /^2 targets are not healthy: task [0-9a-f]{8} in target group api-tg is unhealthy \(Target\.FailedHealthChecks: Health checks failed\)$/,
    );
    fake.healTargets('api-tg');
    const [healed] = await follow(applied.rolloutId ?? '', 1);
    expect(healed?.outcome).toBe('completed');
  });

  it('reads instance targets of EC2-launch-type tasks on their host ports, and completes their rollout', async () => {
    fake.addContainerInstance('edge');
    fake.addContainerInstance('edge');
    fake.seedService({
      cluster: 'edge',
      service: 'proxy',
      launchType: 'EC2',
      networkMode: 'bridge',
      desiredCount: 2,
      containers: [
        { name: 'app', image: 'registry.example/proxy:1', portMappings: [{ containerPort: 80, hostPort: 0 }] },
      ],
      loadBalancers: [{ targetGroup: 'proxy-tg', containerPort: 80 }],
    });
    const proxy = resolveTarget(
      configSchema.parse({
        defaults: { channel: '#deploys', region: 'us-east-1' },
        registries: { ecr: { type: 'ecr' } },
        services: {
          proxy: {
            image: { registry: 'ecr', repository: 'acme/proxy' },
            environments: {
              production: { target: { type: 'ecs', cluster: 'edge', service: 'proxy', container: 'app' } },
            },
          },
        },
      }),
      'proxy',
      'production',
    );
    const [lookup] = await runtime.describe([proxy], { units: true, publicAddresses: true, targetHealth: true });
    if (!lookup?.found || lookup.snapshot.detail.kind !== 'ecs') throw new Error('not found');
    const { tasks, targetHealth } = lookup.snapshot.detail.service;
    const targets = targetHealth?.[0]?.targets ?? [];
    const instanceOf = (arn: string | undefined) => fake.containerInstances.get(arn ?? '')?.ec2InstanceId;
    expect(targets.map((t) => [t.id, t.type, t.port])).toEqual(
      fake.serviceTasks('edge', 'proxy').map((t) => [instanceOf(t.containerInstanceArn), 'instance', 32768]),
    );
    expect(tasks.map((t) => t.hostPorts)).toEqual([[32768], [32768]]);

    // Both tasks on host port 32768 of their own instance: the targets stand for them together.
    fake.failNewTargets('proxy-tg');
    const applied = await runtime.apply(proxy, { kind: 'restart' }, { operationId: 'd3' });
    const rolloutId = applied.rolloutId ?? '';
    let look = await runtime.progress(proxy, { rolloutId, done: false });
    for (let i = 0; i < 10; i++) look = await runtime.progress(proxy, { rolloutId, done: false });
    expect(look.outcome).toBe('in_progress');
    expect(look.unhealthyTargets?.[0]).toMatchObject({ state: 'unhealthy', reason: 'Target.FailedHealthChecks' });
    fake.healTargets('proxy-tg');
    look = await runtime.progress(proxy, { rolloutId, done: false });
    expect(look.outcome).toBe('completed');
  });
});
