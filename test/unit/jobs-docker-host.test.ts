import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import { type Config, configSchema } from '../../src/config/schema.ts';
import { hostTargetOf, rememberReplicas } from '../../src/core/deploy/host.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { evaluateHostHealth, type HostHealthMemory } from '../../src/core/watch/host.ts';
import { MAX_HOLD_MS } from '../../src/core/watch/ips.ts';
import { HOST_CONCURRENCY } from '../../src/jobs/fetch.ts';
import { createScheduler, type Scheduler } from '../../src/jobs/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type {
  Clock,
  DockerHostRuntime,
  DockerHostTarget,
  EcsReader,
  HostContainer,
  HostSnapshot,
  MessageRef,
  Notifier,
  OutgoingMessage,
  Store,
} from '../../src/ports.ts';

const MINUTE = 60_000;

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
  readonly posts: { channel: string; text: string }[] = [];
  async post(channel: string, message: OutgoingMessage): Promise<MessageRef> {
    this.posts.push({ channel, text: message.text });
    return { channel, ts: String(this.posts.length) };
  }
  async update(): Promise<void> {}
  async updateNow(): Promise<void> {}
  async ephemeral(): Promise<void> {}
  async flush(): Promise<void> {}
  texts(channel?: string): string[] {
    return this.posts.filter((p) => channel === undefined || p.channel === channel).map((p) => p.text);
  }
}

/** An ECS reader nobody should call: these services all run on Docker hosts. */
const noEcs: EcsReader = {
  describe: async () => {
    throw new Error('ECS was asked about a Docker-host service');
  },
};

const aContainer = (over: Partial<HostContainer> = {}): HostContainer => ({
  id: `id-${over.name ?? 'web'}`,
  name: 'web',
  image: '127.0.0.1:5000/acme/web@sha256:4f2a9c0d1e2b3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a',
  digest: 'sha256:4f2a9c0d1e2b3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a',
  state: 'running',
  health: 'HEALTHY',
  startedAt: new Date('2026-11-20T10:00:00Z'),
  restartCount: 0,
  labels: { 'dockhand.service': 'web', 'dockhand.environment': 'box' },
  ports: ['0.0.0.0:80->8080/tcp'],
  ...over,
});

/** A Docker host whose containers (per service) are plain records, with helpers that do what an engine would. */
class FakeDockerHost implements DockerHostRuntime {
  readonly containers = new Map<string, HostContainer[]>();
  readonly reads: string[] = [];
  unreachable: Error | undefined;
  inFlight = 0;
  maxInFlight = 0;

  constructor() {
    this.containers.set('web', [aContainer()]);
  }
  #find(name: string, service = 'web'): HostContainer {
    const c = this.containers.get(service)?.find((x) => x.name === name);
    if (!c) throw new Error(`no container ${name}`);
    return c;
  }
  turnUnhealthy(name: string): void {
    this.#find(name).health = 'UNHEALTHY';
  }
  /** The engine restarted it `times` times after it exited with `exitCode`; `stillDown`: it is between restarts. */
  crash(name: string, times: number, exitCode: number, stillDown = false): void {
    const c = this.#find(name);
    c.restartCount += times;
    c.state = stillDown ? 'restarting' : 'running';
    c.exitCode = stillDown ? exitCode : undefined;
  }
  stop(name: string, exitCode: number): void {
    const c = this.#find(name);
    c.state = 'exited';
    c.exitCode = exitCode;
  }
  heal(name: string): void {
    Object.assign(this.#find(name), { state: 'running', health: 'HEALTHY', exitCode: undefined });
  }
  /** A deploy: the container is replaced by a new one (another id, a fresh restart count). */
  replace(name: string, over: Partial<HostContainer> = {}): void {
    const list = this.containers.get('web') ?? [];
    this.containers.set('web', [
      ...list.filter((c) => c.name !== name),
      aContainer({ id: `${name}-${Math.random().toString(36).slice(2, 8)}`, name, ...over }),
    ]);
  }

  async snapshot(target: DockerHostTarget): Promise<HostSnapshot> {
    this.reads.push(target.service);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 2));
      if (this.unreachable) throw this.unreachable;
      return {
        host: target.host,
        publicAddress: target.publicAddress,
        containers: structuredClone(this.containers.get(target.service) ?? []),
      };
    } finally {
      this.inFlight--;
    }
  }
  async deploy(): Promise<never> {
    throw new Error('the watch must not deploy');
  }
  async scale(): Promise<never> {
    throw new Error('the watch must not scale');
  }
  async logs(): Promise<never> {
    throw new Error('the watch must not read logs');
  }
  async recover(): Promise<never> {
    throw new Error('the watch must not recover deployments');
  }
}

