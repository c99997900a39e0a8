/**
 * Fetch, the first stage of a watch tick: everything the tick reads, turned into one Observation per watched target
 * (src/core/watch/observation.ts), whatever runs it. This is the one place of the tick that knows ECS from Docker
 * hosts (`observe` below); evaluate, render and post do not.
 *
 *   ECS           ONE EcsReader.describe for every service due this tick (health, IPs and digest share it), then
 *                 ONE DescribeTasks per cluster (per 100 ARNs) for the tasks that left the RUNNING listing since
 *                 the last tick — none in a steady state.
 *   Docker hosts  one DockerHostRuntime.snapshot per service due (health and digest share it), HOST_CONCURRENCY
 *                 at a time; an engine that cannot be read is a failed tick for that service.
 *   rollouts      one query for the dockhand rollouts in progress (for Docker hosts, asked before and after their
 *                 containers are read: a rollout may begin or end meanwhile, and either counts); and, only when
 *                 IPs changed under a new ECS deployment no rollout was seen for, the deployments that ran then.
 */
import type { Config } from '../config/schema.ts';
import { hostTargetOf, runningImage, wantedReplicas } from '../core/deploy/host.ts';
import { assessHealth, assessHostHealth } from '../core/health.ts';
import { ecsRef, type ResolvedTarget, refKey } from '../core/targets.ts';
import { tasksGoneSince } from '../core/watch/health.ts';
import { imageTagOf } from '../core/watch/host.ts';
import { currentIps, type DockhandCause, diffIps } from '../core/watch/ips.ts';
import type { Observation, Reading } from '../core/watch/observation.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type {
  DeploymentRecord,
  DockerHostRuntime,
  DockerHostTarget,
  EcsReader,
  EcsServiceRef,
  HostSnapshot,
  ServiceLookup,
  ServiceSnapshot,
  Store,
  TaskSnapshot,
} from '../ports.ts';
import type { AlertTarget, DigestRow } from '../slack/blocks/alerts.ts';
import type { TargetState } from './outbox.ts';
import type { WatchedTarget, WatchPlan } from './schedule.ts';

/** Docker-host snapshots read at the same time (each is a few engine calls, maybe over ssh). */
export const HOST_CONCURRENCY = 4;

export const stateKey = (t: AlertTarget): string => `watch:target:${t.service}/${t.environment}`;

/** A watched target and which of its watches are due this tick. */
export interface Entry {
  watched: WatchedTarget;
  health: boolean;
  ips: boolean;
}

export interface FetchSources {
  config: Config;
  ecs: EcsReader;
  host?: DockerHostRuntime | undefined;
  store: Store;
}

export interface FetchRequest {
  /** By stateKey. */
  entries: ReadonlyMap<string, Entry>;
  /** What each entry's watches remembered from the last tick, by stateKey. */
  memories: ReadonlyMap<string, TargetState | undefined>;
  /** Read every service of the plan too, for the digest. */
  digest: boolean;
  /** An IP watch is due (ECS reads public IPs only then). */
  publicIps: boolean;
}

export interface Fetched {
  /** By stateKey, one per entry. */
  observations: Map<string, Observation>;
  /** Entries whose failure to be read is already logged (ECS could not be read at all): not logged again. */
  logged: Set<string>;
  /** ECS could not be read at all. */
  ecsError?: string | undefined;
  /** What the digest says of a service, from what was read. */
  digestRow: (target: ResolvedTarget) => DigestRow;
}

/** A Docker host's containers, and how many the service should run (the last /scale, else `replicas`). */
type HostRead = { ok: true; snapshot: HostSnapshot; replicas: number } | { ok: false; reason: string };

interface EcsRead {
  lookups: Map<string, ServiceLookup>;
  error?: string | undefined;
  /** Tasks that left the RUNNING listing since the last tick, by ARN. */
  stopped: Map<string, TaskSnapshot>;
  /** DescribeTasks failed, by cluster. */
  clusterErrors: Map<string, string>;
}

