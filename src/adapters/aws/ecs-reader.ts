/**
 * Reads ECS services, their tasks and the tasks' public IPs in as few calls as the APIs allow (DESIGN.md §3.3):
 *
 *   per cluster  DescribeServices    10 services a call, one call after another (the account's throttle is shared)
 *                ListTasks           once for the whole cluster, 100 a page (narrowed to the service when only one is
 *                                    asked for, which can only be cheaper); tasks are mapped to services by `group`
 *                DescribeTasks       100 tasks a call
 *   per region   DescribeNetworkInterfaces   once, only for tasks never seen before (PublicIpResolver)
 *                DescribeInstances           once, only for EC2-launch-type tasks never seen before whose instance's
 *                                            IP was read before they started (InstanceIpResolver; plus, per cluster,
 *                                            DescribeContainerInstances for container instances never seen)
 *   once         DescribeTaskDefinition      per task definition ARN (they are immutable): an LRU in front of the
 *                                            store's cache (one query per describe for every ARN the LRU lacks),
 *                                            so a restart or another replica does not ask ECS again
 *
 * So a steady state costs ceil(S/10) + ceil(T/100) + ceil(T/100) calls per cluster, none to EC2.
 */
import type { Attachment, Deployment, ECSClient, Service, Task, TaskDefinition } from '@aws-sdk/client-ecs';
import { AwsError, EcsFailureError, errorName, messageForChannel } from '../../errors.ts';
import type {
  Clock,
  ContainerState,
  DeploymentSnapshot,
  DescribeOptions,
  EcsReader,
  EcsServiceRef,
  Health,
  KeyValueCache,
  ServiceEvent,
  ServiceLoadBalancer,
  ServiceLookup,
  ServiceSnapshot,
  TaskDefinitionSummary,
  TaskSnapshot,
} from '../../ports.ts';
import type { AwsClientSet } from './clients.ts';
import { type InstanceAddress, InstanceIpResolver, type TaskOnInstance } from './instance-ips.ts';
import { PublicIpResolver } from './public-ips.ts';
import { ecsSdk } from './sdk.ts';

export const SERVICES_PER_DESCRIBE = 10;
export const TASKS_PER_PAGE = 100;
export const TASKS_PER_DESCRIBE = 100;
/** ListTasks pages read per cluster at most (100 tasks a page). */
export const MAX_TASK_PAGES = 500;
export const EVENTS_KEPT = 20;
/** Task definitions kept (least recently used dropped first): far more than the services of any config use at once. */
export const TASK_DEFINITIONS_CACHED = 1_000;

/** The store cache's kind for task definitions (key: ARN; value: TaskDefinitionSummary as JSON). */
export const TASK_DEFINITION_CACHE = 'ecs-task-definition';

export interface AwsEcsReaderOptions {
  /** The clients of a region (undefined = the default region); see createAwsClients. */
  clients: { forRegion(region?: string): Pick<AwsClientSet, 'ecs' | 'ec2'> };
  /** Shared public-IP cache; by default the reader keeps its own (with `cache`). */
  publicIps?: PublicIpResolver;
  /** Shared cache of EC2-launch-type tasks' instance IPs; by default the reader keeps its own (with `cache`). */
  instanceIps?: InstanceIpResolver;
  /** Task definitions (and, for its own resolver, public IPs) that outlive the process; without it, memory only. */
  cache?: KeyValueCache;
  /** A cache that cannot be read or written is skipped (AWS is asked instead); this hears why. */
  onCacheError?: (error: unknown) => void;
  clock?: Pick<Clock, 'now'>;
}

/** One (region, cluster) with the services asked for in it. */
interface ClusterGroup {
  region: string | undefined;
  cluster: string;
  /** Distinct service names, in the order first asked. */
  services: string[];
}

