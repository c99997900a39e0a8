/**
 * The health watch of a Docker-host service, pure: given what it remembered from the last tick and the engine's
 * inspect data now, what it remembers next and whether the state changed (healthy → degraded, degraded →
 * recovered). Problems: a container UNHEALTHY, a container not running although dockhand wants it running (name,
 * exit code), a container restarted since the last tick (how often, exit code), fewer running than `replicas`.
 * Nothing is said while a state persists. While a dockhand deployment of the service rolls out (it replaces
 * containers on purpose) nothing is said either; the next tick after it compares with what the rollout left.
 */
import type { HostContainer, HostSnapshot } from '../../ports.ts';
import { assessHostHealth } from '../health.ts';
import { healthTransition } from './health.ts';
import { MAX_HOLD_MS } from './ips.ts';

export interface HostContainerMemory {
  /** The container's id: another id under the same name is a replacement, not a restart. */
  id: string;
  restartCount: number;
}

export interface HostHealthMemory {
  state: 'ok' | 'degraded';
  /** ISO time the current state began. */
  since: string;
  /** The reasons it became degraded (for the recovered message). */
  reasons: string[];
  /** Container name → what the last tick saw of it. */
  containers: Record<string, HostContainerMemory>;
  /** ISO time a dockhand rollout began holding the alerts, while it does. */
  heldSince?: string | undefined;
}

export type HostHealthChange =
  | { kind: 'degraded'; reasons: string[] }
  | { kind: 'recovered'; since: Date; reasons: string[] };

export interface HostHealthOutcome {
  memory: HostHealthMemory;
  change?: HostHealthChange | undefined;
}

export interface HostHealthContext {
  /** Containers the service should run (the target's `replicas`). */
  replicas: number;
  /** A dockhand deployment of this service/environment is rolling out now. */
  rollingOut: boolean;
}

const times = (n: number): string => (n === 1 ? 'once' : `${n} times`);
const exitNote = (code: number | undefined): string => (code === undefined ? '' : ` (exit ${code})`);

/** What is wrong with one container, compared with the last tick; empty when nothing is. */
const containerProblems = (c: HostContainer, before: HostContainerMemory | undefined): string[] => {
  const problems: string[] = [];
  const restarts = before && before.id === c.id ? c.restartCount - before.restartCount : 0;
  // The engine keeps the exit code only until the container runs again.
  if (restarts > 0) problems.push(`${c.name} restarted ${times(restarts)}${exitNote(c.exitCode)}`);
  if (c.state === 'restarting') {
    if (restarts <= 0) problems.push(`${c.name} is restarting${exitNote(c.exitCode)}`);
  } else if (c.state === 'exited' || c.state === 'dead') {
    problems.push(`${c.name} exited${exitNote(c.exitCode)}`);
  } else if (c.state !== 'running') {
    problems.push(`${c.name} is ${c.state}`);
  } else if (c.health === 'UNHEALTHY') {
    problems.push(`${c.name} is unhealthy`);
  }
  return problems;
};

const rememberContainers = (s: HostSnapshot): Record<string, HostContainerMemory> =>
  Object.fromEntries(s.containers.map((c) => [c.name, { id: c.id, restartCount: c.restartCount }]));

/** Every problem the snapshot shows, named; empty when the service is healthy. */
export const hostProblems = (memory: HostHealthMemory | undefined, s: HostSnapshot, replicas: number): string[] => {
  const problems = s.containers.flatMap((c) => containerProblems(c, memory?.containers[c.name]));
  const { running } = assessHostHealth(s, replicas);
  if (running < replicas) problems.push(`${running} of ${replicas} containers running`);
  return problems;
};

/** One tick of the health watch for one Docker-host service. */
export const evaluateHostHealth = (
  memory: HostHealthMemory | undefined,
  s: HostSnapshot,
  context: HostHealthContext,
  now: Date,
): HostHealthOutcome => {
  const containers = rememberContainers(s);

  // A rollout replaces containers on purpose: take what it does as the new baseline and say nothing, for a while.
  if (context.rollingOut) {
    const heldSince = memory?.heldSince ?? now.toISOString();
    if (now.getTime() - Date.parse(heldSince) < MAX_HOLD_MS) {
      const base = memory ?? { state: 'ok', since: now.toISOString(), reasons: [] };
      return { memory: { ...base, containers, heldSince } };
    }
  }

  const problems = hostProblems(memory, s, context.replicas);
  const next: HostHealthMemory = {
    state: problems.length > 0 ? 'degraded' : 'ok',
    since: memory?.since ?? now.toISOString(),
    reasons: memory?.reasons ?? [],
    containers,
    // An endless rollout holds the alerts for MAX_HOLD_MS at a time.
    ...(memory?.heldSince !== undefined && context.rollingOut ? { heldSince: now.toISOString() } : {}),
  };

  return healthTransition(memory, next, problems, now);
};

/** "acme/api:3f2a1bc" → "3f2a1bc"; "…@sha256:4f2a…" → "sha256:4f2a…" (12 hex digits). */
export const imageTagOf = (image: string): string => {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1, at + 1 + 'sha256:'.length + 12);
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : 'latest';
};