/** Everything one tick reads, in one pass. */
export const fetchTick = async (
  sources: FetchSources,
  plan: WatchPlan,
  request: FetchRequest,
  logger: Logger,
): Promise<Fetched> => {
  const { store } = sources;
  const { entries } = request;
  const refs = new Map<string, EcsServiceRef>();
  const hostTargets = new Map<string, DockerHostTarget>();
  for (const [key, { watched }] of entries) {
    if (watched.kind === 'ecs') refs.set(refKey(watched.ref), watched.ref);
    else hostTargets.set(key, watched.host);
  }
  if (request.digest) {
    for (const t of plan.ecs) refs.set(refKey(t.ref), t.ref);
    for (const t of plan.hosts) hostTargets.set(stateKey(t.target), t.host);
  }

  const watchesHosts = [...entries.values()].some((e) => e.health && e.watched.kind === 'docker');
  const rollingBefore = watchesHosts ? await listRolling(store, logger) : [];
  const hostReads = readHosts(sources.host, store, hostTargets, logger);
  const ecs = await readEcs(sources.ecs, refs, request, logger);
  const hosts = await hostReads;
  const rolling = request.publicIps || watchesHosts ? await listRolling(store, logger) : [];

  const keys = [...entries.keys()];
  const observed = await Promise.all(
    keys.map((key) => {
      const entry = entries.get(key) as Entry;
      const rollouts = { before: rollingBefore, after: rolling };
      return observe(entry, { store, ecs, hosts, rollouts, memory: request.memories.get(key), key }, logger);
    }),
  );
  const logged = new Set(ecs.error === undefined ? [] : keys.filter((k) => entries.get(k)?.watched.kind === 'ecs'));
  return {
    observations: new Map(keys.map((key, i) => [key, observed[i] as Observation])),
    logged,
    ecsError: ecs.error,
    digestRow: (target) => digestRowOf(sources.config, target, ecs, hosts),
  };
};

const listRolling = async (store: Store, logger: Logger): Promise<DeploymentRecord[]> => {
  try {
    return await store.listDeployments({ states: ['rolling_out'] });
  } catch (error) {
    logger.warn({ err: error }, 'watch tick: could not list rollouts in progress');
    return [];
  }
};

/** `fn` over `items`, at most `limit` at a time; results in the order of `items`. */
const mapConcurrently = async <T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

/** One snapshot per Docker-host service, HOST_CONCURRENCY at a time; a failure is that service's, not the tick's. */
const readHosts = async (
  runtime: DockerHostRuntime | undefined,
  store: Pick<Store, 'getState'>,
  targets: ReadonlyMap<string, DockerHostTarget>,
  logger: Logger,
): Promise<Map<string, HostRead>> => {
  const keys = [...targets.keys()];
  const reads = await mapConcurrently(keys, HOST_CONCURRENCY, async (key): Promise<HostRead> => {
    const target = targets.get(key) as DockerHostTarget;
    if (!runtime) return { ok: false, reason: 'Docker hosts cannot be read by this process' };
    try {
      const snapshot = await runtime.snapshot(target);
      return { ok: true, snapshot, replicas: await wantedReplicas(store, target) };
    } catch (error) {
      logger.debug({ err: error, service: target.service }, 'watch tick: reading the Docker host failed');
      return { ok: false, reason: errorMessage(error) };
    }
  });
  return new Map(keys.map((key, i) => [key, reads[i] as HostRead]));
};

const clusterKeyOf = (ref: EcsServiceRef): string => `${ref.region ?? ''}/${ref.cluster}`;

const snapshotIn = (ecs: Pick<EcsRead, 'lookups'>, ref: EcsServiceRef): ServiceSnapshot | undefined => {
  const lookup = ecs.lookups.get(refKey(ref));
  return lookup?.found ? lookup.snapshot : undefined;
};

