/**
 * The watches end to end on the AWS side: the real AwsEcsReader over HTTP against the stateful fake AWS, the real
 * SQLite store, a recording notifier (and once the Slack emulator with the real SlackNotifier), and a fake Clock
 * driving time: each test calls `scheduler.tick()` instead of waiting for cron.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsReader } from '../../src/adapters/aws/ecs-reader.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { type Config, configSchema } from '../../src/config/schema.ts';
import { createScheduler, type Scheduler } from '../../src/jobs/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Clock, MessageRef, Notifier, OutgoingMessage, Store } from '../../src/ports.ts';
import { SlackNotifier } from '../../src/slack/notifier.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { testRuntimes } from '../support/runtimes.ts';
import { startTestSlack, TEST_BOT_TOKEN } from '../support/slack/index.ts';

class FakeClock implements Clock {
  #t: number;
  constructor(iso: string) {
    this.#t = Date.parse(iso);
  }
  now(): Date {
    return new Date(this.#t);
  }
  async sleep(ms: number): Promise<void> {
    this.#t += ms;
  }
  advance(ms: number): void {
    this.#t += ms;
  }
}

class RecordingNotifier implements Notifier {
  readonly posts: { channel: string; text: string; at: number }[] = [];
  readonly #clock: Clock;
  constructor(clock: Clock) {
    this.#clock = clock;
  }
  async post(channel: string, message: OutgoingMessage): Promise<MessageRef> {
    this.posts.push({ channel, text: message.text, at: this.#clock.now().getTime() });
    return { channel, ts: String(this.posts.length) };
  }
  async update(): Promise<void> {}
  async updateNow(): Promise<void> {}
  async ephemeral(): Promise<void> {}
  async flush(): Promise<void> {}
  texts(): string[] {
    return this.posts.map((p) => p.text);
  }
}

const watchedService = (cluster: string, service: string) => ({
  environments: { production: { target: { type: 'ecs', cluster, service, container: 'app' } } },
  watch: { health: '* * * * *', publicIps: '* * * * *' },
});

const configFor = (services: Record<string, unknown>, extra: Record<string, unknown> = {}): Config =>
  configSchema.parse({ defaults: { channel: '#ops', region: 'us-east-1' }, services, ...extra });

const MINUTE = 60_000;

let fake: FakeAws;
let aws: AwsClients;
let store: Store;
let clock: FakeClock;
let notifier: RecordingNotifier;
const savedEnv = { ...process.env };

beforeAll(async () => {
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
  clock = new FakeClock('2026-11-21T12:00:00Z');
  notifier = new RecordingNotifier(clock);
});

afterEach(async () => {
  aws.destroy();
  await fake.stop();
  await store.close();
});

/** A dockhand process: its own reader (empty in-memory caches, the store's cache behind them, as src/app.ts wires
 * it) and scheduler over the shared store. */
const startDockhand = (config: Config, instance = 'replica-1', overrides: { notifier?: Notifier } = {}): Scheduler =>
  createScheduler({
    config,
    runtimes: testRuntimes({
      ecs: new AwsEcsReader({ clients: aws, cache: store, clock }),
      defaultRegion: config.defaults.region,
    }),
    store,
    notifier: overrides.notifier ?? notifier,
    clock,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    instance,
  });

/** One tick now, then a minute passes. */
const tick = async (scheduler: Scheduler) => {
  const report = await scheduler.tick(clock.now());
  clock.advance(MINUTE);
  return report;
};

const seedApi = (desiredCount = 2) =>
  fake.seedService({
    cluster: 'prod',
    service: 'api',
    desiredCount,
    containers: [{ name: 'app', image: 'acme/api:1' }],
  });

