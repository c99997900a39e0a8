import type { HostSnapshot, ServiceSnapshot } from '../ports.ts';

export type HealthState = 'healthy' | 'deploying' | 'degraded' | 'down';

export interface HealthVerdict {
  state: HealthState;
  /** Why it is not healthy, in plain words; empty when healthy. */
  reasons: string[];
}

/** One verdict for a service snapshot, shared by /status, the health watch and the digest. */
export const assessHealth = (s: ServiceSnapshot): HealthVerdict => {
  const reasons: string[] = [];
  const primary = s.deployments.find((d) => d.status === 'PRIMARY');
  if (primary?.rolloutState === 'FAILED') {
    reasons.push(`deployment ${primary.id} failed: ${primary.rolloutStateReason ?? 'no reason given'}`);
  }
  const unhealthy = s.tasks.filter((t) => t.health === 'UNHEALTHY').length;
  if (unhealthy > 0) reasons.push(`${unhealthy} task${unhealthy === 1 ? '' : 's'} unhealthy`);
  const rolling = s.deployments.length > 1 || s.deployments.some((d) => d.rolloutState === 'IN_PROGRESS');
  if (reasons.length === 0 && rolling) return { state: 'deploying', reasons };
  if (s.running < s.desired) reasons.push(`${s.running} of ${s.desired} tasks running`);
  if (s.desired > 0 && s.running === 0) return { state: 'down', reasons };
  return { state: reasons.length > 0 ? 'degraded' : 'healthy', reasons };
};

export interface HostHealthVerdict extends HealthVerdict {
  /** Containers running, and how many the target wants (`replicas`). */
  running: number;
  replicas: number;
}

/** A Docker-host service: healthy when every wanted replica runs and none reports UNHEALTHY. */
export const assessHostHealth = (snapshot: HostSnapshot, replicas: number): HostHealthVerdict => {
  const running = snapshot.containers.filter((c) => c.state === 'running');
  const unhealthy = running.filter((c) => c.health === 'UNHEALTHY').length;
  const reasons: string[] = [];
  if (unhealthy > 0) reasons.push(`${unhealthy} container${unhealthy === 1 ? '' : 's'} unhealthy`);
  if (running.length < replicas) reasons.push(`${running.length} of ${replicas} containers running`);
  const state: HealthState =
    replicas > 0 && running.length === 0 ? 'down' : reasons.length > 0 ? 'degraded' : 'healthy';
  return { state, running: running.length, replicas, reasons };
};
