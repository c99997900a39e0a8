/**
 * The Runtime port on a plain Docker host: a role-shaped face over DockerHostRuntime (the engine calls). A Docker host
 * changes in one step (start the new containers beside the old ones, wait until healthy, remove the old ones), so
 * `apply` finishes the change, `progress` has nothing left to wait for, and there is no rollout to abort (a change
 * in flight stops through its signal and leaves the old containers serving).
 */
import { describeImage, runningImage } from '../../core/deploy/host.ts';
import type {
  AppliedChange,
  ApplyContext,
  LogRequest,
  Recovery,
  RevisionList,
  RevisionRef,
  Runtime,
  RuntimeChange,
  RuntimeLookup,
  RuntimePlan,
  RuntimeSnapshot,
  StoppedUnit,
} from '../../core/runtime.ts';
import type { ResolvedTarget } from '../../core/targets.ts';
import { DockhandError } from '../../errors.ts';
import type {
  Clock,
  DockerHostRuntime,
  DockerHostTarget,
  HostSnapshot,
  RolloutProgress,
  ServiceLogs,
  Store,
} from '../../ports.ts';
import { hostChanges, hostTargetOf, publicEndpoints, rememberReplicas, wantedReplicas } from './host-target.ts';

export interface DockerRuntimeOptions {
  host: DockerHostRuntime;
  /** Where the replica count of the last /scale is kept. */
  store: Pick<Store, 'getState' | 'putState'>;
  clock: Clock;
}

/** Docker-host snapshots read at the same time (each is a few engine calls, maybe over ssh). */
export const HOST_CONCURRENCY = 4;

const revisionRef = (image: string): RevisionRef => ({ revision: describeImage(image), ref: image });

/** The common snapshot of a Docker-host service; the engine's view rides along for the host cards. */
export const dockerRuntimeSnapshot = (
  target: ResolvedTarget,
  hostTarget: DockerHostTarget,
  snapshot: HostSnapshot,
  replicas: number,
): RuntimeSnapshot => {
  const current = runningImage(snapshot);
  // Every container is reached at the host's public address (and its published ports), and by its address on the
  // target's network (the first network it joined when the target names none).
  const endpoints = publicEndpoints(hostTarget, snapshot.publicAddress).join(', ') || undefined;
  return {
    service: target.service,
    environment: target.environment,
    revision: current ? describeImage(current) : undefined,
    image: current,
    desired: replicas,
    running: snapshot.containers.filter((c) => c.state === 'running').length,
    units: snapshot.containers.map((c) => ({
      id: c.name,
      state: c.state,
      health: c.health,
      revision: c.digest ? c.digest.slice(0, 19) : c.image,
      imageDigest: c.digest,
      startedAt: c.startedAt,
      privateIp: (c.addresses?.find((a) => a.network === hostTarget.network) ?? c.addresses?.[0])?.ip,
      publicAddress: endpoints,
    })),
    rollouts: [],
    detail: { kind: 'docker', host: snapshot, replicas },
  };
};

const DONE: RolloutProgress = { outcome: 'completed', deployments: [], failureEvents: [], stoppedTasks: [], tasks: [] };

export class DockerRuntime implements Runtime {
  readonly label = 'a Docker host';
  readonly fixedAddress = true;
  readonly platform = 'docker';
  readonly revisionKind = 'image';
  readonly registers = false;
  readonly unexplainedFailure = 'the containers did not become healthy';
  readonly #host: DockerHostRuntime;
  readonly #store: DockerRuntimeOptions['store'];
  readonly #clock: Clock;

  constructor(options: DockerRuntimeOptions) {
    this.#host = options.host;
    this.#store = options.store;
    this.#clock = options.clock;
  }

  /** The Docker host and containers a target names. */
  hostTarget(target: ResolvedTarget): DockerHostTarget {
    const hostTarget = hostTargetOf(target);
    if (!hostTarget) {
      throw new DockhandError('internal', `\`${target.service}\` in \`${target.environment}\` is not a Docker host.`);
    }
    return hostTarget;
  }

