import type { TaskSnapshot } from '../../ports.ts';
import { describeTarget, type RuntimeDetail, type Runtimes } from '../runtime.ts';
import type { ResolvedTarget } from '../targets.ts';

export interface TaskAddresses {
  service: string;
  environment: string;
  /** ECS tasks (by task id) or a Docker host's containers (by name, on the target's network). */
  platform: RuntimeDetail['kind'];
  tasks: Pick<TaskSnapshot, 'id' | 'revision' | 'lastStatus' | 'privateIp' | 'publicIp' | 'startedAt'>[];
  /** When the read these come from started, when it was a shared snapshot. */
  observedAt?: Date | undefined;
}

/** `/dockhand ips`: the public and private addresses of a service's units now. */
export const taskAddresses = async (deps: { runtimes: Runtimes }, target: ResolvedTarget): Promise<TaskAddresses> => {
  const snapshot = await describeTarget(deps.runtimes, target, { units: true, publicAddresses: true });
  return {
    service: target.service,
    environment: target.environment,
    platform: snapshot.detail.kind,
    tasks: snapshot.units.map((u) => ({
      id: u.id,
      revision: u.revision,
      lastStatus: u.state,
      privateIp: u.privateIp,
      publicIp: u.publicAddress,
      startedAt: u.startedAt,
    })),
    observedAt: snapshot.observedAt,
  };
};
