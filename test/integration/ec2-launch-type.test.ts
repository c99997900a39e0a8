/**
 * ECS services on the EC2 launch type (bridge or host networking, no task ENI): the real AwsEcsReader over HTTP
 * against the fake AWS (DescribeContainerInstances over JSON 1.1, DescribeInstances over the EC2 query protocol),
 * the real SQLite store's cache behind it, and the IP watch through the real scheduler.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsReader } from '../../src/adapters/aws/ecs-reader.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { configSchema } from '../../src/config/schema.ts';
import { createScheduler } from '../../src/jobs/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Store, TaskSnapshot } from '../../src/ports.ts';
import { FakeClock } from '../support/deploy-fakes.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { testRuntimes } from '../support/runtimes.ts';
import { PostedTexts } from '../support/watch-fakes.ts';

const MINUTE = 60_000;
const savedEnv = { ...process.env };
let fake: FakeAws;
let aws: AwsClients;
let store: Store;
let clock: FakeClock;

beforeAll(() => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKEFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
});
afterAll(() => {
  process.env.AWS_ACCESS_KEY_ID = savedEnv.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = savedEnv.AWS_SECRET_ACCESS_KEY;
});

beforeEach(async () => {
  clock = new FakeClock();
  // One clock for AWS and dockhand, as in production (task start times and dockhand's checks compare).
  fake = new FakeAws({ now: () => clock.now() });
  await fake.start();
  aws = createAwsClients({ endpoint: fake.url, region: 'us-east-1' });
  store = await openStore('sqlite::memory:', { instance: 'test' });
});

afterEach(async () => {
  aws.destroy();
  await fake.stop();
  await store.close();
});

/** The Fargate service and, beside it in the same cluster, one on the EC2 launch type over two instances. */
const seed = () => {
  const instances = [fake.addContainerInstance('prod'), fake.addContainerInstance('prod')];
  fake.seedService({ cluster: 'prod', service: 'api', desiredCount: 2, containers: [{ name: 'app', image: 'a:1' }] });
  fake.seedService({
    cluster: 'prod',
    service: 'worker',
    launchType: 'EC2',
    networkMode: 'bridge',
    desiredCount: 2,
    containers: [{ name: 'app', image: 'w:1', portMappings: [{ containerPort: 8080 }] }],
  });
  return instances;
};

const refs = [
  { cluster: 'prod', service: 'api', region: 'us-east-1' },
  { cluster: 'prod', service: 'worker', region: 'us-east-1' },
];

const tasksOf = async (reader: AwsEcsReader, service: string): Promise<TaskSnapshot[]> => {
  const lookups = await reader.describe(refs);
  const found = lookups.find((l) => l.ref.service === service);
  if (!found?.found) throw new Error(`${service} not found`);
  return found.snapshot.tasks;
};

const ec2Calls = () => ({
  containerInstances: fake.calls['ECS.DescribeContainerInstances'] ?? 0,
  instances: fake.calls['EC2.DescribeInstances'] ?? 0,
  enis: fake.calls['EC2.DescribeNetworkInterfaces'] ?? 0,
});

