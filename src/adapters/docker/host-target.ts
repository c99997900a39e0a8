/**
 * A Docker-host target as the Docker adapter reads it from dockhand.yml, what a change of it would change, where it
 * is reached, and how many containers it should run (the count of the last /scale, kept in the store). Moved here
 * from src/core/deploy/host.ts: only the Docker side asks whether a target is a Docker host.
 */
import { runningImage } from '../../core/deploy/host.ts';
import type { ResolvedTarget } from '../../core/targets.ts';
import type { DockerHostTarget, FieldChange, HostSnapshot, Store } from '../../ports.ts';

/** The Docker-host target of a resolved service/environment, or undefined for ECS. */
export const hostTargetOf = (target: ResolvedTarget): DockerHostTarget | undefined => {
  const t = target.envConfig.target;
  if (t.type !== 'docker') return undefined;
  return {
    service: target.service,
    environment: target.environment,
    host: t.host,
    container: t.container,
    ports: t.ports,
    env: t.env,
    volumes: t.volumes,
    healthcheck: t.healthcheck,
    replicas: t.replicas,
    init: t.init,
    network: t.network,
    publicAddress: t.publicAddress,
    tls: t.tls,
    sshKey: t.sshKey,
  };
};

/** What a Docker-host operation would change, for the plan and --dry-run. */
export const hostChanges = (
  snapshot: HostSnapshot,
  target: DockerHostTarget,
  change: { image?: string | undefined; replicas?: number | undefined },
): FieldChange[] => {
  const changes: FieldChange[] = [];
  const current = runningImage(snapshot);
  if (change.image !== undefined && change.image !== current)
    changes.push({ field: 'image', from: current, to: change.image });
  const running = snapshot.containers.filter((c) => c.state === 'running').length;
  const replicas = change.replicas ?? target.replicas;
  if (running !== replicas) changes.push({ field: 'containers', from: String(running), to: String(replicas) });
  return changes;
};

/** Where people reach the service: "203.0.113.10:80", one per fixed host port (or the address alone). */
export const publicEndpoints = (target: DockerHostTarget, publicAddress: string | undefined): string[] => {
  if (!publicAddress) return [];
  const hostPorts = target.ports.map((p) => /^(\d+)(?:-\d+)?:/.exec(p)?.[1]).filter((p) => p !== undefined);
  return hostPorts.length > 0 ? hostPorts.map((p) => `${publicAddress}:${p}`) : [publicAddress];
};

/** What /scale last set, and the `replicas` of dockhand.yml at the time (store state, per service/environment). */
interface WantedReplicas {
  replicas: number;
  configured: number;
}

const wantedKey = (target: Pick<DockerHostTarget, 'service' | 'environment'>): string =>
  `host-replicas:${target.service}:${target.environment}`;

/**
 * How many containers a Docker-host service should run: what the last /scale set, unless dockhand.yml's `replicas`
 * changed since (then the file wins, as an operator's newer decision); without a /scale, `replicas`.
 */
export const wantedReplicas = async (store: Pick<Store, 'getState'>, target: DockerHostTarget): Promise<number> => {
  const wanted = await store.getState<WantedReplicas>(wantedKey(target));
  return wanted && wanted.configured === target.replicas && Number.isInteger(wanted.replicas)
    ? wanted.replicas
    : target.replicas;
};

/** Remembers the count a /scale set (0 included: the containers are stopped and should stay so). */
export const rememberReplicas = (
  store: Pick<Store, 'putState'>,
  target: DockerHostTarget,
  replicas: number,
  at: Date,
): Promise<void> =>
  store.putState(wantedKey(target), { replicas, configured: target.replicas } satisfies WantedReplicas, at);
