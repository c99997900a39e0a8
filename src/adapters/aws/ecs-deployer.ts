/**
 * Rolls images out to ECS services (DESIGN.md §3.1): copy the service's task definition, replace one container's
 * image, register, UpdateService, and watch *the deployment that UpdateService created* until it is COMPLETED or
 * FAILED. `waitUntilServicesStable` is no success signal: after a circuit-breaker rollback the service is stable again,
 * on the old revision.
 *
 * Calls per `rolloutProgress` poll (one ECS throttle is shared with every other tool, so no bursts):
 *   DescribeServices                 1
 *   DescribeAlarms (CloudWatch)      1, only for a service with enabled deployment alarms (alarms.ts)
 *   ListTasks (RUNNING, the service) 1, skipped while the deployment runs no task
 *   ListTasks (STOPPED, the service) 1, only once the deployment has failed tasks (or is gone)
 *   DescribeTasks                    ceil(tasks / 100), usually 1; none when both listings are empty
 *   DescribeNetworkInterfaces        only for tasks whose public IP is not cached yet (PublicIpResolver)
 *   DescribeServiceDeployments       1, only for a blue/green service (strategy BLUE_GREEN; blue-green.ts), not for
 *                                    a new count (it starts no service deployment)
 *   ELBv2 DescribeTargetHealth       1 per target group, only for a service with loadBalancers (TargetHealthReader)
 *
 * Calls per `/deploy` (plan, then register): DescribeServices 1 + DescribeTaskDefinition 1 (with TAGS, cached by ARN:
 * task definitions are immutable) in planImage, + DescribeAlarms 1 for a service with deployment alarms;
 * DescribeServices 1 + RegisterTaskDefinition 1 in registerImage, which copies the task definition and tags the plan
 * read when the service still runs that revision. Registration re-reads the service because minutes (a build, an
 * approval) pass between the two: a revision someone else rolled out meanwhile is copied, never silently replaced by
 * the planned one.
 *
 * `abort` prefers ECS's own rollback (StopServiceDeployment, stopType ROLLBACK) and falls back to UpdateService to the
 * previous revision: DescribeServices 1, ListServiceDeployments 1, then StopServiceDeployment 1 or UpdateService 1.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type {
  ContainerDefinition,
  Deployment,
  DescribeServicesCommandOutput,
  ECSClient,
  RegisterTaskDefinitionCommandInput,
  Service,
  ServiceDeploymentBrief,
  Tag,
  Task,
  TaskDefinition,
  UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { assessRollout, tasksToRead } from '../../core/deploy/rollout-rule.ts';
import { assessStaged } from '../../core/deploy/staged-rule.ts';
import { AwsError, DockhandError, EcsFailureError, errorMessage, errorName, isAccessDenied } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type {
  AbortResult,
  DeploymentSnapshot,
  EcsDeployer,
  EcsDeployTarget,
  EcsServiceRef,
  FieldChange,
  RolloutProgress,
  ServiceLoadBalancer,
  TargetGroupHealth,
  TaskDefinitionPlan,
  TaskSnapshot,
} from '../../ports.ts';
import { onChangeOnly, readDeploymentAlarms, triggeredAlarms } from './alarms.ts';
import { BlueGreenProgress } from './blue-green.ts';
import type { AwsClientSet } from './clients.ts';
import {
  clusterKey,
  loadBalancersOf,
  revisionOf,
  TASKS_PER_DESCRIBE,
  TASKS_PER_PAGE,
  toDeploymentSnapshot,
  toTaskDefinitionSummary,
  toTaskSnapshot,
} from './ecs-reader.ts';
import { awsLogsLocation, awsLogsStreamName, tailLogStreams } from './logs.ts';
import { PublicIpResolver } from './public-ips.ts';
import { ecsSdk } from './sdk.ts';
import type { TargetHealthReader } from './target-health.ts';

// The rollout rule lives in the core; re-exported for the adapter's existing callers.
export {
  FAILURE_EVENTS_KEPT,
  FAILURE_KEYWORDS,
  failureEventsOf,
  groupStoppedTasks,
  isFailureMessage,
  judge,
  normaliseIds,
} from '../../core/deploy/rollout-rule.ts';

/** Log streams read per recentLogLines call (one GetLogEvents each). */
export const LOG_STREAMS_READ = 10;
/** ListTaskDefinitions page size (the API's maximum). */
const REVISIONS_PER_PAGE = 100;
/** ListTaskDefinitions pages read at most: a familyPrefix also matches longer family names listed before ours. */
const MAX_REVISION_PAGES = 20;
const TASK_DEFINITION_CACHE_SIZE = 200;
/**
 * How long the tags read with a task definition are copied into a registration without a second read. A task
 * definition is immutable but its tags are not (TagResource); an approval may wait 30 minutes, a build takes minutes.
 */
