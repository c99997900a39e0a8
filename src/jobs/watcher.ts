/**
 * One tick of the watches: fetch → evaluate → render → post → remember.
 *
 *   fetch     ONE EcsReader.describe for every service due this tick (health, IPs and digest share it), then ONE
 *             DescribeTasks per cluster (per 100 ARNs) for the tasks that left the RUNNING listing since the last
 *             tick — none in a steady state — and one query for dockhand rollouts in progress. Docker hosts: one
 *             DockerHostRuntime.snapshot per service due (health and digest share it), HOST_CONCURRENCY at a time;
 *             an engine that cannot be read is a failed tick for that service.
 *   evaluate  core/watch/{health,host,ips}.ts, pure, against the state the store remembers from the
 *             last tick (whichever replica ran it, before or after a restart).
 *   render    slack/blocks/alerts.ts.
 *   remember  the new state, written only when it changed, with its alerts in an outbox: BEFORE anything is posted.
 *   post      each alert of the outbox through the per-channel pacer, then take it out (one write per post, alerts
 *             are rare); each is also an audit event (the digest lists them). A failed post, or a replica killed
 *             mid-tick, leaves the rest in the outbox: the next tick, on whichever replica, posts them first. So no
 *             alert is lost, and at most the one post in flight when a process died can be repeated.
 */

import type { Config } from '../config/schema.ts';
import { hostTargetOf, runningImage, wantedReplicas } from '../core/deploy/host.ts';
import { assessHealth, assessHostHealth } from '../core/health.ts';
import { allTargets, ecsRef, type ResolvedTarget, refKey } from '../core/targets.ts';
import { evaluateHealth, type HealthMemory, tasksGoneSince } from '../core/watch/health.ts';
import { evaluateHostHealth, type HostHealthChange, type HostHealthMemory, imageTagOf } from '../core/watch/host.ts';
import { currentIps, diffIps, evaluateIps, type IpMemory } from '../core/watch/ips.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type {
  Clock,
  DeploymentRecord,
  DockerHostRuntime,
  DockerHostTarget,
  EcsReader,
  EcsServiceRef,
  HostSnapshot,
  Notifier,
  ServiceLookup,
  ServiceSnapshot,
  Store,
  TaskSnapshot,
} from '../ports.ts';
import {
  type AlertTarget,
  type Digest,
  type DigestRow,
  degradedCard,
  digestCard,
  hostDegradedCard,
  type IpChangeCause,
  ipChangedByDeploymentCard,
  ipChangedCard,
  privateSubnetCard,
  recoveredCard,
  watchFailingCard,
  watchRecoveredCard,
} from '../slack/blocks/alerts.ts';
import type { Card } from '../slack/blocks/types.ts';
import type { ChannelPacer } from './pacer.ts';
import type { JobName, WatchedTarget, WatchPlan } from './schedule.ts';

/** What the scheduler needs; src/app.ts builds it. */
export interface WatchDeps {
  config: Config;
  ecs: EcsReader;
  /** Reads Docker-host targets; without it they are not watched (and the digest says so). */
  host?: DockerHostRuntime | undefined;
  store: Store;
  notifier: Notifier;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Names this process in the per-tick leases ("<hostname>:<pid>"). */
  instance: string;
  /** Time zone of the cron expressions (default: the process's). */
  timezone?: string | undefined;
}

/** Alerts kept per service while Slack refuses them (a channel the bot cannot post to): the newest. */
export const MAX_PENDING_ALERTS = 20;
/** Consecutive failed ticks after which "watch for … is failing" is posted (once). */
export const FAILING_AFTER_TICKS = 3;
/** Docker-host snapshots read at the same time (each is a few engine calls, maybe over ssh). */
export const HOST_CONCURRENCY = 4;
/** The first digest covers this much. */
export const FIRST_DIGEST_SPAN_MS = 24 * 3_600_000;
export const ALERT_AUDIT_ACTION = 'watch.alert';
export const DIGEST_STATE_KEY = 'watch:digest';

export interface FailureMemory {
  /** Consecutive failed ticks. */
  count: number;
  /** ISO time of the first of them. */
  since: string;
  reason: string;
  /** "is failing" was posted. */
  alerted: boolean;
}

/** Everything a watch remembers about one service/environment between ticks (store key: stateKey). */
export interface TargetState {
  health?: HealthMemory | undefined;
  /** The health watch of a Docker-host service. */
  host?: HostHealthMemory | undefined;
  ips?: IpMemory | undefined;
  failure?: FailureMemory | undefined;
  /** Alerts decided but not yet posted, oldest first: posted first by the next tick. */
  outbox?: PendingAlert[] | undefined;
}

