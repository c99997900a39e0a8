import type { Config } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import { describeTarget, describeTargets, type RuntimeSnapshot, type Runtimes } from './runtime.ts';
import { allTargets, type ResolvedTarget } from './targets.ts';

export interface StatusDeps {
  config: Config;
  runtimes: Runtimes;
  /** Hears the whole error of a service that could not be read (its row shows only words a channel may read). */
  logger?: Pick<Logger, 'warn'>;
}

export type StatusRow =
  | { target: ResolvedTarget; kind: 'found'; snapshot: RuntimeSnapshot }
  | { target: ResolvedTarget; kind: 'missing'; reason: string }
  /** No runtime for the target's type runs in this process. */
  | { target: ResolvedTarget; kind: 'unsupported'; reason: string };

/** The full snapshot of one service in one environment (units, public addresses and target health included). */
export const describeOne = (deps: StatusDeps, target: ResolvedTarget): Promise<RuntimeSnapshot> =>
  describeTarget(deps.runtimes, target, { units: true, publicAddresses: true, targetHealth: true });

/** One row per configured service/environment, read in as few calls as each runtime's batching allows. */
export const describeAll = async (deps: StatusDeps): Promise<StatusRow[]> => {
  const lookups = await describeTargets(deps.runtimes, allTargets(deps.config), {
    units: true,
    publicAddresses: false,
  });
  return lookups.map((lookup): StatusRow => {
    const { target } = lookup;
    if (lookup.found) return { target, kind: 'found', snapshot: lookup.snapshot };
    if (lookup.error !== undefined && !lookup.unsupported)
      deps.logger?.warn(
        { err: lookup.error, service: target.service, environment: target.environment },
        'status: service unreadable',
      );
    return { target, kind: lookup.unsupported ? 'unsupported' : 'missing', reason: lookup.reason };
  });
};
