/**
 * The target health watch on the AWS side: the real ECS runtime and TargetHealthReader over HTTP against the fake AWS
 * (ELBv2 over the query protocol), the real SQLite store, a recording notifier and a fake clock; `scheduler.tick()`
 * stands for cron. What it says, and what it costs per tick.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsReader } from '../../src/adapters/aws/ecs-reader.ts';
import { EcsRuntime } from '../../src/adapters/aws/ecs-runtime.ts';
import { TargetHealthReader } from '../../src/adapters/aws/target-health.ts';
import { createRuntimes } from '../../src/adapters/runtimes.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { configSchema } from '../../src/config/schema.ts';
import { createScheduler, type Scheduler } from '../../src/jobs/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Store } from '../../src/ports.ts';
import { FakeClock, FakeEcs } from '../support/deploy-fakes.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { PostedTexts } from '../support/watch-fakes.ts';

let fake: FakeAws;
let aws: AwsClients;
let store: Store;
let clock: FakeClock;
let notifier: PostedTexts;
const savedEnv = { ...process.env };

beforeAll(() => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKEFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
});
afterAll(() => {
  process.env.AWS_ACCESS_KEY_ID = savedEnv.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = savedEnv.AWS_SECRET_ACCESS_KEY;
});

beforeEach(async () => {
  fake = new FakeAws();
  await fake.start();
  aws = createAwsClients({ endpoint: fake.url, region: 'us-east-1' });
  store = await openStore('sqlite::memory:', { instance: 'test' });
  clock = new FakeClock();
  notifier = new PostedTexts();
  for (const service of ['api', 'web']) {
    fake.seedService({
      cluster: 'prod',
      service,
      desiredCount: 2,
      containers: [{ name: 'app', image: `acme/${service}:1`, portMappings: [{ containerPort: 8080 }] }],
      loadBalancers: [{ targetGroup: `${service}-tg`, containerPort: 8080 }],
    });
  }
});
afterEach(async () => {
  aws.destroy();
  await fake.stop();
  await store.close();
});

const service = (name: string, watch: Record<string, string>) => ({
  environments: { production: { target: { type: 'ecs', cluster: 'prod', service: name, container: 'app' } } },
  watch,
});

const startWatching = (): Scheduler =>
  createScheduler({
    config: configSchema.parse({
      defaults: { channel: '#ops', region: 'us-east-1' },
      services: {
        api: service('api', { health: '* * * * *' }),
        // Watched for its IPs only: its target groups are not read.
        web: service('web', { publicIps: '* * * * *' }),
      },
    }),
    runtimes: createRuntimes({
      ecs: new EcsRuntime({
        reader: new AwsEcsReader({ clients: aws, cache: store, clock }),
        deployer: new FakeEcs(),
        logs: { serviceLogs: async (t) => ({ found: false, container: t.container, logDriver: undefined }) },
        clock,
        defaultRegion: 'us-east-1',
        targetHealth: new TargetHealthReader({ clients: aws }),
      }),
    }),
    store,
    notifier,
    clock,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    instance: 'replica-1',
  });

const tick = async (scheduler: Scheduler) => {
  await scheduler.tick(clock.now());
  clock.advance(60_000);
};

describe('the target health watch', () => {
  it('alerts once when a target turns unhealthy and once when it recovers, reading only health-watched services', async () => {
    const watcher = startWatching();
    fake.resetCalls();
    await tick(watcher);
    // Steady: one DescribeTargetHealth for api's one target group; none for web (IP watch only).
    expect(fake.requestsFor('ELBv2.DescribeTargetHealth').map((r) => r.input.TargetGroupArn)).toEqual([
      fake.targetGroup('api-tg').arn,
    ]);
    expect(notifier.texts).toEqual([]);

    const [task] = fake.serviceTasks('prod', 'api');
    fake.setTargetHealth(task?.arn ?? '', 'unhealthy');
    await tick(watcher);
    await tick(watcher);
    expect(notifier.texts).toEqual([
      'api · production: target group api-tg lost healthy targets (1/2 healthy): unhealthy Target.FailedHealthChecks',
    ]);

    fake.setTargetHealth(task?.arn ?? '', 'healthy');
    fake.resetCalls();
    await tick(watcher);
    await tick(watcher);
    expect(notifier.texts.slice(1)).toEqual(['api · production: target group api-tg healthy again after 2m']);
    expect(fake.calls['ELBv2.DescribeTargetHealth']).toBe(2);
  });

  it('keeps quiet through a failed read of the target group', async () => {
    const watcher = startWatching();
    await tick(watcher);
    fake.faults({ failNext: { op: 'ELBv2.DescribeTargetHealth', code: 'AccessDenied', count: 2 } });
    await tick(watcher);
    await tick(watcher);
    expect(notifier.texts.filter((t) => t.includes('target group'))).toEqual([]);
  });
});