const dockerService = (replicas = 1, watch: Record<string, string> = { health: '* * * * *' }) => ({
  environments: {
    box: {
      target: { type: 'docker', host: 'ssh://ec2-user@203.0.113.10', container: 'web', replicas, ports: ['80:8080'] },
    },
  },
  watch,
});

const configWith = (services: Record<string, unknown>, extra: Record<string, unknown> = {}): Config =>
  configSchema.parse({ defaults: { channel: '#ops', region: 'us-east-1' }, services, ...extra });

let store: Store;
let clock: FakeClock;
let notifier: RecordingNotifier;
let host: FakeDockerHost;
let logLines: Record<string, unknown>[];

beforeEach(async () => {
  store = await openStore('sqlite::memory:', { instance: 'unit' });
  clock = new FakeClock('2026-11-21T12:00:00Z');
  notifier = new RecordingNotifier();
  host = new FakeDockerHost();
  logLines = [];
});

afterEach(async () => {
  await store.close();
});

const startDockhand = (config: Config, instance = 'replica-1', options: { host?: DockerHostRuntime } = { host }) =>
  createScheduler({
    config,
    ecs: noEcs,
    host: options.host,
    store,
    notifier,
    clock,
    logger: createLogger('info', { write: (line: string) => logLines.push(JSON.parse(line)) }),
    metrics: createMetrics(),
    instance,
  });

/** One tick now, then a minute passes. */
const tick = async (scheduler: Scheduler) => {
  const report = await scheduler.tick(clock.now());
  clock.t += MINUTE;
  return report;
};

const rollOut = () =>
  store.createDeployment(
    {
      kind: 'deploy',
      service: 'web',
      environment: 'box',
      state: 'rolling_out',
      requestedBy: 'U0ALICE',
      request: { type: 'git' },
    },
    clock.now(),
  );