/** One describe for every ECS service, then the tasks that stopped since the last tick, one call per cluster. */
const readEcs = async (
  reader: EcsReader,
  refs: ReadonlyMap<string, EcsServiceRef>,
  request: FetchRequest,
  logger: Logger,
): Promise<EcsRead> => {
  const read: EcsRead = { lookups: new Map(), stopped: new Map(), clusterErrors: new Map() };
  if (refs.size > 0) {
    try {
      const found = await reader.describe([...refs.values()], { tasks: true, publicIps: request.publicIps });
      read.lookups = new Map(found.map((l) => [refKey(l.ref), l]));
    } catch (error) {
      read.error = errorMessage(error);
      logger.error({ err: error, services: refs.size }, 'watch tick: reading ECS failed');
    }
  }
  if (reader.describeTasks && !read.error) await readStopped(reader, request, read, logger);
  return read;
};

/** Tasks that left the RUNNING listing since the last tick: one DescribeTasks per cluster (and 100 ARNs). */
const readStopped = async (reader: EcsReader, request: FetchRequest, read: EcsRead, logger: Logger) => {
  const gone = new Map<string, { ref: EcsServiceRef; arns: string[] }>();
  for (const [key, { watched, health }] of request.entries) {
    if (watched.kind !== 'ecs') continue;
    const snapshot = snapshotIn(read, watched.ref);
    if (!health || !snapshot) continue;
    const arns = tasksGoneSince(request.memories.get(key)?.health, snapshot);
    if (arns.length === 0) continue;
    const ck = clusterKeyOf(watched.ref);
    const group = gone.get(ck) ?? { ref: watched.ref, arns: [] };
    group.arns.push(...arns);
    gone.set(ck, group);
  }
  for (const [ck, { ref, arns }] of gone) {
    try {
      const tasks = (await reader.describeTasks?.({ cluster: ref.cluster, region: ref.region }, arns)) ?? [];
      for (const task of tasks) read.stopped.set(task.arn, task);
    } catch (error) {
      read.clusterErrors.set(ck, errorMessage(error));
      logger.error(
        { err: error, cluster: ref.cluster, tasks: arns.length },
        'watch tick: describing stopped tasks failed',
      );
    }
  }
};

interface ObserveInput {
  key: string;
  store: Store;
  ecs: EcsRead;
  hosts: Map<string, HostRead>;
  rollouts: { before: readonly DeploymentRecord[]; after: readonly DeploymentRecord[] };
  memory: TargetState | undefined;
}

const dockhandCause = (d: DeploymentRecord): DockhandCause => ({
  kind: 'dockhand',
  seq: d.seq,
  operation: d.kind,
  requestedBy: d.requestedBy,
});

/** The entry as evaluate sees it. The branch on how the target runs is here, and only here. */
const observe = async (entry: Entry, input: ObserveInput, logger: Logger): Promise<Observation> => {
  const { watched } = entry;
  const { target } = watched;
  const watches = { health: entry.health, ips: entry.ips };
  const isTarget = (d: DeploymentRecord) => d.service === target.service && d.environment === target.environment;
  const rollingOut = input.rollouts.after.find(isTarget);
  if (watched.kind === 'docker') {
    const read = input.hosts.get(input.key) ?? { ok: false, reason: 'the Docker host was not read' };
    const reading: Reading = read.ok
      ? { ok: true, workload: { kind: 'docker', host: read.snapshot, replicas: read.replicas } }
      : read;
    const rolling = rollingOut ?? input.rollouts.before.find(isTarget);
    return { watches, read: reading, context: { rollingOut: rolling && dockhandCause(rolling) } };
  }
  const { ecs } = input;
  const lookup = ecs.lookups.get(refKey(watched.ref));
  const snapshot = snapshotIn(ecs, watched.ref);
  const context = { rollingOut: rollingOut && dockhandCause(rollingOut) };
  if (!snapshot) {
    const reason = ecs.error ?? (lookup && !lookup.found ? lookup.reason : 'ECS did not describe the service');
    return { watches, read: { ok: false, reason }, context };
  }
  const clusterError = entry.health ? ecs.clusterErrors.get(clusterKeyOf(watched.ref)) : undefined;
  if (clusterError !== undefined) return { watches, read: { ok: false, reason: clusterError }, context };
  const stopped = tasksGoneSince(input.memory?.health, snapshot)
    .map((arn) => ecs.stopped.get(arn))
    .filter((t): t is TaskSnapshot => t !== undefined);
  const recentlyFinished = entry.ips
    ? await recentDockhandCause(input.store, target, input.memory, snapshot, rollingOut, logger)
    : undefined;
  return {
    watches,
    read: { ok: true, workload: { kind: 'ecs', service: snapshot, stopped } },
    context: { ...context, recentlyFinished },
  };
};

