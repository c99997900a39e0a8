/**
 * Fetch, the first stage of a watch tick: everything the tick reads, turned into one Observation per watched target
 * (src/core/watch/observation.ts), through the Runtime port (src/core/runtime.ts) whatever runs it:
 *
 *   describe   ONE read of every target due this tick (health, IPs and the digest share it), in batches of whole read
 *              groups (Runtime.readGroup; ECS: a cluster, its services 10 a DescribeServices and its tasks one
 *              ListTasks, through the app's shared snapshots; a Docker host: its containers, a few at a time), so
 *              the calls are those of one read. Each batch is evaluated (onBatch) before the next is read: the tick
 *              holds the snapshots of one batch at a time, not of every service. A runtime whose read fails as a
 *              whole is logged once a tick; a target that cannot be read is that target's failed tick.
 *   stopped    ONE stoppedUnits per runtime and batch for the units that left the running set since the last tick (ECS: one
 *              DescribeTasks per cluster and 100 tasks) — none in a steady state.
 *   rollouts   the dockhand rollouts in progress, asked before and after each batch's read when a health watch is due (a
 *              rollout may begin or end meanwhile) and after it when an IP watch is; and, only when IPs changed
 *              under a new runtime rollout no dockhand rollout was seen for, the deployments that ran then.
 */
import type { Config } from '../config/schema.ts';
import {
  describeTargets,
  type Runtime,
  type RuntimeLookup,
  type RuntimeSnapshot,
  type Runtimes,
  type StoppedUnit,
} from '../core/runtime.ts';
import type { ResolvedTarget } from '../core/targets.ts';
import { digestFacts } from '../core/watch/digest-row.ts';
import { unitsGoneSince } from '../core/watch/health.ts';
import { type DockhandCause, unexplainedRolloutStart } from '../core/watch/ips.ts';
import type { Observation } from '../core/watch/observation.ts';
import { failureLineForChannel } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DeploymentRecord, Store } from '../ports.ts';
import type { AlertTarget, DigestRow } from '../slack/blocks/alerts.ts';
import type { TargetState } from './outbox.ts';
import type { WatchedTarget, WatchPlan } from './schedule.ts';

export const stateKey = (t: AlertTarget): string => `watch:target:${t.service}/${t.environment}`;

/** A watched target and which of its watches are due this tick. */
export interface Entry {
  watched: WatchedTarget;
  health: boolean;
  ips: boolean;
}

export interface FetchSources {
  config: Config;
  runtimes: Runtimes;
  store: Store;
}

export interface FetchRequest {
  /** By stateKey. */
  entries: ReadonlyMap<string, Entry>;
  /** What each entry's watches remembered from the last tick, by stateKey. */
  memories: ReadonlyMap<string, TargetState | undefined>;
  /** Read every service of the plan too, for the digest. */
  digest: boolean;
  /** An IP watch is due (public addresses are read only then). */
  publicIps: boolean;
}

/** What one batch of the tick read: an observation per entry in it, evaluated before the next batch is read. */
export interface FetchedBatch {
  /** By stateKey, one per entry of the batch. */
  observations: Map<string, Observation>;
  /** Entries whose failure to be read is already logged (their runtime could not be read at all): not logged again. */
  logged: Set<string>;
}

export interface Fetched {
  /** A runtime could not be read at all (the first such error). */
  readError?: string | undefined;
  /** What the digest says of a service, from what was read. */
  digestRow: (target: ResolvedTarget) => DigestRow;
}

/** What one batch read, by stateKey. */
interface Read {
  lookups: Map<string, RuntimeLookup>;
  /** Units that stopped since the last tick, by stateKey; an error when the runtime could not say. */
  stopped: Map<string, { units: StoppedUnit[] } | { error: string }>;
}

/** A batch holds whole read groups (clusters) until it has at least this many targets. */
export const BATCH_TARGETS = 100;

/**
 * The targets in batches, each a few whole read groups (Runtime.readGroup: an ECS cluster) of one runtime, so a batch
 * makes the calls its groups would make in one read: batch r is the r-th of every runtime, read at once.
 */
const batchesOf = (runtimes: Runtimes, targets: ReadonlyMap<string, ResolvedTarget>): string[][] => {
  const groups = new Map<Runtime | undefined, Map<string, string[]>>();
  for (const [key, target] of targets) {
    let runtime: Runtime | undefined;
    let group = '';
    try {
      runtime = runtimes.for(target);
      group = runtime.readGroup?.(target) ?? '';
    } catch {
      // describeTargets says why the target cannot be read.
    }
    const ofRuntime = groups.get(runtime) ?? new Map<string, string[]>();
    groups.set(runtime, ofRuntime);
    const keys = ofRuntime.get(group) ?? [];
    keys.push(key);
    ofRuntime.set(group, keys);
  }
  const rounds: string[][] = [];
  for (const ofRuntime of groups.values()) {
    let round = 0;
    for (const keys of ofRuntime.values()) {
      const batch = rounds[round] ?? [];
      rounds[round] = batch;
      batch.push(...keys);
      if (batch.length >= BATCH_TARGETS) round++;
    }
  }
  return rounds.filter((keys) => keys.length > 0);
};

