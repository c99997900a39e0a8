/**
 * Public IPs of ECS tasks, cached by task ARN.
 *
 * A task keeps its ENI and its public IP for life, so EC2 is asked only about tasks it has not seen: one
 * DescribeNetworkInterfaces per region and call for all of them (DESIGN.md §3.3). A task without a public IP (private
 * subnet) is remembered as such. Entries of tasks that are no longer running are dropped by `retain`, so the cache
 * stays as large as the set of running tasks.
 *
 * Behind the in-memory map, the store's cache (when given) holds the same facts for every replica and across
 * restarts: tasks the map lacks are looked up there first, in one query, and only the rest are asked of EC2.
 */
import { AwsError, errorMessage, errorName } from '../../errors.ts';
import type { Clock, KeyValueCache } from '../../ports.ts';
import type { Ec2Api } from './ec2-query.ts';

export interface TaskEni {
  taskArn: string;
  eniId: string;
}

/** Where a task lives, so that `retain` can evict what a cluster-wide listing no longer shows. */
export interface TaskScope {
  /** region + cluster. */
  cluster: string;
  service: string;
}

interface Entry {
  /** null = the ENI has no public IP. */
  publicIp: string | null;
  scope: TaskScope;
}

/** EC2 accepts many ids per DescribeNetworkInterfaces; stay well inside what one response holds. */
export const ENI_IDS_PER_CALL = 1000;
const NOT_FOUND = 'InvalidNetworkInterfaceID.NotFound';
/** The store cache's kind for public IPs (key: task ARN; value: `{"ip":"203.0.113.10"}` or `{"ip":null}`). */
export const PUBLIC_IP_CACHE = 'ecs-task-public-ip';

export interface PublicIpResolverOptions {
  /** The store's cache, shared by replicas and restarts; without it, memory only. */
  cache?: KeyValueCache | undefined;
  /** A cache that cannot be read or written is skipped (EC2 is asked instead); this hears why. */
  onCacheError?: ((error: unknown) => void) | undefined;
  clock?: Pick<Clock, 'now'> | undefined;
}

export class PublicIpResolver {
  readonly #ec2: (region: string | undefined) => Ec2Api;
  readonly #cache = new Map<string, Entry>();
  readonly #stored: KeyValueCache | undefined;
  readonly #onCacheError: (error: unknown) => void;
  readonly #clock: Pick<Clock, 'now'>;

  constructor(ec2ForRegion: (region: string | undefined) => Ec2Api, options: PublicIpResolverOptions = {}) {
    this.#ec2 = ec2ForRegion;
    this.#stored = options.cache;
    this.#onCacheError = options.onCacheError ?? (() => {});
    this.#clock = options.clock ?? { now: () => new Date() };
  }

  /** How many tasks are cached (for tests and metrics). */
  get size(): number {
    return this.#cache.size;
  }

  /** The cached public IP of a task: a string, null (known to have none) or undefined (not known). */
  peek(taskArn: string): string | null | undefined {
    return this.#cache.get(taskArn)?.publicIp;
  }

