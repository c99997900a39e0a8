/**
 * Public IPs of ECS tasks on the EC2 launch type with `bridge` or `host` networking: such a task has no ENI of its
 * own, it is reached at the public IP of the container instance it runs on (and its containers' host ports).
 *
 *   DescribeContainerInstances   per cluster, 100 ARNs a call, only for container instances never seen before
 *                                (a container instance ARN names one EC2 instance for life)
 *   DescribeInstances            once per region, only for instances whose IP is not known for the tasks asked
 *
 * Caching. An instance's public IP changes when it is stopped and started, and stopping it stops every task on it;
 * so the IP an instance had while a task ran on it is that task's for life, like an ENI's. Hence:
 * - per task (in memory and in the store's cache, kind `ecs-instance-public-ip`, key task ARN): the instance's IP
 *   as looked up while the task ran, never asked again while the task is listed;
 * - per instance (in memory): the EC2 instance id (immutable) and the IP with when it was checked. A task that
 *   started before that check and still runs proves the instance has not restarted since, so it takes the IP
 *   without a call; a task started after it (a deploy, a replacement, a restart of the instance) has EC2 asked
 *   once more, for all such instances of the region in one call.
 * So a steady state costs no call; a deploy one DescribeInstances per region (plus one DescribeContainerInstances
 * per cluster when its tasks landed on instances never seen). An Elastic IP moved to an instance while a task
 * keeps running there is not seen (as with ENIs, whose IPs are cached the same way).
 */
import type { ContainerInstance, ECSClient } from '@aws-sdk/client-ecs';
import { AwsError, errorMessage, errorName } from '../../errors.ts';
import type { Clock, KeyValueCache } from '../../ports.ts';
import type { Ec2Api, Instance } from './ec2-query.ts';
import type { TaskScope } from './public-ips.ts';
import { ecsSdk } from './sdk.ts';

/** The store cache's kind (key: task ARN; value: `{"ip":"203.0.113.10","privateIp":"10.0.1.5"}`, `ip` may be null). */
export const INSTANCE_IP_CACHE = 'ecs-instance-public-ip';
export const CONTAINER_INSTANCES_PER_CALL = 100;
export const INSTANCE_IDS_PER_CALL = 1000;
/** Container instances remembered (EC2 id, last IP): far more than the clusters of any config hold. */
export const INSTANCES_KEPT = 5_000;
const NOT_FOUND = 'InvalidInstanceID.NotFound';

export interface TaskOnInstance {
  taskArn: string;
  /** Region + cluster and service, as PublicIpResolver scopes tasks (for `retain`). */
  scope: TaskScope;
  /** The cluster's name, as ECS wants it. */
  cluster: string;
  containerInstanceArn: string;
  startedAt?: Date | undefined;
}

export interface InstanceAddress {
  /** null = the instance has no public IP. */
  publicIp: string | null;
  privateIp: string | null;
}

interface TaskEntry extends InstanceAddress {
  scope: TaskScope;
  containerInstanceArn: string;
}

interface InstanceEntry {
  instanceId: string;
  address?: InstanceAddress | undefined;
  /** When `address` was read from EC2 (ms). */
  checkedAt?: number | undefined;
}

export interface InstanceIpResolverOptions {
  cache?: KeyValueCache | undefined;
  onCacheError?: ((error: unknown) => void) | undefined;
  clock?: Pick<Clock, 'now'> | undefined;
}

export class InstanceIpResolver {
  readonly #clients: (region: string | undefined) => { ecs: ECSClient; ec2: Ec2Api };
  readonly #tasks = new Map<string, TaskEntry>();
  readonly #instances = new Map<string, InstanceEntry>();
  readonly #stored: KeyValueCache | undefined;
  readonly #onCacheError: (error: unknown) => void;
  readonly #clock: Pick<Clock, 'now'>;

  constructor(
    clients: (region: string | undefined) => { ecs: ECSClient; ec2: Ec2Api },
    options: InstanceIpResolverOptions = {},
  ) {
    this.#clients = clients;
    this.#stored = options.cache;
    this.#onCacheError = options.onCacheError ?? (() => {});
    this.#clock = options.clock ?? { now: () => new Date() };
  }

