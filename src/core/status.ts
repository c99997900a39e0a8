import type { Config } from '../config/schema.ts';
import { DockhandError } from '../errors.ts';
import type { EcsReader, ServiceSnapshot } from '../ports.ts';
import { allTargets, ecsRef, type ResolvedTarget } from './targets.ts';

export interface StatusDeps {
  config: Config;
  ecs: EcsReader;
}

export type StatusRow =
  | { target: ResolvedTarget; kind: 'found'; snapshot: ServiceSnapshot }
  | { target: ResolvedTarget; kind: 'missing'; reason: string }
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

/** One row per configured service/environment, read in as few AWS calls as the batching allows. */
export const describeAll = async (deps: StatusDeps): Promise<StatusRow[]> => {
  const targets = allTargets(deps.config);
  const refs = targets.map((t) => ecsRef(deps.config, t));
  const wanted = refs.filter((r) => r !== undefined);
  const lookups = wanted.length > 0 ? await deps.ecs.describe(wanted, { tasks: true, publicIps: false }) : [];
  let next = 0;
  return targets.map((target, i): StatusRow => {
    if (refs[i] === undefined) return { target, kind: 'unsupported', reason: 'Docker host (not read by /status yet)' };
    const lookup = lookups[next++];
    if (!lookup) return { target, kind: 'missing', reason: 'no answer' };
    return lookup.found
      ? { target, kind: 'found', snapshot: lookup.snapshot }
      : { target, kind: 'missing', reason: lookup.reason };
  });
};