  /** HOST_CONCURRENCY services at a time; an engine that cannot be read is that service's answer, not the others'. */
  async describe(targets: readonly ResolvedTarget[]): Promise<RuntimeLookup[]> {
    const lookups: RuntimeLookup[] = new Array(targets.length);
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const i = next++;
        lookups[i] = await this.#describeOne(targets[i] as ResolvedTarget);
      }
    };
    await Promise.all(Array.from({ length: Math.min(HOST_CONCURRENCY, targets.length) }, worker));
    return lookups;
  }

  async #describeOne(target: ResolvedTarget): Promise<RuntimeLookup> {
    try {
      const hostTarget = this.hostTarget(target);
      const [snapshot, replicas] = await Promise.all([
        this.#host.snapshot(hostTarget),
        wantedReplicas(this.#store, hostTarget),
      ]);
      return { target, found: true, snapshot: dockerRuntimeSnapshot(target, hostTarget, snapshot, replicas) };
    } catch (error) {
      return { target, found: false, reason: error instanceof Error ? error.message : String(error), error };
    }
  }

  async plan(target: ResolvedTarget, change: RuntimeChange): Promise<RuntimePlan> {
    const hostTarget = this.hostTarget(target);
    const [snapshot, wanted] = await Promise.all([
      this.#host.snapshot(hostTarget),
      wantedReplicas(this.#store, hostTarget),
    ]);
    const current = runningImage(snapshot);
    const image = change.kind === 'image' ? change.image : change.kind === 'revision' ? change.to.ref : undefined;
    const replicas = change.kind === 'scale' ? change.count : Math.max(1, wanted);
    return {
      current: current ? revisionRef(current) : undefined,
      currentImage: current ?? '—',
      newImage: image,
      changes: hostChanges(snapshot, hostTarget, { image, replicas }),
    };
  }

  async apply(target: ResolvedTarget, change: RuntimeChange, context: ApplyContext): Promise<AppliedChange> {
    const hostTarget = this.hostTarget(target);
    // A scale's own count; otherwise the count of the last /scale, kept across deploys (a service scaled to 0 that
    // is deployed runs again).
    const replicas =
      change.kind === 'scale' ? change.count : Math.max(1, await wantedReplicas(this.#store, hostTarget));
    let image: string | undefined;
    if (change.kind === 'image') image = change.image;
    else if (change.kind === 'revision') image = change.to.ref;
    else if (change.kind === 'restart') {
      image = runningImage(await this.#host.snapshot(hostTarget));
      if (!image) {
        // Told as a change that started and found nothing to restart: the record says it was rolling out.
        await context.beforeSend?.({});
        throw new DockhandError('not_found', `Nothing runs on ${hostTarget.host} to restart yet.`);
      }
    }
    const revision = image ? revisionRef(image) : undefined;
    await context.beforeSend?.({ revision });
    const result = image
      ? await this.#host.deploy({
          target: hostTarget,
          image,
          auth: context.pull ? await context.pull.auth() : undefined,
          pull: context.pull !== undefined,
          deploymentId: context.operationId,
          replicas,
          onProgress: context.onProgress,
          signal: context.signal,
        })
      : await this.#host.scale(hostTarget, replicas, context.operationId);
    await rememberReplicas(this.#store, hostTarget, replicas, this.#clock.now());
    const snapshot = await this.#host.snapshot(hostTarget).catch(() => undefined);
    return {
      done: true,
      revision,
      previous: result.previousImage && image ? revisionRef(result.previousImage) : undefined,
      ...(result.gap ? { gap: true } : {}),
      settled: {
        units: result.containers.map((c) => c.name),
        running: result.containers.filter((c) => c.state === 'running').length,
        addresses: publicEndpoints(hostTarget, snapshot?.publicAddress),
      },
    };
  }

  /** A look at a change never fails for long on a Docker host: `apply` already finished it. */
  classify(): 'passing' {
    return 'passing';
  }

  async progress(): Promise<RolloutProgress> {
    return structuredClone(DONE);
  }

  /** A Docker host keeps no list of revisions: the deployment history (the store) names the images it ran. */
  async revisions(target: ResolvedTarget): Promise<RevisionList> {
    const current = runningImage(await this.#host.snapshot(this.hostTarget(target)));
    return { current: current ? revisionRef(current) : undefined, others: undefined };
  }

  /** Nothing is registered ahead of a Docker-host change. */
  async discard(): Promise<void> {}

  async recover(target: ResolvedTarget, interrupted: { operationId: string; sentAt: Date }): Promise<Recovery> {
    const { restarted, tookOver } = await this.#host.recover(this.hostTarget(target), {
      deploymentId: interrupted.operationId,
      since: interrupted.sentAt,
    });
    return { result: 'undone', restarted, tookOver };
  }

  /** A Docker host's snapshot lists its stopped containers itself (state, exit code). */
  async stoppedUnits(
    gone: readonly { target: ResolvedTarget; unitRefs: readonly string[] }[],
  ): Promise<{ target: ResolvedTarget; units: StoppedUnit[] }[]> {
    return gone.map(({ target }) => ({ target, units: [] }));
  }

  async logs(target: ResolvedTarget, request: LogRequest): Promise<ServiceLogs> {
    const hostTarget = this.hostTarget(target);
    // The containers' own output, through the engine's logs API.
    const result = await this.#host.logs(hostTarget, request);
    return {
      found: true,
      group: `containers of ${hostTarget.container}`,
      lines: result.lines.map((l) => ({ at: l.at, taskId: l.container, message: l.message })),
      incomplete: result.incomplete,
    };
  }

  /** A failed Docker-host change carries its containers' last lines in its error (HostDeployError). */
  async recentLines(): Promise<string[]> {
    return [];
  }
}
