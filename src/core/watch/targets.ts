/**
 * The target health watch of a service behind a load balancer, pure: per target group, what it remembered from the
 * last tick and the targets ELBv2 shows now → what it remembers next and whether the group changed state. A group
 * that loses healthy targets to failing health checks (a target unhealthy or unavailable, or none healthy any more)
 * is reported once; once every target is healthy again, once more; nothing while a state persists.
 *
 * While dockhand rolls the service out, the rollout card shows the targets and the rule waits for them: the watch
 * leaves the groups as they were and judges them after the rollout. A group whose read failed keeps its state (the
 * watch-failing alert is about reads of the whole service).
 */
import type { LbTargetState, TargetGroupHealth, TargetHealthSnapshot } from '../../ports.ts';

/** States that mean the load balancer sends the target no traffic because of its health. */
const UNHEALTHY_STATES: readonly LbTargetState[] = ['unhealthy', 'unhealthy.draining', 'unavailable'];

export interface TargetGroupMemory {
  name: string;
  state: 'ok' | 'degraded';
  /** ISO time the current state began. */
  since: string;
}

export interface TargetsMemory {
  /** By target group ARN. */
  groups: Record<string, TargetGroupMemory>;
}

/** A target as an alert names it. */
export type AlertedTarget = Pick<TargetHealthSnapshot, 'id' | 'port' | 'state' | 'reason' | 'description' | 'taskId'>;

export type TargetsAlert =
  | {
      kind: 'targets-unhealthy';
      targetGroup: string;
      healthy: number;
      total: number;
      /** The targets that are not healthy, unhealthy ones first. */
      unhealthy: AlertedTarget[];
    }
  | { kind: 'targets-recovered'; targetGroup: string; since: Date; healthy: number; total: number };

export interface TargetsOutcome {
  memory: TargetsMemory;
  alerts: TargetsAlert[];
}

/** Whether a group has lost healthy targets to their health: some unhealthy, or none healthy though some serve. */
export const isDegraded = (group: TargetGroupHealth, desired: number): boolean => {
  const { targets } = group;
  if (targets.some((t) => UNHEALTHY_STATES.includes(t.state))) return true;
  const healthy = targets.filter((t) => t.state === 'healthy').length;
  // Only initial or draining targets (a first start, a rollout) is not a lost target.
  return desired > 0 && healthy === 0 && targets.some((t) => t.state !== 'initial' && t.state !== 'draining');
};

const notHealthy = (targets: readonly TargetHealthSnapshot[]): AlertedTarget[] => {
  const rank = (t: TargetHealthSnapshot) => (UNHEALTHY_STATES.includes(t.state) ? 0 : 1);
  return targets
    .filter((t) => t.state !== 'healthy')
    .sort((a, b) => rank(a) - rank(b))
    .map(({ id, port, state, reason, description, taskId }) => ({ id, port, state, reason, description, taskId }));
};

export const evaluateTargets = (
  memory: TargetsMemory | undefined,
  groups: readonly TargetGroupHealth[],
  context: { desired: number; rollingOut: boolean },
  now: Date,
): TargetsOutcome => {
  const previous = memory?.groups ?? {};
  const next: Record<string, TargetGroupMemory> = {};
  const alerts: TargetsAlert[] = [];
  for (const group of groups) {
    const before = previous[group.targetGroupArn];
    if (group.error !== undefined || context.rollingOut) {
      if (before) next[group.targetGroupArn] = before;
      continue;
    }
    const state = isDegraded(group, context.desired) ? 'degraded' : 'ok';
    const healthy = group.targets.filter((t) => t.state === 'healthy').length;
    const total = group.targets.length;
    if (before?.state === state) {
      next[group.targetGroupArn] = before;
      continue;
    }
    next[group.targetGroupArn] = { name: group.name, state, since: now.toISOString() };
    if (state === 'degraded') {
      alerts.push({
        kind: 'targets-unhealthy',
        targetGroup: group.name,
        healthy,
        total,
        unhealthy: notHealthy(group.targets),
      });
    } else if (before?.state === 'degraded') {
      alerts.push({
        kind: 'targets-recovered',
        targetGroup: group.name,
        since: new Date(before.since),
        healthy,
        total,
      });
    }
  }
  return { memory: { groups: next }, alerts };
};