const TAGS_REUSED_FOR_MS = 60 * 60_000;
/** ListServiceDeployments page read by abort: ECS runs one service deployment of a service at a time, so one page. */
const SERVICE_DEPLOYMENTS_PER_PAGE = 20;
/** How much earlier than its ECS deployment a service deployment may be stamped and still be taken for it. */
const CREATED_AT_SKEW_MS = 60_000;
const DEPLOYMENT_MEMORY_SIZE = 200;

/** Fields of DescribeTaskDefinition's output that RegisterTaskDefinition accepts back, in the API's order. */
const REGISTRABLE_FIELDS = [
  'family',
  'taskRoleArn',
  'executionRoleArn',
  'networkMode',
  'containerDefinitions',
  'volumes',
  'placementConstraints',
  'requiresCompatibilities',
  'cpu',
  'memory',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'inferenceAccelerators',
  'ephemeralStorage',
  'runtimePlatform',
  'enableFaultInjection',
] as const satisfies readonly (keyof TaskDefinition & keyof RegisterTaskDefinitionCommandInput)[];
type RegistrableField = (typeof REGISTRABLE_FIELDS)[number];

export interface AwsEcsDeployerOptions {
  /** The clients of a region (undefined = the default region); see createAwsClients. */
  clients: { forRegion(region?: string): Pick<AwsClientSet, 'ecs' | 'ec2' | 'logs' | 'cloudWatch'> };
  /** Shared public-IP cache (the reader's); by default the deployer keeps its own. */
  publicIps?: PublicIpResolver;
  /** The time of a look (blue/green bake time left); default the system clock. */
  now?: () => Date;
  /** Reads the target health of a service behind a load balancer; without it, rollouts are judged on ECS alone. */
  targetHealth?: TargetHealthReader | undefined;
  /** Told (for the log) when deployment alarms cannot be read, once while the failure stays the same. */
  onAlarmsUnreadable?: ((error: AwsError) => void) | undefined;
  /** Where a degraded look is reported (once per service): target health the role may not read. */
  logger?: Pick<Logger, 'warn'> | undefined;
}

/** The permission a target health read needs (named on the card and in the log when it is missing). */
export const TARGET_HEALTH_PERMISSION = 'elasticloadbalancing:DescribeTargetHealth';

/** A task definition as DescribeTaskDefinition (include TAGS) returned it, and when. */
interface KnownTaskDefinition {
  taskDefinition: TaskDefinition;
  tags: Tag[];
  readAt: number;
}

export class AwsEcsDeployer implements EcsDeployer {
  readonly #clients: AwsEcsDeployerOptions['clients'];
  readonly #publicIps: PublicIpResolver;
  readonly #targetHealth: TargetHealthReader | undefined;
  readonly #logger: Pick<Logger, 'warn'> | undefined;
  /** Services whose target health this process was refused (warned once each). */
  readonly #targetHealthDenied = new Set<string>();
  readonly #taskDefinitions = new Map<string, KnownTaskDefinition>();
  /** When each deployment seen was created: events are filtered by it even after ECS stops listing the deployment. */
  readonly #deploymentCreatedAt = new Map<string, Date>();
  readonly #blueGreen: BlueGreenProgress;
  readonly #onAlarmsUnreadable: (error: AwsError) => void;

  constructor(options: AwsEcsDeployerOptions) {
    this.#clients = options.clients;
    this.#blueGreen = new BlueGreenProgress(options.now);
    this.#publicIps = options.publicIps ?? new PublicIpResolver((region) => options.clients.forRegion(region).ec2);
    this.#targetHealth = options.targetHealth;
    this.#onAlarmsUnreadable = onChangeOnly(options.onAlarmsUnreadable ?? (() => {}));
    this.#logger = options.logger;
  }

