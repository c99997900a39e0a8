/**
 * What fetch read of one watched target this tick, in one shape whatever runs it: the input of evaluate. The read
 * is the Runtime port's snapshot (src/core/runtime.ts), the same /status and the cards show, with the units that
 * stopped since the last tick (Runtime.stoppedUnits). Evaluate picks a workload's rules by `snapshot.detail.kind`
 * (evaluate.ts RULES), and nothing else looks at which runtime runs it.
 */
import type { RuntimeSnapshot, StoppedUnit } from '../runtime.ts';
import type { DockhandCause } from './ips.ts';

export type Reading =
  /** `stopped`: units that left the running set since the last tick, as the runtime shows them now. */
  { ok: true; snapshot: RuntimeSnapshot; stopped: readonly StoppedUnit[] } | { ok: false; reason: string };

export interface Observation {
  /** Which watches are due for the target this tick. */
  watches: { health: boolean; ips: boolean };
  read: Reading;
  context: {
    /** The dockhand deployment of the target rolling out now (asked after the read), if any. */
    rollingOut?: DockhandCause | undefined;
    /**
     * The dockhand deployment of the target that was rolling out when the read began (asked before it), if any: a
     * rollout may end while the read runs, and a runtime that changes in one step shows its gap meanwhile.
     */
    rollingOutBefore?: DockhandCause | undefined;
    /** A dockhand deployment that finished since the last tick, to explain an IP change seen only afterwards. */
    recentlyFinished?: DockhandCause | undefined;
  };
}
