import type { Config } from '../../config/schema.ts';
import { DockhandError } from '../../errors.ts';
import type { EcsDeployTarget } from '../../ports.ts';
import type { ResolvedTarget } from '../targets.ts';

/** The ECS service (and container) a target names; a Docker-host target is refused in plain words. */
export const ecsDeployTarget = (config: Config, target: ResolvedTarget): EcsDeployTarget => {
  const t = target.envConfig.target;
  if (t.type !== 'ecs') {
    throw new DockhandError(
      'invalid',
      `\`${target.service}\` in \`${target.environment}\` runs on a Docker host, which this command does not support yet.`,
    );
  }
  return { cluster: t.cluster, service: t.service, container: t.container, region: t.region ?? config.defaults.region };
};
