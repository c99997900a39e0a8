/**
 * The public-IP watch, pure: the set of public IPs of a service's RUNNING tasks, compared with the last tick's.
 * One change → one message (added, removed, which task replaced which, what caused it). While a rollout is in
 * progress (a dockhand deployment rolling out, or ECS replacing tasks for a deployment) changes are held and one
 * summary follows when it ends; so are changes while tasks are being replaced (pending tasks, fewer running than
 * desired), so a crashed task and its replacement make one message, not two. Tasks without a public IP are
 * mentioned once.
 */
import type { ServiceSnapshot } from '../../ports.ts';
import type { RuntimeSnapshot } from '../runtime.ts';
import { taskAddress } from '../task-address.ts';

export interface IpReplacement {
  fromTaskId: string;
  fromIp: string;
  toTaskId: string;
  toIp: string;
}

export interface IpChange {
  before: string[];
  after: string[];
  added: string[];
  removed: string[];
  replacements: IpReplacement[];
}

export type IpChangeCause =
  /** A dockhand deployment (#seq) of this service/environment. */
  | { kind: 'dockhand'; seq: number; operation: string; requestedBy: string }
  /** An ECS deployment dockhand did not start (console, CI, autoscaling of the task definition…). */
  | { kind: 'ecs'; deploymentId: string; revision: string }
  /** Tasks were replaced without a new deployment (crashes, health checks, scaling, a forced stop). */
  | { kind: 'none' };

/** A dockhand deployment named as a cause. */
export type DockhandCause = Extract<IpChangeCause, { kind: 'dockhand' }>;

/** A rollout (or a replacement) that never ends does not hide IP changes for longer than this. */
export const MAX_HOLD_MS = 30 * 60_000;

export interface IpMemory {
  /** Task ARN → public IP (null: none) of the RUNNING tasks at the last tick, in launch order. */
  byTask: Record<string, string | null>;
  /** The ECS PRIMARY deployment at the last tick. */
  primary?: string | undefined;
  /** "No public IP" was said for this service (said again only after it has public IPs again). */
  privateNotified: boolean;
  held?: HeldIps | undefined;
}

export interface HeldIps {
  /** ISO time the hold began. */
  since: string;
  /** The tasks and IPs before the rollout. */
  before: Record<string, string | null>;
  /** `none`: tasks were being replaced without a deployment. */
  cause: IpChangeCause;
}

export type IpEvent =
  | ({ kind: 'changed'; cause: IpChangeCause } & IpChange)
  | ({
      kind: 'changed-by-deployment';
      cause: Exclude<IpChangeCause, { kind: 'none' }>;
      since: Date;
      stillInProgress: boolean;
    } & IpChange)
  | { kind: 'private-subnet'; taskIds: string[] };

export interface IpOutcome {
  memory: IpMemory;
  events: IpEvent[];
}

export interface IpContext {
  /** The dockhand deployment of this service/environment that is rolling out now, if any. */
  rollingOut?: DockhandCause | undefined;
  /** A dockhand deployment that finished since the last tick (to explain a change seen only afterwards). */
  recentlyFinished?: DockhandCause | undefined;
}

const taskIdOf = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);
/** The distinct public IPs of a task → IP map. */
const ipSet = (byTask: Record<string, string | null>): Set<string> => {
  const ips = new Set<string>();
  for (const ip of Object.values(byTask)) if (ip !== null) ips.add(ip);
  return ips;
};

/** The distinct public IPs of a task → IP map, sorted. */
export const ipsOf = (byTask: Record<string, string | null>): string[] => [...ipSet(byTask)].sort(compareIps);

const DOT = 46;
const ZERO = 48;

/**
 * Dotted decimal strings (IPv4 addresses) compared part by part as numbers, read in place: sorting a watch tick's
 * IPs by splitting them at every comparison allocated ~11 MiB a tick. Undefined when a part up to the first that
 * differs holds anything but digits (compareIps then splits them).
 */
