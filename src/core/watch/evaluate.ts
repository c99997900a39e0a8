/**
 * Evaluate, the pure middle of a watch tick: what a target's watches remembered from the last tick and what fetch
 * read of it now → the alerts to post (data, no Slack text: src/slack/blocks/alerts.ts renders them) and what to
 * remember next. Nothing here knows how the target runs: the rules for a workload are looked up in RULES by the
 * workload's `kind` (the runtime that runs it), so a third runtime is one more entry there.
 */
import type { StoppedTaskGroup } from '../../ports.ts';
import { runningImage } from '../deploy/host.ts';
import { assessHostHealth } from '../health.ts';
import type { DnsAlert, DnsMemory, DnsUpdate } from './dns.ts';
import { evaluateFailure, type FailureAlert, type FailureMemory } from './failure.ts';
import { evaluateHealth, type HealthChange, type HealthMemory } from './health.ts';
import { evaluateHostHealth, type HostHealthChange, type HostHealthMemory, imageTagOf } from './host.ts';
import { type DockhandCause, evaluateIps, type IpEvent, type IpMemory } from './ips.ts';
import type { Observation, Workload } from './observation.ts';

/** Everything the watches remember about one service/environment between ticks. */
export interface WatchMemory {
  /** The health watch of an ECS service. */
  health?: HealthMemory | undefined;
  /** The health watch of a Docker-host service. */
  host?: HostHealthMemory | undefined;
  ips?: IpMemory | undefined;
  failure?: FailureMemory | undefined;
  /** Route 53 records that follow the public IPs (src/core/watch/dns.ts). */
  dns?: DnsMemory | undefined;
}

/** What runs, as a health alert shows it: ECS tasks of a task definition, or containers on a Docker host. */
export type RunsFacts =
  | { unit: 'task'; running: number; desired: number; pending: number; revision: string }
  | { unit: 'container'; running: number; desired: number; imageTag?: string | undefined; host: string };

export type HealthAlert =
  | { kind: 'degraded'; reasons: string[]; stoppedTasks: StoppedTaskGroup[]; runs: RunsFacts }
  | { kind: 'recovered'; since: Date; reasons: string[]; runs: RunsFacts };

/** `dns`: Route 53 records updated to the new IPs this tick (src/jobs/dns.ts adds it). */
type IpAlert =
  | (Omit<Extract<IpEvent, { kind: 'changed' }>, 'kind'> & { kind: 'ip-changed'; dns?: DnsUpdate[] | undefined })
  | (Omit<Extract<IpEvent, { kind: 'changed-by-deployment' }>, 'kind'> & {
      kind: 'ip-changed-by-deployment';
      dns?: DnsUpdate[] | undefined;
    })
  | Extract<IpEvent, { kind: 'private-subnet' }>;

/** One alert a tick decided, as data. */
export type WatchAlert = HealthAlert | IpAlert | FailureAlert | DnsAlert;
export type AlertKind = WatchAlert['kind'];

export interface Evaluation<M extends WatchMemory = WatchMemory> {
  memory: M;
  alerts: WatchAlert[];
}

/** What a workload's rules return: the part of the memory they own, and their alerts. */
interface RuleOutcome {
  memory: WatchMemory;
  alerts: WatchAlert[];
}

interface Rules<W extends Workload> {
  health: (memory: WatchMemory, w: W, rollingOut: DockhandCause | undefined, now: Date) => RuleOutcome;
  /** Absent: the workload has no public IPs of its own to watch. */
  ips?: (memory: WatchMemory, w: W, context: Observation['context'], now: Date) => RuleOutcome;
}

/** A health watch's change, ECS (with the stopped tasks) or Docker host. */
type Change = HealthChange | HostHealthChange;

const healthAlert = (change: Change | undefined, runs: RunsFacts): WatchAlert[] => {
  if (!change) return [];
  if (change.kind === 'degraded') {
    return [
      {
        kind: 'degraded',
        reasons: change.reasons,
        stoppedTasks: 'stoppedTasks' in change ? change.stoppedTasks : [],
        runs,
      },
    ];
  }
  return [{ kind: 'recovered', since: change.since, reasons: change.reasons, runs }];
};

const ipAlert = (event: IpEvent): IpAlert => {
  if (event.kind === 'changed') return { ...event, kind: 'ip-changed' };
  if (event.kind === 'changed-by-deployment') return { ...event, kind: 'ip-changed-by-deployment' };
  return event;
};

const RULES: { [K in Workload['kind']]: Rules<Extract<Workload, { kind: K }>> } = {
  ecs: {
    health: (memory, w, _rollingOut, now) => {
      const s = w.service;
      const outcome = evaluateHealth(memory.health, s, w.stopped, now);
      const revision = `${s.taskDefinition.family}:${s.taskDefinition.revision}`;
      const runs: RunsFacts = { unit: 'task', running: s.running, desired: s.desired, pending: s.pending, revision };
      return { memory: { health: outcome.memory }, alerts: healthAlert(outcome.change, runs) };
    },
    ips: (memory, w, context, now) => {
      const outcome = evaluateIps(memory.ips, w.service, context, now);
      return { memory: { ips: outcome.memory }, alerts: outcome.events.map(ipAlert) };
    },
  },
  docker: {
    health: (memory, w, rollingOut, now) => {
      const context = { replicas: w.replicas, rollingOut: rollingOut !== undefined };
      const outcome = evaluateHostHealth(memory.host, w.host, context, now);
      const { running } = assessHostHealth(w.host, w.replicas);
      const image = runningImage(w.host);
      const runs: RunsFacts = {
        unit: 'container',
        running,
        desired: w.replicas,
        imageTag: image === undefined ? undefined : imageTagOf(image),
        host: w.host.host,
      };
      return { memory: { host: outcome.memory }, alerts: healthAlert(outcome.change, runs) };
    },
  },
};

/** The one place a workload's kind (the runtime that runs it) picks its rules. */
const rulesOf = (w: Workload): Rules<Workload> => RULES[w.kind] as Rules<Workload>;

/**
 * One tick of every watch of one target. The memory comes back with every key it had (and in the same order, so an
 * unchanged state is not written again), `failure` and the watches' own parts replaced.
 */
export const evaluateTarget = <M extends WatchMemory>(
  memory: M,
  observation: Observation,
  now: Date,
): Evaluation<M> => {
  const { read, watches, context } = observation;
  const failure = evaluateFailure(memory.failure, read.ok ? undefined : read.reason, now);
  const next: M = { ...memory, failure: failure.memory };
  const alerts: WatchAlert[] = [...failure.alerts];
  if (!read.ok) return { memory: next, alerts };
  const rules = rulesOf(read.workload);
  const outcomes = [
    watches.health ? rules.health(memory, read.workload, context.rollingOut, now) : undefined,
    watches.ips ? rules.ips?.(memory, read.workload, context, now) : undefined,
  ];
  for (const outcome of outcomes) {
    if (!outcome) continue;
    Object.assign(next, outcome.memory);
    alerts.push(...outcome.alerts);
  }
  return { memory: next, alerts };
};