export interface PendingAlert {
  kind: AlertKind;
  channel: string;
  card: Card;
}

export const stateKey = (t: AlertTarget): string => `watch:target:${t.service}/${t.environment}`;

export type AlertKind =
  | 'degraded'
  | 'recovered'
  | 'ip-changed'
  | 'ip-changed-by-deployment'
  | 'private-subnet'
  | 'watch-failing'
  | 'watch-recovered';

interface Alert {
  kind: AlertKind;
  card: Card;
}

/** What one tick is asked to do. */
export interface TickWork {
  at: Date;
  health: readonly WatchedTarget[];
  publicIps: readonly WatchedTarget[];
  digest: boolean;
}

export type JobOutcome = 'ok' | 'error';

export interface TickReport {
  outcomes: Partial<Record<JobName, JobOutcome>>;
  /** Messages posted (alerts and digest). */
  posted: number;
}

interface Entry {
  watched: WatchedTarget;
  health: boolean;
  ips: boolean;
}

/** A Docker host's containers, and how many the service should run (the last /scale, else `replicas`). */
type HostRead = { ok: true; snapshot: HostSnapshot; replicas: number } | { ok: false; reason: string };

const clusterKeyOf = (ref: EcsServiceRef): string => `${ref.region ?? ''}/${ref.cluster}`;
const targetName = (t: ResolvedTarget): AlertTarget => ({ service: t.service, environment: t.environment });

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

