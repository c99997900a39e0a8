import pino from 'pino';
import { openStore } from '../../src/adapters/store/index.ts';
import { systemRandom, systemTimers } from '../../src/adapters/system-clock.ts';
import type { Config } from '../../src/config/schema.ts';
import { configSchema } from '../../src/config/schema.ts';
import { type DeployDeps, DeploymentService } from '../../src/core/deploy/service.ts';
import type { DeploymentView } from '../../src/core/deploy/view.ts';
import type { AutoScaling } from '../../src/core/runtime.ts';
import { BuildFailedError, DockhandError, HostDeployError } from '../../src/errors.ts';
import type {
  AbortResult,
  BuildRequest,
  Cancel,
  Clock,
  DeploymentSnapshot,
  Directory,
  DockerHostRuntime,
  DockerHostTarget,
  EcsDeployer,
  HostContainer,
  HostDeployRequest,
  HostDeployResult,
  HostRecovery,
  HostSnapshot,
  ImageBuilder,
  ImageRegistry,
  MessageRef,
  Notifier,
  OutgoingMessage,
  Random,
  RolloutProgress,
  SourceFetcher,
  Store,
  Timers,
} from '../../src/ports.ts';
import { deployRefusalText } from '../../src/slack/blocks/refusals.ts';
import { testRuntimes } from './runtimes.ts';

/** Hand-written fakes of the deploy pipeline's ports, with intention-revealing helpers. */

