import { refKey } from '../../core/targets.ts';
import type {
  Clock,
  DescribeOptions,
  EcsDeployer,
  EcsReader,
  EcsServiceRef,
  RolloutProgress,
  ServiceLookup,
} from '../../ports.ts';

/** How old a snapshot may be and still answer a read (DOCKHAND_SNAPSHOT_MAX_AGE_MS). */
export const DEFAULT_SNAPSHOT_MAX_AGE_MS = 10_000;
/**
 * Services whose snapshots are kept once read (the most recently read; reads in flight are always kept): enough for
 * bursts of /status and /dockhand ips and for a watch tick's batch (src/jobs/fetch.ts BATCH_TARGETS), without keeping
 * the snapshot of every service a watch tick read (1,000 services × 10 tasks) alive through the tick and until the
 * next one.
 */
export const DEFAULT_SNAPSHOTS_KEPT = 100;

/** What a read included: 0 the service only, 1 its running tasks, 2 their public IPs too. */
type Depth = 0 | 1 | 2;

const depthOf = (options: DescribeOptions): Depth => {
  const tasks = options.publicIps === true || options.tasks !== false;
  if (!tasks) return 0;
  return options.publicIps === false ? 1 : 2;
};

interface Entry {
  depth: Depth;
  /** When the read that produced it started: the state shown is at least this recent. */
  at: Date;
  lookup: Promise<ServiceLookup>;
  settled: boolean;
}

const keyOf = refKey;

/**
 * Freezes `value` and everything it holds (Dates aside: freezing does not stop setTime): every caller is given the
 * same lookup, so none may change what the others see. Objects already frozen (task definitions the reader shares
 * between snapshots) are not walked again.
 */
const deepFreeze = <T>(value: T): T => {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) for (const item of value) deepFreeze(item);
  else for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
};

/**
 * Lets its callers go one per turn of the event loop. Fifty /status waiting on one read all resumed when it answered
 * and copied, rendered and replied back to back in one turn (17–46 ms under bench:ack); a Slack request arriving then
 * waited for all of it. One per turn, the loop reads the sockets between two of them.
 */
class Turnstile {
  readonly #queue: (() => void)[] = [];
  #scheduled = false;