  async planImage(target: EcsDeployTarget, image: string): Promise<TaskDefinitionPlan> {
    const service = await this.#describeService(target);
    const arn = service.taskDefinition ?? '';
    const { taskDefinition: td } = await this.#taskDefinition(target, arn);
    const container = findContainer(td, target.container, arn);
    const currentImage = container.image ?? '';
    const changes: FieldChange[] =
      currentImage === image
        ? []
        : [{ field: `containerDefinitions[${target.container}].image`, from: currentImage, to: image }];
    const alarms = await readDeploymentAlarms(() => this.#cloudWatch(target), service, this.#onAlarmsUnreadable);
    return { current: toTaskDefinitionSummary(td, arn), currentImage, changes, ...(alarms ? { alarms } : {}) };
  }

  async registerImage(
    target: EcsDeployTarget,
    image: string,
  ): Promise<{ taskDefinitionArn: string; revision: string; previousTaskDefinitionArn: string }> {
    const service = await this.#describeService(target);
    const previousArn = service.taskDefinition ?? '';
    const ecs = this.#ecs(target);
    // The plan's read when it is recent (it was made with TAGS); after a restart, or once its tags may be stale, again.
    const { taskDefinition: td, tags } = await this.#taskDefinition(target, previousArn, TAGS_REUSED_FOR_MS);
    findContainer(td, target.container, previousArn);

    const input = registrationInput(td, tags, target.container, image);
    let registered: TaskDefinition | undefined;
    try {
      registered = (await ecs.send(new (ecsSdk().RegisterTaskDefinitionCommand)(input))).taskDefinition;
    } catch (error) {
      throw new AwsError(`register a new revision of ${input.family} for ${where(target)}`, error);
    }
    const arn = registered?.taskDefinitionArn;
    if (!arn) {
      throw new DockhandError(
        'aws',
        `register a new revision of ${input.family} for ${where(target)}: ECS returned no ARN`,
      );
    }
    if (registered) this.#remember(arn, registered, input.tags ?? []);
    return { taskDefinitionArn: arn, revision: revisionOf(arn), previousTaskDefinitionArn: previousArn };
  }

  async updateService(
    target: EcsServiceRef,
    change: { taskDefinitionArn?: string; forceNewDeployment?: boolean; desiredCount?: number },
  ): Promise<{ deploymentId: string }> {
    const input: UpdateServiceCommandInput = {
      cluster: target.cluster,
      service: target.service,
      ...(change.taskDefinitionArn === undefined ? {} : { taskDefinition: change.taskDefinitionArn }),
      ...(change.forceNewDeployment === undefined ? {} : { forceNewDeployment: change.forceNewDeployment }),
      ...(change.desiredCount === undefined ? {} : { desiredCount: change.desiredCount }),
    };
    let service: Service | undefined;
    try {
      service = (await this.#ecs(target).send(new (ecsSdk().UpdateServiceCommand)(input))).service;
    } catch (error) {
      throw new AwsError(`update ${where(target)}`, error);
    }
    // The response already lists the deployment this call created, as PRIMARY (or the existing one if it created none).
    const primary = service?.deployments?.find((d) => d.status === 'PRIMARY');
    if (!primary?.id) {
      throw new DockhandError('aws', `update ${where(target)}: ECS reported no PRIMARY deployment`);
    }
    this.#rememberDeployments(service?.deployments ?? []);
    return { deploymentId: primary.id };
  }

  async findRollout(
    target: EcsServiceRef,
    sent: { since: Date; taskDefinitionArn?: string | undefined },
  ): Promise<{ deploymentId: string } | undefined> {
    const service = await this.#describeService(target);
    const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
    if (!primary?.id || !primary.createdAt) return undefined;
    if (primary.createdAt.getTime() < sent.since.getTime() - CREATED_AT_SKEW_MS) return undefined;
    if (sent.taskDefinitionArn !== undefined && primary.taskDefinition !== sent.taskDefinitionArn) return undefined;
    this.#rememberDeployments(service.deployments ?? []);
    return { deploymentId: primary.id };
  }

  async deregisterRevision(target: EcsServiceRef, taskDefinitionArn: string): Promise<void> {
    try {
      await this.#ecs(target).send(
        new (ecsSdk().DeregisterTaskDefinitionCommand)({ taskDefinition: taskDefinitionArn }),
      );
    } catch (error) {
      throw new AwsError(`deregister ${revisionOf(taskDefinitionArn)} of ${where(target)}`, error);
    }
  }

  async abort(
    target: EcsServiceRef,
    deployment: { deploymentId: string; taskDefinitionArn?: string; previousTaskDefinitionArn: string },
  ): Promise<AbortResult> {
    const stop = await this.#stopServiceDeployment(target, deployment);
    if (stop.stopped) return { method: 'stop_service_deployment' };
    const previous = deployment.previousTaskDefinitionArn;
    try {
      await this.#ecs(target).send(
        new (ecsSdk().UpdateServiceCommand)({
          cluster: target.cluster,
          service: target.service,
          taskDefinition: previous,
        }),
      );
    } catch (error) {
      throw new AwsError(`return ${where(target)} to ${revisionOf(previous)}`, error);
    }
    return { method: 'update_service', fallbackReason: stop.reason };
  }