describe('the health watch of a Docker-host service', () => {
  it('says nothing while the service stays healthy, reading the host once per tick', async () => {
    const s = startDockhand(configWith({ web: dockerService() }));
    for (let i = 0; i < 3; i++) expect((await tick(s))?.outcomes).toEqual({ health: 'ok' });
    expect(notifier.posts).toEqual([]);
    expect(host.reads).toEqual(['web', 'web', 'web']);
  });

  it('says once that a container became unhealthy, naming it', async () => {
    const s = startDockhand(configWith({ web: dockerService() }));
    await tick(s);
    host.turnUnhealthy('web');
    await tick(s);
    await tick(s);
    await tick(s);
    expect(notifier.texts()).toEqual(['web · box is degraded: web is unhealthy']);
    expect(notifier.posts[0]?.channel).toBe('#ops');
  });

  it('reports restarts with how many and the exit code, once, then the recovery with how long it lasted', async () => {
    const s = startDockhand(configWith({ web: dockerService() }));
    await tick(s); // 12:00 baseline
    host.crash('web', 2, 137, true);
    await tick(s); // 12:01 restarting
    host.crash('web', 1, 137, true);
    await tick(s); // 12:02 still crash-looping: nothing new to say
    host.heal('web');
    await tick(s); // 12:03 running again, no new restart
    await tick(s);
    expect(notifier.texts()).toEqual([
      'web · box is degraded: web restarted 2 times (exit 137); 0 of 1 containers running',
      'web · box recovered after 2m',
    ]);
  });

  it('reports a restart of a container that runs again by the next tick', async () => {
    const s = startDockhand(configWith({ web: dockerService() }));
    await tick(s);
    host.crash('web', 1, 137);
    await tick(s);
    await tick(s);
    expect(notifier.texts()).toEqual(['web · box is degraded: web restarted once', 'web · box recovered after 1m']);
  });

  it('counts the replicas the last /scale set, not dockhand.yml’s', async () => {
    host.containers.set('web', [aContainer({ name: 'web' })]);
    const config = configWith({ web: dockerService(2) });
    const target = hostTargetOf(resolveTarget(config, 'web', 'box'));
    if (!target) throw new Error('expected a Docker-host target');
    await rememberReplicas(store, target, 1, clock.now()); // `/scale web 1` after a deploy of 2
    const s = startDockhand(config);
    await tick(s);
    host.stop('web', 137);
    await tick(s);
    expect(notifier.texts()).toEqual(['web · box is degraded: web exited (exit 137); 0 of 1 containers running']);
  });

  it('reports a container that exited, with its exit code, and fewer running than replicas', async () => {
    host.containers.set('web', [aContainer({ name: 'web-1' }), aContainer({ name: 'web-2' })]);
    const s = startDockhand(configWith({ web: dockerService(2) }));
    await tick(s);
    host.stop('web-2', 137);
    await tick(s);
    host.heal('web-2'); // started again by hand: same container, no restart counted
    await tick(s);
    await tick(s);
    expect(notifier.texts()).toEqual([
      'web · box is degraded: web-2 exited (exit 137); 1 of 2 containers running',
      'web · box recovered after 1m',
    ]);
  });

  it('neither repeats nor misses an alert when dockhand restarts between ticks', async () => {
    const config = configWith({ web: dockerService() });
    const first = startDockhand(config, 'replica-1');
    await tick(first);
    host.turnUnhealthy('web');
    await tick(first);
    await first.stop();

    const second = startDockhand(config, 'replica-2');
    await tick(second); // still unhealthy: said already
    host.heal('web');
    host.crash('web', 1, 143);
    await second.stop();

    const third = startDockhand(config, 'replica-3');
    await tick(third); // restarted while nobody looked: still degraded, nothing new
    await tick(third);
    expect(notifier.texts()).toEqual(['web · box is degraded: web is unhealthy', 'web · box recovered after 3m']);
  });

  it('holds its alerts while a dockhand deployment rolls out, and speaks once if still degraded after', async () => {
    const s = startDockhand(configWith({ web: dockerService() }));
    await tick(s);
    const deployment = await rollOut();
    host.stop('web', 137); // stop-first for the fixed host port
    await tick(s);
    host.replace('web', { health: 'UNKNOWN' });
    await tick(s);
    host.turnUnhealthy('web');
    await tick(s);
    expect(notifier.posts).toEqual([]);

    await store.transition(deployment.id, { to: 'succeeded', actor: 'dockhand' }, clock.now());
    await tick(s);
    await tick(s);
    expect(notifier.texts()).toEqual(['web · box is degraded: web is unhealthy']);
  });

  it('takes the containers a rollout leaves as the new baseline: a replacement is no restart', async () => {
    const s = startDockhand(configWith({ web: dockerService() }));
    await tick(s);
    const deployment = await rollOut();
    host.replace('web', { restartCount: 0 });
    await tick(s);
    await store.transition(deployment.id, { to: 'succeeded', actor: 'dockhand' }, clock.now());
    host.replace('web', { restartCount: 4 }); // replaced again after (by hand): a new container, not a restart
    await tick(s);
    await tick(s);
    expect(notifier.posts).toEqual([]);
  });

  it('counts an unreachable engine as a failed tick, and says once that the watch is failing', async () => {
    const s = startDockhand(configWith({ web: dockerService() }));
    await tick(s);
    host.unreachable = new Error('cannot reach the Docker engine at ssh://ec2-user@203.0.113.10: connect ETIMEDOUT');
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await tick(s))?.outcomes.health);
    expect(outcomes).toEqual(['error', 'error', 'error', 'error']);
    host.unreachable = undefined;
    await tick(s);
    await tick(s);
    expect(notifier.texts()).toEqual([
      'watch for web · box is failing: cannot reach the Docker engine at ssh://ec2-user@203.0.113.10: connect ETIMEDOUT',
      'watch for web · box is working again after 4m',
    ]);
  });

  it('reads at most a few hosts at a time, one snapshot per service', async () => {
    const services = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`web${i}`, dockerService()]));
    const s = startDockhand(configWith(services));
    expect((await tick(s))?.outcomes).toEqual({ health: 'ok' });
    expect(host.reads.sort()).toEqual(Object.keys(services).sort());
    expect(host.maxInFlight).toBe(HOST_CONCURRENCY);
    // An empty host (nothing deployed): every service is down, each said once.
    expect(notifier.texts()).toHaveLength(9);
    expect(notifier.texts()[0]).toBe('web0 · box is degraded: 0 of 1 containers running');
  });

  it('does not watch the public IPs of a Docker host, and says so once at start', async () => {
    const s = startDockhand(configWith({ web: dockerService(1, { publicIps: '* * * * *' }) }));
    s.start();
    await s.runNow('public-ips');
    await tick(s);
    await s.stop();
    expect(host.reads).toEqual([]);
    expect(notifier.posts).toEqual([]);
    expect(logLines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(logLines.filter((l) => /fixed address/.test(String(l.msg)))).toEqual([
      expect.objectContaining({ level: 'info', services: ['web/box'] }),
    ]);
  });

  it('lists Docker-host services in the digest with image, containers and health', async () => {
    host.containers.set('api', [aContainer({ name: 'api', health: 'UNHEALTHY' })]);
    const config = configWith(
      { web: dockerService(1, {}), api: { ...dockerService(2, {}), watch: undefined } },
      { digest: { channel: '#digest', schedule: '0 9 * * *' } },
    );
    clock.t = Date.parse('2026-11-21T09:00:00Z');
    await tick(startDockhand(config));
    expect(notifier.texts('#digest')).toEqual([
      'Daily digest: 2 services (1 healthy, 1 degraded), 0 deployments, 0 alerts',
    ]);
    expect(host.reads.sort()).toEqual(['api', 'web']);
  });

  it('without a Docker-host runtime, warns once at start and reads nothing', async () => {
    const s = startDockhand(configWith({ web: dockerService() }), 'replica-1', {});
    s.start();
    await tick(s);
    await s.stop();
    expect(notifier.posts).toEqual([]);
    expect(logLines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'watch: this process cannot read Docker hosts; ignoring the health watch of this one',
    ]);
  });
});

