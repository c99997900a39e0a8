import type { Config } from '../../config/schema.ts';
import { DockhandError } from '../../errors.ts';
import type { DockerHostRuntime, EcsReader, TaskSnapshot } from '../../ports.ts';
import { hostTargetOf, publicEndpoints } from '../deploy/host.ts';
import { ecsRef, type ResolvedTarget } from '../targets.ts';

export interface TaskAddresses {
  service: string;
  environment: string;
  /** ECS tasks (by task id) or a Docker host's containers (by name, on the target's network). */
  platform: 'ecs' | 'docker';
  tasks: Pick<TaskSnapshot, 'id' | 'revision' | 'lastStatus' | 'privateIp' | 'publicIp' | 'startedAt'>[];
  /** When the ECS read these come from started, when it was a shared snapshot. */
  observedAt?: Date | undefined;
}

/** `/dockhand ips`: the public and private IPs of a service's tasks now. */
export const taskAddresses = async (
  deps: { config: Config; ecs: EcsReader; host?: DockerHostRuntime | undefined },
  target: ResolvedTarget,
): Promise<TaskAddresses> => {
  const hostTarget = hostTargetOf(target);
  if (hostTarget && deps.host) {
    // A Docker host: every container is reached at the host's public address (and its published ports), and
    // by its address on the target's network (the first network it joined when the target names none).
    const snapshot = await deps.host.snapshot(hostTarget);
    const endpoints = publicEndpoints(hostTarget, snapshot.publicAddress).join(', ') || undefined;
    const tasks = snapshot.containers.map((c) => ({
      id: c.name,
      revision: c.digest ? c.digest.slice(0, 19) : c.image,
      lastStatus: c.state,
      privateIp: (c.addresses?.find((a) => a.network === hostTarget.network) ?? c.addresses?.[0])?.ip,
      publicIp: endpoints,
      startedAt: c.startedAt,
    }));
    return { service: target.service, environment: target.environment, platform: 'docker', tasks };
  }
  const ref = ecsRef(deps.config, target);
  if (!ref) {
    throw new DockhandError(
      'invalid',
      `\`${target.service}\` in \`${target.environment}\` runs on a Docker host; its address is the host's.`,
    );
  }
  const [lookup] = await deps.ecs.describe([ref], { tasks: true, publicIps: true });
  if (!lookup?.found) {
    throw new DockhandError(
      'not_found',
      `service ${ref.service} in cluster ${ref.cluster}: ${lookup?.found === false ? lookup.reason : 'not found'}`,
      { hint: 'Check the cluster and service names in dockhand.yml.' },
    );
  }
  const tasks = lookup.snapshot.tasks.map((t) => ({
    id: t.id,
    revision: t.revision,
    lastStatus: t.lastStatus,
    privateIp: t.privateIp,
    publicIp: t.publicIp,
    startedAt: t.startedAt,
  }));
  return {
    service: target.service,
    environment: target.environment,
    platform: 'ecs',
    tasks,
    observedAt: lookup.snapshot.observedAt,
  };
};