/** What phase one (ECS) learnt about one service; public IPs are filled in by phase two. */
interface FoundService {
  service: Service;
  taskDefinition: TaskDefinitionSummary;
  tasks: TaskSnapshot[];
}

/** Why a service was not found, in words a channel may read; `error` what ECS answered, for the log. */
interface NotFound {
  reason: string;
  error?: EcsFailureError;
}
type ClusterResult = Map<string, FoundService | NotFound>;
/** A cluster's services before their task definitions are known. */
type ListedCluster = Map<string, Omit<FoundService, 'taskDefinition'> | NotFound>;

export class AwsEcsReader implements EcsReader {
  readonly #clients: AwsEcsReaderOptions['clients'];
  readonly #publicIps: PublicIpResolver;
  readonly #instanceIps: InstanceIpResolver;
  /** Task definitions are immutable: cached by ARN, the least recently used dropped past TASK_DEFINITIONS_CACHED. */
  readonly #taskDefinitions = new Map<string, TaskDefinitionSummary>();
  readonly #cache: KeyValueCache | undefined;
  readonly #onCacheError: (error: unknown) => void;
  readonly #clock: Pick<Clock, 'now'>;

  constructor(options: AwsEcsReaderOptions) {
    this.#clients = options.clients;
    this.#cache = options.cache;
    this.#onCacheError = options.onCacheError ?? (() => {});
    this.#clock = options.clock ?? { now: () => new Date() };
    this.#publicIps =
      options.publicIps ??
      new PublicIpResolver((region) => options.clients.forRegion(region).ec2, {
        cache: options.cache,
        onCacheError: options.onCacheError,
        clock: options.clock,
      });
    this.#instanceIps =
      options.instanceIps ??
      new InstanceIpResolver((region) => options.clients.forRegion(region), {
        cache: options.cache,
        onCacheError: options.onCacheError,
        clock: options.clock,
      });
  }