  /** How many tasks are cached (for tests). */
  get size(): number {
    return this.#tasks.size;
  }

  /** The cached address of a task, without any call. */
  peek(taskArn: string): InstanceAddress | undefined {
    const entry = this.#tasks.get(taskArn);
    return entry ? { publicIp: entry.publicIp, privateIp: entry.privateIp } : undefined;
  }

  /** Addresses of `tasks` (all in one region) by task ARN; tasks whose instance is gone are absent. */
  async resolve(
    region: string | undefined,
    tasks: readonly TaskOnInstance[],
    describeWhat: string,
  ): Promise<Map<string, InstanceAddress>> {
    let unknown = tasks.filter((t) => !this.#tasks.has(t.taskArn));
    if (unknown.length > 0 && this.#stored) unknown = await this.#recallStored(this.#stored, unknown);
    if (unknown.length > 0) await this.#lookUp(region, unknown, describeWhat);
    const result = new Map<string, InstanceAddress>();
    for (const task of tasks) {
      const address = this.peek(task.taskArn);
      if (address) result.set(task.taskArn, address);
    }
    return result;
  }

  /**
   * Forgets tasks of `cluster` not in `live` (only of `services` when given). Instances are kept (a deploy that
   * replaced every task between two reads finds them known), the least recently learnt dropped past INSTANCES_KEPT.
   */
  retain(cluster: string, live: ReadonlySet<string>, services?: ReadonlySet<string>): void {
    // forEach, not for…of: no [arn, entry] pair allocated per task, 10,000 tasks for each cluster of a watch tick.
    // (A Map may delete the entry being visited.)
    this.#tasks.forEach((entry, arn) => {
      if (entry.scope.cluster !== cluster || live.has(arn)) return;
      if (services && !services.has(entry.scope.service)) return;
      this.#tasks.delete(arn);
    });
  }