  /**
   * Public IPs of `tasks` (all in one region), asking EC2 only about tasks not cached yet.
   * Returns taskArn → IP; tasks without a public IP or whose ENI EC2 no longer knows are absent.
   */
  async resolve(
    region: string | undefined,
    tasks: readonly (TaskEni & { scope: TaskScope })[],
    describeWhat: string,
  ): Promise<Map<string, string>> {
    let unknown = tasks.filter((t) => !this.#cache.has(t.taskArn));
    if (unknown.length > 0 && this.#stored) unknown = await this.#recallStored(this.#stored, unknown);
    if (unknown.length > 0) {
      const ips = await this.#lookUp(
        region,
        unknown.map((t) => t.eniId),
        describeWhat,
      );
      const learnt = new Map<string, string>();
      for (const task of unknown) {
        const ip = ips.get(task.eniId);
        // undefined: EC2 no longer knows the ENI (the task just stopped); ask again if it is still listed next time.
        if (ip === undefined) continue;
        this.#cache.set(task.taskArn, { publicIp: ip, scope: task.scope });
        learnt.set(task.taskArn, JSON.stringify({ ip }));
      }
      if (learnt.size > 0 && this.#stored) {
        await this.#stored.cachePut(PUBLIC_IP_CACHE, learnt, this.#clock.now()).catch(this.#onCacheError);
      }
    }
    const result = new Map<string, string>();
    for (const task of tasks) {
      const ip = this.#cache.get(task.taskArn)?.publicIp;
      if (ip) result.set(task.taskArn, ip);
    }
    return result;
  }

  /**
   * Forgets tasks of `cluster` that are not in `live`; when `services` is given, only tasks of those services
   * (a listing narrowed to them says nothing about the others).
   */
  retain(cluster: string, live: ReadonlySet<string>, services?: ReadonlySet<string>): void {
    // forEach, not for…of: no [arn, entry] pair allocated per task, 10,000 tasks for each cluster of a watch tick.
    // (A Map may delete the entry being visited.)
    this.#cache.forEach((entry, arn) => {
      if (entry.scope.cluster !== cluster || live.has(arn)) return;
      if (services && !services.has(entry.scope.service)) return;
      this.#cache.delete(arn);
    });
  }

  /** Fills the map from the store's cache (one query); returns the tasks it did not know either. */
  async #recallStored<T extends TaskEni & { scope: TaskScope }>(
    cache: KeyValueCache,
    tasks: readonly T[],
  ): Promise<T[]> {
    let stored: Map<string, string>;
    try {
      stored = await cache.cacheGet(
        PUBLIC_IP_CACHE,
        tasks.map((t) => t.taskArn),
        this.#clock.now(),
      );
    } catch (error) {
      this.#onCacheError(error);
      return [...tasks];
    }
    const rest: T[] = [];
    for (const task of tasks) {
      const ip = parseStoredIp(stored.get(task.taskArn));
      if (ip === undefined) rest.push(task);
      else this.#cache.set(task.taskArn, { publicIp: ip, scope: task.scope });
    }
    return rest;
  }

  /** ENI id → public IP, or null when the ENI has none; ENIs EC2 does not know are absent. */
  async #lookUp(
    region: string | undefined,
    eniIds: readonly string[],
    describeWhat: string,
  ): Promise<Map<string, string | null>> {
    const result = new Map<string, string | null>();
    const ids = [...new Set(eniIds)];
    for (let i = 0; i < ids.length; i += ENI_IDS_PER_CALL) {
      let chunk = ids.slice(i, i + ENI_IDS_PER_CALL);
      // Each retry drops at least one id, so this ends.
      while (chunk.length > 0) {
        try {
          const enis = await this.#ec2(region).describeNetworkInterfaces(chunk);
          for (const eni of enis) result.set(eni.networkInterfaceId, eni.publicIp);
          break;
        } catch (error) {
          const missing = errorName(error) === NOT_FOUND ? missingIds(error, chunk) : [];
          if (missing.length === 0) throw new AwsError(`look up public IPs of ${describeWhat}`, error);
          chunk = chunk.filter((id) => !missing.includes(id));
        }
      }
    }
    return result;
  }
}

/** `{"ip":"…"}` → the IP, `{"ip":null}` → null (no public IP); anything else → undefined (not known). */
const parseStoredIp = (value: string | undefined): string | null | undefined => {
  if (value === undefined) return undefined;
  try {
    const { ip } = JSON.parse(value) as { ip?: unknown };
    return typeof ip === 'string' || ip === null ? ip : undefined;
  } catch {
    return undefined;
  }
};

/** EC2 names the unknown ids in its message: "The networkInterface ID 'eni-0a1b2c' does not exist". */
const missingIds = (error: unknown, asked: readonly string[]): string[] => {
  const named = new Set(errorMessage(error).match(/eni-[0-9a-f]+/g) ?? []);
  return asked.filter((id) => named.has(id));
};