  async rolloutProgress(
    target: EcsServiceRef,
    deploymentId: string,
    options: { countOnly?: boolean | undefined } = {},
  ): Promise<RolloutProgress> {
    const service = await this.#describeService(target);
    this.#rememberDeployments(service.deployments ?? []);
    const deployments = (service.deployments ?? []).map(toDeploymentSnapshot).sort(primaryFirst);
    const deployment = deployments.find((d) => d.id === deploymentId);
    const since = deployment?.createdAt ?? this.#deploymentCreatedAt.get(deploymentId);
    // Tasks: the running ones of this deployment, and its stopped ones once it has any failures.
    const wanted = tasksToRead(deployment);
    const { running, stopped } = await this.#tasksOf(target, deploymentId, wanted.running, wanted.stopped);
    await this.#fillPublicIps(target, running);
    // Behind a load balancer: one DescribeTargetHealth per target group, so the rule can wait for healthy targets.
    const { loadBalancers } = loadBalancersOf(service);
    const read = loadBalancers ? await this.#readTargetHealth(target, loadBalancers, running) : undefined;
    const targetHealth = read?.groups;
    const progress = assessRollout({
      deploymentId,
      deployments,
      events: service.events,
      since,
      running,
      stopped,
      targetHealth,
    });
    if (read?.denied) progress.targetHealthUnreadable = read.denied;
    // A new count starts no service deployment: the service's current one is an earlier rollout's.
    const staged = options.countOnly
      ? undefined
      : await this.#blueGreen.look(this.#ecs(target), target, service, deploymentId);
    const judged = staged ? assessStaged(progress, staged) : progress;
    const alarms = await readDeploymentAlarms(() => this.#cloudWatch(target), service, this.#onAlarmsUnreadable);
    if (!alarms) return judged;
    if (judged.outcome === 'failed') {
      // A blue/green rollout's service deployment names the alarms that triggered: ECS's record beats its words.
      const triggered =
        judged.staged?.triggeredAlarms ??
        triggeredAlarms(alarms, judged.deployment, [judged.reason ?? '', ...judged.failureEvents]);
      if (triggered.length > 0) alarms.triggered = triggered;
    }
    return { ...judged, alarms };
  }

  async currentTaskDefinition(target: EcsServiceRef): Promise<{ arn: string; family: string; revision: number }> {
    const service = await this.#describeService(target);
    const arn = service.taskDefinition ?? '';
    const { family, revision } = parseRevision(arn);
    return { arn, family, revision };
  }

  async listRevisions(
    target: EcsServiceRef,
    family: string,
    limit: number,
  ): Promise<{ arn: string; revision: number }[]> {
    const revisions: { arn: string; revision: number }[] = [];
    if (limit <= 0) return revisions;
    const ecs = this.#ecs(target);
    let nextToken: string | undefined;
    let pages = 0;
    do {
      let arns: string[];
      try {
        const out = await ecs.send(
          new (ecsSdk().ListTaskDefinitionsCommand)({
            familyPrefix: family,
            status: 'ACTIVE',
            sort: 'DESC',
            maxResults: REVISIONS_PER_PAGE,
            ...(nextToken === undefined ? {} : { nextToken }),
          }),
        );
        arns = out.taskDefinitionArns ?? [];
        nextToken = out.nextToken || undefined;
      } catch (error) {
        throw new AwsError(`list revisions of task definition family ${family}`, error);
      }
      for (const arn of arns) {
        const parsed = parseRevision(arn);
        // familyPrefix "api" also lists "api-worker".
        if (parsed.family !== family) continue;
        revisions.push({ arn, revision: parsed.revision });
        if (revisions.length >= limit) return revisions;
      }
      pages++;
    } while (nextToken && pages < MAX_REVISION_PAGES);
    return revisions;
  }

  async recentLogLines(target: EcsDeployTarget, taskIds: readonly string[], limit: number): Promise<string[]> {
    if (taskIds.length === 0 || limit <= 0) return [];
    const service = await this.#describeService(target);
    const arn = service.taskDefinition ?? '';
    const { taskDefinition: td } = await this.#taskDefinition(target, arn);
    const location = awsLogsLocation(findContainer(td, target.container, arn));
    if (!location?.streamPrefix) return [];
    const { streamPrefix, container, group } = location;
    const ids = [...new Set(taskIds)].slice(0, LOG_STREAMS_READ);
    const lines = await tailLogStreams({
      logs: this.#clients.forRegion(location.region ?? target.region).logs,
      group,
      streams: ids.map((id) => awsLogsStreamName(streamPrefix, container, id)),
      limit,
    });
    // Lines of several tasks say whose they are.
    return ids.length === 1
      ? lines.map((l) => l.message)
      : lines.map((l) => `[${(l.taskId ?? '').slice(0, 8)}] ${l.message}`);
  }

  // -------------------------------------------------------------------------------------------------------------

  /**
   * The target health of the rollout's tasks. Refused (the role lacks the permission, as before dockhand read it):
   * the rollout is judged on ECS alone, the card says why with the error code, and the log says so once per service.
   * Any other failed read is thrown: throttling and passing faults are looked at again by the follow loop.
   */
  async #readTargetHealth(
    target: EcsServiceRef,
    loadBalancers: readonly ServiceLoadBalancer[],
    running: readonly TaskSnapshot[],
  ): Promise<{ groups?: TargetGroupHealth[]; denied?: { permission: string; code: string } } | undefined> {
    if (!this.#targetHealth) return undefined;
    try {
      return { groups: await this.#targetHealth.read(target, loadBalancers, running) };
    } catch (error) {
      const code = error instanceof AwsError ? error.awsCode : errorName(error);
      if (!isAccessDenied(code)) throw error;
      const key = `${clusterKey(target.region, target.cluster)}\u0000${target.service}`;
      if (!this.#targetHealthDenied.has(key)) {
        if (this.#targetHealthDenied.size >= DEPLOYMENT_MEMORY_SIZE) this.#targetHealthDenied.clear();
        this.#targetHealthDenied.add(key);
        this.#logger?.warn(
          { service: target.service, cluster: target.cluster, code, permission: TARGET_HEALTH_PERMISSION },
          'target health may not be read; rollouts of this service are judged on ECS alone',
        );
      }
      return { denied: { permission: TARGET_HEALTH_PERMISSION, code } };
    }
  }

  #ecs(target: EcsServiceRef): ECSClient {
    return this.#clients.forRegion(target.region).ecs;
  }

  #cloudWatch(target: EcsServiceRef): CloudWatchClient {
    return this.#clients.forRegion(target.region).cloudWatch;
  }