  async #recallStored(cache: KeyValueCache, tasks: readonly TaskOnInstance[]): Promise<TaskOnInstance[]> {
    let stored: Map<string, string>;
    try {
      stored = await cache.cacheGet(
        INSTANCE_IP_CACHE,
        tasks.map((t) => t.taskArn),
        this.#clock.now(),
      );
    } catch (error) {
      this.#onCacheError(error);
      return [...tasks];
    }
    const rest: TaskOnInstance[] = [];
    for (const task of tasks) {
      const address = parseStored(stored.get(task.taskArn));
      if (address === undefined) rest.push(task);
      else
        this.#tasks.set(task.taskArn, {
          ...address,
          scope: task.scope,
          containerInstanceArn: task.containerInstanceArn,
        });
    }
    return rest;
  }

  async #lookUp(region: string | undefined, tasks: readonly TaskOnInstance[], describeWhat: string): Promise<void> {
    const { ecs, ec2 } = this.#clients(region);
    // 1. EC2 instance ids of container instances never seen: one call per cluster (100 ARNs a call).
    const unseen = new Map<string, Set<string>>();
    for (const task of tasks) {
      if (this.#instances.has(task.containerInstanceArn)) continue;
      const set = unseen.get(task.cluster) ?? new Set<string>();
      set.add(task.containerInstanceArn);
      unseen.set(task.cluster, set);
    }
    for (const [cluster, arns] of unseen) {
      const list = [...arns];
      for (let i = 0; i < list.length; i += CONTAINER_INSTANCES_PER_CALL) {
        const batch = list.slice(i, i + CONTAINER_INSTANCES_PER_CALL);
        let found: ContainerInstance[];
        try {
          const out = await ecs.send(
            new (ecsSdk().DescribeContainerInstancesCommand)({ cluster, containerInstances: batch }),
          );
          found = out.containerInstances ?? [];
        } catch (error) {
          throw new AwsError(`describe the container instances of ${describeWhat}`, error);
        }
        for (const ci of found) {
          if (ci.containerInstanceArn && ci.ec2InstanceId)
            this.#instances.set(ci.containerInstanceArn, { instanceId: ci.ec2InstanceId });
          if (this.#instances.size > INSTANCES_KEPT) {
            const oldest = this.#instances.keys().next().value;
            if (oldest !== undefined) this.#instances.delete(oldest);
          }
        }
      }
    }

    // 2. Instances whose IP is not known for these tasks: one call for the region.
    const toCheck = new Set<string>();
    for (const task of tasks) {
      const instance = this.#instances.get(task.containerInstanceArn);
      if (instance && !this.#knownFor(instance, task)) toCheck.add(instance.instanceId);
    }
    if (toCheck.size > 0) {
      const checkedAt = this.#clock.now().getTime();
      const found = await this.#describeInstances(ec2, [...toCheck], describeWhat);
      for (const instance of this.#instances.values()) {
        if (!toCheck.has(instance.instanceId)) continue;
        const got = found.get(instance.instanceId);
        instance.address = got ? { publicIp: got.publicIp, privateIp: got.privateIp } : undefined;
        instance.checkedAt = got ? checkedAt : undefined;
      }
    }

    // 3. Each task takes its instance's address, for life.
    const learnt = new Map<string, string>();
    for (const task of tasks) {
      const address = this.#instances.get(task.containerInstanceArn)?.address;
      // No address: ECS or EC2 no longer knows the instance (it just went away); ask again if still listed.
      if (!address) continue;
      this.#tasks.set(task.taskArn, { ...address, scope: task.scope, containerInstanceArn: task.containerInstanceArn });
      learnt.set(task.taskArn, JSON.stringify({ ip: address.publicIp, privateIp: address.privateIp }));
    }
    if (learnt.size > 0 && this.#stored) {
      await this.#stored.cachePut(INSTANCE_IP_CACHE, learnt, this.#clock.now()).catch(this.#onCacheError);
    }
  }

  /** True when the instance's IP was read after the task started (so the instance has not restarted since). */
  #knownFor(instance: InstanceEntry, task: TaskOnInstance): boolean {
    if (!instance.address || instance.checkedAt === undefined) return false;
    return task.startedAt === undefined || task.startedAt.getTime() <= instance.checkedAt;
  }

  async #describeInstances(ec2: Ec2Api, ids: readonly string[], describeWhat: string): Promise<Map<string, Instance>> {
    const result = new Map<string, Instance>();
    for (let i = 0; i < ids.length; i += INSTANCE_IDS_PER_CALL) {
      let chunk = ids.slice(i, i + INSTANCE_IDS_PER_CALL);
      // Each retry drops at least one id, so this ends.
      while (chunk.length > 0) {
        try {
          for (const instance of await ec2.describeInstances(chunk)) result.set(instance.instanceId, instance);
          break;
        } catch (error) {
          const missing = errorName(error) === NOT_FOUND ? missingIds(error, chunk) : [];
          if (missing.length === 0) throw new AwsError(`look up the instance IPs of ${describeWhat}`, error);
          chunk = chunk.filter((id) => !missing.includes(id));
        }
      }
    }
    return result;
  }
}

const ipOrNull = (v: unknown): string | null | undefined => (typeof v === 'string' || v === null ? v : undefined);

/** A stored entry, or undefined when it is not one (then AWS is asked again). */
const parseStored = (value: string | undefined): InstanceAddress | undefined => {
  if (value === undefined) return undefined;
  try {
    const v = JSON.parse(value) as { ip?: unknown; privateIp?: unknown };
    const publicIp = ipOrNull(v.ip);
    const privateIp = ipOrNull(v.privateIp);
    if (publicIp === undefined || privateIp === undefined) return undefined;
    return { publicIp, privateIp };
  } catch {
    return undefined;
  }
};

/** EC2 names the unknown ids in its message: "The instance ID 'i-0a1b2c' does not exist". */
const missingIds = (error: unknown, asked: readonly string[]): string[] => {
  const named = new Set(errorMessage(error).match(/i-[0-9a-f]+/g) ?? []);
  return asked.filter((id) => named.has(id));
};
