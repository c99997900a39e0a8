/**
 * What fetch read of one watched target this tick, in one shape whatever runs it: the input of evaluate.
 * (The Runtime port's one snapshot type will replace the two workload shapes here: evaluate looks only at
 * `runtime` to pick its rules, in evaluate.ts.)
 */
import type { HostSnapshot, ServiceSnapshot, TaskSnapshot } from '../../ports.ts';
import type { DockhandCause } from './ips.ts';

/** What runs the target, as read this tick. */
export type Workload =
  /** An ECS service; `stopped`: its tasks that left the RUNNING listing since the last tick, as ECS shows them now. */
  | { runtime: 'ecs'; service: ServiceSnapshot; stopped: readonly TaskSnapshot[] }
  /** Containers of a Docker-host service; `replicas`: how many it should run (the last /scale, else the config). */
  | { runtime: 'docker'; host: HostSnapshot; replicas: number };

export type Reading = { ok: true; workload: Workload } | { ok: false; reason: string };

export interface Observation {
  /** Which watches are due for the target this tick. */
  watches: { health: boolean; ips: boolean };
  read: Reading;
  context: {
    /** The dockhand deployment of the target rolling out now, if any. */
    rollingOut?: DockhandCause | undefined;
    /** A dockhand deployment that finished since the last tick, to explain an IP change seen only afterwards. */
    recentlyFinished?: DockhandCause | undefined;
  };
}