  async describe(refs: readonly EcsServiceRef[], options: DescribeOptions = {}): Promise<ServiceLookup[]> {
    const wantTasks = options.publicIps === true || options.tasks !== false;
    const wantIps = wantTasks && options.publicIps !== false;

    const groups = groupByCluster(refs);
    const listed = new Map<string, ListedCluster>();
    // One cluster after another: the calls of a tick go out in sequence, never as a burst.
    for (const group of groups) {
      listed.set(clusterKey(group.region, group.cluster), await this.#describeCluster(group, wantTasks));
    }
    const results = await this.#withTaskDefinitions(groups, listed);

    const byRegion = new Map<string | undefined, { group: ClusterGroup; result: ClusterResult }[]>();
    for (const group of groups) {
      const list = byRegion.get(group.region) ?? [];
      list.push({ group, result: results.get(clusterKey(group.region, group.cluster)) ?? new Map() });
      byRegion.set(group.region, list);
    }
    for (const [region, clusters] of byRegion) {
      if (wantIps) await this.#resolvePublicIps(region, clusters);
      else if (wantTasks) this.#fillCachedPublicIps(clusters);
    }

    return refs.map((ref): ServiceLookup => {
      const found = results.get(clusterKey(ref.region, ref.cluster))?.get(ref.service);
      if (!found) return { ref, found: false, reason: `service ${ref.service} was not described` };
      if ('reason' in found)
        return found.error
          ? { ref, found: false, reason: found.reason, error: found.error }
          : { ref, found: false, reason: found.reason };
      return { ref, found: true, snapshot: toServiceSnapshot(ref, found) };
    });
  }

  async describeTasks(
    { cluster, region }: Pick<EcsServiceRef, 'cluster' | 'region'>,
    taskArns: readonly string[],
  ): Promise<TaskSnapshot[]> {
    const ecs = this.#clients.forRegion(region).ecs;
    const snapshots: TaskSnapshot[] = [];
    for (const batch of chunk([...new Set(taskArns)], TASKS_PER_DESCRIBE)) {
      let tasks: Task[];
      try {
        tasks = (await ecs.send(new (ecsSdk().DescribeTasksCommand)({ cluster, tasks: batch }))).tasks ?? [];
      } catch (error) {
        throw new AwsError(`describe ${batch.length} stopped tasks in cluster ${cluster}`, error);
      }
      snapshots.push(...tasks.map(toTaskSnapshot));
    }
    return snapshots;
  }

  async #describeCluster(group: ClusterGroup, wantTasks: boolean): Promise<ListedCluster> {
    const { region, cluster } = group;
    const ecs = this.#clients.forRegion(region).ecs;
    const where = whereOf(group);
    const result: ListedCluster = new Map();

    // 1. Services, ten at a time.
    const services = new Map<string, Service>();
    for (const batch of chunk(group.services, SERVICES_PER_DESCRIBE)) {
      let out: Awaited<ReturnType<typeof describeServices>>;
      try {
        out = await describeServices(ecs, cluster, batch);
      } catch (error) {
        if (errorName(error) === 'ClusterNotFoundException') {
          for (const name of group.services) result.set(name, { reason: `${where} not found` });
          return result;
        }
        throw new AwsError(`describe services ${batch.join(', ')} in ${where}`, error);
      }
      for (const service of out.services ?? []) {
        const name = batch.find((n) => n === service.serviceName || n === service.serviceArn);
        if (!name) continue;
        if (service.status === 'INACTIVE') result.set(name, { reason: `service ${name} not found in ${where}` });
        else services.set(name, service);
      }
      for (const failure of out.failures ?? []) {
        const name = batch.find((n) => failure.arn === n || failure.arn?.endsWith(`/${n}`));
        if (!name || services.has(name)) continue;
        if (failure.reason === 'MISSING' || failure.reason === undefined) {
          result.set(name, { reason: `service ${name} not found in ${where}` });
          continue;
        }
        // The failure's ARN names the account: the channel reads dockhand's words and ECS's code, the log the rest.
        const error = new EcsFailureError(`service ${name} in ${where}`, failure, {
          hint: 'Check the cluster and service names in dockhand.yml.',
        });
        result.set(name, { reason: messageForChannel(error), error });
      }
      for (const name of batch) {
        if (!services.has(name) && !result.has(name))
          result.set(name, { reason: `service ${name} not found in ${where}` });
      }
    }
    if (services.size === 0) return result;

    // 2. Running tasks: one listing for the cluster, then DescribeTasks a hundred at a time.
    const tasksByService = new Map<string, TaskSnapshot[]>();
    if (wantTasks) {
      const names = [...services.keys()];
      const only = names.length === 1 ? names[0] : undefined;
      const arns = await listRunningTasks(ecs, cluster, only, where);
      for (const batch of chunk(arns, TASKS_PER_DESCRIBE)) {
        let tasks: Task[];
        try {
          tasks = (await ecs.send(new (ecsSdk().DescribeTasksCommand)({ cluster, tasks: batch }))).tasks ?? [];
        } catch (error) {
          throw new AwsError(`describe ${batch.length} tasks of services ${names.join(', ')} in ${where}`, error);
        }
        for (const task of tasks) {
          const name = task.group?.startsWith('service:') ? task.group.slice('service:'.length) : undefined;
          if (name === undefined || !services.has(name) || task.desiredStatus !== 'RUNNING') continue;
          const list = tasksByService.get(name) ?? [];
          list.push(toTaskSnapshot(task));
          tasksByService.set(name, list);
        }
      }
      // Forget the public IPs of tasks the listing no longer shows (only this service's when the listing was narrowed).
      this.#publicIps.retain(
        clusterKey(region, cluster),
        new Set(arns),
        only === undefined ? undefined : new Set([only]),
      );
      this.#instanceIps.retain(
        clusterKey(region, cluster),
        new Set(arns),
        only === undefined ? undefined : new Set([only]),
      );
    }

    for (const [name, service] of services) result.set(name, { service, tasks: tasksByService.get(name) ?? [] });
    return result;
  }

  /**
   * 3. The task definition of every service described: from the LRU, else from the store's cache (one query for
   * all the LRU lacks), else from ECS (and then remembered in both).
   */
  async #withTaskDefinitions(
    groups: readonly ClusterGroup[],
    listed: ReadonlyMap<string, ListedCluster>,
  ): Promise<Map<string, ClusterResult>> {
    const definitions = new Map<string, TaskDefinitionSummary>();
    const missing = new Map<string, { group: ClusterGroup; service: string }>();
    for (const group of groups) {
      for (const [name, found] of listed.get(clusterKey(group.region, group.cluster)) ?? []) {
        if ('reason' in found) continue;
        const arn = found.service.taskDefinition ?? '';
        const cached = this.#recall(arn);
        if (cached) definitions.set(arn, cached);
        else if (!missing.has(arn)) missing.set(arn, { group, service: name });
      }
    }
    if (missing.size > 0 && this.#cache) {
      try {
        const stored = await this.#cache.cacheGet(TASK_DEFINITION_CACHE, [...missing.keys()], this.#clock.now());
        for (const [arn, value] of stored) {
          const summary = parseTaskDefinitionSummary(value);
          if (!summary) continue;
          this.#remember(arn, summary);
          definitions.set(arn, summary);
          missing.delete(arn);
        }
      } catch (error) {
        this.#onCacheError(error);
      }
    }
    const learnt = new Map<string, string>();
    try {
      for (const [arn, { group, service }] of missing) {
        const ecs = this.#clients.forRegion(group.region).ecs;
        const summary = await describeTaskDefinition(ecs, arn, `service ${service} in ${whereOf(group)}`);
        this.#remember(arn, summary);
        definitions.set(arn, summary);
        learnt.set(arn, JSON.stringify(summary));
      }
    } finally {
      if (learnt.size > 0 && this.#cache) {
        await this.#cache.cachePut(TASK_DEFINITION_CACHE, learnt, this.#clock.now()).catch(this.#onCacheError);
      }
    }

    const results = new Map<string, ClusterResult>();
    for (const [key, cluster] of listed) {
      const result: ClusterResult = new Map();
      for (const [name, found] of cluster) {
        if ('reason' in found) {
          result.set(name, found);
          continue;
        }
        const taskDefinition = definitions.get(found.service.taskDefinition ?? '');
        if (taskDefinition) result.set(name, { ...found, taskDefinition });
      }
      results.set(key, result);
    }
    return results;
  }

  /** From the LRU, marking it most recently used. */
  #recall(arn: string): TaskDefinitionSummary | undefined {
    const cached = this.#taskDefinitions.get(arn);
    if (cached) {
      this.#taskDefinitions.delete(arn);
      this.#taskDefinitions.set(arn, cached);
    }
    return cached;
  }

  #remember(arn: string, summary: TaskDefinitionSummary): void {
    this.#taskDefinitions.set(arn, summary);
    if (this.#taskDefinitions.size > TASK_DEFINITIONS_CACHED) {
      const oldest = this.#taskDefinitions.keys().next().value;
      if (oldest !== undefined) this.#taskDefinitions.delete(oldest);
    }
  }

  async #resolvePublicIps(
    region: string | undefined,
    clusters: readonly { group: ClusterGroup; result: ClusterResult }[],
  ): Promise<void> {
    const wanted: { task: TaskSnapshot; eniId: string; scope: { cluster: string; service: string } }[] = [];
    const onInstances: { task: TaskSnapshot; on: TaskOnInstance }[] = [];
    for (const { group, result } of clusters) {
      for (const [service, found] of result) {
        if ('reason' in found) continue;
        for (const task of found.tasks) {
          const scope = { cluster: clusterKey(region, group.cluster), service };
          if (task.eniId) {
            wanted.push({ task, eniId: task.eniId, scope });
          } else if (task.containerInstanceArn) {
            const { containerInstanceArn, startedAt } = task;
            onInstances.push({
              task,
              on: { taskArn: task.arn, scope, cluster: group.cluster, containerInstanceArn, startedAt },
            });
          }
        }
      }
    }
    if (wanted.length === 0 && onInstances.length === 0) return;
    const names = clusters.map((c) => c.group.cluster).join(', ');
    const what = `tasks in cluster${clusters.length === 1 ? '' : 's'} ${names}${region === undefined ? '' : ` (${region})`}`;
    if (wanted.length > 0) {
      const ips = await this.#publicIps.resolve(
        region,
        wanted.map((w) => ({ taskArn: w.task.arn, eniId: w.eniId, scope: w.scope })),
        what,
      );
      for (const { task } of wanted) task.publicIp = ips.get(task.arn);
    }
    if (onInstances.length > 0) {
      const addresses = await this.#instanceIps.resolve(
        region,
        onInstances.map((w) => w.on),
        what,
      );
      for (const { task } of onInstances) withInstanceAddress(task, addresses.get(task.arn));
    }
  }

  /** Without EC2 calls: what the cache already knows. */
  #fillCachedPublicIps(clusters: readonly { result: ClusterResult }[]): void {
    for (const { result } of clusters) {
      for (const found of result.values()) {
        if ('reason' in found) continue;
        for (const task of found.tasks) {
          if (task.eniId || !task.containerInstanceArn) task.publicIp = this.#publicIps.peek(task.arn) ?? undefined;
          else withInstanceAddress(task, this.#instanceIps.peek(task.arn));
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Calls

const describeServices = (ecs: ECSClient, cluster: string, services: string[]) =>
  ecs.send(new (ecsSdk().DescribeServicesCommand)({ cluster, services }));

const describeTaskDefinition = async (ecs: ECSClient, arn: string, of: string): Promise<TaskDefinitionSummary> => {
  let td: TaskDefinition | undefined;
  try {
    td = (await ecs.send(new (ecsSdk().DescribeTaskDefinitionCommand)({ taskDefinition: arn }))).taskDefinition;
  } catch (error) {
    throw new AwsError(`describe task definition ${revisionOf(arn)} of ${of}`, error);
  }
  return toTaskDefinitionSummary(td, arn);
};

const listRunningTasks = async (
  ecs: ECSClient,
  cluster: string,
  serviceName: string | undefined,
  where: string,
): Promise<string[]> => {
  const arns: string[] = [];
  const seenTokens = new Set<string>();
  let nextToken: string | undefined;
  do {
    // ECS caps a cluster's tasks well below this; only an endpoint that repeats or never ends its pages gets here.
    if (seenTokens.size >= MAX_TASK_PAGES)
      throw new AwsError(`list tasks in ${where}`, new Error(`more than ${MAX_TASK_PAGES} pages`));
    try {
      const out = await ecs.send(
        new (ecsSdk().ListTasksCommand)({
          cluster,
          desiredStatus: 'RUNNING',
          maxResults: TASKS_PER_PAGE,
          ...(serviceName === undefined ? {} : { serviceName }),
          ...(nextToken === undefined ? {} : { nextToken }),
        }),
      );
      arns.push(...(out.taskArns ?? []));
      nextToken = out.nextToken || undefined;
      if (nextToken !== undefined) {
        if (seenTokens.has(nextToken)) throw new Error(`ListTasks returned the page token ${nextToken} twice`);
        seenTokens.add(nextToken);
      }
    } catch (error) {
      throw new AwsError(
        `list tasks${serviceName === undefined ? '' : ` of service ${serviceName}`} in ${where}`,
        error,
      );
    }
  } while (nextToken);
  return [...new Set(arns)];
};

// ---------------------------------------------------------------------------------------------------------------
// Mapping SDK shapes to the port's

const toServiceSnapshot = (ref: EcsServiceRef, found: FoundService): ServiceSnapshot => {
  const { service } = found;
  return {
    ref,
    status: service.status ?? 'UNKNOWN',
    taskDefinition: found.taskDefinition,
    desired: service.desiredCount ?? 0,
    running: service.runningCount ?? 0,
    pending: service.pendingCount ?? 0,
    deployments: (service.deployments ?? []).map(toDeploymentSnapshot),
    events: toEvents(service),
    tasks: found.tasks,
    ...loadBalancersOf(service),
  };
};

/** The service's target groups (a classic load balancer, named without a target group, has none we read). */
export const loadBalancersOf = (service: Service): { loadBalancers?: ServiceLoadBalancer[] } => {
  const loadBalancers = (service.loadBalancers ?? []).flatMap((lb) =>
    lb.targetGroupArn
      ? [{ targetGroupArn: lb.targetGroupArn, containerName: lb.containerName, containerPort: lb.containerPort }]
      : [],
  );
  return loadBalancers.length > 0 ? { loadBalancers } : {};
};

/** A task definition as the port shows it; `arn` fills in what ECS left out. */
export const toTaskDefinitionSummary = (td: TaskDefinition | undefined, arn: string): TaskDefinitionSummary => ({
  arn: td?.taskDefinitionArn ?? arn,
  family: td?.family ?? revisionOf(arn).split(':')[0] ?? '',
  revision: td?.revision ?? Number(revisionOf(arn).split(':')[1] ?? 0),
  containers: (td?.containerDefinitions ?? []).map((c) => ({ name: c.name ?? '', image: c.image ?? '' })),
});

export const toDeploymentSnapshot = (d: Deployment): DeploymentSnapshot => ({
  id: d.id ?? '',
  status: d.status ?? 'UNKNOWN',
  taskDefinitionArn: d.taskDefinition ?? '',
  revision: revisionOf(d.taskDefinition ?? ''),
  rolloutState: d.rolloutState,
  rolloutStateReason: d.rolloutStateReason,
  desired: d.desiredCount ?? 0,
  running: d.runningCount ?? 0,
  pending: d.pendingCount ?? 0,
  failed: d.failedTasks ?? 0,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

const toEvents = (service: Service): ServiceEvent[] =>
  (service.events ?? [])
    .map((e) => ({ id: e.id ?? '', at: e.createdAt ?? new Date(0), message: e.message ?? '' }))
    .sort((a, b) => b.at.getTime() - a.at.getTime())
    .slice(0, EVENTS_KEPT);

/** One of an ENI attachment's details (networkInterfaceId, privateIPv4Address…). */
const detailOf = (eni: Attachment | undefined, name: string): string | undefined => {
  for (const d of eni?.details ?? NONE) if (d.name === name) return d.value;
  return undefined;
};

/** Our snapshot of a task (10,000 of them a watch tick): loops, not intermediate arrays and closures. */
export const toTaskSnapshot = (task: Task): TaskSnapshot => {
  const arn = task.taskArn ?? '';
  let eni: Attachment | undefined;
  for (const a of task.attachments ?? NONE) {
    if (a.type === 'ElasticNetworkInterface') {
      eni = a;
      break;
    }
  }
  const containers: ContainerState[] = (task.containers ?? []).map((c) => ({
    name: c.name ?? '',
    imageDigest: c.imageDigest,
    lastStatus: c.lastStatus,
    exitCode: c.exitCode,
    reason: c.reason,
    health: c.healthStatus === undefined ? undefined : toHealth(c.healthStatus),
  }));
  const snapshot: TaskSnapshot = {
    arn,
    id: arn.slice(arn.lastIndexOf('/') + 1),
    taskDefinitionArn: task.taskDefinitionArn ?? '',
    revision: revisionOf(task.taskDefinitionArn ?? ''),
    startedBy: task.startedBy,
    lastStatus: task.lastStatus ?? 'UNKNOWN',
    desiredStatus: task.desiredStatus ?? 'UNKNOWN',
    health: toHealth(task.healthStatus),
    startedAt: task.startedAt,
    stoppedAt: task.stoppedAt,
    stoppedReason: task.stoppedReason,
    stopCode: task.stopCode,
    containers,
    eniId: detailOf(eni, 'networkInterfaceId'),
    privateIp:
      detailOf(eni, 'privateIPv4Address') ??
      task.containers?.flatMap((c) => c.networkInterfaces ?? []).find((n) => n.privateIpv4Address)?.privateIpv4Address,
    publicIp: undefined,
  };
  if (eni === undefined) {
    if (task.containerInstanceArn) snapshot.containerInstanceArn = task.containerInstanceArn;
    const hostPorts = hostPortsOf(task);
    if (hostPorts) snapshot.hostPorts = hostPorts;
  }
  return snapshot;
};

/** An EC2-launch-type task is reached at its instance's IP; its private IP is the instance's too (bridge, host). */
const withInstanceAddress = (task: TaskSnapshot, address: InstanceAddress | undefined): void => {
  task.publicIp = address?.publicIp ?? undefined;
  task.privateIp ??= address?.privateIp ?? undefined;
};

/** The host ports of a task's containers (EC2 launch type, bridge or host networking), ascending, once each. */
const hostPortsOf = (task: Task): number[] | undefined => {
  let ports: Set<number> | undefined;
  for (const c of task.containers ?? NONE) {
    for (const b of c.networkBindings ?? NONE) {
      if (b.hostPort === undefined) continue;
      ports ??= new Set();
      ports.add(b.hostPort);
    }
  }
  return ports && [...ports].sort((a, b) => a - b);
};

/** What a field the SDK leaves out reads as, without a new empty array each time. */
const NONE: readonly never[] = [];

const toHealth = (status: string | undefined): Health =>
  status === 'HEALTHY' || status === 'UNHEALTHY' ? status : 'UNKNOWN';

/** A summary read back from the store's cache; undefined when it is not one (then ECS is asked again). */
const parseTaskDefinitionSummary = (value: string): TaskDefinitionSummary | undefined => {
  try {
    const v = JSON.parse(value) as Partial<TaskDefinitionSummary>;
    if (typeof v.arn !== 'string' || typeof v.family !== 'string' || typeof v.revision !== 'number') return undefined;
    if (!Array.isArray(v.containers)) return undefined;
    return { arn: v.arn, family: v.family, revision: v.revision, containers: v.containers };
  } catch {
    return undefined;
  }
};

/** "arn:aws:ecs:us-east-1:123456789012:task-definition/api:42" → "api:42". */
export const revisionOf = (taskDefinitionArn: string): string =>
  taskDefinitionArn.slice(taskDefinitionArn.lastIndexOf('/') + 1);

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** The PublicIpResolver scope of a cluster (region + cluster), shared by every adapter that resolves IPs. */
export const clusterKey = (region: string | undefined, cluster: string): string => `${region ?? ''}\u0000${cluster}`;

const whereOf = ({ cluster, region }: ClusterGroup): string =>
  `cluster ${cluster}${region === undefined ? '' : ` (${region})`}`;

const groupByCluster = (refs: readonly EcsServiceRef[]): ClusterGroup[] => {
  const groups = new Map<string, ClusterGroup>();
  for (const ref of refs) {
    const key = clusterKey(ref.region, ref.cluster);
    let group = groups.get(key);
    if (!group) {
      group = { region: ref.region, cluster: ref.cluster, services: [] };
      groups.set(key, group);
    }
    if (!group.services.includes(ref.service)) group.services.push(ref.service);
  }
  return [...groups.values()];
};

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
};
