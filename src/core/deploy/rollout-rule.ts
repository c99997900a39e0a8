/**
 * The rollout rule (DESIGN.md §3.1): when an ECS rollout is done, failed or still going, which service events report
 * a failure, and how stopped tasks are grouped for the card. Pure functions over plain snapshot data: the ECS adapter
 * fetches and maps AWS shapes into `DeploymentSnapshot`, `TaskSnapshot` and events, and this decides.
 */
import type {
  DeploymentSnapshot,
  RolloutProgress,
  StoppedTaskGroup,
  TargetGroupHealth,
  TaskSnapshot,
  UnhealthyTarget,
} from '../../ports.ts';

/** Failure events shown per rollout. */
export const FAILURE_EVENTS_KEPT = 5;

/**
 * Words that mark a service event as a failure. copilot-cli's list ("fail", "unhealthy", "error", "throttle",
 * "unable", "missing") plus "insufficient" and "rolling back". Not "stopped" or "deregistered": every healthy
 * rollout reports "has stopped 2 running tasks" and "deregistered 2 targets" for the tasks it replaces.
 */
export const FAILURE_KEYWORDS = [
  'fail',
  'unhealthy',
  'error',
  'throttl',
  'unable',
  'missing',
  'insufficient',
  'rolling back',
] as const;

/** A service event as the rule reads it: when ECS wrote it, and what it says. */
export interface RolloutEvent {
  createdAt?: Date | undefined;
  message?: string | undefined;
}

/** What one look at a rollout saw: the service's deployments (PRIMARY first), its events, this deployment's tasks. */
export interface RolloutObservation {
  deploymentId: string;
  deployments: DeploymentSnapshot[];
  events: readonly RolloutEvent[] | undefined;
  /** When the watched deployment was created (events before it are another rollout's); undefined: unknown. */
  since: Date | undefined;
  /** Running tasks of the watched deployment. */
  running: TaskSnapshot[];
  /** Stopped tasks of the watched deployment. */
  stopped: readonly TaskSnapshot[];
  /** The service's target groups and their targets (mapped to tasks); undefined: no load balancer. */
  targetHealth?: readonly TargetGroupHealth[] | undefined;
}

/**
 * Where deployment `id` stands.
 *  completed  its rolloutState is COMPLETED (or, without a circuit breaker, it is the only, PRIMARY deployment) and
 *             its running count equals desired
 *  failed     rolloutState FAILED; or ECS no longer lists it while another deployment is PRIMARY (a circuit-breaker
 *             rollback replaced it); or another deployment of a different task definition became PRIMARY
 */
export const judge = (
  id: string,
  deployment: DeploymentSnapshot | undefined,
  deployments: readonly DeploymentSnapshot[],
): { outcome: RolloutProgress['outcome']; reason: string | undefined } => {
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  if (!deployment) {
    if (!primary) return { outcome: 'failed', reason: `ECS no longer lists deployment ${id}` };
    return {
      outcome: 'failed',
      reason:
        `ECS replaced deployment ${id} with ${primary.id} (${primary.revision})` +
        (primary.rolloutStateReason ? `: ${primary.rolloutStateReason}` : ''),
    };
  }
  const reason = deployment.rolloutStateReason;
  if (deployment.rolloutState === 'FAILED') return { outcome: 'failed', reason };
  if (
    deployment.status !== 'PRIMARY' &&
    primary !== undefined &&
    primary.id !== deployment.id &&
    primary.taskDefinitionArn !== deployment.taskDefinitionArn
  ) {
    return {
      outcome: 'failed',
      reason:
        `deployment ${primary.id} (${primary.revision}) replaced it` +
        (primary.rolloutStateReason ? `: ${primary.rolloutStateReason}` : ''),
    };
  }
  const settled = deployment.running === deployment.desired;
  if (deployment.rolloutState === 'COMPLETED' && settled) return { outcome: 'completed', reason };
  if (deployment.rolloutState === undefined && deployment.status === 'PRIMARY' && deployments.length === 1 && settled) {
    return { outcome: 'completed', reason };
  }
  return { outcome: 'in_progress', reason };
};

/**
 * Which of the watched deployment's tasks a look needs: its running ones while it runs or starts any, its stopped
 * ones once it has failed tasks (or ECS no longer lists it).
 */
export const tasksToRead = (deployment: DeploymentSnapshot | undefined): { running: boolean; stopped: boolean } => ({
  running: deployment !== undefined && deployment.running + deployment.pending > 0,
  stopped: deployment === undefined || deployment.failed > 0,
});

/**
 * The rollout's running tasks whose target is not healthy in some target group: not registered yet, or in any
 * state but `healthy` (initial, unhealthy, draining…). A target group whose health could not be read counts every
 * task as not known to be healthy, with the read's error as the reason. A task that no instance target can be told
 * to be is as healthy as the group's unmapped instance targets together.
 */