  pass(): Promise<void> {
    return new Promise((resolve) => {
      this.#queue.push(resolve);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    // An immediate scheduled from an immediate runs in the next turn, after the loop has polled for I/O.
    setImmediate(() => {
      this.#scheduled = false;
      this.#queue.shift()?.();
      this.#schedule();
    });
  }
}

/**
 * One ECS read serves every request for a service that arrives while it is in flight, and, for `maxAgeMs`
 * after it started, every request that needs no more than it read (IPs ⊃ tasks ⊃ service). /status, /dockhand ips,
 * cards and the watches read through it, so fifty `/status api` at once cost one read, and a /status just after a
 * watch tick costs none. Every caller gets the same lookup, stamped with `observedAt` (so a card can say how old it
 * is) and frozen: a caller that needs to change it copies what it changes (one copy per read, not one per caller:
 * a deep copy for each of a watch tick's 1,000 services cost ~16 MiB of allocation a tick).
 * Failed reads and services not found are not kept; the next request reads again. At most `maxKept` services are
 * kept once read, the least recently read forgotten first.
 */
export class SharedSnapshots implements EcsReader {
  readonly #reader: EcsReader;
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #maxKept: number;
  readonly #entries = new Map<string, Entry>();
  readonly #turns = new Turnstile();
  readonly describeTasks?: EcsReader['describeTasks'];

  constructor(options: { reader: EcsReader; clock: Clock; maxAgeMs?: number; maxKept?: number }) {
    this.#reader = options.reader;
    this.#clock = options.clock;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_SNAPSHOT_MAX_AGE_MS;
    this.#maxKept = options.maxKept ?? DEFAULT_SNAPSHOTS_KEPT;
    const { reader } = options;
    if (reader.describeTasks) this.describeTasks = reader.describeTasks.bind(reader);
  }

  async describe(refs: readonly EcsServiceRef[], options: DescribeOptions = {}): Promise<ServiceLookup[]> {
    const depth = depthOf(options);
    const now = this.#clock.now();
    this.#forgetOlderThan(now);
    const missing = new Map<string, EcsServiceRef>();
    for (const ref of refs) {
      const key = keyOf(ref);
      const entry = this.#entries.get(key);
      if (!entry || entry.depth < depth) missing.set(key, ref);
    }
    if (missing.size > 0) this.#read([...missing.entries()], options, depth, now);
    const read = await Promise.all(refs.map((ref) => (this.#entries.get(keyOf(ref)) as Entry).lookup));
    await this.#turns.pass();
    return read;
  }

  /** Forgets what is known of a service (dockhand just changed it): the next request reads it again. */
  forget(ref: EcsServiceRef): void {
    this.#entries.delete(keyOf(ref));
  }

  #read(missing: [string, EcsServiceRef][], options: DescribeOptions, depth: Depth, at: Date): void {
    const read = this.#reader.describe(
      missing.map(([, ref]) => ref),
      options,
    );
    const entries = missing.map(([key], i): [string, Entry] => {
      const entry: Entry = {
        depth,
        at,
        settled: false,
        lookup: read.then((lookups) => {
          const lookup = lookups[i];
          if (!lookup) throw new Error('the ECS reader answered fewer services than it was asked');
          return deepFreeze(lookup.found ? { ...lookup, snapshot: { ...lookup.snapshot, observedAt: at } } : lookup);
        }),
      };
      return [key, entry];
    });
    for (const [key, entry] of entries) {
      // Read again: the most recently read, last in the map's order.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    for (const [key, entry] of entries) {
      entry.lookup.then(
        (lookup) => {
          entry.settled = true;
          if (!lookup.found) this.#forget(key, entry);
          this.#keepAtMost(this.#maxKept);
        },
        () => this.#forget(key, entry),
      );
    }
  }

  #forget(key: string, entry: Entry): void {
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
  }

  /** Forgets the least recently read settled services past `max` (reads in flight are kept: callers await them). */
  #keepAtMost(max: number): void {
    let over = this.#entries.size - max;
    if (over <= 0) return;
    for (const [key, entry] of this.#entries) {
      if (over <= 0) break;
      if (!entry.settled) continue;
      this.#entries.delete(key);
      over--;
    }
  }

  #forgetOlderThan(now: Date): void {
    for (const [key, entry] of this.#entries) {
      if (entry.settled && now.getTime() - entry.at.getTime() > this.#maxAgeMs) this.#entries.delete(key);
    }
  }
}

/**
 * The deployer, telling the snapshots about the services it changes: after UpdateService, an abort, or a rollout
 * that ended, /status reads the service again instead of showing, for a few seconds more, the state before. Every
 * other method is the deployer's own, whatever methods the port gains.
 */
export const forgettingChanges = <D extends EcsDeployer>(deployer: D, snapshots: SharedSnapshots): D => {
  const forgetAfter =
    <A extends [EcsServiceRef, ...unknown[]], R>(
      call: (...args: A) => Promise<R>,
      changed: (result: R) => boolean = () => true,
    ) =>
    async (...args: A): Promise<R> => {
      let result: R;
      try {
        result = await call(...args);
      } catch (error) {
        // A failed change may still have been applied (a timeout after ECS acted): read again.
        snapshots.forget(args[0]);
        throw error;
      }
      if (changed(result)) snapshots.forget(args[0]);
      return result;
    };
  const overrides: Partial<Record<PropertyKey, unknown>> = {
    updateService: forgetAfter(deployer.updateService.bind(deployer)),
    abort: forgetAfter(deployer.abort.bind(deployer)),
    rolloutProgress: forgetAfter(
      deployer.rolloutProgress.bind(deployer),
      (progress: RolloutProgress) => progress.outcome !== 'in_progress',
    ),
  };
  return new Proxy(deployer, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property];
      const value: unknown = Reflect.get(target, property, target);
      // Bound to the deployer itself: its private fields are not the proxy's.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
};