  /**
   * StopServiceDeployment(ROLLBACK) of the service deployment that rolls out `deployment`, when it can be found and
   * stopped; otherwise why not. Never throws: every failure here leaves the caller's UpdateService fallback.
   */
  async #stopServiceDeployment(
    target: EcsServiceRef,
    deployment: { deploymentId: string; taskDefinitionArn?: string },
  ): Promise<{ stopped: true } | { stopped: false; reason: string }> {
    const ecs = this.#ecs(target);
    let service: Service;
    try {
      service = await this.#describeService(target);
    } catch (error) {
      return { stopped: false, reason: errorMessage(error) };
    }
    const controller = service.deploymentController?.type;
    if (controller !== undefined && controller !== 'ECS') {
      return { stopped: false, reason: `the service uses the ${controller} deployment controller` };
    }
    const found = (service.deployments ?? []).find((d) => d.id === deployment.deploymentId);
    const ours = found && toDeploymentSnapshot(found);
    const replaced = whyNotRunning(deployment.deploymentId, ours, deployment.taskDefinitionArn);
    if (replaced !== undefined || !ours) return { stopped: false, reason: replaced ?? 'unknown deployment' };
    let candidates: ServiceDeploymentBrief[];
    try {
      const out = await ecs.send(
        new (ecsSdk().ListServiceDeploymentsCommand)({
          cluster: target.cluster,
          service: target.service,
          status: ['IN_PROGRESS', 'PENDING'],
          maxResults: SERVICE_DEPLOYMENTS_PER_PAGE,
        }),
      );
      candidates = out.serviceDeployments ?? [];
    } catch (error) {
      return {
        stopped: false,
        reason: new AwsError(`list the service deployments of ${where(target)}`, error).message,
      };
    }
    const picked = pickServiceDeployment(ours, service.currentServiceDeployment, candidates);
    if ('reason' in picked) return { stopped: false, reason: picked.reason };
    try {
      await ecs.send(
        new (ecsSdk().StopServiceDeploymentCommand)({ serviceDeploymentArn: picked.arn, stopType: 'ROLLBACK' }),
      );
    } catch (error) {
      const action = `roll back service deployment ${lastSegment(picked.arn)} of ${where(target)}`;
      return { stopped: false, reason: new AwsError(action, error).message };
    }
    return { stopped: true };
  }

  async #describeService(target: EcsServiceRef): Promise<Service> {
    let out: DescribeServicesCommandOutput;
    try {
      out = await this.#ecs(target).send(
        new (ecsSdk().DescribeServicesCommand)({ cluster: target.cluster, services: [target.service] }),
      );
    } catch (error) {
      if (errorName(error) === 'ClusterNotFoundException') {
        throw new DockhandError('not_found', `cluster ${target.cluster}${inRegion(target)} not found`, {
          cause: error,
          hint: 'Check the cluster and service names in dockhand.yml.',
        });
      }
      throw new AwsError(`describe ${where(target)}`, error);
    }
    const service = out.services?.find((s) => s.serviceName === target.service || s.serviceArn === target.service);
    if (service && service.status !== 'INACTIVE') return service;
    const failure = out.failures?.[0];
    if (failure && failure.reason !== 'MISSING' && failure.reason !== undefined) {
      // The failure's ARN names the account: the channel reads dockhand's words and ECS's code, the log the rest.
      throw new EcsFailureError(`describe ${where(target)}`, failure);
    }
    throw new DockhandError('not_found', `${where(target)} not found`, {
      hint: 'Check the cluster and service names in dockhand.yml.',
    });
  }

  /**
   * A task definition and its tags, read in one DescribeTaskDefinition (include TAGS) and cached by ARN (task
   * definitions are immutable). `tagsMaxAgeMs`: read again when the cached tags are older than that.
   */
  async #taskDefinition(target: EcsServiceRef, arn: string, tagsMaxAgeMs = Infinity): Promise<KnownTaskDefinition> {
    const cached = this.#taskDefinitions.get(arn);
    if (cached && Date.now() - cached.readAt <= tagsMaxAgeMs) return cached;
    let out: { taskDefinition?: TaskDefinition | undefined; tags?: Tag[] | undefined };
    try {
      out = await this.#ecs(target).send(
        new (ecsSdk().DescribeTaskDefinitionCommand)({ taskDefinition: arn, include: ['TAGS'] }),
      );
    } catch (error) {
      throw new AwsError(`describe task definition ${revisionOf(arn)} of ${where(target)}`, error);
    }
    return this.#remember(arn, out.taskDefinition ?? {}, out.tags ?? []);
  }

  #remember(arn: string, taskDefinition: TaskDefinition, tags: Tag[]): KnownTaskDefinition {
    if (this.#taskDefinitions.size >= TASK_DEFINITION_CACHE_SIZE) this.#taskDefinitions.clear();
    const known = { taskDefinition, tags, readAt: Date.now() };
    this.#taskDefinitions.set(arn, known);
    return known;
  }

  #rememberDeployments(deployments: readonly Deployment[]): void {
    for (const d of deployments) {
      if (!d.id || !d.createdAt || this.#deploymentCreatedAt.has(d.id)) continue;
      if (this.#deploymentCreatedAt.size >= DEPLOYMENT_MEMORY_SIZE) {
        const oldest = this.#deploymentCreatedAt.keys().next().value;
        if (oldest !== undefined) this.#deploymentCreatedAt.delete(oldest);
      }
      this.#deploymentCreatedAt.set(d.id, d.createdAt);
    }
  }

  async #tasksOf(
    target: EcsServiceRef,
    deploymentId: string,
    wantRunning: boolean,
    wantStopped: boolean,
  ): Promise<{ running: TaskSnapshot[]; stopped: TaskSnapshot[] }> {
    const ecs = this.#ecs(target);
    const runningArns = wantRunning ? await this.#listTasks(target, 'RUNNING') : [];
    const stoppedArns = wantStopped ? await this.#listTasks(target, 'STOPPED') : [];
    if (wantRunning) {
      // Keep the shared IP cache as large as the service's live task set.
      this.#publicIps.retain(
        clusterKey(target.region, target.cluster),
        new Set(runningArns),
        new Set([target.service]),
      );
    }
    const arns = [...new Set([...runningArns, ...stoppedArns])];
    const running: TaskSnapshot[] = [];
    const stopped: TaskSnapshot[] = [];
    for (let i = 0; i < arns.length; i += TASKS_PER_DESCRIBE) {
      const batch = arns.slice(i, i + TASKS_PER_DESCRIBE);
      let tasks: Task[];
      try {
        tasks =
          (await ecs.send(new (ecsSdk().DescribeTasksCommand)({ cluster: target.cluster, tasks: batch }))).tasks ?? [];
      } catch (error) {
        throw new AwsError(`describe ${batch.length} tasks of ${where(target)}`, error);
      }
      for (const task of tasks) {
        // ECS starts a service's tasks with startedBy = the deployment id.
        if (task.startedBy !== deploymentId) continue;
        if (task.desiredStatus === 'RUNNING' && task.lastStatus === 'RUNNING') running.push(toTaskSnapshot(task));
        else if (task.desiredStatus === 'STOPPED') stopped.push(toTaskSnapshot(task));
      }
    }
    return { running, stopped };
  }

  /** One page of the service's tasks with this desired status (100: the page size, and enough for a rollout card). */
  async #listTasks(target: EcsServiceRef, desiredStatus: 'RUNNING' | 'STOPPED'): Promise<string[]> {
    try {
      const out = await this.#ecs(target).send(
        new (ecsSdk().ListTasksCommand)({
          cluster: target.cluster,
          serviceName: target.service,
          desiredStatus,
          maxResults: TASKS_PER_PAGE,
        }),
      );
      return out.taskArns ?? [];
    } catch (error) {
      throw new AwsError(`list ${desiredStatus.toLowerCase()} tasks of ${where(target)}`, error);
    }
  }

  async #fillPublicIps(target: EcsServiceRef, tasks: TaskSnapshot[]): Promise<void> {
    const scope = { cluster: clusterKey(target.region, target.cluster), service: target.service };
    const withEni = tasks.flatMap((t) => (t.eniId ? [{ taskArn: t.arn, eniId: t.eniId, scope }] : []));
    if (withEni.length === 0) return;
    const ips = await this.#publicIps.resolve(target.region, withEni, `tasks of ${where(target)}`);
    for (const task of tasks) task.publicIp = ips.get(task.arn);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Decisions (pure, exported for tests)