describe('the health watch', () => {
  it('posts nothing over three ticks when nothing changes', async () => {
    seedApi();
    const dockhand = startDockhand(configFor({ api: watchedService('prod', 'api') }));
    for (let i = 0; i < 3; i++) await tick(dockhand);
    expect(notifier.posts).toEqual([]);
  });

  it('posts one degraded message naming the reason of a crash, then one recovered message with the duration', async () => {
    const { tasks } = seedApi();
    const dockhand = startDockhand(configFor({ api: watchedService('prod', 'api') }));
    await tick(dockhand);

    fake.stopTask(tasks[0]?.arn ?? '', { exitCode: 137 });
    await tick(dockhand); // ECS starts a replacement (PENDING)
    expect(notifier.texts()).toEqual([
      'api · production is degraded: 1 task stopped: Essential container in task exited (exit 137); 1 of 2 tasks running',
    ]);

    await tick(dockhand); // the replacement runs
    await tick(dockhand);
    const texts = notifier.texts();
    expect(texts.filter((t) => t.includes('degraded'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('recovered'))).toEqual(['api · production recovered after 1m']);
    // The replacement's new IP: one message, not one for the loss and another for the gain.
    const ipMessages = texts.filter((t) => t.startsWith('Public IPs'));
    expect(ipMessages).toHaveLength(1);
    expect(ipMessages[0]).toContain(`removed ${fake.enis.get(tasks[0]?.eniId ?? '')?.publicIp}`);
  });

  it('groups identical stop reasons', async () => {
    const { tasks } = seedApi(3);
    const dockhand = startDockhand(configFor({ api: watchedService('prod', 'api') }));
    await tick(dockhand);
    for (const t of tasks) fake.stopTask(t.arn, { exitCode: 137 });
    await tick(dockhand);
    expect(notifier.texts()[0]).toContain('3 tasks stopped: Essential container in task exited (exit 137)');
  });

  it('reports a rollout the circuit breaker failed', async () => {
    seedApi();
    const dockhand = startDockhand(configFor({ api: watchedService('prod', 'api') }));
    await tick(dockhand);
    fake.failNextRollout('prod', 'api', { threshold: 2 });
    const svc = fake.service('prod', 'api');
    fake.updateService(svc, { forceNewDeployment: true });
    for (let i = 0; i < 8; i++) await tick(dockhand);
    const texts = notifier.texts();
    const degraded = texts.filter((t) => t.includes('is degraded'));
    expect(degraded).toHaveLength(1);
    expect(texts.join('\n')).toMatch(/failed: ECS deployment circuit breaker/);
  });
});

describe('the public-IP watch', () => {
  it('posts one message listing old and new addresses when the tasks are replaced', async () => {
    seedApi();
    const dockhand = startDockhand(configFor({ api: watchedService('prod', 'api') }));
    await tick(dockhand);
    const before = fake.publicIps('prod', 'api');
    fake.replaceTasks('prod', 'api');
    const after = fake.publicIps('prod', 'api');
    await tick(dockhand);
    await tick(dockhand);
    expect(notifier.posts).toHaveLength(1);
    const [text] = notifier.texts();
    for (const ip of [...before, ...after]) expect(text).toContain(ip);
    expect(text).toContain('not caused by a deployment');
  });

  it('neither repeats nor misses a change across a restart', async () => {
    seedApi();
    const config = configFor({ api: watchedService('prod', 'api') });
    const first = startDockhand(config);
    await tick(first);
    fake.replaceTasks('prod', 'api');
    await tick(first);
    expect(notifier.posts).toHaveLength(1);
    await first.stop();

    // Restarted: the same store, a new process. Nothing new to say.
    const second = startDockhand(config);
    await tick(second);
    expect(notifier.posts).toHaveLength(1);
    await second.stop();

    // Down while the tasks are replaced again: reported once after start.
    const replaced = fake.publicIps('prod', 'api');
    fake.replaceTasks('prod', 'api');
    clock.advance(10 * MINUTE);
    const third = startDockhand(config);
    await tick(third);
    await tick(third);
    expect(notifier.posts).toHaveLength(2);
    for (const ip of [...replaced, ...fake.publicIps('prod', 'api')]) expect(notifier.texts()[1]).toContain(ip);
  });

  it('holds changes during a dockhand rollout and posts one summary naming the deployment', async () => {
    seedApi();
    const config = configFor({ api: watchedService('prod', 'api') });
    const dockhand = startDockhand(config);
    await tick(dockhand);
    const before = fake.publicIps('prod', 'api');
    const deployment = await store.createDeployment(
      {
        kind: 'deploy',
        service: 'api',
        environment: 'production',
        state: 'rolling_out',
        requestedBy: 'U0REQUESTER',
        request: { type: 'git' },
      },
      clock.now(),
    );
    fake.updateService(fake.service('prod', 'api'), { forceNewDeployment: true });
    for (let i = 0; i < 6; i++) await tick(dockhand);
    expect(notifier.posts).toEqual([]);
    await store.transition(deployment.id, { to: 'succeeded', actor: 'dockhand' }, clock.now());
    await tick(dockhand);
    expect(notifier.posts).toHaveLength(1);
    const [text] = notifier.texts();
    expect(text).toContain(`caused by deployment #${deployment.seq}`);
    expect(text).toContain(`${before.join(', ')} → ${fake.publicIps('prod', 'api').join(', ')}`);
  });

  it('names the dockhand deployment that began and ended between two ticks', async () => {
    seedApi();
    const dockhand = startDockhand(configFor({ api: watchedService('prod', 'api') }));
    await tick(dockhand);
    const before = fake.publicIps('prod', 'api');
    // ECS dates its deployments by the fake's clock: the deployment is recorded on that clock too.
    const deployment = await store.createDeployment(
      {
        kind: 'deploy',
        service: 'api',
        environment: 'production',
        state: 'rolling_out',
        requestedBy: 'U0REQUESTER',
        request: { type: 'git' },
      },
      fake.now(),
    );
    fake.updateService(fake.service('prod', 'api'), { forceNewDeployment: true });
    fake.step(10);
    await store.transition(deployment.id, { to: 'succeeded', actor: 'dockhand' }, fake.now());
    await tick(dockhand);
    expect(notifier.posts).toHaveLength(1);
    const [text] = notifier.texts();
    expect(text).toContain(`changed (caused by deployment #${deployment.seq})`);
    expect(text).toContain(`added ${fake.publicIps('prod', 'api').join(', ')}; removed ${before.join(', ')}`);
  });

  it('says once that tasks in a private subnet have no public IP', async () => {
    fake.seedService({
      cluster: 'prod',
      service: 'worker',
      desiredCount: 2,
      publicIp: false,
      containers: [{ name: 'app', image: 'acme/worker:1' }],
    });
    const dockhand = startDockhand(configFor({ worker: watchedService('prod', 'worker') }));
    for (let i = 0; i < 3; i++) await tick(dockhand);
    fake.replaceTasks('prod', 'worker');
    await tick(dockhand);
    expect(notifier.texts()).toEqual(['worker · production: 2 tasks with no public IP (private subnet)']);
  });
});

describe('the cost of a tick', () => {
  it('makes the minimum AWS calls per cluster, and no EC2 call when no task changed', async () => {
    const services: Record<string, unknown> = {};
    for (const cluster of ['blue', 'green']) {
      for (let i = 0; i < 25; i++) {
        const name = `${cluster}-svc-${i}`;
        fake.seedService({ cluster, service: name, desiredCount: 4, containers: [{ name: 'app', image: 'acme/a:1' }] });
        services[name] = watchedService(cluster, name);
      }
    }
    const dockhand = startDockhand(configFor(services));
    const perCluster = (key: string, cluster: string) =>
      fake.requestsFor(key).filter((r) => r.input.cluster === cluster).length;
    const expectMinimum = (describeTasks: number) => {
      for (const cluster of ['blue', 'green']) {
        expect(perCluster('ECS.DescribeServices', cluster)).toBe(3); // ceil(25 / 10)
        expect(perCluster('ECS.ListTasks', cluster)).toBe(1); // ceil(100 / 100)
        expect(perCluster('ECS.DescribeTasks', cluster)).toBe(describeTasks);
      }
    };

    await tick(dockhand);
    expectMinimum(1);
    expect(fake.calls['EC2.DescribeNetworkInterfaces']).toBe(1);
    expect(fake.requestsFor('EC2.DescribeNetworkInterfaces')[0]?.input.NetworkInterfaceId).toHaveLength(200);

    for (let i = 0; i < 2; i++) {
      fake.resetCalls();
      await tick(dockhand);
      expectMinimum(1);
      expect(fake.calls['EC2.DescribeNetworkInterfaces'] ?? 0).toBe(0);
      expect(fake.calls['ECS.DescribeTaskDefinition'] ?? 0).toBe(0);
    }

    // Two services' tasks replaced: EC2 is asked about exactly the 8 new tasks, and the 8 stopped ones are looked
    // up with one more DescribeTasks in their cluster.
    fake.replaceTasks('blue', 'blue-svc-3');
    const fresh = fake.replaceTasks('blue', 'blue-svc-7');
    fake.resetCalls();
    await tick(dockhand);
    for (const cluster of ['blue', 'green']) {
      expect(perCluster('ECS.DescribeServices', cluster)).toBe(3);
      expect(perCluster('ECS.ListTasks', cluster)).toBe(1);
    }
    expect(perCluster('ECS.DescribeTasks', 'blue')).toBe(2);
    expect(perCluster('ECS.DescribeTasks', 'green')).toBe(1);
    const ec2 = fake.requestsFor('EC2.DescribeNetworkInterfaces');
    expect(ec2).toHaveLength(1);
    const asked = ec2[0]?.input.NetworkInterfaceId as string[];
    expect(asked).toHaveLength(8);
    expect(asked).toEqual(expect.arrayContaining(fresh.map((t) => t.eniId)));
    expect(notifier.posts).toHaveLength(2);
  });

  it('costs the minimum on the first tick of a restarted process or of the replica taking over', async () => {
    const services: Record<string, unknown> = {};
    for (let i = 0; i < 12; i++) {
      const name = `svc-${i}`;
      fake.seedService({
        cluster: 'prod',
        service: name,
        desiredCount: 2,
        containers: [{ name: 'app', image: 'a:1' }],
      });
      services[name] = watchedService('prod', name);
    }
    const config = configFor(services);
    await tick(startDockhand(config, 'replica-a'));
    expect(fake.calls['ECS.DescribeTaskDefinition']).toBe(12);
    expect(fake.calls['EC2.DescribeNetworkInterfaces']).toBe(1);

    for (const instance of ['replica-b', 'replica-a']) {
      fake.resetCalls();
      await tick(startDockhand(config, instance)); // a new process: nothing in memory
      const calls = { ...fake.calls };
      console.log(`first tick of a new process (${instance}) over the same store: ${JSON.stringify(calls)}`);
      // ceil(12/10) DescribeServices, one ListTasks, one DescribeTasks: 4, the minimum.
      expect(calls).toEqual({ 'ECS.DescribeServices': 2, 'ECS.ListTasks': 1, 'ECS.DescribeTasks': 1 });
    }
    expect(notifier.posts).toEqual([]);
  });

  it('shares one snapshot between the health and IP watches due in the same minute', async () => {
    seedApi();
    const dockhand = startDockhand(
      configFor({
        api: {
          ...watchedService('prod', 'api'),
          watch: { health: '* * * * *', publicIps: '*/2 * * * *' },
        },
      }),
    );
    await tick(dockhand); // 12:00: both due
    fake.resetCalls();
    clock.advance(MINUTE); // 12:02: both due again
    await dockhand.tick(clock.now());
    expect(fake.calls['ECS.DescribeServices']).toBe(1);
    expect(fake.calls['ECS.ListTasks']).toBe(1);
    // Firing again within the same minute (the other cron expression): nothing more.
    await dockhand.tick(clock.now());
    expect(fake.calls['ECS.DescribeServices']).toBe(1);
  });
});

describe('faults', () => {
  it('reports correctly and duplicates nothing when 30% of AWS responses are throttled', async () => {
    const { tasks } = seedApi();
    fake.seedService({ cluster: 'prod', service: 'web', desiredCount: 2, containers: [{ name: 'app', image: 'w:1' }] });
    const dockhand = startDockhand(
      configFor({ api: watchedService('prod', 'api'), web: watchedService('prod', 'web') }),
    );
    fake.faults({ throttleRate: 0.3, seed: 7 });
    await tick(dockhand);
    fake.stopTask(tasks[0]?.arn ?? '', { exitCode: 137 });
    fake.replaceTasks('prod', 'web');
    for (let i = 0; i < 4; i++) await tick(dockhand);
    expect(fake.requests.filter((r) => r.injected).length).toBeGreaterThan(3);

    const texts = notifier.texts();
    expect(texts.filter((t) => t.startsWith('api · production is degraded'))).toHaveLength(1);
    expect(texts.filter((t) => t.startsWith('api · production recovered'))).toHaveLength(1);
    expect(texts.filter((t) => t.startsWith('Public IPs of api'))).toHaveLength(1);
    expect(texts.filter((t) => t.startsWith('Public IPs of web'))).toHaveLength(1);
    expect(new Set(texts).size).toBe(texts.length);
  }, 60_000);

  it('says once that a watch is failing after three failed ticks, and once that it works again', async () => {
    seedApi();
    const dockhand = startDockhand(configFor({ api: watchedService('prod', 'api') }));
    await tick(dockhand);
    // AWS's message names the account and the role: the alert says what the watch did, the code, the permission.
    const message =
      'User: arn:aws:sts::999988887777:assumed-role/dockhand/i-0abc is not authorized to perform: ' +
      'ecs:DescribeServices on resource: arn:aws:ecs:us-east-1:999988887777:service/prod/api';
    fake.faults({ failNext: { op: 'ECS.DescribeServices', code: 'AccessDeniedException', message, count: 5 } });
    for (let i = 0; i < 5; i++) await tick(dockhand);
    expect(notifier.texts()).toEqual([
      expect.stringMatching(
        /^watch for api · production is failing: describe services api in cluster prod.*: AccessDeniedException\. dockhand’s IAM role lacks ecs:DescribeServices/,
      ),
    ]);
    expect(notifier.texts()[0]).not.toMatch(/999988887777|assumed-role|arn:aws/);
    await tick(dockhand);
    await tick(dockhand);
    expect(notifier.texts()).toHaveLength(2);
    expect(notifier.texts()[1]).toMatch(/^watch for api · production is working again after 5m/);
  });

  it('says a watch failing to describe stopped tasks with the action and code, not AWS’s message', async () => {
    // One task, not replaced (manual steps): the tick lists no task to describe, only the stopped one.
    const { tasks } = seedApi(1);
    fake.autoStep = 'manual';
    const dockhand = startDockhand(configFor({ api: watchedService('prod', 'api') }));
    await tick(dockhand);
    fake.stopTask(tasks[0]?.arn ?? '', { exitCode: 137 });
    const message =
      'User: arn:aws:sts::999988887777:assumed-role/dockhand/i-0abc is not authorized to perform: ' +
      'ecs:DescribeTasks on resource: arn:aws:ecs:us-east-1:999988887777:task/prod/*';
    fake.faults({ failNext: { op: 'ECS.DescribeTasks', code: 'AccessDeniedException', message, count: 3 } });
    for (let i = 0; i < 3; i++) await tick(dockhand);
    expect(notifier.texts()).toEqual([
      'watch for api · production is failing: describe 1 stopped tasks in cluster prod: AccessDeniedException. ' +
        'dockhand’s IAM role lacks ecs:DescribeTasks: see “IAM policy” in the README.',
    ]);
  });

  it('runs each tick on one replica only', async () => {
    seedApi();
    const config = configFor({ api: watchedService('prod', 'api') });
    const a = startDockhand(config, 'replica-a');
    const b = startDockhand(config, 'replica-b');
    await a.tick(clock.now());
    fake.resetCalls();
    const skipped = await b.tick(clock.now());
    expect(skipped).toBeUndefined();
    expect(fake.calls['ECS.DescribeServices'] ?? 0).toBe(0);
    clock.advance(MINUTE);
    fake.replaceTasks('prod', 'api');
    // Next minute the other replica wins; it compares with what the first one remembered.
    await b.tick(clock.now());
    await a.tick(clock.now());
    expect(notifier.posts).toHaveLength(1);
  });
});

describe('posting to Slack', () => {
  it('posts alerts through the real notifier, one per second per channel at most', async () => {
    const slack = await startTestSlack();
    try {
      const services: Record<string, unknown> = {};
      const seeded = [];
      for (const name of ['a1', 'a2', 'a3']) {
        seeded.push(fake.seedService({ cluster: 'prod', service: name, containers: [{ name: 'app', image: 'x:1' }] }));
        services[name] = watchedService('prod', name);
      }
      const logger = createLogger('silent');
      const client = new WebClient(TEST_BOT_TOKEN, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true });
      const real = new SlackNotifier({ client, clock, logger });
      const recorded: number[] = [];
      const timed: Notifier = {
        ...real,
        post: async (channel, message) => {
          recorded.push(clock.now().getTime());
          return real.post(channel, message);
        },
        update: (ref, m) => real.update(ref, m),
        updateNow: (ref, m) => real.updateNow(ref, m),
        ephemeral: (c, u, m) => real.ephemeral(c, u, m),
        flush: () => real.flush(),
      };
      const dockhand = startDockhand(configFor(services), 'replica-1', { notifier: timed });
      await tick(dockhand);
      for (const s of seeded) fake.stopTask(s.tasks[0]?.arn ?? '', { exitCode: 137 });
      await tick(dockhand);
      const messages = slack.state.messages().filter((m) => m.text.includes('is degraded'));
      expect(messages.map((m) => m.text.split(':')[0]).sort()).toEqual([
        'a1 · production is degraded',
        'a2 · production is degraded',
        'a3 · production is degraded',
      ]);
      expect(messages[0]?.blocks.length).toBeGreaterThan(0);
      for (let i = 1; i < recorded.length; i++) {
        expect((recorded[i] ?? 0) - (recorded[i - 1] ?? 0)).toBeGreaterThanOrEqual(1000);
      }
      await dockhand.stop();
    } finally {
      await slack.close();
    }
  });
});