/**
 * When the IPs changed and ECS shows a new primary deployment since the last tick but no rollout was seen in
 * progress (it began and ended between two ticks), the dockhand deployment that ran then, if any. Only asked in
 * that rare case, so a steady state makes no query.
 */
const recentDockhandCause = async (
  store: Store,
  target: ResolvedTarget,
  memory: TargetState | undefined,
  s: ServiceSnapshot,
  rollingOut: DeploymentRecord | undefined,
  logger: Logger,
): Promise<DockhandCause | undefined> => {
  const prev = memory?.ips;
  const primary = s.deployments.find((d) => d.status === 'PRIMARY');
  if (!prev || prev.held || rollingOut || !primary || primary.id === prev.primary) return undefined;
  if (!diffIps(prev.byTask, currentIps(s))) return undefined;
  const started = primary.createdAt?.getTime();
  if (started === undefined) return undefined;
  try {
    const recent = await store.listDeployments({
      service: target.service,
      environment: target.environment,
      limit: 5,
    });
    const match = recent.find(
      (d) =>
        d.requestedAt.getTime() <= started + 60_000 &&
        (d.finishedAt ?? d.updatedAt).getTime() >= started &&
        d.kind !== 'scale',
    );
    return match ? dockhandCause(match) : undefined;
  } catch (error) {
    logger.warn({ err: error, service: target.service }, 'watch: could not look up recent deployments');
    return undefined;
  }
};

// ---------------------------------------------------------------------------------------------------------------
// What the digest says of each service

const hostDigestRow = (name: AlertTarget, read: HostRead | undefined): DigestRow => {
  if (!read) return { ...name, kind: 'unsupported', note: 'Docker host: not read by this process' };
  if (!read.ok) return { ...name, kind: 'missing', note: read.reason };
  const verdict = assessHostHealth(read.snapshot, read.replicas);
  const image = runningImage(read.snapshot);
  return {
    ...name,
    kind: 'found',
    host: read.snapshot.host,
    ...(image === undefined ? {} : { imageTag: imageTagOf(image) }),
    running: verdict.running,
    desired: verdict.replicas,
    health: verdict.state,
    reasons: verdict.reasons,
  };
};

const digestRowOf = (config: Config, target: ResolvedTarget, ecs: EcsRead, hosts: Map<string, HostRead>): DigestRow => {
  const name = { service: target.service, environment: target.environment };
  const ref = ecsRef(config, target);
  if (!ref) {
    if (hostTargetOf(target)) return hostDigestRow(name, hosts.get(stateKey(target)));
    return { ...name, kind: 'unsupported', note: 'not covered by the digest' };
  }
  const s = snapshotIn(ecs, ref);
  if (!s) {
    const lookup = ecs.lookups.get(refKey(ref));
    const note = ecs.error ?? (lookup && !lookup.found ? lookup.reason : 'not described');
    return { ...name, kind: 'missing', note };
  }
  const verdict = assessHealth(s);
  const container = target.envConfig.target.type === 'ecs' ? target.envConfig.target.container : undefined;
  const image = s.taskDefinition.containers.find((c) => c.name === container)?.image;
  return {
    ...name,
    kind: 'found',
    revision: `${s.taskDefinition.family}:${s.taskDefinition.revision}`,
    ...(image === undefined ? {} : { imageTag: imageTagOf(image) }),
    running: s.running,
    desired: s.desired,
    health: verdict.state,
    reasons: verdict.reasons,
  };
};