/**
 * Why the ECS deployment `deploymentId` ("ecs-svc/…", `ours` as DescribeServices shows it now) is no longer the rollout
 * to abort, if it is not: ECS no longer lists it, or it is not PRIMARY (a newer deployment or a circuit-breaker
 * rollback replaced it, and the ongoing service deployment is that one's), or it runs another task definition.
 */
export const whyNotRunning = (
  deploymentId: string,
  ours: DeploymentSnapshot | undefined,
  taskDefinitionArn: string | undefined,
): string | undefined => {
  if (!ours) return `ECS no longer lists deployment ${deploymentId || '(unknown)'}`;
  if (ours.status !== 'PRIMARY') return `deployment ${ours.id} is no longer the service's PRIMARY deployment`;
  if (taskDefinitionArn !== undefined && ours.taskDefinitionArn !== taskDefinitionArn) {
    return `deployment ${ours.id} runs ${ours.revision}, not ${revisionOf(taskDefinitionArn)}`;
  }
  return undefined;
};

/**
 * Which ongoing service deployment (ListServiceDeployments, status IN_PROGRESS or PENDING) rolls out `ours`, the
 * service's PRIMARY ECS deployment, so that stopping it with ROLLBACK aborts exactly this rollout; or why none can be
 * taken for it. DescribeServices does not name a deployment's service deployment, so:
 *  - the service's currentServiceDeployment (DescribeServices) is the one of its PRIMARY deployment: taken when it is
 *    among the ongoing ones, and none is taken when it is not (the rollout already completed or stopped);
 *  - without that field: the only ongoing service deployment, unless it was created before `ours`.
 */