/**
 * Everything one tick reads, batch after batch (a few clusters at a time): each batch's observations go to `onBatch`
 * (which evaluates them) and the next batch is read once it is done, so the snapshots of one batch are let go before the next
 * is read; only the digest's rows (small facts) are kept for the whole tick.
 */
export const fetchTick = async (
  sources: FetchSources,
  plan: WatchPlan,
  request: FetchRequest,
  logger: Logger,
  onBatch: (batch: FetchedBatch) => Promise<void>,
): Promise<Fetched> => {
  const { store } = sources;
  const { entries } = request;
  const targets = new Map<string, ResolvedTarget>();
  for (const [key, { watched }] of entries) targets.set(key, watched.target);
  if (request.digest) for (const target of plan.read) targets.set(stateKey(target), target);

  const watchesHealth = [...entries.values()].some((e) => e.health);
  const failedBatches = new Map<string, { error: unknown; services: number }>();
  const digestRows = new Map<string, DigestRow>();
  let readError: string | undefined;
  // Asked before each batch's read (the last batch's "after"), and after it.
  let rollingBefore = watchesHealth ? await listRolling(store, logger) : [];
  for (const batchKeys of batchesOf(sources.runtimes, targets)) {
    const batchTargets = new Map(batchKeys.map((key) => [key, targets.get(key) as ResolvedTarget]));
    const lookups = await readAll(sources.runtimes, batchTargets, request, failedBatches, logger);
    const rolling = request.publicIps || watchesHealth ? await listRolling(store, logger) : [];
    const read: Read = { lookups, stopped: await readStopped(sources.runtimes, lookups, request, logger) };

    const keys = batchKeys.filter((key) => entries.has(key));
    const rollouts = { before: rollingBefore, after: rolling };
    const observed = await Promise.all(
      keys.map((key) => {
        const entry = entries.get(key) as Entry;
        return observe(entry, { store, read, rollouts, memory: request.memories.get(key), key }, logger);
      }),
    );
    /** Why the target's runtime could not be read at all, if so (logged once for all its targets). */
    const batchError = (l: RuntimeLookup | undefined) => (l && !l.found && l.batch ? l.reason : undefined);
    readError ??= [...lookups.values()].map(batchError).find((e) => e !== undefined);
    if (request.digest) for (const [key, lookup] of lookups) digestRows.set(key, digestRowOf(lookup.target, lookup));
    await onBatch({
      observations: new Map(keys.map((key, i) => [key, observed[i] as Observation])),
      logged: new Set(keys.filter((k) => batchError(lookups.get(k)) !== undefined)),
    });
    if (watchesHealth) rollingBefore = rolling;
  }
  for (const { error, services } of failedBatches.values()) {
    logger.error({ err: error, services }, 'watch tick: reading the runtime failed');
  }
  return {
    readError,
    digestRow: (target) =>
      digestRows.get(stateKey(target)) ?? {
        service: target.service,
        environment: target.environment,
        kind: 'unsupported',
        note: 'not covered by the digest',
      },
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

/** One describe per runtime for the batch's targets; a runtime that fails as a whole is counted (logged once a tick). */
const readAll = async (
  runtimes: Runtimes,
  targets: ReadonlyMap<string, ResolvedTarget>,
  request: FetchRequest,
  failedBatches: Map<string, { error: unknown; services: number }>,
  logger: Logger,
): Promise<Map<string, RuntimeLookup>> => {
  const keys = [...targets.keys()];
  // Target health (one DescribeTargetHealth per target group) only of the targets whose health watch is due.
  // Asked of the tick's entries in place: a Set of them built for each batch cost ~1 MiB a tick at 1,000 services.
  let healthDue = false;
  request.entries.forEach((e) => {
    healthDue ||= e.health;
  });
  const targetHealth = healthDue ? (t: ResolvedTarget) => request.entries.get(stateKey(t))?.health === true : false;
  const depth = { units: true, publicAddresses: request.publicIps, targetHealth };
  const found = await describeTargets(runtimes, [...targets.values()], depth, { settle: true });
  const lookups = new Map(keys.map((key, i) => [key, found[i] as RuntimeLookup]));
  for (const lookup of lookups.values()) {
    if (lookup.found || lookup.unsupported) continue;
    if (lookup.batch) {
      const batch = failedBatches.get(lookup.reason) ?? { error: lookup.error, services: 0 };
      failedBatches.set(lookup.reason, { ...batch, services: batch.services + 1 });
    } else if (lookup.error !== undefined) {
      logger.debug({ err: lookup.error, service: lookup.target.service }, 'watch tick: reading the service failed');
    }
  }
  return lookups;
};

interface Gone {
  key: string;
  target: ResolvedTarget;
  unitRefs: string[];
}

/** The units that left each health-watched target since the last tick: one stoppedUnits per runtime. */
const readStopped = async (
  runtimes: Runtimes,
  lookups: ReadonlyMap<string, RuntimeLookup>,
  request: FetchRequest,
  logger: Logger,
): Promise<Read['stopped']> => {
  const byRuntime = new Map<Runtime, Gone[]>();
  // The batch's targets, not every entry of the tick (for each batch); appended in place, not copied per target.
  lookups.forEach((lookup, key) => {
    if (!request.entries.get(key)?.health || !lookup.found) return;
    const unitRefs = unitsGoneSince(request.memories.get(key)?.health, lookup.snapshot);
    const runtime = runtimes.for(lookup.target);
    const gone = byRuntime.get(runtime) ?? [];
    gone.push({ key, target: lookup.target, unitRefs });
    byRuntime.set(runtime, gone);
  });
  const stopped: Read['stopped'] = new Map();
  // A runtime is asked only when some of its targets lost units (a steady state asks nothing); it is asked about
  // all its health-watched targets then, so a part of the read that failed fails every target it covers.
  const asked = [...byRuntime].filter(([, gone]) => gone.some((g) => g.unitRefs.length > 0));
  await Promise.all(
    asked.map(async ([runtime, gone]) => {
      // The alert reads the error as a channel may (no AWS message); the log line has the whole error.
      const errors = new Map<string, unknown>();
      const failedWith = (key: string, error: unknown) => {
        stopped.set(key, { error: failureLineForChannel(error) });
        errors.set(key, error);
      };
      try {
        const answers = await runtime.stoppedUnits(gone);
        gone.forEach(({ key }, i) => {
          const answer = answers[i];
          if (answer?.error === undefined) stopped.set(key, { units: answer?.units ?? [] });
          else failedWith(key, answer.error);
        });
      } catch (error) {
        for (const { key } of gone) failedWith(key, error);
      }
      const failed = new Map<unknown, number>();
      for (const { key, unitRefs } of gone) {
        if (errors.has(key)) failed.set(errors.get(key), (failed.get(errors.get(key)) ?? 0) + unitRefs.length);
      }
      for (const [err, units] of failed) {
        logger.error({ err, runtime: runtime.label, units }, 'watch tick: describing stopped units failed');
      }
    }),
  );
  return stopped;
};

interface ObserveInput {
  key: string;
  store: Store;
  read: Read;
  rollouts: { before: readonly DeploymentRecord[]; after: readonly DeploymentRecord[] };
  memory: TargetState | undefined;
}

const dockhandCause = (d: DeploymentRecord): DockhandCause => ({
  kind: 'dockhand',
  seq: d.seq,
  operation: d.kind,
  requestedBy: d.requestedBy,
});

/** The entry as evaluate sees it: the same for every runtime. */
const observe = async (entry: Entry, input: ObserveInput, logger: Logger): Promise<Observation> => {
  const { target } = entry.watched;
  const watches = { health: entry.health, ips: entry.ips };
  const isTarget = (d: DeploymentRecord) => d.service === target.service && d.environment === target.environment;
  const rollingOut = input.rollouts.after.find(isTarget);
  const rollingBefore = input.rollouts.before.find(isTarget);
  const context = {
    rollingOut: rollingOut && dockhandCause(rollingOut),
    ...(rollingBefore ? { rollingOutBefore: dockhandCause(rollingBefore) } : {}),
  };
  const lookup = input.read.lookups.get(input.key);
  if (!lookup?.found) {
    return { watches, read: { ok: false, reason: lookup?.reason ?? 'the service was not read' }, context };
  }
  const { snapshot } = lookup;
  const stopped = entry.health ? input.read.stopped.get(input.key) : undefined;
  if (stopped && 'error' in stopped) return { watches, read: { ok: false, reason: stopped.error }, context };
  const recentlyFinished = entry.ips
    ? await recentDockhandCause(input.store, target, input.memory, snapshot, rollingOut, logger)
    : undefined;
  return {
    watches,
    read: { ok: true, snapshot, stopped: stopped?.units ?? [] },
    context: { ...context, recentlyFinished },
  };
};

/**
 * When the IPs changed and the runtime shows a new primary rollout since the last tick but no rollout was seen in
 * progress (it began and ended between two ticks), the dockhand deployment that ran then, if any. Only asked in
 * that rare case, so a steady state makes no query.
 */
const recentDockhandCause = async (
  store: Store,
  target: ResolvedTarget,
  memory: TargetState | undefined,
  s: RuntimeSnapshot,
  rollingOut: DeploymentRecord | undefined,
  logger: Logger,
): Promise<DockhandCause | undefined> => {
  if (rollingOut) return undefined;
  const started = unexplainedRolloutStart(memory?.ips, s)?.getTime();
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

const digestRowOf = (target: ResolvedTarget, lookup: RuntimeLookup): DigestRow => {
  const name = { service: target.service, environment: target.environment };
  if (lookup.found) return { ...name, kind: 'found', ...digestFacts(lookup.snapshot) };
  if (lookup.unsupported) return { ...name, kind: 'unsupported', note: lookup.reason };
  return { ...name, kind: 'missing', note: lookup.reason };
};
