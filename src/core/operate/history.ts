import type { DeploymentRecord, Lock, Store } from '../../ports.ts';
import type { ResolvedTarget } from '../targets.ts';

export const HISTORY_LENGTH = 10;

export interface HistoryEntry {
  seq: number;
  kind: DeploymentRecord['kind'];
  state: DeploymentRecord['state'];
  requestedBy: string;
  requestedAt: Date;
  /** Who approved (empty: none needed, or not approved). */
  approvedBy: string[];
  /** "api:43", or for a scale the task count ("4 tasks"). */
  what: string | undefined;
  /** "api:42" → what: the revision it replaced, when known. */
  previousRevision: string | undefined;
  durationMs: number | undefined;
  reason: string | undefined;
}

export interface History {
  service: string;
  environment: string;
  /** Oldest first, newest last. */
  entries: HistoryEntry[];
  lock: Lock | undefined;
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;

const whatOf = (d: DeploymentRecord): string | undefined => {
  if (d.request.type === 'scale') {
    const count = d.request.desiredCount;
    return `${count} task${count === 1 ? '' : 's'}`;
  }
  if (d.request.type === 'scaleBounds') {
    const { min, max, from } = d.request;
    return `${min}..${max} tasks under auto scaling (were ${from.min}..${from.max})`;
  }
  const asked =
    d.request.type === 'rollback' ? d.request.revision : d.request.type === 'image' ? d.request.imageTag : undefined;
  return str(d.facts.revision) ?? str(asked) ?? str(d.facts.imageTag);
};

export const toHistoryEntry = (d: DeploymentRecord): HistoryEntry => {
  const duration =
    typeof d.facts.durationMs === 'number'
      ? d.facts.durationMs
      : d.finishedAt
        ? d.finishedAt.getTime() - d.requestedAt.getTime()
        : undefined;
  return {
    seq: d.seq,
    kind: d.kind,
    state: d.state,
    requestedBy: d.requestedBy,
    requestedAt: d.requestedAt,
    approvedBy: d.approvals.map((a) => a.user),
    what: whatOf(d),
    previousRevision: d.kind === 'scale' ? undefined : str(d.facts.previousRevision),
    durationMs: duration,
    reason: d.reason,
  };
};

/** `/dockhand history`: the last ten operations of a service in an environment, and its lock if any. */
export const operationHistory = async (
  deps: { store: Store; clock: { now(): Date } },
  target: ResolvedTarget,
): Promise<History> => {
  const key = { service: target.service, environment: target.environment };
  const [records, lock] = await Promise.all([
    deps.store.listDeployments({ ...key, limit: HISTORY_LENGTH }),
    deps.store.getLock(key, deps.clock.now()),
  ]);
  return { ...key, entries: records.map(toHistoryEntry).reverse(), lock };
};