export class FakeClock implements Clock {
  #now: number;
  constructor(iso = '2026-11-21T12:00:00Z') {
    this.#now = Date.parse(iso);
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  async sleep(ms: number): Promise<void> {
    this.#now += ms;
    await new Promise((r) => setImmediate(r));
  }
}

/** Timers that fire when a test says so, at the fake clock's time: `fireDue()` after `clock.advance(…)`. */
export class FakeTimers implements Timers {
  readonly #clock: FakeClock;
  readonly #timers = new Map<number, { at: number; everyMs?: number; run: () => void }>();
  #next = 0;
  constructor(clock: FakeClock) {
    this.#clock = clock;
  }
  after(ms: number, run: () => void): Cancel {
    return this.#add({ at: this.#clock.now().getTime() + ms, run });
  }
  every(ms: number, run: () => void): Cancel {
    return this.#add({ at: this.#clock.now().getTime() + ms, everyMs: ms, run });
  }
  /** How many timers are set (not fired once, not cancelled). */
  get pending(): number {
    return this.#timers.size;
  }
  /** Runs every timer due by the clock's time (a repeating one once per call); how many ran. */
  fireDue(): number {
    const now = this.#clock.now().getTime();
    let ran = 0;
    for (const [id, timer] of [...this.#timers]) {
      if (timer.at > now) continue;
      if (timer.everyMs === undefined) this.#timers.delete(id);
      else timer.at = now + timer.everyMs;
      timer.run();
      ran++;
    }
    return ran;
  }
  #add(timer: { at: number; everyMs?: number; run: () => void }): Cancel {
    const id = this.#next++;
    this.#timers.set(id, timer);
    return () => this.#timers.delete(id);
  }
}

/** Randomness a test picks: `fraction` for jitter, ids counted up from `dep_…01`. */
export class FakeRandom implements Random {
  #ids = 0;
  readonly #fraction: number;
  constructor(fraction = 0.5) {
    this.#fraction = fraction;
  }
  fraction(): number {
    return this.#fraction;
  }
  hex(bytes: number): string {
    return String(++this.#ids).padStart(bytes * 2, '0');
  }
}

export class RecordingNotifier implements Notifier {
  readonly cards = new Map<
    string,
    { channel: string; threadTs?: string | undefined; versions: (OutgoingMessage & { view?: DeploymentView })[] }
  >();
  readonly ephemerals: { channel: string; user: string; text: string }[] = [];
  /** Slack that never answers chat.update: updates are recorded, their promises never settle. */
  stall = false;
  /** Contents sent with updateNow (final states, approval requests), in order. */
  readonly urgent: string[] = [];
  #ts = 1000;
  async post(channel: string, message: OutgoingMessage, threadTs?: string): Promise<MessageRef> {
    const ts = `1700000000.${String(this.#ts++).padStart(6, '0')}`;
    this.cards.set(ts, { channel, threadTs, versions: [message] });
    return { channel: 'C0DEPLOYS', ts };
  }
  update(ref: MessageRef, message: OutgoingMessage): Promise<void> {
    this.cards.get(ref.ts)?.versions.push(message);
    return this.stall ? new Promise<void>(() => {}) : Promise.resolve();
  }
  updateNow(ref: MessageRef, message: OutgoingMessage): Promise<void> {
    this.urgent.push(message.text);
    return this.update(ref, message);
  }
  async ephemeral(channel: string, user: string, message: OutgoingMessage): Promise<void> {
    this.ephemerals.push({ channel, user, text: message.text });
  }
  async flush(): Promise<void> {}
  /** The newest content of the only (or the last) card. */
  last(): OutgoingMessage & { view?: DeploymentView } {
    const card = [...this.cards.values()].at(-1);
    const version = card?.versions.at(-1);
    if (!version) throw new Error('no card was posted');
    return version;
  }
}

export const fakeDirectory = (groups: Record<string, string[]> = {}): Directory => ({
  membersOf: async (group) => groups[group] ?? [],
  includes: async (principals, user) => principals.some((p) => p === user || (groups[p] ?? []).includes(user)),
});

export const fakeSource = (
  commitSha = '3f2a1bc9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3',
): SourceFetcher & { checkouts: string[] } => {
  const checkouts: string[] = [];
  return {
    checkouts,
    checkout: async (spec) => {
      checkouts.push('git' in spec ? spec.ref : spec.path);
      return { dir: '/tmp/fake-checkout', commitSha, subject: 'Add the login form', cleanup: async () => {} };
    },
  };
};

export const fakeBuilder = (fail?: { step: string; output: string[] }): ImageBuilder & { builds: BuildRequest[] } => {
  const builds: BuildRequest[] = [];
  return {
    builds,
    build: async (request) => {
      builds.push(request);
      request.onEvent?.({ type: 'step', step: 1, total: 2, instruction: 'FROM scratch' });
      request.onEvent?.({ type: 'step', step: 2, total: 2, instruction: fail?.step ?? 'COPY . /app' });
      if (fail) throw new BuildFailedError(`step 2/2 failed: ${fail.step}`, fail.step, fail.output);
      return { imageId: 'sha256:image' };
    },
  };
};

export const fakeRegistry = (tags: Record<string, string> = {}): ImageRegistry & { pushes: string[] } => {
  const pushes: string[] = [];
  return {
    pushes,
    imageName: async (repository) => `127.0.0.1:5000/${repository}`,
    push: async (request) => {
      pushes.push(request.image);
      request.onProgress?.(50);
      request.onProgress?.(100);
      return { digest: 'sha256:1111111111111111111111111111111111111111111111111111111111111111' };
    },
    resolveTag: async (_repository, tag) => tags[tag],
  };
};

const deployment = (over: Partial<DeploymentSnapshot>): DeploymentSnapshot => ({
  id: 'ecs-svc/2',
  status: 'PRIMARY',
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
  revision: 'api:43',
  rolloutState: 'IN_PROGRESS',
  desired: 2,
  running: 0,
  pending: 2,
  failed: 0,
  ...over,
});

/** An ECS deployer whose rollouts follow a script: one RolloutProgress per poll, the last repeated. */
export class FakeEcs implements EcsDeployer {
  readonly registered: string[] = [];
  readonly updates: { taskDefinitionArn?: string; forceNewDeployment?: boolean; desiredCount?: number }[] = [];
  readonly aborts: { deploymentId: string; taskDefinitionArn?: string; previousTaskDefinitionArn: string }[] = [];
  readonly deregistered: string[] = [];
  revision = 42;
  script: RolloutProgress[] = FakeEcs.succeeding();
  polls = 0;
  /** Errors the next UpdateService calls throw (after the SDK's retries), in order. */
  updateErrors: unknown[] = [];
  /** UpdateService never answers (the process is killed while it is in flight). */
  hangUpdates = false;
  /** What ECS rolls out now: the deployment the last applied UpdateService created (set by updateService). */
  primary: { deploymentId: string; taskDefinitionArn: string } | undefined;