export const pickServiceDeployment = (
  ours: DeploymentSnapshot,
  currentServiceDeployment: string | undefined,
  candidates: readonly ServiceDeploymentBrief[],
): { arn: string } | { reason: string } => {
  const ongoing = candidates.filter(
    (c): c is ServiceDeploymentBrief & { serviceDeploymentArn: string } =>
      c.serviceDeploymentArn !== undefined && (c.status === 'IN_PROGRESS' || c.status === 'PENDING'),
  );
  if (ongoing.length === 0) return { reason: 'no service deployment of the service is in progress' };
  if (currentServiceDeployment !== undefined) {
    const current = ongoing.find((c) => c.serviceDeploymentArn === currentServiceDeployment);
    if (current) return { arn: current.serviceDeploymentArn };
    return { reason: `the current service deployment ${lastSegment(currentServiceDeployment)} is not in progress` };
  }
  const [only, ...more] = ongoing;
  if (!only || more.length > 0) {
    return { reason: `${ongoing.length} service deployments are in progress; none is known to be ${ours.id}` };
  }
  const created = only.createdAt?.getTime();
  const oursCreated = ours.createdAt?.getTime();
  if (created !== undefined && oursCreated !== undefined && created < oursCreated - CREATED_AT_SKEW_MS) {
    return { reason: `service deployment ${lastSegment(only.serviceDeploymentArn)} is older than ${ours.id}` };
  }
  return { arn: only.serviceDeploymentArn };
};

