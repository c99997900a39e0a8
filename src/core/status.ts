import type { Config } from '../config/schema.ts';
import { DockhandError } from '../errors.ts';
import type { DockerHostRuntime, EcsReader, HostSnapshot, ServiceSnapshot, Store } from '../ports.ts';
import { hostTargetOf, wantedReplicas } from './deploy/host.ts';
import { allTargets, ecsRef, type ResolvedTarget } from './targets.ts';

export interface StatusDeps {
  config: Config;
  ecs: EcsReader;
  host?: DockerHostRuntime | undefined;
  /** Where the replica count of the last /scale of a Docker-host service is kept. */
  store: Pick<Store, 'getState'>;
}

export type StatusRow =
  | { target: ResolvedTarget; kind: 'found'; snapshot: ServiceSnapshot }
  | { target: ResolvedTarget; kind: 'missing'; reason: string }
  | { target: ResolvedTarget; kind: 'host'; snapshot: HostSnapshot; replicas: number }
  | { target: ResolvedTarget; kind: 'unsupported'; reason: string };

/** The full snapshot of one service in one environment (tasks and public IPs included). */
export const describeOne = async (deps: StatusDeps, target: ResolvedTarget): Promise<ServiceSnapshot> => {
  const ref = ecsRef(deps.config, target);
  if (!ref) {
    throw new DockhandError('invalid', `\`${target.service}\` in \`${target.environment}\` runs on a Docker host.`, {
      hint: 'This version of dockhand reads status from Amazon ECS targets only.',
    });
  }
  const [lookup] = await deps.ecs.describe([ref], { tasks: true, publicIps: true });
  if (!lookup) throw new DockhandError('internal', 'The ECS reader returned nothing.');
  if (!lookup.found) {
    throw new DockhandError('not_found', `${target.service} (${target.environment}): ${lookup.reason}.`, {
      hint: 'Check the cluster and service names in dockhand.yml.',
    });
  }
  return lookup.snapshot;
};

/** A Docker-host service: its containers as the engine reports them, and how many it should run. */
export const describeHost = async (
  deps: StatusDeps,
  target: ResolvedTarget,
): Promise<{ snapshot: HostSnapshot; replicas: number } | undefined> => {
  const hostTarget = hostTargetOf(target);
  if (!hostTarget || !deps.host) return undefined;
  const [snapshot, replicas] = await Promise.all([
    deps.host.snapshot(hostTarget),
    wantedReplicas(deps.store, hostTarget),
  ]);
  return { snapshot, replicas };
};

/** One row per configured service/environment, read in as few AWS calls as the batching allows. */
export const describeAll = async (deps: StatusDeps): Promise<StatusRow[]> => {
  const targets = allTargets(deps.config);
  const refs = targets.map((t) => ecsRef(deps.config, t));
  const wanted = refs.filter((r) => r !== undefined);
  const lookups = wanted.length > 0 ? await deps.ecs.describe(wanted, { tasks: true, publicIps: false }) : [];
  const hosts = await Promise.all(
    targets.map((target, i) =>
      refs[i] === undefined && deps.host
        ? describeHost(deps, target).then(
            (read) => ({ read }),
            (e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }),
          )
        : undefined,
    ),
  );
  let next = 0;
  return targets.map((target, i): StatusRow => {
    const host = hosts[i];
    if (host && 'read' in host && host.read) return { target, kind: 'host', ...host.read };
    if (host && 'error' in host) return { target, kind: 'missing', reason: host.error };
    if (refs[i] === undefined) return { target, kind: 'unsupported', reason: 'Docker host' };
    const lookup = lookups[next++];
    if (!lookup) return { target, kind: 'missing', reason: 'no answer' };
    return lookup.found
      ? { target, kind: 'found', snapshot: lookup.snapshot }
      : { target, kind: 'missing', reason: lookup.reason };
  });
};
