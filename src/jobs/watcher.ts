/**
 * One tick of the watches, as explicit stages:
 *
 *   fetch     fetch.ts: every snapshot the tick needs, in one pass through the Runtime port, as one Observation
 *             per watched target (the same path whatever runs it).
 *   evaluate  core/watch/evaluate.ts, pure: the last tick's memory + the observation → alerts (data) + next memory
 *             (the store holds the memory, so whichever replica ran the last tick, before or after a restart).
 *   render    slack/blocks/alerts.ts `alertCard`: an alert → its Slack card.
 *   save+post outbox.ts: the new state with its alerts in an outbox, written BEFORE anything is posted; then each
 *             alert through the per-channel pacer, taken out of the outbox as it goes.
 *
 * The digest, when due, is built from the same fetch (digest.ts).
 */

import type { Config } from '../config/schema.ts';
import type { Runtimes } from '../core/runtime.ts';
import { type AlertKind, evaluateTarget } from '../core/watch/evaluate.ts';
import type { Observation } from '../core/watch/observation.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Clock, DnsRecords, Notifier, Store } from '../ports.ts';
import { alertCard } from '../slack/blocks/alerts.ts';
import { postDigest } from './digest.ts';
import { followDns } from './dns.ts';
import { type Entry, type Fetched, fetchTick, stateKey } from './fetch.ts';
import { type Posted, saveAndPost, type TargetState } from './outbox.ts';
import type { ChannelPacer } from './pacer.ts';
import type { JobName, WatchedTarget, WatchPlan } from './schedule.ts';

