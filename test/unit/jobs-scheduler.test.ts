import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import { type Config, configSchema } from '../../src/config/schema.ts';
import { imageTagOf } from '../../src/core/watch/host.ts';
import { stateKey } from '../../src/jobs/fetch.ts';
import { createScheduler } from '../../src/jobs/index.ts';
import { MAX_PENDING_ALERTS, type TargetState } from '../../src/jobs/outbox.ts';
import { ChannelPacer } from '../../src/jobs/pacer.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import type {
  Clock,
  DescribeOptions,
  EcsReader,
  EcsServiceRef,
  MessageRef,
  Notifier,
  OutgoingMessage,
  ServiceLookup,
  ServiceSnapshot,
  Store,
} from '../../src/ports.ts';
import { aSnapshot } from '../support/builders.ts';
import { testRuntimes } from '../support/runtimes.ts';

class FakeClock implements Clock {
  t: number;
  constructor(iso: string) {
    this.t = Date.parse(iso);
  }
  now(): Date {
    return new Date(this.t);
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
}

class RecordingNotifier implements Notifier {
  readonly posts: { channel: string; text: string; at: number }[] = [];
  readonly clock: Clock;
  constructor(clock: Clock) {
    this.clock = clock;
  }
  async post(channel: string, message: OutgoingMessage): Promise<MessageRef> {
    this.posts.push({ channel, text: message.text, at: this.clock.now().getTime() });
    return { channel, ts: String(this.posts.length) };
  }
  async update(): Promise<void> {}
  async updateNow(): Promise<void> {}
  async ephemeral(): Promise<void> {}
  async flush(): Promise<void> {}
}

/** An EcsReader that answers from a table, counts calls, and can be made slow or failing. */
class FakeEcs implements EcsReader {
  readonly snapshots = new Map<string, ServiceSnapshot>();
  calls: { refs: string[]; options: DescribeOptions | undefined }[] = [];
  gate: Promise<void> | undefined;
  failWith: Error | undefined;
  async describe(refs: readonly EcsServiceRef[], options?: DescribeOptions): Promise<ServiceLookup[]> {
    this.calls.push({ refs: refs.map((r) => r.service), options });
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return refs.map((ref): ServiceLookup => {
      const snapshot = this.snapshots.get(ref.service);
      return snapshot ? { ref, found: true, snapshot: { ...snapshot, ref } } : { ref, found: false, reason: 'missing' };
    });
  }
}

const configWith = (watch: Record<string, string>, extra: Record<string, unknown> = {}): Config =>
  configSchema.parse({
    defaults: { channel: '#ops', region: 'us-east-1' },
    services: {
      api: {
        environments: { production: { target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' } } },
        watch,
      },
      web: {
        environments: { box: { target: { type: 'docker', host: 'unix:///var/run/docker.sock', container: 'web' } } },
      },
    },
    ...extra,
  });

let store: Store;
let clock: FakeClock;
let notifier: RecordingNotifier;
let ecs: FakeEcs;
let metrics: Metrics;

beforeEach(async () => {
  store = await openStore('sqlite::memory:', { instance: 'unit' });
  clock = new FakeClock('2026-11-21T12:00:00Z');
  notifier = new RecordingNotifier(clock);
  ecs = new FakeEcs();
  ecs.snapshots.set('api', aSnapshot());
  metrics = createMetrics();
});

afterEach(async () => {
  await store.close();
});

const scheduler = (config: Config) =>
  createScheduler({
    config,
    runtimes: testRuntimes({ ecs }),
    store,
    notifier,
    clock,
    logger: createLogger('silent'),
    metrics,
    instance: 'unit',
  });

const ticksCounted = async (job: string, outcome: string): Promise<number> =>
  (await metrics.jobTicks.get()).values.find((v) => v.labels.job === job && v.labels.outcome === outcome)?.value ?? 0;

describe('the scheduler', () => {
  it('runs each watch at its own schedule and both together from one snapshot', async () => {
    const s = scheduler(configWith({ health: '*/5 * * * *', publicIps: '*/10 * * * *' }));
    const due: (DescribeOptions | undefined)[] = [];
    for (let minute = 0; minute < 11; minute++) {
      const before = ecs.calls.length;
      await s.tick(clock.now());
      if (ecs.calls.length > before) due.push(ecs.calls.at(-1)?.options);
      clock.t += 60_000;
    }
    // 12:00 both (IPs asked), 12:05 health only, 12:10 both: three describes in eleven minutes.
    expect(due).toEqual([
      { tasks: true, publicIps: true },
      { tasks: true, publicIps: false },
      { tasks: true, publicIps: true },
    ]);
  });

  it('reads a tick a few clusters at a time, each evaluated before the next is read', async () => {
    const clusters = { a: 100, b: 100, c: 50 };
    const services: Record<string, unknown> = {};
    for (const [cluster, count] of Object.entries(clusters)) {
      for (let i = 0; i < count; i++) {
        const service = `${cluster}-${i}`;
        // Not found (no snapshot): each evaluated target logs that it could not be read.
        services[service] = {
          environments: { production: { target: { type: 'ecs', cluster, service, container: 'app' } } },
          watch: { health: '* * * * *' },
        };
      }
    }
    const config = configSchema.parse({ defaults: { channel: '#ops', region: 'us-east-1' }, services });
    const unread = new Set<string>();
    const logger = createLogger('warn', {
      write: (line: string) => {
        const entry = JSON.parse(line) as { msg: string; service?: string };
        if (entry.msg === 'watch: service could not be read' && entry.service) unread.add(entry.service);
      },
    });
    /** Which clusters' services had all been evaluated when each read began. */
    const evaluatedWhenRead: string[][] = [];
    const describe = ecs.describe.bind(ecs);
    ecs.describe = async (refs, options) => {
      evaluatedWhenRead.push(
        Object.entries(clusters)
          .filter(([cluster, count]) =>
            Array.from({ length: count }, (_, i) => `${cluster}-${i}`).every((s) => unread.has(s)),
          )
          .map(([cluster]) => cluster),
      );
      return describe(refs, options);
    };
    const s = createScheduler({
      config,
      runtimes: testRuntimes({ ecs }),
      store,
      notifier,
      clock,
      logger,
      metrics,
      instance: 'unit',
    });
    await s.tick(clock.now());
    // One read per cluster, of that cluster's services only, in the order of the config.
    expect(ecs.calls.map((c) => [...new Set(c.refs.map((r) => r.split('-')[0]))])).toEqual([['a'], ['b'], ['c']]);
    expect(ecs.calls.map((c) => c.refs.length)).toEqual([100, 100, 50]);
    expect(evaluatedWhenRead).toEqual([[], ['a'], ['a', 'b']]);
    expect(unread.size).toBe(250);
  });

  it('never overlaps a slow tick with the next one', async () => {
    const s = scheduler(configWith({ health: '* * * * *' }));
    let open: () => void = () => {};
    ecs.gate = new Promise((resolve) => {
      open = resolve;
    });
    const slow = s.tick(clock.now());
    await new Promise((resolve) => setTimeout(resolve, 20));
    clock.t += 60_000;
    expect(await s.tick(clock.now())).toBeUndefined();
    expect(ecs.calls).toHaveLength(1);
    open();
    await slow;
    expect(await ticksCounted('health', 'skipped')).toBe(1);
    expect(await ticksCounted('health', 'ok')).toBe(1);
  });

  it('counts failed ticks, and says once that the watch fails', async () => {
    const s = scheduler(configWith({ health: '* * * * *' }));
    ecs.failWith = new Error('describe services api in cluster prod: ThrottlingException: Rate exceeded');
    for (let i = 0; i < 4; i++) {
      await s.tick(clock.now());
      clock.t += 60_000;
    }
    expect(await ticksCounted('health', 'error')).toBe(4);
    expect(notifier.posts.map((p) => p.text)).toEqual([
      'watch for api · production is failing: describe services api in cluster prod: ThrottlingException: Rate exceeded',
    ]);
  });

  it('does not post an alert again because its audit event could not be written', async () => {
    let auditFailures = 1;
    const flaky = new Proxy(store, {
      get(target, prop) {
        if (prop === 'appendAudit')
          return async (...args: Parameters<Store['appendAudit']>) => {
            if (auditFailures-- > 0) throw new Error('database is locked');
            return target.appendAudit(...args);
          };
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const s = createScheduler({
      config: configWith({ health: '* * * * *' }),
      runtimes: testRuntimes({ ecs }),
      store: flaky,
      notifier,
      clock,
      logger: createLogger('silent'),
      metrics,
      instance: 'unit',
    });
    ecs.failWith = new Error('describe services api in cluster prod: ThrottlingException: Rate exceeded');
    for (let i = 0; i < 5; i++) {
      await s.tick(clock.now());
      clock.t += 60_000;
    }
    expect(notifier.posts.map((p) => p.text)).toEqual([
      'watch for api · production is failing: describe services api in cluster prod: ThrottlingException: Rate exceeded',
    ]);
  });

  it('runs a job now whatever its schedule', async () => {
    const s = scheduler(configWith({ publicIps: '0 3 * * *' }));
    await s.runNow('public-ips');
    expect(ecs.calls).toEqual([{ refs: ['api'], options: { tasks: true, publicIps: true } }]);
  });

  it('starts and stops its cron tasks', async () => {
    const s = scheduler(configWith({ health: '0 3 * * *' }, { digest: { channel: '#digest', schedule: '0 9 * * *' } }));
    s.start();
    await s.stop();
    expect(ecs.calls).toEqual([]);
  });

  it('posts a digest of every service with the deployments and alerts since the last one', async () => {
    const config = configWith({ health: '* * * * *' }, { digest: { channel: '#digest', schedule: '0 9 * * *' } });
    const s = scheduler(config);
    clock.t = Date.parse('2026-11-21T08:58:00Z');
    await s.tick(clock.now());
    ecs.snapshots.set('api', aSnapshot({ running: 1 }));
    clock.t += 60_000;
    await s.tick(clock.now());
    const deployment = await store.createDeployment(
      {
        kind: 'deploy',
        service: 'api',
        environment: 'production',
        state: 'rolling_out',
        requestedBy: 'U0ALICE',
        request: { type: 'git' },
      },
      clock.now(),
    );
    await store.transition(deployment.id, { to: 'succeeded', actor: 'dockhand' }, clock.now());
    clock.t = Date.parse('2026-11-21T09:00:00Z');
    await s.tick(clock.now());
    const digest = notifier.posts.find((p) => p.channel === '#digest');
    expect(digest?.text).toBe('Daily digest: 2 services (1 degraded, 1 unknown), 1 deployment, 1 alert');
    // One snapshot for the watch and the digest due in the same minute.
    expect(ecs.calls).toHaveLength(3);

    // The next digest starts where this one ended.
    clock.t = Date.parse('2026-11-22T09:00:00Z');
    await s.tick(clock.now());
    expect(notifier.posts.filter((p) => p.channel === '#digest').at(-1)?.text).toBe(
      'Daily digest: 2 services (1 degraded, 1 unknown), 0 deployments, 0 alerts',
    );
  });
});

describe('the scheduler with replicas', () => {
  const replica = (instance: string, reader: FakeEcs, on: Store = store) =>
    createScheduler({
      config: configWith({ health: '* * * * *', publicIps: '* * * * *' }),
      runtimes: testRuntimes({ ecs: reader }),
      store: on,
      notifier,
      clock,
      logger: createLogger('silent'),
      metrics,
      instance,
    });

  it('runs every job due in a tick on one replica, from one snapshot, when both fire at once', async () => {
    // replica-a's database answers slowly after its first lease, so replica-b fires between its leases.
    let leases = 0;
    const slowAfterFirstLease = new Proxy(store, {
      get(target, prop) {
        if (prop === 'tryLease')
          return async (...args: Parameters<Store['tryLease']>) => {
            if (leases++ > 0) await new Promise((resolve) => setTimeout(resolve, 30));
            return target.tryLease(...args);
          };
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const a = new FakeEcs();
    const b = new FakeEcs();
    a.snapshots.set('api', aSnapshot());
    b.snapshots.set('api', aSnapshot());
    const first = replica('replica-a', a, slowAfterFirstLease).tick(clock.now());
    await new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all([first, replica('replica-b', b).tick(clock.now())]);
    // One replica read ECS once, for both watches; the other read nothing.
    expect(b.calls).toEqual([]);
    expect(a.calls).toEqual([{ refs: ['api'], options: { tasks: true, publicIps: true } }]);
  });

  it('never runs a tick beside a slow one still running on another replica, and runs the next one after', async () => {
    const slow = new FakeEcs();
    slow.snapshots.set('api', aSnapshot());
    let open: () => void = () => {};
    slow.gate = new Promise((resolve) => {
      open = resolve;
    });
    const a = replica('replica-a', slow);
    const b = replica('replica-b', ecs);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const running = a.tick(clock.now());
    // A minute passes; replica-a's heartbeat renews its lease every 10 s.
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      clock.t += 10_000;
      vi.advanceTimersByTime(10_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
    vi.useRealTimers();
    expect(await b.tick(clock.now())).toBeUndefined();
    expect(ecs.calls).toEqual([]);
    open();
    await running;
    clock.t += 60_000;
    expect(await b.tick(clock.now())).toBeDefined();
    expect(ecs.calls).toHaveLength(1);
  });

  it('takes over from a replica that died mid-tick once its short lease runs out, within the next minute', async () => {
    // replica-a took the tick and died: its running lease is never renewed nor released.
    expect(await store.tryLease('watch:running', 'replica-a', 30_000, clock.now())).toBe(true);
    expect(await store.tryLease('watch:tick:2026-11-21T12:00', 'replica-a', 300_000, clock.now())).toBe(true);
    const b = replica('replica-b', ecs);
    clock.t += 10_000;
    expect(await b.tick(clock.now())).toBeUndefined();
    clock.t += 50_000; // 12:01, the next tick
    expect(await b.tick(clock.now())).toMatchObject({ outcomes: { health: 'ok', 'public-ips': 'ok' } });
    expect(ecs.calls).toHaveLength(1);
  });
});

describe('alerts and the store', () => {
  it('writes an alert to the store before posting it, so a replica that dies first loses nothing', async () => {
    const config = configWith({ health: '* * * * *' });
    const dying: Notifier = {
      post: async () => {
        throw new Error('the process was killed');
      },
      update: async () => {},
      updateNow: async () => {},
      ephemeral: async () => {},
      flush: async () => {},
    };
    const a = createScheduler({
      config,
      runtimes: testRuntimes({ ecs }),
      store,
      notifier: dying,
      clock,
      logger: createLogger('silent'),
      metrics,
      instance: 'replica-a',
    });
    await a.tick(clock.now());
    clock.t += 60_000;
    ecs.snapshots.set('api', aSnapshot({ running: 1 }));
    await a.tick(clock.now()); // decides "degraded", dies before Slack has it
    const saved = await store.getState<TargetState>(stateKey({ service: 'api', environment: 'production' }));
    expect(saved?.outbox?.map((alert) => alert.card.text)).toEqual([
      expect.stringMatching(/^api · production is degraded/),
    ]);

    // By the next tick the service has recovered; the other replica still tells the channel both.
    clock.t += 60_000;
    ecs.snapshots.set('api', aSnapshot());
    await scheduler(config).tick(clock.now());
    expect(notifier.posts.map((p) => p.text)).toEqual([
      expect.stringMatching(/^api · production is degraded/),
      expect.stringMatching(/^api · production recovered after 1m/),
    ]);
    clock.t += 60_000;
    await scheduler(config).tick(clock.now());
    expect(notifier.posts).toHaveLength(2);
    const remembered = await store.getState<TargetState>(stateKey({ service: 'api', environment: 'production' }));
    expect(remembered?.outbox).toBeUndefined();
  });
});

describe('alerts Slack keeps refusing', () => {
  it('keeps only the newest few waiting, so the state stays small', async () => {
    const refusing: Notifier = {
      post: async () => {
        throw new Error('An API error occurred: not_in_channel');
      },
      update: async () => {},
      updateNow: async () => {},
      ephemeral: async () => {},
      flush: async () => {},
    };
    const s = createScheduler({
      config: configWith({ health: '* * * * *' }),
      runtimes: testRuntimes({ ecs }),
      store,
      notifier: refusing,
      clock,
      logger: createLogger('silent'),
      metrics,
      instance: 'unit',
    });
    await s.tick(clock.now());
    // The service flaps for an hour: 60 alerts decided, none posted.
    for (let i = 0; i < 60; i++) {
      clock.t += 60_000;
      ecs.snapshots.set('api', i % 2 === 0 ? aSnapshot({ running: 1 }) : aSnapshot());
      await s.tick(clock.now());
    }
    const saved = await store.getState<TargetState>(stateKey({ service: 'api', environment: 'production' }));
    expect(saved?.outbox).toHaveLength(MAX_PENDING_ALERTS);
    expect(saved?.outbox?.at(-1)?.card.text).toMatch(/^api · production recovered/);
  });
});

describe('the channel pacer', () => {
  it('spaces posts to one channel a second apart and lets other channels go', async () => {
    const pacer = new ChannelPacer(notifier, clock);
    await Promise.all([
      pacer.post('#a', { text: '1' }),
      pacer.post('#a', { text: '2' }),
      pacer.post('#b', { text: '3' }),
      pacer.post('#a', { text: '4' }),
    ]);
    const a = notifier.posts.filter((p) => p.channel === '#a').map((p) => p.at);
    expect(a[1]! - a[0]!).toBeGreaterThanOrEqual(1000);
    expect(a[2]! - a[1]!).toBeGreaterThanOrEqual(1000);
    expect(notifier.posts.map((p) => p.text).sort()).toEqual(['1', '2', '3', '4']);
  });
});

describe('image tags in the digest', () => {
  it('shows the tag, or the start of the digest', () => {
    expect(imageTagOf('123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:3f2a1bc')).toBe('3f2a1bc');
    expect(imageTagOf('127.0.0.1:5000/acme/api')).toBe('latest');
    expect(imageTagOf('acme/api@sha256:4f2a9c0d1e2b3f4a5b6c')).toBe('sha256:4f2a9c0d1e2b');
  });
});