const compareDotted = (a: string, b: string): number | undefined => {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let x = 0;
    for (; i < a.length && a.charCodeAt(i) !== DOT; i++) {
      const digit = a.charCodeAt(i) - ZERO;
      if (digit < 0 || digit > 9) return undefined;
      x = x * 10 + digit;
    }
    let y = 0;
    for (; j < b.length && b.charCodeAt(j) !== DOT; j++) {
      const digit = b.charCodeAt(j) - ZERO;
      if (digit < 0 || digit > 9) return undefined;
      y = y * 10 + digit;
    }
    // As compareIps: the first part that differs decides, whatever follows.
    if (x !== y) return x - y;
    i++;
    j++;
  }
  return 0;
};

const compareIps = (a: string, b: string): number => {
  const dotted = compareDotted(a, b);
  if (dotted !== undefined) return dotted !== 0 ? dotted : a.localeCompare(b);
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0 && !Number.isNaN(d)) return d;
  }
  return a.localeCompare(b);
};

/** The RUNNING tasks of a snapshot, task ARN → public IP or null, oldest first. */
export const currentIps = (s: ServiceSnapshot): Record<string, string | null> => {
  const running = s.tasks
    .filter((t) => t.lastStatus === 'RUNNING')
    .sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0));
  return Object.fromEntries(running.map((t) => [t.arn, taskAddress(t) ?? null]));
};

/** The same, from the Runtime snapshot's units (by `ref`, else `id`): what fetch reads before evaluate runs. */
export const unitAddresses = (s: RuntimeSnapshot): Record<string, string | null> =>
  Object.fromEntries(
    s.units
      .filter((u) => u.state.toUpperCase() === 'RUNNING')
      .sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0))
      .map((u) => [u.ref ?? u.id, u.publicAddress ?? null]),
  );

/**
 * When the IPs changed under a new primary rollout since the last tick that no tick saw in progress (it began and
 * ended between two ticks), when that rollout began: fetch then asks the store which dockhand deployment ran then.
 * Undefined in every other case (so a steady state makes no query).
 */
export const unexplainedRolloutStart = (prev: IpMemory | undefined, s: RuntimeSnapshot): Date | undefined => {
  const primary = s.rollouts.find((r) => r.primary);
  if (!prev || prev.held || !primary || primary.id === prev.primary) return undefined;
  if (!diffIps(prev.byTask, unitAddresses(s))) return undefined;
  return primary.startedAt;
};