export const runTick = async (
  deps: WatchDeps,
  plan: WatchPlan,
  pacer: ChannelPacer,
  work: TickWork,
  logger: Logger,
): Promise<TickReport> => {
  const { ecs, store } = deps;
  const at = work.at;
  const report: TickReport = { outcomes: {}, posted: 0 };
  const failedJobs = new Set<JobName>();

  // Which services, for which watches.
  const entries = new Map<string, Entry>();
  const entryOf = (w: WatchedTarget): Entry => {
    const key = stateKey(w.target);
    let entry = entries.get(key);
    if (!entry) {
      entry = { watched: w, health: false, ips: false };
      entries.set(key, entry);
    }
    return entry;
  };
  for (const w of work.health) entryOf(w).health = true;
  for (const w of work.publicIps) entryOf(w).ips = true;

  // Fetch: one snapshot for everything due.
  const refs = new Map<string, EcsServiceRef>();
  for (const { watched } of entries.values()) if (watched.kind === 'ecs') refs.set(refKey(watched.ref), watched.ref);
  if (work.digest) for (const t of plan.ecs) refs.set(refKey(t.ref), t.ref);
  const hostTargets = new Map<string, DockerHostTarget>();
  for (const [key, { watched }] of entries) if (watched.kind === 'docker') hostTargets.set(key, watched.host);
  if (work.digest) for (const t of plan.hosts) hostTargets.set(stateKey(t.target), t.host);

  // Dockhand rollouts in progress: one query for all services. A Docker-host rollout may begin or end while its
  // containers are read, so for those it is asked before and after, and either counts.
  const listRolling = async (): Promise<DeploymentRecord[]> => {
    try {
      return await store.listDeployments({ states: ['rolling_out'] });
    } catch (error) {
      logger.warn({ err: error }, 'watch tick: could not list rollouts in progress');
      return [];
    }
  };
  const watchesHosts = work.health.some((w) => w.kind === 'docker');
  const rollingBefore = watchesHosts ? await listRolling() : [];
  const hostReads = readHosts(deps.host, store, hostTargets, logger);

  const states = new Map<string, TargetState | undefined>();
  for (const key of entries.keys()) states.set(key, await store.getState<TargetState>(key));

  let lookups = new Map<string, ServiceLookup>();
  let fetchError: string | undefined;
  if (refs.size > 0) {
    try {
      const found = await ecs.describe([...refs.values()], { tasks: true, publicIps: work.publicIps.length > 0 });
      lookups = new Map(found.map((l) => [refKey(l.ref), l]));
    } catch (error) {
      fetchError = errorMessage(error);
      logger.error({ err: error, services: refs.size }, 'watch tick: reading ECS failed');
    }
  }
  const snapshotOf = (ref: EcsServiceRef): ServiceSnapshot | undefined => {
    const lookup = lookups.get(refKey(ref));
    return lookup?.found ? lookup.snapshot : undefined;
  };

  // Tasks that left the RUNNING listing since the last tick: one DescribeTasks per cluster (and 100 ARNs).
  const stopped = new Map<string, TaskSnapshot>();
  const clusterErrors = new Map<string, string>();
  if (ecs.describeTasks && !fetchError) {
    const gone = new Map<string, { ref: EcsServiceRef; arns: string[] }>();
    for (const [key, { watched, health }] of entries) {
      if (watched.kind !== 'ecs') continue;
      const snapshot = snapshotOf(watched.ref);
      if (!health || !snapshot) continue;
      const arns = tasksGoneSince(states.get(key)?.health, snapshot);
      if (arns.length === 0) continue;
      const ck = clusterKeyOf(watched.ref);
      const group = gone.get(ck) ?? { ref: watched.ref, arns: [] };
      group.arns.push(...arns);
      gone.set(ck, group);
    }
    for (const [ck, { ref, arns }] of gone) {
      try {
        for (const task of await ecs.describeTasks({ cluster: ref.cluster, region: ref.region }, arns)) {
          stopped.set(task.arn, task);
        }
      } catch (error) {
        clusterErrors.set(ck, errorMessage(error));
        logger.error(
          { err: error, cluster: ref.cluster, tasks: arns.length },
          'watch tick: describing stopped tasks failed',
        );
      }
    }
  }

  const hosts = await hostReads;
  const rolling = work.publicIps.length > 0 || watchesHosts ? await listRolling() : [];

  // Evaluate, render, post, remember.
  const jobs = await Promise.all(
    [...entries].map(async ([key, e]): Promise<{ failed: boolean; postFailed: boolean }> => {
      const { watched } = e;
      const { target } = watched;
      const name = targetName(target);
      const prev = states.get(key) ?? {};
      const next: TargetState = { ...prev, outbox: undefined };
      const alerts: Alert[] = [];
      const isTarget = (d: DeploymentRecord) => d.service === target.service && d.environment === target.environment;
      const rollingOut = rolling.find(isTarget);

      let failure: string | undefined;
      let evaluate: () => Promise<void>;
      if (watched.kind === 'docker') {
        const read = hosts.get(key) ?? { ok: false, reason: 'the Docker host was not read' };
        failure = read.ok ? undefined : read.reason;
        evaluate = async () => {
          if (!read.ok) return;
          const outcome = evaluateHostHealth(
            prev.host,
            read.snapshot,
            { replicas: read.replicas, rollingOut: rollingOut !== undefined || rollingBefore.some(isTarget) },
            at,
          );
          next.host = outcome.memory;
          alerts.push(
            ...hostHealthAlerts(name, { ...watched.host, replicas: read.replicas }, read.snapshot, outcome.change, at),
          );
        };
      } else {
        const lookup = lookups.get(refKey(watched.ref));
        const snapshot = snapshotOf(watched.ref);
        failure =
          fetchError ??
          (lookup && !lookup.found ? lookup.reason : undefined) ??
          (snapshot ? undefined : 'ECS did not describe the service') ??
          (e.health ? clusterErrors.get(clusterKeyOf(watched.ref)) : undefined);
        evaluate = async () => {
          if (!snapshot) return;
          if (e.health) {
            const gone = tasksGoneSince(prev.health, snapshot)
              .map((arn) => stopped.get(arn))
              .filter((t): t is TaskSnapshot => t !== undefined);
            const outcome = evaluateHealth(prev.health, snapshot, gone, at);
            next.health = outcome.memory;
            alerts.push(...healthAlerts(name, snapshot, outcome.change, at));
          }
          if (e.ips) {
            const context = {
              rollingOut: rollingOut ? dockhandCause(rollingOut) : undefined,
              recentlyFinished: await recentDockhandCause(store, target, prev.ips, snapshot, rollingOut, logger),
            };
            const outcome = evaluateIps(prev.ips, snapshot, context, at);
            next.ips = outcome.memory;
            for (const event of outcome.events) {
              if (event.kind === 'private-subnet') {
                alerts.push({ kind: 'private-subnet', card: privateSubnetCard({ ...name, taskIds: event.taskIds }) });
              } else if (event.kind === 'changed') {
                alerts.push({ kind: 'ip-changed', card: ipChangedCard({ ...name, ...event, at }) });
              } else {
                alerts.push({
                  kind: 'ip-changed-by-deployment',
                  card: ipChangedByDeploymentCard({ ...name, ...event, at }),
                });
              }
            }
          }
        };
      }

      if (failure !== undefined) {
        const count = (prev.failure?.count ?? 0) + 1;
        const since = prev.failure?.since ?? at.toISOString();
        let alerted = prev.failure?.alerted ?? false;
        if (count >= FAILING_AFTER_TICKS && !alerted) {
          alerts.push({
            kind: 'watch-failing',
            card: watchFailingCard({ ...name, reason: failure, failedTicks: count, since: new Date(since) }),
          });
          alerted = true;
        }
        next.failure = { count, since, reason: failure, alerted };
        if (watched.kind === 'docker' || !fetchError)
          logger.warn({ ...name, reason: failure, failedTicks: count }, 'watch: service could not be read');
      } else {
        if (prev.failure?.alerted) {
          alerts.push({
            kind: 'watch-recovered',
            card: watchRecoveredCard({
              ...name,
              failedTicks: prev.failure.count,
              since: new Date(prev.failure.since),
              at,
            }),
          });
        }
        next.failure = undefined;
        await evaluate();
      }

      // Remember, then announce: the new state and its alerts (behind any a previous tick left) in one write.
      const queued: PendingAlert[] = [
        ...(prev.outbox ?? []),
        ...alerts.map((alert) => ({ kind: alert.kind, channel: target.channel, card: alert.card })),
      ];
      const outbox = queued.slice(-MAX_PENDING_ALERTS);
      if (outbox.length < queued.length) {
        logger.error(
          { ...name, dropped: queued.length - outbox.length, channel: target.channel },
          'watch: alerts could not be posted for many ticks; dropping the oldest',
        );
      }
      let postFailed = false;
      try {
        let remembered: TargetState = { ...next, outbox: outbox.length > 0 ? outbox : undefined };
        if (JSON.stringify(remembered) !== JSON.stringify(prev)) await store.putState(key, remembered, at);
        for (const [i, alert] of outbox.entries()) {
          await pacer.post(alert.channel, alert.card);
          report.posted++;
          const rest = outbox.slice(i + 1);
          remembered = { ...remembered, outbox: rest.length > 0 ? rest : undefined };
          await store.putState(key, remembered, at);
          // Posted and taken out: a failed audit write must not stop the others (nor post this one again).
          await store
            .appendAudit({
              at,
              actor: 'dockhand',
              action: ALERT_AUDIT_ACTION,
              service: target.service,
              environment: target.environment,
              outcome: alert.kind,
              detail: { text: alert.card.text },
            })
            .catch((error: unknown) => logger.error({ err: error, ...name }, 'watch: could not audit a posted alert'));
          logger.info({ ...name, alert: alert.kind, channel: alert.channel }, alert.card.text);
        }
      } catch (error) {
        // What was not posted stays in the outbox (or, if even the state could not be written, the next tick sees
        // the same change again): the next tick tries again.
        postFailed = true;
        logger.error({ err: error, ...name }, 'watch: could not post or remember an alert');
      }
      return { failed: failure !== undefined, postFailed };
    }),
  );

  // The digest.
  if (work.digest && plan.digest) {
    try {
      await postDigest(deps, pacer, plan, { at, snapshotOf, lookups, fetchError, hosts });
      report.posted++;
    } catch (error) {
      failedJobs.add('digest');
      logger.error({ err: error }, 'digest: could not post');
    }
  }

  const entryList = [...entries.values()];
  for (const [i, e] of entryList.entries()) {
    const result = jobs[i];
    if (!result || (!result.failed && !result.postFailed)) continue;
    if (e.health) failedJobs.add('health');
    if (e.ips) failedJobs.add('public-ips');
  }
  if (fetchError) {
    if (work.health.some((w) => w.kind === 'ecs')) failedJobs.add('health');
    if (work.publicIps.length > 0) failedJobs.add('public-ips');
    if (work.digest) failedJobs.add('digest');
  }
  if (work.health.length > 0) report.outcomes.health = failedJobs.has('health') ? 'error' : 'ok';
  if (work.publicIps.length > 0) report.outcomes['public-ips'] = failedJobs.has('public-ips') ? 'error' : 'ok';
  if (work.digest) report.outcomes.digest = failedJobs.has('digest') ? 'error' : 'ok';
  return report;
};

