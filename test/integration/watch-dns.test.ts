/**
 * DNS that follows public IPs, on the AWS side: the real AwsEcsReader and Route53Records (SDK clients over HTTP)
 * against the stateful fake AWS, whose Route 53 speaks the REST-XML wire protocol; the real SQLite store; a fake
 * Clock, each test calling `scheduler.tick()` instead of waiting for cron.
 */

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsCallEvent, type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsReader } from '../../src/adapters/aws/ecs-reader.ts';
import { Route53Records } from '../../src/adapters/aws/route53.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { type Config, configSchema } from '../../src/config/schema.ts';
import { createScheduler, type Scheduler } from '../../src/jobs/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Store } from '../../src/ports.ts';
import { FakeClock } from '../support/deploy-fakes.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { testRuntimes } from '../support/runtimes.ts';
import { PostedTexts } from '../support/watch-fakes.ts';

const MINUTE = 60_000;
let fake: FakeAws;
let aws: AwsClients;
let store: Store;
let clock: FakeClock;
let notifier: PostedTexts;
let zone: string;
let calls: AwsCallEvent[];
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
  calls = [];
  // Two attempts: a refused change is not retried for long inside one tick.
  aws = createAwsClients({ endpoint: fake.url, region: 'us-east-1', maxAttempts: 2, onCall: (e) => calls.push(e) });
  store = await openStore('sqlite::memory:', { instance: 'test' });
  clock = new FakeClock();
  notifier = new PostedTexts();
  zone = fake.putHostedZone('example.com');
  fake.seedService({
    cluster: 'prod',
    service: 'api',
    desiredCount: 2,
    containers: [{ name: 'app', image: 'acme/api:1' }],
  });
});

afterEach(async () => {
  aws.destroy();
  await fake.stop();
  await store.close();
});