const sameIps = (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean => {
  if (a.size !== b.size) return false;
  for (const ip of a) if (!b.has(ip)) return false;
  return true;
};

/** The same tasks with the same IPs (most ticks): read in place, without building the sets. */
const sameTasks = (before: Record<string, string | null>, after: Record<string, string | null>): boolean => {
  let count = 0;
  for (const arn in before) {
    if (after[arn] !== before[arn]) return false;
    count++;
  }
  for (const _ in after) count--;
  return count === 0;
};

/** Differences between two task → IP maps; undefined when the set of IPs is the same. */
export const diffIps = (
  before: Record<string, string | null>,
  after: Record<string, string | null>,
): IpChange | undefined => {
  if (sameTasks(before, after)) return undefined;
  const beforeSet = ipSet(before);
  const afterSet = ipSet(after);
  // Tasks replaced, IPs kept (or moved between tasks): no change either, said without sorting.
  if (sameIps(beforeSet, afterSet)) return undefined;
  const beforeIps = [...beforeSet].sort(compareIps);
  const afterIps = [...afterSet].sort(compareIps);
  const added = afterIps.filter((ip) => !beforeSet.has(ip));
  const removed = beforeIps.filter((ip) => !afterSet.has(ip));
  const gone = Object.entries(before).filter(
    (e): e is [string, string] => e[1] !== null && !(e[0] in after) && removed.includes(e[1]),
  );
  const fresh = Object.entries(after).filter(
    (e): e is [string, string] => e[1] !== null && !(e[0] in before) && added.includes(e[1]),
  );
  const replacements: IpReplacement[] = [];
  for (let i = 0; i < Math.min(gone.length, fresh.length); i++) {
    const [fromArn, fromIp] = gone[i] as [string, string];
    const [toArn, toIp] = fresh[i] as [string, string];
    replacements.push({ fromTaskId: taskIdOf(fromArn), fromIp, toTaskId: taskIdOf(toArn), toIp });
  }
  return { before: beforeIps, after: afterIps, added, removed, replacements };
};

/** ECS is replacing tasks for a deployment: more than one deployment listed, or the primary still in progress. */
const ecsRolloutInProgress = (s: ServiceSnapshot): boolean =>
  s.deployments.length > 1 || s.deployments.some((d) => d.status === 'PRIMARY' && d.rolloutState === 'IN_PROGRESS');

const ecsCause = (s: ServiceSnapshot): Extract<IpChangeCause, { kind: 'ecs' }> | undefined => {
  const primary = s.deployments.find((d) => d.status === 'PRIMARY');
  return primary ? { kind: 'ecs', deploymentId: primary.id, revision: primary.revision } : undefined;
};

const heldEvent = (held: HeldIps, change: IpChange, stillInProgress: boolean): IpEvent =>
  held.cause.kind === 'none'
    ? { kind: 'changed', cause: held.cause, ...change }
    : { kind: 'changed-by-deployment', cause: held.cause, since: new Date(held.since), stillInProgress, ...change };

/** One tick of the public-IP watch for one service. */
export const evaluateIps = (
  memory: IpMemory | undefined,
  s: ServiceSnapshot,
  context: IpContext,
  now: Date,
): IpOutcome => {
  const byTask = currentIps(s);
  const primary = s.deployments.find((d) => d.status === 'PRIMARY')?.id;
  const events: IpEvent[] = [];

  // Tasks without a public IP: said once.
  const privateTasks = Object.entries(byTask)
    .filter(([, ip]) => ip === null)
    .map(([arn]) => taskIdOf(arn));
  let privateNotified = memory?.privateNotified ?? false;
  if (privateTasks.length > 0 && !privateNotified) {
    events.push({ kind: 'private-subnet', taskIds: privateTasks });
    privateNotified = true;
  } else if (privateTasks.length === 0 && Object.keys(byTask).length > 0) {
    privateNotified = false;
  }

  const next: IpMemory = { byTask, primary, privateNotified };
  // First sight: the baseline, nothing to compare with.
  if (!memory) return { memory: next, events };

  const rolloutCause = context.rollingOut ?? (ecsRolloutInProgress(s) ? ecsCause(s) : undefined);
  const inFlux = s.pending > 0 || Object.keys(byTask).length < s.desired;
  let held = memory.held;
  if (rolloutCause || (inFlux && (held || diffIps(memory.byTask, byTask)))) {
    const cause: IpChangeCause = rolloutCause ?? { kind: 'none' };
    if (!held) {
      held = { since: now.toISOString(), before: memory.byTask, cause };
    } else if (cause.kind === 'dockhand' || (cause.kind === 'ecs' && held.cause.kind === 'none')) {
      held = { ...held, cause };
    }
    if (now.getTime() - Date.parse(held.since) >= MAX_HOLD_MS) {
      const change = diffIps(held.before, byTask);
      if (change) events.push(heldEvent(held, change, true));
      held = { since: now.toISOString(), before: byTask, cause: held.cause };
    }
    return { memory: { ...next, held }, events };
  }

  if (held) {
    const change = diffIps(held.before, byTask);
    if (change) events.push(heldEvent(held, change, false));
    return { memory: next, events };
  }

  const change = diffIps(memory.byTask, byTask);
  if (change) {
    const newDeployment = primary !== undefined && memory.primary !== undefined && primary !== memory.primary;
    const cause: IpChangeCause =
      context.recentlyFinished ?? (newDeployment ? (ecsCause(s) ?? { kind: 'none' }) : { kind: 'none' });
    events.push({ kind: 'changed', cause, ...change });
  }
  return { memory: next, events };
};
