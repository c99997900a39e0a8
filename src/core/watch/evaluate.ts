/**
 * Evaluate, the pure middle of a watch tick: what a target's watches remembered from the last tick and what fetch
 * read of it now → the alerts to post (data, no Slack text: src/slack/blocks/alerts.ts renders them) and what to
 * remember next. Nothing here knows how the target runs: the rules for a workload are looked up in RULES by the
 * snapshot's `detail.kind` (the runtime that runs it), so a third runtime is one more entry there. The rules differ
 * for real: an ECS service's health is its deployments, tasks and the tasks that stopped (with ECS's stop codes),
 * and it has public IPs of its own; a Docker host's is its containers' restarts and exits, with a fixed address.
 */
import type { StoppedTaskGroup } from '../../ports.ts';
import { runningImage } from '../deploy/host.ts';
import { assessHostHealth } from '../health.ts';
import type { RuntimeDetail, StoppedUnit } from '../runtime.ts';
import type { DnsAlert, DnsMemory, DnsUpdate } from './dns.ts';
import { evaluateFailure, type FailureAlert, type FailureMemory } from './failure.ts';
import { evaluateHealth, type HealthChange, type HealthMemory } from './health.ts';
import { evaluateHostHealth, type HostHealthChange, type HostHealthMemory, imageTagOf } from './host.ts';
import { evaluateIps, type IpEvent, type IpMemory } from './ips.ts';
import type { Observation } from './observation.ts';
import { evaluateTargets, type TargetsAlert, type TargetsMemory } from './targets.ts';

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
  /** The load balancer target groups of an ECS service (src/core/watch/targets.ts). */
  targets?: TargetsMemory | undefined;
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
export type WatchAlert = HealthAlert | IpAlert | FailureAlert | DnsAlert | TargetsAlert;
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

/** What a workload's rules read: the runtime's own view of it, and the units that stopped since the last tick. */
interface Workload<D extends RuntimeDetail> {
  detail: D;
  stopped: readonly StoppedUnit[];
}

interface Rules<D extends RuntimeDetail> {
  health: (memory: WatchMemory, w: Workload<D>, context: Observation['context'], now: Date) => RuleOutcome;
  /** Absent: the workload has no public IPs of its own to watch. */
  ips?: (memory: WatchMemory, w: Workload<D>, context: Observation['context'], now: Date) => RuleOutcome;
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

const RULES: { [K in RuntimeDetail['kind']]: Rules<Extract<RuntimeDetail, { kind: K }>> } = {
  ecs: {
    health: (memory, w, context, now) => {
      const s = w.detail.service;
      const outcome = evaluateHealth(memory.health, s, w.stopped, now);
      const revision = `${s.taskDefinition.family}:${s.taskDefinition.revision}`;
      const runs: RunsFacts = { unit: 'task', running: s.running, desired: s.desired, pending: s.pending, revision };
      // Behind a load balancer (target health read with the snapshot): its target groups too.
      const rollingOut = (context.rollingOut ?? context.rollingOutBefore) !== undefined;
      const targets =
        s.targetHealth === undefined
          ? undefined
          : evaluateTargets(memory.targets, s.targetHealth, { desired: s.desired, rollingOut }, now);
      return {
        memory: { health: outcome.memory, ...(targets ? { targets: targets.memory } : {}) },
        alerts: [...healthAlert(outcome.change, runs), ...(targets?.alerts ?? [])],
      };
    },
    ips: (memory, w, context, now) => {
      const outcome = evaluateIps(memory.ips, w.detail.service, context, now);
      return { memory: { ips: outcome.memory }, alerts: outcome.events.map(ipAlert) };
    },
  },
  docker: {
    health: (memory, { detail }, context, now) => {
      // A Docker host changes in one step: a rollout that ended while the containers were read still counts.
      const rollingOut = (context.rollingOut ?? context.rollingOutBefore) !== undefined;
      const outcome = evaluateHostHealth(memory.host, detail.host, { replicas: detail.replicas, rollingOut }, now);
      const { running } = assessHostHealth(detail.host, detail.replicas);
      const image = runningImage(detail.host);
      const runs: RunsFacts = {
        unit: 'container',
        running,
        desired: detail.replicas,
        imageTag: image === undefined ? undefined : imageTagOf(image),
        host: detail.host.host,
      };
      return { memory: { host: outcome.memory }, alerts: healthAlert(outcome.change, runs) };
    },
  },
};

/** The one place a workload's kind (the runtime that runs it) picks its rules. */
const rulesOf = (detail: RuntimeDetail): Rules<RuntimeDetail> => RULES[detail.kind] as Rules<RuntimeDetail>;

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
  const { detail } = read.snapshot;
  const workload = { detail, stopped: read.stopped };
  const rules = rulesOf(detail);
  const outcomes = [
    watches.health ? rules.health(memory, workload, context, now) : undefined,
    watches.ips ? rules.ips?.(memory, workload, context, now) : undefined,
  ];
  for (const outcome of outcomes) {
    if (!outcome) continue;
    Object.assign(next, outcome.memory);
    alerts.push(...outcome.alerts);
  }
  return { memory: next, alerts };
};
