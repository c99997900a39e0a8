/**
 * The health watch of an ECS service, pure: given what it remembered from the last tick and what ECS shows now,
 * what it remembers next and whether the state changed (healthy → degraded, degraded → recovered). Nothing is said
 * while a state persists. Fetching (the snapshot, the stopped tasks) happens in src/jobs/fetch.ts; rendering in
 * src/slack/blocks/alerts.ts.
 */
import type { ServiceSnapshot, StoppedTaskGroup, TaskSnapshot } from '../../ports.ts';
import { formatDuration } from '../duration.ts';
import { assessHealth } from '../health.ts';
import type { RuntimeSnapshot, StoppedUnit } from '../runtime.ts';

/** Pending tasks for this long (while no rollout is in progress) count as stuck. */
export const STUCK_PENDING_MS = 10 * 60_000;

export interface HealthMemory {
  state: 'ok' | 'degraded';
  /** ISO time the current state began. */
  since: string;
  /** The reasons it became degraded (for the recovered message). */
  reasons: string[];
  /** Tasks with desired status RUNNING at the last tick: the ones missing now stopped since. */
  taskArns: string[];
  /** FAILED ECS deployments already reported. */
  failedDeployments: string[];
  /** ISO time pending tasks were first seen, while there are any. */
  pendingSince?: string | undefined;
}

export type HealthChange =
  | { kind: 'degraded'; reasons: string[]; stoppedTasks: StoppedTaskGroup[] }
  | { kind: 'recovered'; since: Date; reasons: string[] };

export interface HealthOutcome {
  memory: HealthMemory;
  change?: HealthChange | undefined;
}

/** What both health watches (ECS services, Docker hosts) remember of a service between ticks. */
interface HealthState {
  state: 'ok' | 'degraded';
  since: string;
  reasons: string[];
}

/**
 * The shared rule of the health watches: a message only on change — healthy → degraded with the problems,
 * degraded → recovered with how long it lasted — and nothing while a state persists.
 */