export const unhealthyTargetsOf = (
  groups: readonly TargetGroupHealth[],
  running: readonly TaskSnapshot[],
): UnhealthyTarget[] =>
  groups.flatMap((group) =>
    running.flatMap((task): UnhealthyTarget[] => {
      if (group.error !== undefined) {
        return [{ targetGroup: group.name, taskId: task.id, state: undefined, reason: group.error }];
      }
      const target = group.targets.find((t) => t.taskId === task.id);
      if (!target) {
        // Instance targets (EC2 launch type, bridge or host networking) name an instance and a host port, which
        // tells a task only when no other task has that port: the unmapped ones stand for such tasks together.
        const unmapped = group.targets.filter(
          (t) => t.type === 'instance' && t.taskId === undefined && t.state !== 'draining',
        );
        if (unmapped.length === 0) return [{ targetGroup: group.name, taskId: task.id, state: undefined }];
        const notHealthy = unmapped.find((t) => t.state !== 'healthy');
        if (!notHealthy) return [];
        const { state, reason, description } = notHealthy;
        return [{ targetGroup: group.name, taskId: task.id, state, reason, description }];
      }
      if (target.state === 'healthy') return [];
      return [
        {
          targetGroup: group.name,
          taskId: task.id,
          state: target.state,
          reason: target.reason,
          description: target.description,
        },
      ];
    }),
  );

/** Plain words for the targets a rollout waits for ("2 targets not healthy: task 1a2b… in api-tg unhealthy (…)"). */
export const describeUnhealthyTargets = (unhealthy: readonly UnhealthyTarget[]): string => {
  const first = unhealthy[0];
  if (!first) return 'every target is healthy';
  const state = first.state ?? 'not registered';
  const why = [first.reason, first.description].filter((x) => x !== undefined).join(': ');
  const count = unhealthy.length === 1 ? '1 target is not healthy' : `${unhealthy.length} targets are not healthy`;
  return `${count}: task ${first.taskId.slice(0, 8)} in target group ${first.targetGroup} is ${state}${why ? ` (${why})` : ''}`;
};

/**
 * The whole verdict of one look at a rollout, as the card and the follow loop read it. Behind a load balancer, a
 * COMPLETED deployment is done only once every one of its running tasks is a healthy target of every target group.
 */
export const assessRollout = (seen: RolloutObservation): RolloutProgress => {
  const deployment = seen.deployments.find((d) => d.id === seen.deploymentId);
  const judged = judge(seen.deploymentId, deployment, seen.deployments);
  let { outcome, reason } = judged;
  const unhealthy = seen.targetHealth === undefined ? undefined : unhealthyTargetsOf(seen.targetHealth, seen.running);
  if (outcome === 'completed' && unhealthy !== undefined && unhealthy.length > 0) {
    outcome = 'in_progress';
    reason = describeUnhealthyTargets(unhealthy);
  }
  return {
    deployment,
    deployments: seen.deployments,
    outcome,
    reason,
    failureEvents: failureEventsOf({ events: seen.events }, seen.since),
    stoppedTasks: groupStoppedTasks(seen.stopped),
    tasks: seen.running,
    ...(seen.targetHealth === undefined ? {} : { targetHealth: [...seen.targetHealth], unhealthyTargets: unhealthy }),
  };
};

/** Service events since `since` that report a failure: newest first, de-duplicated (task ids aside), at most 5. */
export const failureEventsOf = <E extends RolloutEvent>(
  service: { events?: readonly E[] | undefined },
  since: Date | undefined,
): string[] => {
  const events = [...(service.events ?? [])].sort(
    (a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0),
  );
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const event of events) {
    if (since !== undefined && (event.createdAt?.getTime() ?? 0) < since.getTime()) break;
    const message = event.message ?? '';
    if (!isFailureMessage(message)) continue;
    const key = normaliseIds(message);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(message);
    if (kept.length >= FAILURE_EVENTS_KEPT) break;
  }
  return kept;
};

export const isFailureMessage = (message: string): boolean => {
  const lower = message.toLowerCase();
  return FAILURE_KEYWORDS.some((k) => lower.includes(k));
};

/** Task ids, ENI and instance ids and counts replaced, so "task 1a2b… failed" and "task 3c4d… failed" are one event. */
export const normaliseIds = (message: string): string =>
  message
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/\b[0-9a-f]{32}\b/gi, '<id>')
    .replace(/\b(eni|i)-[0-9a-f]{8,17}\b/gi, '<id>')
    .replace(/\b\d+\b/g, '<n>');

/** Stopped tasks grouped by reason and exit codes, groups with the newest stop first. */
export const groupStoppedTasks = (tasks: readonly TaskSnapshot[]): StoppedTaskGroup[] => {
  const stoppedAt = (t: TaskSnapshot) => (t.stoppedAt ?? t.startedAt)?.getTime() ?? 0;
  const groups = new Map<string, { group: StoppedTaskGroup; newest: number }>();
  for (const task of [...tasks].sort((a, b) => stoppedAt(b) - stoppedAt(a))) {
    const reason = task.stoppedReason ?? 'stopped without a reason';
    const exitCodes = [...new Set(task.containers.flatMap((c) => (c.exitCode === undefined ? [] : [c.exitCode])))].sort(
      (a, b) => a - b,
    );
    const key = `${reason}\u0000${exitCodes.join(',')}`;
    const existing = groups.get(key);
    if (existing) existing.group.count++;
    else groups.set(key, { group: { reason, count: 1, exampleTaskId: task.id, exitCodes }, newest: stoppedAt(task) });
  }
  return [...groups.values()].sort((a, b) => b.newest - a.newest).map((g) => g.group);
};
