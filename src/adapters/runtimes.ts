/**
 * The runtime factory: the one place that maps a target's `type` (dockhand.yml) to the Runtime that runs it.
 * A new runtime is one more key here, its adapter, and its run of the contract tests.
 */

import type { Config, TargetConfig } from '../config/schema.ts';
import type { Runtime, Runtimes } from '../core/runtime.ts';
import type { ResolvedTarget } from '../core/targets.ts';
import { DockhandError } from '../errors.ts';

/** Human names for the refusal when a runtime is not available in this process. */
const NAMES: Record<TargetConfig['type'], string> = { ecs: 'Amazon ECS', docker: 'Docker-host' };

export const createRuntimes = (byType: Partial<Record<TargetConfig['type'], Runtime>>): Runtimes => ({
  for(target: ResolvedTarget): Runtime {
    const type = target.envConfig.target.type;
    const runtime = byType[type];
    if (!runtime) throw new DockhandError('invalid', `${NAMES[type]} targets are not available in this process.`);
    return runtime;
  },
});

/** True when some environment of dockhand.yml runs on a target of this type (its adapter is then worth making). */
export const configUses = (config: Config, type: TargetConfig['type']): boolean =>
  Object.values(config.services).some((svc) => Object.values(svc.environments).some((env) => env.target.type === type));