export const healthTransition = <M extends HealthState>(
  memory: M | undefined,
  next: M,
  problems: string[],
  now: Date,
): {
  memory: M;
  change?: { kind: 'degraded'; reasons: string[] } | { kind: 'recovered'; since: Date; reasons: string[] };
} => {
  const wasDegraded = memory?.state === 'degraded';
  if (next.state === 'degraded' && !wasDegraded) {
    return {
      memory: { ...next, since: now.toISOString(), reasons: problems },
      change: { kind: 'degraded', reasons: problems },
    };
  }
  if (next.state === 'ok' && wasDegraded) {
    return {
      memory: { ...next, since: now.toISOString(), reasons: [] },
      change: {
        kind: 'recovered',
        since: new Date(memory?.since ?? now.toISOString()),
        reasons: memory?.reasons ?? [],
      },
    };
  }
  if (next.state === 'ok' && !memory) return { memory: { ...next, since: now.toISOString() } };
  return { memory: next };
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "3 tasks stopped: Essential container in task exited (exit 137)": plain words, kept in the watch's memory. */
export const stoppedGroupLine = (g: StoppedTaskGroup): string =>
  `${plural(g.count, 'task')} stopped: ${g.reason}${g.exitCodes.length > 0 ? ` (exit ${g.exitCodes.join(', ')})` : ''}`;

const UNITS_LOOKED_UP_IN_PLACE = 32;

const hasUnit = (units: RuntimeSnapshot['units'], ref: string): boolean => {
  for (const u of units) if ((u.ref ?? u.id) === ref) return true;
  return false;
};

/**
 * Units the last tick saw that are gone from the snapshot now (by `ref`, else `id`: what Runtime.stoppedUnits is
 * asked with). Only a health memory that lists its units has any (an ECS service's tasks; a Docker host's snapshot
 * keeps its stopped containers itself).
 */
export const unitsGoneSince = (memory: Partial<HealthMemory> | undefined, snapshot: RuntimeSnapshot): string[] => {
  if (!memory?.taskArns) return [];
  const { units } = snapshot;
  // A few units (most services): looked for in place. A Set for each service every tick cost ~2.5 MiB of
  // allocation a tick at 1,000 services.
  if (units.length <= UNITS_LOOKED_UP_IN_PLACE) return memory.taskArns.filter((ref) => !hasUnit(units, ref));
  const now = new Set(units.map((u) => u.ref ?? u.id));
  return memory.taskArns.filter((ref) => !now.has(ref));
};

/**
 * A stop the service asked for itself (a deployment or scale-in replacing tasks, someone stopping one by hand) is
 * not a problem; a crash, a failed health check or a task that could not start is.
 */
export const isExpectedStop = (task: StoppedUnit): boolean => {
  const reason = task.reason ?? '';
  if (/health|fail|error|OutOfMemory|exited/i.test(reason)) return false;
  if (task.stopCode === 'ServiceSchedulerInitiated' || task.stopCode === 'UserInitiated') return true;
  return task.stopCode === undefined && /^Scaling activity initiated by/.test(reason);
};

/** Non-zero exit codes of a stopped unit's containers, in order. */
const exitCodes = (task: StoppedUnit): number[] =>
  [...new Set(task.exitCodes.filter((c) => c !== 0))].sort((a, b) => a - b);

/** Stopped tasks grouped by reason and exit codes, largest group first. */
export const groupStoppedTasks = (tasks: readonly StoppedUnit[]): StoppedTaskGroup[] => {
  const groups = new Map<string, StoppedTaskGroup & { newest: number }>();
  for (const task of tasks) {
    const reason = task.reason ?? 'no reason given';
    const codes = exitCodes(task);
    const key = `${reason}\u0000${codes.join(',')}`;
    const at = task.stoppedAt?.getTime() ?? 0;
    const group = groups.get(key);
    if (!group) {
      groups.set(key, { reason, count: 1, exampleTaskId: task.id, exitCodes: codes, newest: at });
    } else {
      group.count++;
      if (at >= group.newest) {
        group.newest = at;
        group.exampleTaskId = task.id;
      }
    }
  }
  return [...groups.values()]
    .sort((a, b) => b.count - a.count || b.newest - a.newest)
    .map(({ newest: _newest, ...group }) => group);
};

const unhealthyContainerTasks = (s: ServiceSnapshot): TaskSnapshot[] =>
  s.tasks.filter((t) => t.health !== 'UNHEALTHY' && t.containers.some((c) => c.health === 'UNHEALTHY'));

/**
 * One tick of the health watch for one service. `stopped` are the tasks that left the RUNNING listing since the
 * last tick (as DescribeTasks shows them now); tasks ECS no longer knows are simply absent.
 */
export const evaluateHealth = (
  memory: HealthMemory | undefined,
  s: ServiceSnapshot,
  stopped: readonly StoppedUnit[],
  now: Date,
): HealthOutcome => {
  const problems: string[] = [];

  const unexpected = stopped.filter((t) => !isExpectedStop(t));
  const stoppedTasks = groupStoppedTasks(unexpected);
  problems.push(...stoppedTasks.map(stoppedGroupLine));

  const failedBefore = new Set(memory?.failedDeployments ?? []);
  const failed = s.deployments.filter((d) => d.rolloutState === 'FAILED');
  const primary = s.deployments.find((d) => d.status === 'PRIMARY');
  for (const d of failed) {
    // A FAILED primary is assessHealth's reason below, for as long as it lasts.
    if (failedBefore.has(d.id) || d === primary) continue;
    problems.push(`deployment ${d.id} (${d.revision}) failed: ${d.rolloutStateReason ?? 'no reason given'}`);
  }

  const verdict = assessHealth(s);
  if (verdict.state === 'degraded' || verdict.state === 'down') problems.push(...verdict.reasons);
  const containerOnly = unhealthyContainerTasks(s);
  if (containerOnly.length > 0) {
    const names = [
      ...new Set(containerOnly.flatMap((t) => t.containers.filter((c) => c.health === 'UNHEALTHY').map((c) => c.name))),
    ];
    problems.push(
      `${containerOnly.length} task${containerOnly.length === 1 ? '' : 's'} with an unhealthy container (${names.join(', ')})`,
    );
  }

  let pendingSince: string | undefined;
  if (s.pending > 0) {
    pendingSince = memory?.pendingSince ?? now.toISOString();
    const pendingFor = now.getTime() - Date.parse(pendingSince);
    if (pendingFor >= STUCK_PENDING_MS) {
      problems.push(
        `${s.pending} task${s.pending === 1 ? '' : 's'} stuck in PENDING for ${formatDuration(pendingFor)}`,
      );
    }
  }

  const next: HealthMemory = {
    state: problems.length > 0 ? 'degraded' : 'ok',
    since: memory?.since ?? now.toISOString(),
    reasons: memory?.reasons ?? [],
    taskArns: s.tasks.map((t) => t.arn),
    failedDeployments: failed.map((d) => d.id),
    ...(pendingSince === undefined ? {} : { pendingSince }),
  };

  const outcome = healthTransition(memory, next, problems, now);
  return outcome.change?.kind === 'degraded'
    ? { memory: outcome.memory, change: { ...outcome.change, stoppedTasks } }
    : { memory: outcome.memory, ...(outcome.change ? { change: outcome.change } : {}) };
};