  static succeeding(): RolloutProgress[] {
    return [
      {
        outcome: 'in_progress',
        deployment: deployment({ running: 1, pending: 1 }),
        deployments: [],
        failureEvents: [],
        stoppedTasks: [],
        tasks: [],
      },
      {
        outcome: 'completed',
        deployment: deployment({ rolloutState: 'COMPLETED', running: 2, pending: 0 }),
        deployments: [],
        failureEvents: [],
        stoppedTasks: [],
        tasks: [
          {
            arn: 'arn:t1',
            id: 't1',
            taskDefinitionArn: '',
            revision: 'api:43',
            lastStatus: 'RUNNING',
            desiredStatus: 'RUNNING',
            health: 'HEALTHY',
            containers: [],
            publicIp: '203.0.113.7',
          },
        ],
      },
    ];
  }

  static failing(): RolloutProgress[] {
    return [
      {
        outcome: 'failed',
        reason: 'ECS deployment circuit breaker: tasks failed to start.',
        deployment: deployment({ rolloutState: 'FAILED', failed: 3 }),
        deployments: [],
        failureEvents: ['(service api) deployment failed: tasks failed to start.'],
        stoppedTasks: [{ reason: 'Essential container in task exited', count: 3, exampleTaskId: 't9', exitCodes: [1] }],
        tasks: [],
      },
    ];
  }