/**
 * RegisterTaskDefinition's input from a described task definition: every registrable field as it is (read-only ones
 * such as taskDefinitionArn, revision, status, requiresAttributes, compatibilities and registeredAt left out), with
 * only the image of `container` replaced.
 */
export const registrationInput = (
  td: TaskDefinition,
  tags: readonly Tag[],
  container: string,
  image: string,
): RegisterTaskDefinitionCommandInput => {
  const copied: Pick<TaskDefinition, RegistrableField> = Object.fromEntries(
    // `== null`: an answer read by lean-json.ts keeps a member ECS sent as null, which the SDK would have dropped.
    REGISTRABLE_FIELDS.flatMap((field) => (td[field] == null ? [] : [[field, td[field]]])),
  );
  return {
    ...copied,
    family: td.family,
    containerDefinitions: (td.containerDefinitions ?? []).map((c) => (c.name === container ? { ...c, image } : c)),
    ...(tags.length > 0 ? { tags: [...tags] } : {}),
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const findContainer = (td: TaskDefinition, name: string, arn: string): ContainerDefinition => {
  const containers = td.containerDefinitions ?? [];
  const found = containers.find((c) => c.name === name);
  if (found) return found;
  const revision =
    td.family !== undefined && td.revision !== undefined ? `${td.family}:${td.revision}` : revisionOf(arn);
  throw new DockhandError(
    'invalid',
    `container "${name}" is not in task definition ${revision} (containers: ${containers.map((c) => c.name ?? '?').join(', ')})`,
    { hint: 'Check the container name in dockhand.yml.' },
  );
};

/** "arn:…:task-definition/api:42" → { family: "api", revision: 42 }. */
const parseRevision = (arn: string): { family: string; revision: number } => {
  const name = revisionOf(arn);
  const colon = name.lastIndexOf(':');
  return colon < 0
    ? { family: name, revision: 0 }
    : { family: name.slice(0, colon), revision: Number(name.slice(colon + 1)) };
};

const primaryFirst = (a: DeploymentSnapshot, b: DeploymentSnapshot): number =>
  (a.status === 'PRIMARY' ? 0 : 1) - (b.status === 'PRIMARY' ? 0 : 1) ||
  (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0);

/** "arn:…:service-deployment/prod/api/r9i43YFjvgF" → "r9i43YFjvgF". */
const lastSegment = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);

const inRegion = (ref: EcsServiceRef): string => (ref.region === undefined ? '' : ` (${ref.region})`);

const where = (ref: EcsServiceRef): string => `service ${ref.service} in cluster ${ref.cluster}${inRegion(ref)}`;