/** What the scheduler needs; src/app.ts builds it. */
export interface WatchDeps {
  config: Config;
  /** What runs each target; a target whose runtime this process lacks is not watched (the digest says so). */
  runtimes: Runtimes;
  store: Store;
  /** Route 53, for `watch.publicIps.dns`; without it no record is kept. */
  dns?: DnsRecords | undefined;
  notifier: Notifier;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Names this process in the per-tick leases ("<hostname>:<pid>"). */
  instance: string;
  /** Time zone of the cron expressions (default: the process's). */
  timezone?: string | undefined;
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

/** Which services, for which watches: one entry per service/environment, by stateKey. */
const entriesOf = (work: TickWork): Map<string, Entry> => {
  const entries = new Map<string, Entry>();
  const entryOf = (w: WatchedTarget): Entry => {
    const key = stateKey(w.target);
    const entry = entries.get(key) ?? { watched: w, health: false, ips: false };
    entries.set(key, entry);
    return entry;
  };
  for (const w of work.health) entryOf(w).health = true;
  for (const w of work.publicIps) entryOf(w).ips = true;
  return entries;
};

/** Every watched target's memory in one query (one per target cost ~3 MiB of allocation a tick at 1,000). */
const loadMemories = (store: Store, keys: Iterable<string>): Promise<Map<string, TargetState>> =>
  store.getStates<TargetState>([...keys]);

interface TargetResult extends Posted {
  entry: Entry;
  /** The target could not be read. */
  unread: boolean;
}

interface Decided {
  key: string;
  entry: Entry;
  prev: TargetState;
  next: TargetState;
  cards: { kind: AlertKind; card: ReturnType<typeof alertCard> }[];
  at: Date;
  /** The target could not be read. */
  unread: boolean;
}

/** Evaluate and render, for one watched target: what it keeps of the observation is its alerts' cards. */
const decide = async (
  deps: WatchDeps,
  job: { key: string; entry: Entry; prev: TargetState; observation: Observation; logged: boolean; at: Date },
  logger: Logger,
): Promise<Decided> => {
  const { key, entry, prev, observation, logged, at } = job;
  const { target } = entry.watched;
  const name = { service: target.service, environment: target.environment };
  const evaluated = evaluateTarget<TargetState>({ ...prev, outbox: undefined }, observation, at);
  const dnsJob = {
    watched: entry.watched,
    ips: entry.ips,
    observation,
    prev,
    ...evaluated,
    next: evaluated.memory,
    at,
  };
  const { memory: next, alerts } = await followDns(deps.dns, dnsJob, logger);
  if (!observation.read.ok && !logged) {
    const { reason } = observation.read;
    logger.warn({ ...name, reason, failedTicks: next.failure?.count }, 'watch: service could not be read');
  }
  const cards = alerts.map((alert) => ({ kind: alert.kind, card: alertCard(name, alert, at) }));
  return { key, entry, prev, next, cards, at, unread: !observation.read.ok };
};

/** Save and post, for one watched target. */
const savePosting = async (
  deps: WatchDeps,
  pacer: ChannelPacer,
  decided: Decided,
  logger: Logger,
): Promise<TargetResult> => {
  const { key, entry, prev, next, cards, at, unread } = decided;
  const { target } = entry.watched;
  const posted = await saveAndPost(deps.store, pacer, { key, target, prev, next, alerts: cards, at }, logger);
  return { ...posted, entry, unread };
};

const reportOf = (work: TickWork, results: readonly TargetResult[], digestFailed: boolean): TickReport => {
  const failedJobs = new Set<JobName>();
  for (const { entry, unread, failed } of results) {
    if (!unread && !failed) continue;
    if (entry.health) failedJobs.add('health');
    if (entry.ips) failedJobs.add('public-ips');
  }
  if (digestFailed) failedJobs.add('digest');
  const report: TickReport = { outcomes: {}, posted: results.reduce((n, r) => n + r.posted, 0) };
  if (work.health.length > 0) report.outcomes.health = failedJobs.has('health') ? 'error' : 'ok';
  if (work.publicIps.length > 0) report.outcomes['public-ips'] = failedJobs.has('public-ips') ? 'error' : 'ok';
  if (work.digest) report.outcomes.digest = failedJobs.has('digest') ? 'error' : 'ok';
  return report;
};

/** Posts the digest when due: whether it was posted, and whether it failed (a runtime unread, or the post). */
const runDigest = async (
  deps: WatchDeps,
  pacer: ChannelPacer,
  plan: WatchPlan,
  tick: { work: TickWork; fetched: Fetched },
  logger: Logger,
): Promise<{ posted: boolean; failed: boolean }> => {
  const { work, fetched } = tick;
  const unread = fetched.readError !== undefined;
  if (!work.digest || !plan.digest) return { posted: false, failed: work.digest && unread };
  try {
    const input = { at: work.at, channel: plan.digest.channel, rowOf: fetched.digestRow, error: fetched.readError };
    await postDigest(deps, pacer, input);
    return { posted: true, failed: unread };
  } catch (error) {
    logger.error({ err: error }, 'digest: could not post');
    return { posted: false, failed: true };
  }
};

export const runTick = async (
  deps: WatchDeps,
  plan: WatchPlan,
  pacer: ChannelPacer,
  work: TickWork,
  logger: Logger,
): Promise<TickReport> => {
  const entries = entriesOf(work);
  const memories = await loadMemories(deps.store, entries.keys());
  const request = { entries, memories, digest: work.digest, publicIps: work.publicIps.length > 0 };
  // Each batch is evaluated as soon as it is read, before the next is read (what it read is let go then); its saves
  // and posts go on meanwhile (the posts are paced).
  const pending: Promise<TargetResult>[] = [];
  const fetched = await fetchTick(deps, plan, request, logger, async (batch) => {
    const decisions = [...batch.observations].map(([key, observation]) => {
      const entry = entries.get(key) as Entry;
      const prev = memories.get(key) ?? {};
      return decide(deps, { key, entry, prev, observation, logged: batch.logged.has(key), at: work.at }, logger);
    });
    pending.push(...decisions.map((d) => d.then((decided) => savePosting(deps, pacer, decided, logger))));
    await Promise.all(decisions);
  });
  const results = await Promise.all(pending);
  const digest = await runDigest(deps, pacer, plan, { work, fetched }, logger);
  const report = reportOf(work, results, digest.failed);
  return { ...report, posted: report.posted + (digest.posted ? 1 : 0) };
};