const configWith = (dns: Record<string, unknown>): Config =>
  configSchema.parse({
    defaults: { channel: '#ops', region: 'us-east-1' },
    services: {
      api: {
        environments: { production: { target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' } } },
        watch: { health: '* * * * *', publicIps: { schedule: '* * * * *', dns } },
      },
    },
  });

const startDockhand = (config: Config): Scheduler =>
  createScheduler({
    config,
    runtimes: testRuntimes({ ecs: new AwsEcsReader({ clients: aws, cache: store, clock }), clock }),
    dns: new Route53Records(aws),
    store,
    notifier,
    clock,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    instance: 'replica-1',
  });

const tick = async (scheduler: Scheduler) => {
  const report = await scheduler.tick(clock.now());
  clock.advance(MINUTE);
  return report;
};

const recordIps = () => fake.dnsRecord(zone, 'api.example.com')?.values ?? [];
const sorted = (ips: string[]) => [...ips].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
const route53Calls = () => calls.filter((c) => c.service === 'Route53').map((c) => c.operation);

describe('DNS that follows public IPs', () => {
  it('creates the record once the IPs settle, then writes nothing while they stay the same', async () => {
    const dockhand = startDockhand(configWith({ zone, name: 'api.example.com', ttl: 30 }));
    await tick(dockhand); // the baseline: nothing written yet
    expect(route53Calls()).toEqual([]);

    await tick(dockhand); // settled: read the record (absent), create it
    expect(route53Calls()).toEqual(['ListResourceRecordSets', 'ChangeResourceRecordSets']);
    expect(sorted(recordIps())).toEqual(sorted(fake.publicIps('prod', 'api')));
    expect(fake.dnsRecord(zone, 'api.example.com')?.ttl).toBe(30);
    expect(notifier.texts).toEqual([
      `api · production: DNS updated: api.example.com → ${sorted(fake.publicIps('prod', 'api')).join(', ')}`,
    ]);

    calls = [];
    for (let i = 0; i < 3; i++) await tick(dockhand);
    expect(route53Calls()).toEqual([]); // steady: zero calls
    expect(notifier.texts).toHaveLength(1);
  });

  it('leaves a record that already holds the IPs alone (one read, no change)', async () => {
    const dockhand = startDockhand(configWith({ zone, name: 'api.example.com' }));
    await tick(dockhand);
    // Someone set the record by hand already.
    const ips = sorted(fake.publicIps('prod', 'api'));
    const zoneState = fake.hostedZones.get(zone);
    zoneState?.records.set('api.example.com. A ', { name: 'api.example.com.', type: 'A', ttl: 60, values: ips });

    await tick(dockhand);
    await tick(dockhand);
    expect(route53Calls()).toEqual(['ListResourceRecordSets']);
    expect(notifier.texts).toEqual([]);
  });

  it('moves the record once after a rollout replaces the tasks, and says it in the IP alert', async () => {
    const dockhand = startDockhand(configWith({ zone, name: 'api.example.com' }));
    await tick(dockhand);
    await tick(dockhand);
    const before = sorted(fake.publicIps('prod', 'api'));
    expect(sorted(recordIps())).toEqual(before);
    notifier.texts.length = 0;
    calls = [];

    // An ECS rollout: new tasks start, old ones stop, a task at a time as DescribeServices steps it.
    fake.updateService(fake.service('prod', 'api'), { forceNewDeployment: true });
    for (let i = 0; i < 8; i++) await tick(dockhand);

    const after = sorted(fake.publicIps('prod', 'api'));
    expect(after).not.toEqual(before);
    expect(sorted(recordIps())).toEqual(after);
    // One change for the whole rollout, not one per task; no read: the watch remembers what it wrote.
    expect(route53Calls()).toEqual(['ChangeResourceRecordSets']);
    const ipAlerts = notifier.texts.filter((t) => t.startsWith('Public IPs'));
    expect(ipAlerts).toHaveLength(1);
    expect(ipAlerts[0]).toContain(`DNS updated: api.example.com → ${after.join(', ')}`);
  });

  it('alerts once when Route 53 refuses the change, and catches up on the next tick that can', async () => {
    const dockhand = startDockhand(configWith({ zone, name: 'api.example.com' }));
    await tick(dockhand);
    await tick(dockhand);
    notifier.texts.length = 0;

    fake.resetCalls();
    fake.faults({ failNext: { op: 'Route53.ChangeResourceRecordSets', code: 'AccessDenied', status: 403, count: 2 } });
    fake.replaceTasks('prod', 'api');
    const changes = () => fake.requestsFor('Route53.ChangeResourceRecordSets');
    // Tick until both refusals have happened: the first settled tick, and the retry on the next one.
    for (let i = 0; i < 5 && changes().length < 2; i++) await tick(dockhand);
    expect(changes().map((r) => r.status)).toEqual([403, 403]);
    const texts = [...notifier.texts];
    expect(texts.filter((t) => t.includes('DNS update of api.example.com failed'))).toEqual([
      expect.stringContaining('AccessDenied'),
    ]);
    expect(texts.filter((t) => t.startsWith('Public IPs'))).toHaveLength(1);
    expect(sorted(recordIps())).not.toEqual(sorted(fake.publicIps('prod', 'api')));

    await tick(dockhand); // the next tick: the change goes through
    expect(sorted(recordIps())).toEqual(sorted(fake.publicIps('prod', 'api')));
    expect(notifier.texts.slice(texts.length)).toEqual([
      `api · production: DNS updated: api.example.com → ${sorted(fake.publicIps('prod', 'api')).join(', ')}`,
    ]);
  });

  it('keeps one record per environment when the service runs in two', async () => {
    fake.seedService({
      cluster: 'stage',
      service: 'api',
      desiredCount: 1,
      containers: [{ name: 'app', image: 'a:1' }],
    });
    const config = configSchema.parse({
      defaults: { channel: '#ops', region: 'us-east-1' },
      services: {
        api: {
          environments: {
            production: { target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' } },
            staging: { target: { type: 'ecs', cluster: 'stage', service: 'api', container: 'app' } },
          },
          watch: {
            publicIps: {
              schedule: '* * * * *',
              dns: [
                { zone, name: 'api.example.com', environment: 'production' },
                { zone, name: 'staging.example.com', environment: 'staging' },
              ],
            },
          },
        },
      },
    });
    const dockhand = startDockhand(config);
    await tick(dockhand);
    await tick(dockhand);

    expect(sorted(recordIps())).toEqual(sorted(fake.publicIps('prod', 'api')));
    expect(fake.dnsRecord(zone, 'staging.example.com')?.values).toEqual(fake.publicIps('stage', 'api'));
    expect(route53Calls().filter((op) => op === 'ChangeResourceRecordSets')).toHaveLength(2);
  });
});