const healthAlerts = (
  name: AlertTarget,
  s: ServiceSnapshot,
  change: ReturnType<typeof evaluateHealth>['change'],
  at: Date,
): Alert[] => {
  if (!change) return [];
  if (change.kind === 'degraded') {
    return [
      {
        kind: 'degraded',
        card: degradedCard({
          ...name,
          reasons: change.reasons,
          stoppedTasks: change.stoppedTasks,
          desired: s.desired,
          running: s.running,
          pending: s.pending,
          revision: `${s.taskDefinition.family}:${s.taskDefinition.revision}`,
          at,
        }),
      },
    ];
  }
  return [
    {
      kind: 'recovered',
      card: recoveredCard({
        ...name,
        since: change.since,
        at,
        reasons: change.reasons,
        desired: s.desired,
        running: s.running,
      }),
    },
  ];
};

const hostHealthAlerts = (
  name: AlertTarget,
  target: DockerHostTarget,
  s: HostSnapshot,
  change: HostHealthChange | undefined,
  at: Date,
): Alert[] => {
  if (!change) return [];
  const { running } = assessHostHealth(s, target.replicas);
  if (change.kind === 'degraded') {
    const image = runningImage(s);
    return [
      {
        kind: 'degraded',
        card: hostDegradedCard({
          ...name,
          reasons: change.reasons,
          running,
          replicas: target.replicas,
          imageTag: image === undefined ? undefined : imageTagOf(image),
          host: s.host,
          at,
        }),
      },
    ];
  }
  return [
    {
      kind: 'recovered',
      card: recoveredCard({
        ...name,
        since: change.since,
        at,
        reasons: change.reasons,
        desired: target.replicas,
        running,
        unit: 'container',
      }),
    },
  ];
};

