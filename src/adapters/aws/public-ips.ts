/**
 * Public IPs of ECS tasks, cached by task ARN.
 *
 * A task keeps its ENI and its public IP for life, so EC2 is asked only about tasks it has not seen: one
 * DescribeNetworkInterfaces per region and call for all of them (DESIGN.md §3.3). A task without a public IP (private
 * subnet) is remembered as such. Entries of tasks that are no longer running are dropped by `retain`, so the cache
 * stays as large as the set of running tasks.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { AwsError, errorMessage, errorName } from '../../errors.ts';
import { ec2Sdk } from './clients.ts';

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

export class PublicIpResolver {
  readonly #ec2: (region: string | undefined) => EC2Client;
  readonly #cache = new Map<string, Entry>();

  constructor(ec2ForRegion: (region: string | undefined) => EC2Client) {
    this.#ec2 = ec2ForRegion;
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
    const unknown = tasks.filter((t) => !this.#cache.has(t.taskArn));
    if (unknown.length > 0) {
      const ips = await this.#lookUp(
        region,
        unknown.map((t) => t.eniId),
        describeWhat,
      );
      for (const task of unknown) {
        const ip = ips.get(task.eniId);
        // undefined: EC2 no longer knows the ENI (the task just stopped); ask again if it is still listed next time.
        if (ip !== undefined) this.#cache.set(task.taskArn, { publicIp: ip, scope: task.scope });
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
    for (const [arn, entry] of this.#cache) {
      if (entry.scope.cluster !== cluster || live.has(arn)) continue;
      if (services && !services.has(entry.scope.service)) continue;
      this.#cache.delete(arn);
    }
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
          const out = await this.#ec2(region).send(
            new (ec2Sdk().DescribeNetworkInterfacesCommand)({ NetworkInterfaceIds: chunk }),
          );
          for (const eni of out.NetworkInterfaces ?? []) {
            if (eni.NetworkInterfaceId) result.set(eni.NetworkInterfaceId, eni.Association?.PublicIp ?? null);
          }
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

/** EC2 names the unknown ids in its message: "The networkInterface ID 'eni-0a1b2c' does not exist". */
const missingIds = (error: unknown, asked: readonly string[]): string[] => {
  const named = new Set(errorMessage(error).match(/eni-[0-9a-f]+/g) ?? []);
  return asked.filter((id) => named.has(id));
};
