/**
 * What fetch read of one watched target this tick, in one shape whatever runs it: the input of evaluate.
 * `Workload` has the shape of the Runtime port's snapshot detail (`{ kind: 'ecs', service } | { kind: 'docker',
 * host, replicas }`), plus the ECS tasks stopped since the last tick: once fetch goes through the port, it is that
 * detail. Evaluate looks only at `kind`, to pick the rules (evaluate.ts RULES).
 */
import type { HostSnapshot, ServiceSnapshot, TaskSnapshot } from '../../ports.ts';
import type { DockhandCause } from './ips.ts';

/** What runs the target, as read this tick. */
export type Workload =
  /** An ECS service; `stopped`: its tasks that left the RUNNING listing since the last tick, as ECS shows them now. */
  | { kind: 'ecs'; service: ServiceSnapshot; stopped: readonly TaskSnapshot[] }
  /** Containers of a Docker-host service; `replicas`: how many it should run (the last /scale, else the config). */
  | { kind: 'docker'; host: HostSnapshot; replicas: number };

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