  #arn(rev: number) {
    return `arn:aws:ecs:us-east-1:123456789012:task-definition/api:${rev}`;
  }
  async planImage(_target: unknown, image: string) {
    return {
      current: {
        arn: this.#arn(this.revision),
        family: 'api',
        revision: this.revision,
        containers: [{ name: 'app', image: 'old' }],
      },
      currentImage: '127.0.0.1:5000/acme/api:0000000',
      changes: image
        ? [{ field: 'containerDefinitions[app].image', from: '127.0.0.1:5000/acme/api:0000000', to: image }]
        : [],
    };
  }
  async registerImage(_target: unknown, image: string) {
    this.registered.push(image);
    const previous = this.#arn(this.revision);
    this.revision += 1;
    return {
      taskDefinitionArn: this.#arn(this.revision),
      revision: `api:${this.revision}`,
      previousTaskDefinitionArn: previous,
    };
  }
  async updateService(
    _target: unknown,
    change: { taskDefinitionArn?: string; forceNewDeployment?: boolean; desiredCount?: number },
  ) {
    this.updates.push(change);
    if (this.hangUpdates) return new Promise<never>(() => {});
    const error = this.updateErrors.shift();
    if (error) throw error;
    const deploymentId = `ecs-svc/${this.updates.length + 1}`;
    this.primary = { deploymentId, taskDefinitionArn: change.taskDefinitionArn ?? this.#arn(this.revision) };
    return { deploymentId };
  }
  /** The primary deployment if it runs `taskDefinitionArn` (this fake has no clock: `since` is not checked). */
  async findRollout(_target: unknown, sent: { since: Date; taskDefinitionArn?: string | undefined }) {
    const primary = this.primary;
    if (!primary || (sent.taskDefinitionArn !== undefined && primary.taskDefinitionArn !== sent.taskDefinitionArn))
      return undefined;
    return { deploymentId: primary.deploymentId };
  }
  async deregisterRevision(_target: unknown, taskDefinitionArn: string) {
    this.deregistered.push(taskDefinitionArn);
  }
  async abort(
    _target: unknown,
    deployment: { deploymentId: string; taskDefinitionArn?: string; previousTaskDefinitionArn: string },
  ): Promise<AbortResult> {
    this.aborts.push(deployment);
    const error = this.abortErrors.shift();
    if (error) throw error;
    return { method: 'update_service' };
  }
  /** Errors the next aborts throw, in order. */
  abortErrors: unknown[] = [];
  /** Errors the next polls throw, in order, before the script is followed. */
  pollErrors: unknown[] = [];

  async rolloutProgress(): Promise<RolloutProgress> {
    const error = this.pollErrors.shift();
    if (error) throw error;
    const step = this.script[Math.min(this.polls, this.script.length - 1)] as RolloutProgress;
    this.polls += 1;
    return step;
  }
  async currentTaskDefinition() {
    return { arn: this.#arn(this.revision), family: 'api', revision: this.revision };
  }
  async listRevisions() {
    return [];
  }
  async recentLogLines() {
    return ['Error: cannot connect to database'];
  }
}

export const deployConfig = (overrides: Record<string, unknown> = {}): Config =>
  configSchema.parse({
    defaults: { channel: '#deploys', region: 'us-east-1' },
    registries: { local: { type: 'registry', address: '127.0.0.1:5000', insecure: true } },
    approvals: { prod: { approvers: ['U0BOB', 'S0PLATFORM'], required: 1, expiresAfter: '30m' } },
    services: {
      api: {
        source: { git: 'file:///tmp/api.git', ref: 'main' },
        image: { registry: 'local', repository: 'acme/api' },
        environments: {
          production: { target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' }, approval: 'prod' },
          staging: { target: { type: 'ecs', cluster: 'staging', service: 'api', container: 'app' } },
        },
      },
    },
    ...overrides,
  });

/** A DeploymentService over fakes and a real in-memory SQLite store; `render` records the view it was given. */
export const deployHarness = async (
  options: {
    config?: Config;
    builder?: ReturnType<typeof fakeBuilder>;
    store?: Store;
    ecs?: FakeEcs;
    clock?: FakeClock;
    host?: FakeHost;
    /** The replica's name (DOCKHAND_INSTANCE_ID). */
    instance?: string;
    /** Timers that fire on demand (FakeTimers); Node's timers by default. */
    timers?: Timers;
    /** Jitter and ids a test picks (FakeRandom); real randomness by default. */
    random?: Random;
    /** The ECS runtime's auto scaler (Application Auto Scaling); none by default. */
    autoScaling?: AutoScaling;
  } = {},
) => {
  const store = options.store ?? (await openStore('sqlite::memory:'));
  const clock = options.clock ?? new FakeClock();
  const notifier = new RecordingNotifier();
  const ecs = options.ecs ?? new FakeEcs();
  const source = fakeSource();
  const builder = options.builder ?? fakeBuilder();
  const registry = fakeRegistry({ '1.4.2': 'sha256:2222222222222222222222222222222222222222222222222222222222222222' });
  const pending = new Set<Promise<unknown>>();
  const deps: DeployDeps = {
    config: options.config ?? deployConfig(),
    configDir: '/tmp',
    store,
    clock,
    timers: options.timers ?? systemTimers,
    random: options.random ?? systemRandom,
    logger: pino({ level: 'silent' }),
    notifier,
    directory: fakeDirectory({ S0PLATFORM: ['U0CAROL'] }),
    source,
    builder,
    registry: () => registry,
    // The real adapters (EcsRuntime, DockerRuntime) over the fakes: the pipeline sees what src/app.ts gives it.
    runtimes: testRuntimes({
      deployer: ecs,
      host: options.host,
      store,
      clock,
      defaultRegion: (options.config ?? deployConfig()).defaults.region ?? 'us-east-1',
      ...(options.autoScaling ? { autoScaling: options.autoScaling } : {}),
    }),
    render: (view) =>
      ({
        text: `${view.kind} #${view.seq} ${view.state}${view.reason ? `: ${view.reason}` : ''}`,
        view: structuredClone(view),
      }) as OutgoingMessage,
    refusals: deployRefusalText,
    instance: options.instance ?? 'test-instance',
    pollMs: 4000,
    track: (work) => {
      pending.add(work);
      void work.finally(() => pending.delete(work)).catch(() => {});
      return work;
    },
  };
  const service = new DeploymentService(deps);
  /** Waits until all background work (planning, pipelines, watchers) has finished. */
  const settle = async () => {
    for (let i = 0; i < 100 && pending.size > 0; i++) await Promise.allSettled([...pending]);
  };
  return { service, store, clock, notifier, ecs, source, builder, registry, deps, settle };
};

/** A Docker host whose containers are plain records: deploys succeed unless `failNext` says why not. */
export class FakeHost implements DockerHostRuntime {
  containers: HostContainer[] = [];
  readonly deploys: HostDeployRequest[] = [];
  readonly recovered: { deploymentId: string; since: Date }[] = [];
  /** What recover() says it started again. */
  restartOnRecover: string[] = [];
  /** What recover() says the interrupted deployment had already put in place (kept). */
  tookOverOnRecover: string[] = [];
  /** recover() fails with this (the host cannot be reached after the restart). */
  failRecover: string | undefined;
  failNext: string | undefined;

  async recover(_target: DockerHostTarget, interrupted: { deploymentId: string; since: Date }): Promise<HostRecovery> {
    this.recovered.push(interrupted);
    if (this.failRecover) throw new DockhandError('docker', this.failRecover);
    return { restarted: [...this.restartOnRecover], tookOver: [...this.tookOverOnRecover] };
  }

  async snapshot(target: DockerHostTarget): Promise<HostSnapshot> {
    return { host: target.host, publicAddress: '203.0.113.10', containers: structuredClone(this.containers) };
  }
  async deploy(request: HostDeployRequest): Promise<HostDeployResult> {
    this.deploys.push(request);
    request.onProgress?.('starting');
    if (this.failNext) {
      const why = this.failNext;
      this.failNext = undefined;
      throw new HostDeployError(`${request.target.container} did not become healthy: ${why}`, [
        'listening on :8081',
        why,
      ]);
    }
    const previousImage = this.containers[0]?.image;
    const replicas = request.replicas ?? request.target.replicas;
    this.containers = Array.from({ length: replicas }, (_, i) =>
      this.#container(request.target, request.image, request.deploymentId, i, replicas),
    );
    return { containers: structuredClone(this.containers), previousImage, gap: false };
  }
  async scale(target: DockerHostTarget, replicas: number, deploymentId: string): Promise<HostDeployResult> {
    const image = this.containers[0]?.image;
    if (!image) throw new Error('nothing deployed');
    this.containers = Array.from({ length: replicas }, (_, i) =>
      this.#container(target, image, deploymentId, i, replicas),
    );
    return { containers: structuredClone(this.containers), gap: false };
  }
  async logs() {
    return {
      lines: [{ at: new Date('2026-11-21T12:00:00Z'), container: 'web', message: 'hello from web' }],
      incomplete: false,
    };
  }
  #container(target: DockerHostTarget, image: string, deployment: string, i: number, n: number): HostContainer {
    return {
      id: `c${i}`,
      name: n === 1 ? target.container : `${target.container}-${i + 1}`,
      image,
      state: 'running',
      health: 'HEALTHY',
      restartCount: 0,
      labels: { 'dockhand.deployment': deployment },
      ports: [],
    };
  }
}

export const hostConfig = (): Config =>
  configSchema.parse({
    defaults: { channel: '#deploys' },
    approvals: { prod: { approvers: ['U0BOB'], required: 1 } },
    services: {
      web: {
        source: { path: './web' },
        image: { repository: 'acme/web' },
        environments: {
          box: {
            target: { type: 'docker', host: 'unix:///var/run/docker.sock', container: 'web', ports: ['80:8080'] },
          },
        },
      },
    },
  });