const dockhandCause = (d: DeploymentRecord): Extract<IpChangeCause, { kind: 'dockhand' }> => ({
  kind: 'dockhand',
  seq: d.seq,
  operation: d.kind,
  requestedBy: d.requestedBy,
});

/**
 * When the IPs changed and ECS shows a new primary deployment since the last tick but no rollout was seen in
 * progress (it began and ended between two ticks), the dockhand deployment that ran then, if any. Only asked in
 * that rare case, so a steady state makes no query.
 */
const recentDockhandCause = async (
  store: Store,
  target: ResolvedTarget,
  prev: IpMemory | undefined,
  s: ServiceSnapshot,
  rollingOut: DeploymentRecord | undefined,
  logger: Logger,
): Promise<Extract<IpChangeCause, { kind: 'dockhand' }> | undefined> => {
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
// Digest

export { imageTagOf };

/** What the tick read, for the digest. */
interface DigestInput {
  at: Date;
  snapshotOf: (ref: EcsServiceRef) => ServiceSnapshot | undefined;
  lookups: Map<string, ServiceLookup>;
  fetchError: string | undefined;
  /** Docker-host snapshots by stateKey. */
  hosts: Map<string, HostRead>;
}

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

const postDigest = async (deps: WatchDeps, pacer: ChannelPacer, plan: WatchPlan, input: DigestInput): Promise<void> => {
  const { at, snapshotOf, lookups, fetchError } = input;
  const { store, config } = deps;
  const digestConfig = plan.digest;
  if (!digestConfig) return;
  const last = await store.getState<{ at: string }>(DIGEST_STATE_KEY);
  const since = last ? new Date(last.at) : new Date(at.getTime() - FIRST_DIGEST_SPAN_MS);
  const inRange = (d: Date) => d.getTime() > since.getTime() && d.getTime() <= at.getTime();

  const rows: DigestRow[] = allTargets(config).map((target): DigestRow => {
    const name = targetName(target);
    const ref = ecsRef(config, target);
    if (!ref) {
      const host = hostTargetOf(target);
      if (host) return hostDigestRow(name, input.hosts.get(stateKey(target)));
      return { ...name, kind: 'unsupported', note: 'not covered by the digest' };
    }
    const s = snapshotOf(ref);
    if (!s) {
      const lookup = lookups.get(refKey(ref));
      const note = fetchError ?? (lookup && !lookup.found ? lookup.reason : 'not described');
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
  });

  const deployments = (await store.listDeployments({ limit: 500 }))
    .filter((d) => inRange(d.finishedAt ?? d.updatedAt))
    .map((d) => ({
      service: d.service,
      environment: d.environment,
      seq: d.seq,
      operation: d.kind,
      state: d.state,
      requestedBy: d.requestedBy,
      at: d.finishedAt ?? d.updatedAt,
    }));
  const alerts = (await store.listAudit({ action: ALERT_AUDIT_ACTION, limit: 500 }))
    .filter((a) => inRange(a.at))
    .map((a) => ({
      service: a.service ?? '',
      environment: a.environment ?? '',
      at: a.at,
      kind: a.outcome,
      text: typeof a.detail?.text === 'string' ? a.detail.text : a.outcome,
    }));
  const digest: Digest = { since, at, rows, deployments, alerts, error: fetchError };
  await pacer.post(digestConfig.channel, digestCard(digest));
  await store.putState(DIGEST_STATE_KEY, { at: at.toISOString() }, at);
};