describe('evaluateHostHealth', () => {
  const t0 = new Date('2026-11-21T12:00:00Z');
  const later = (minutes: number) => new Date(t0.getTime() + minutes * MINUTE);
  const snap = (...containers: HostContainer[]): HostSnapshot => ({ host: 'unix:///var/run/docker.sock', containers });
  const ctx = { replicas: 1, rollingOut: false };

  it('keeps the memory unchanged in a steady state', () => {
    const first = evaluateHostHealth(undefined, snap(aContainer()), ctx, t0);
    const second = evaluateHostHealth(first.memory, snap(aContainer()), ctx, later(1));
    expect(first.change).toBeUndefined();
    expect(second).toEqual({ memory: first.memory });
  });

  it('reports a container restarted once, and one still restarting', () => {
    const base = evaluateHostHealth(undefined, snap(aContainer()), ctx, t0).memory;
    expect(evaluateHostHealth(base, snap(aContainer({ restartCount: 1 })), ctx, later(1)).change).toEqual({
      kind: 'degraded',
      reasons: ['web restarted once'],
    });
    const restarting = aContainer({ state: 'restarting', exitCode: 2 });
    expect(evaluateHostHealth(base, snap(restarting), ctx, later(1)).change).toEqual({
      kind: 'degraded',
      reasons: ['web is restarting (exit 2)', '0 of 1 containers running'],
    });
  });

  it('stops holding after a rollout that never ends', () => {
    let memory: HostHealthMemory = evaluateHostHealth(undefined, snap(aContainer()), ctx, t0).memory;
    const unhealthy = snap(aContainer({ health: 'UNHEALTHY' }));
    memory = evaluateHostHealth(memory, unhealthy, { ...ctx, rollingOut: true }, later(1)).memory;
    const held = evaluateHostHealth(memory, unhealthy, { ...ctx, rollingOut: true }, later(2));
    expect(held.change).toBeUndefined();
    const late = new Date(later(1).getTime() + MAX_HOLD_MS);
    const timedOut = evaluateHostHealth(held.memory, unhealthy, { ...ctx, rollingOut: true }, late);
    expect(timedOut.change).toEqual({ kind: 'degraded', reasons: ['web is unhealthy'] });
    expect(timedOut.memory.heldSince).toBe(late.toISOString());
  });
});
