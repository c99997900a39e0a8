import { DockhandError } from '../../errors.ts';
import type { DockerHostTarget, FieldChange, HostSnapshot, Store } from '../../ports.ts';
import type { ResolvedTarget } from '../targets.ts';

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

/** "repo:tag" or "repo@sha256:abcdef123456" → a short name for cards: "tag" or "sha256:abcdef123456". */
export const describeImage = (image: string): string => {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1, at + 1 + 19);
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : 'latest';
};

/** The image the service's containers run now (the newest one's), if any. */
export const runningImage = (snapshot: HostSnapshot): string | undefined =>
  [...snapshot.containers].sort((a, b) => (b.startedAt?.getTime() ?? 0) - (a.startedAt?.getTime() ?? 0))[0]?.image;

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

export const requireHostRuntime = <T>(runtime: T | undefined): T => {
  if (!runtime) throw new DockhandError('invalid', 'Docker-host targets are not available in this process.');
  return runtime;
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