describe('the EC2 launch type read', () => {
  it("shows each task at its instance's public IP and host port, beside the Fargate tasks", async () => {
    const [one, two] = seed();
    const reader = new AwsEcsReader({ clients: aws, cache: store, clock });
    const worker = await tasksOf(reader, 'worker');
    expect(worker.map((t) => `${t.publicIp}:${t.hostPorts?.join(',')}`).sort()).toEqual(
      fake.hostAddresses('prod', 'worker').sort(),
    );
    expect(new Set(worker.map((t) => t.publicIp))).toEqual(new Set([one?.publicIp, two?.publicIp]));
    expect(worker.every((t) => t.eniId === undefined && t.privateIp?.startsWith('10.1.'))).toBe(true);
    const api = await tasksOf(reader, 'api');
    expect(api.map((t) => t.publicIp).sort()).toEqual(fake.publicIps('prod', 'api').sort());
    expect(api.every((t) => t.hostPorts === undefined)).toBe(true);
  });

  it('asks ECS and EC2 once on the first read, never in steady state, and only EC2 again after a deploy', async () => {
    seed();
    const reader = new AwsEcsReader({ clients: aws, cache: store, clock });
    await reader.describe(refs);
    expect(ec2Calls()).toEqual({ containerInstances: 1, instances: 1, enis: 1 });
    expect(fake.requestsFor('ECS.DescribeContainerInstances')[0]?.input.containerInstances).toHaveLength(2);
    expect(fake.requestsFor('EC2.DescribeInstances')[0]?.input.InstanceId).toHaveLength(2);

    for (let i = 0; i < 3; i++) {
      clock.advance(MINUTE);
      fake.resetCalls();
      await reader.describe(refs);
      expect(ec2Calls()).toEqual({ containerInstances: 0, instances: 0, enis: 0 });
    }

    // New tasks on known instances: the instances may have restarted since their IP was read, so EC2 is asked
    // once (the container instances' EC2 ids never change: ECS is not asked).
    clock.advance(MINUTE);
    fake.replaceTasks('prod', 'worker');
    fake.resetCalls();
    const after = await tasksOf(reader, 'worker');
    expect(ec2Calls()).toEqual({ containerInstances: 0, instances: 1, enis: 0 });
    expect(after.map((t) => `${t.publicIp}:${t.hostPorts?.join(',')}`).sort()).toEqual(
      fake.hostAddresses('prod', 'worker').sort(),
    );
  });

  it('shows the new IP of an instance that was stopped and started', async () => {
    const [one] = seed();
    const reader = new AwsEcsReader({ clients: aws, cache: store, clock });
    const before = await tasksOf(reader, 'worker');
    const oldIp = one?.publicIp;
    clock.advance(MINUTE);
    const restarted = fake.restartInstance(one?.ec2InstanceId ?? '');
    fake.step(3); // the service replaces the tasks it lost
    expect(restarted.publicIp).not.toBe(oldIp);
    const after = await tasksOf(reader, 'worker');
    expect(after).toHaveLength(2);
    expect(after.map((t) => t.publicIp)).toContain(restarted.publicIp);
    expect(after.map((t) => t.publicIp)).not.toContain(oldIp);
    expect(before.map((t) => t.publicIp)).toContain(oldIp);
  });

  it('costs no call after a restart: the store remembers the addresses per task', async () => {
    seed();
    await new AwsEcsReader({ clients: aws, cache: store, clock }).describe(refs);
    fake.resetCalls();
    const restarted = new AwsEcsReader({ clients: aws, cache: store, clock });
    const worker = await tasksOf(restarted, 'worker');
    expect(ec2Calls()).toEqual({ containerInstances: 0, instances: 0, enis: 0 });
    expect(worker.map((t) => `${t.publicIp}:${t.hostPorts?.join(',')}`).sort()).toEqual(
      fake.hostAddresses('prod', 'worker').sort(),
    );
  });

  it('shows host ports equal to the container ports with host networking, and no IP for an instance without one', async () => {
    fake.addContainerInstance('edge', { publicIp: null });
    fake.seedService({
      cluster: 'edge',
      service: 'proxy',
      launchType: 'EC2',
      networkMode: 'host',
      containers: [{ name: 'app', image: 'p:1', portMappings: [{ containerPort: 443 }, { containerPort: 80 }] }],
    });
    const reader = new AwsEcsReader({ clients: aws, cache: store, clock });
    const [lookup] = await reader.describe([{ cluster: 'edge', service: 'proxy', region: 'us-east-1' }]);
    if (!lookup?.found) throw new Error('not found');
    const [task] = lookup.snapshot.tasks;
    expect(task?.hostPorts).toEqual([80, 443]);
    expect(task?.publicIp).toBeUndefined();
    expect(task?.containerInstanceArn).toMatch(/:container-instance\/edge\//);
  });
});

const POSTGRES_URL = process.env.DOCKHAND_TEST_POSTGRES_URL;

describe.skipIf(!POSTGRES_URL)('the EC2 launch type on a Postgres store', () => {
  it('costs no call after a restart: the shared store remembers the addresses per task', async () => {
    const base = POSTGRES_URL ?? '';
    const schema = `dockhand_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const shared = await openStore(url, { instance: 'test' });
    try {
      seed();
      await new AwsEcsReader({ clients: aws, cache: shared, clock }).describe(refs);
      fake.resetCalls();
      const worker = await tasksOf(new AwsEcsReader({ clients: aws, cache: shared, clock }), 'worker');
      expect(ec2Calls()).toEqual({ containerInstances: 0, instances: 0, enis: 0 });
      expect(worker.map((t) => `${t.publicIp}:${t.hostPorts?.join(',')}`).sort()).toEqual(
        fake.hostAddresses('prod', 'worker').sort(),
      );
    } finally {
      await shared.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    }
  });
});

describe('the EC2 launch type when AWS says no', () => {
  it('shows no address, and does not fail, for a task whose instance EC2 no longer knows', async () => {
    const [one] = seed();
    const reader = new AwsEcsReader({ clients: aws, cache: store, clock });
    await reader.describe(refs);
    clock.advance(MINUTE);
    fake.replaceTasks('prod', 'worker');
    // The instance is terminated between the task listing and the instance lookup.
    fake.containerInstances.delete(one?.arn ?? '');
    fake.resetCalls();
    const worker = await tasksOf(reader, 'worker');
    expect(fake.requestsFor('EC2.DescribeInstances').map((r) => r.error)).toEqual([
      'InvalidInstanceID.NotFound',
      undefined,
    ]);
    const onGone = worker.filter((t) => t.containerInstanceArn === one?.arn);
    expect(onGone.length).toBeGreaterThan(0);
    expect(onGone.every((t) => t.publicIp === undefined)).toBe(true);
    expect(worker.filter((t) => t.containerInstanceArn !== one?.arn).every((t) => t.publicIp !== undefined)).toBe(true);
  });

  it('names what it was reading and the AWS error code when DescribeContainerInstances is denied', async () => {
    seed();
    fake.faults({ failNext: { op: 'ECS.DescribeContainerInstances', code: 'AccessDeniedException' } });
    const error = await new AwsEcsReader({ clients: aws, cache: store, clock }).describe(refs).catch((e: unknown) => e);
    expect(String(error)).toContain('container instances of tasks in cluster prod');
    expect(String(error)).toContain('AccessDeniedException');
  });
});

describe('the IP watch on the EC2 launch type', () => {
  it('posts one message with the old and new ip:port when the tasks are replaced', async () => {
    seed();
    const notifier = new PostedTexts();
    const config = configSchema.parse({
      defaults: { channel: '#ops', region: 'us-east-1' },
      services: {
        worker: {
          environments: {
            production: { target: { type: 'ecs', cluster: 'prod', service: 'worker', container: 'app' } },
          },
          watch: { publicIps: '* * * * *' },
        },
      },
    });
    const scheduler = createScheduler({
      config,
      runtimes: testRuntimes({
        ecs: new AwsEcsReader({ clients: aws, cache: store, clock }),
        defaultRegion: 'us-east-1',
      }),
      store,
      notifier,
      clock,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      instance: 'test',
    });
    const tick = async () => {
      await scheduler.tick(clock.now());
      clock.advance(MINUTE);
    };
    await tick();
    await tick();
    expect(notifier.texts).toEqual([]);
    const before = fake.hostAddresses('prod', 'worker');
    fake.replaceTasks('prod', 'worker');
    const after = fake.hostAddresses('prod', 'worker');
    await tick();
    await tick();
    await scheduler.stop();
    expect(notifier.texts).toHaveLength(1);
    for (const address of [...before, ...after]) expect(notifier.texts[0]).toContain(address);
  });
});
