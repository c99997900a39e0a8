/**
 * The Runtime port on Amazon ECS: a thin role-shaped face over the pieces that talk to AWS (EcsReader for
 * snapshots, EcsDeployer for task definitions and rollouts, LogReader for CloudWatch Logs, TargetHealthReader for
 * ELBv2 target health). It makes no AWS call of its own: every call count those pieces pin stays as it is.
 */
import type {
  AppliedChange,
  ApplyContext,
  AutoScaling,
  DescribeDepth,
  LogRequest,
  Recovery,
  RevisionList,
  RevisionRef,
  Runtime,
  RuntimeChange,
  RuntimeLookup,
  RuntimePlan,
  RuntimeSnapshot,
  RuntimeUnit,
  StoppedUnit,
} from '../../core/runtime.ts';
import type { ResolvedTarget } from '../../core/targets.ts';
import { taskAddress } from '../../core/task-address.ts';
import { AwsError, DockhandError } from '../../errors.ts';
import type {
  Clock,
  DeploymentSnapshot,
  EcsDeployer,
  EcsDeployTarget,
  EcsReader,
  LogReader,
  RolloutProgress,
  ServiceLogs,
  ServiceLookup,
  ServiceSnapshot,
  TaskSnapshot,
} from '../../ports.ts';
import { clusterKey, revisionOf } from './ecs-reader.ts';
import type { TargetHealthReader } from './target-health.ts';

export interface EcsRuntimeOptions {
  reader: EcsReader;
  deployer: EcsDeployer;
  logs: LogReader;
  clock: Clock;
  /** dockhand.yml's defaults.region: a target without its own region runs there. */
  defaultRegion?: string | undefined;
  /** Application Auto Scaling of the services' desired count (autoscaling.ts); absent: /scale ignores it. */
  autoScaling?: AutoScaling | undefined;
  /** Reads load balancer target health, for a describe that asks for it (DescribeDepth.targetHealth). */
  targetHealth?: TargetHealthReader | undefined;
}

const revisionRef = (arn: string): RevisionRef => ({ revision: revisionOf(arn), ref: arn });

const outcomeOf = (d: DeploymentSnapshot): 'in_progress' | 'completed' | 'failed' | undefined =>
  d.rolloutState === 'IN_PROGRESS'
    ? 'in_progress'
    : d.rolloutState === 'COMPLETED'
      ? 'completed'
      : d.rolloutState === 'FAILED'
        ? 'failed'
        : undefined;

const containerOf = (target: ResolvedTarget): string | undefined =>
  target.envConfig.target.type === 'ecs' ? target.envConfig.target.container : undefined;

/** An ECS task as a unit of the service: where it is reached is its ENI's public IP, or its instance's ip:port. */
const unitOf = (t: TaskSnapshot, container?: string): RuntimeUnit => ({
  id: t.id,
  ref: t.arn,
  state: t.lastStatus,
  health: t.health,
  revision: t.revision,
  imageDigest: t.containers.find((c) => c.name === container)?.imageDigest,
  startedAt: t.startedAt,
  privateIp: t.privateIp,
  publicAddress: taskAddress(t),
});

/** The common snapshot of an ECS service; the service snapshot itself rides along for the ECS cards. */
export const ecsRuntimeSnapshot = (target: ResolvedTarget, s: ServiceSnapshot): RuntimeSnapshot => ({
  service: target.service,
  environment: target.environment,
  revision: `${s.taskDefinition.family}:${s.taskDefinition.revision}`,
  image: s.taskDefinition.containers.find((c) => c.name === containerOf(target))?.image,
  desired: s.desired,
  running: s.running,
  units: s.tasks.map((t) => unitOf(t, containerOf(target))),
  rollouts: s.deployments.map((d) => ({
    id: d.id,
    revision: d.revision,
    primary: d.status === 'PRIMARY',
    startedAt: d.createdAt,
    outcome: outcomeOf(d),
    desired: d.desired,
    running: d.running,
    pending: d.pending,
    failed: d.failed,
  })),
  observedAt: s.observedAt,
  detail: { kind: 'ecs', service: s },
});

export const stoppedUnitOf = (t: TaskSnapshot): StoppedUnit => ({
  ...unitOf(t),
  stoppedAt: t.stoppedAt,
  reason: t.stoppedReason,
  stopCode: t.stopCode,
  exitCodes: t.containers.flatMap((c) => (c.exitCode === undefined ? [] : [c.exitCode])),
});

/** Errors that another look will not cure: permissions, a service or cluster that does not exist, bad input. */
const isPermanent = (e: unknown): boolean =>
  e instanceof AwsError &&
  /AccessDenied|UnauthorizedOperation|NotFoundException|InvalidParameter|ClientException/.test(e.awsCode);

const isThrottle = (e: unknown): boolean =>
  e instanceof AwsError &&
  /Throttl|RequestLimitExceeded|TooManyRequests|Rate exceeded/i.test(`${e.awsCode} ${e.message}`);

export class EcsRuntime implements Runtime {
  readonly label = 'Amazon ECS';
  readonly platform = 'ecs';
  readonly revisionKind = 'taskDefinition';
  readonly registers = true;
  readonly unexplainedFailure = 'the ECS deployment failed';
  readonly autoScaling: AutoScaling | undefined;
  readonly #reader: EcsReader;
  readonly #deployer: EcsDeployer;
  readonly #logs: LogReader;
  readonly #defaultRegion: string | undefined;
  readonly #clock: Clock;
  readonly #targetHealth: TargetHealthReader | undefined;

  constructor(options: EcsRuntimeOptions) {
    this.#clock = options.clock;
    this.#targetHealth = options.targetHealth;
    this.#reader = options.reader;
    this.#deployer = options.deployer;
    this.#logs = options.logs;
    this.#defaultRegion = options.defaultRegion;
    this.autoScaling = options.autoScaling;
  }

  /** The ECS service and container a target names. */
  ecsTarget(target: ResolvedTarget): EcsDeployTarget {
    const t = target.envConfig.target;
    if (t.type !== 'ecs') {
      throw new DockhandError('internal', `\`${target.service}\` in \`${target.environment}\` is not an ECS target.`);
    }
    return { cluster: t.cluster, service: t.service, container: t.container, region: t.region ?? this.#defaultRegion };
  }

  /** A region's cluster: its services are described 10 a call and its tasks listed by one ListTasks. */
  readGroup(target: ResolvedTarget): string {
    const { cluster, region } = this.ecsTarget(target);
    return clusterKey(region, cluster);
  }

  async describe(targets: readonly ResolvedTarget[], depth: DescribeDepth = {}): Promise<RuntimeLookup[]> {
    if (targets.length === 0) return [];
    const refs = targets.map((t) => {
      const { container: _container, ...ref } = this.ecsTarget(t);
      return ref;
    });
    const read = await this.#reader.describe(refs, {
      ...(depth.units === undefined && !depth.targetHealth ? {} : { tasks: depth.units || !!depth.targetHealth }),
      ...(depth.publicAddresses === undefined ? {} : { publicIps: depth.publicAddresses }),
    });
    const wanted = depth.targetHealth;
    const lookups = wanted
      ? await Promise.all(
          read.map((lookup, i) =>
            wanted === true || wanted(targets[i] as ResolvedTarget) ? this.#withTargetHealth(lookup) : lookup,
          ),
        )
      : read;
    return targets.map((target, i): RuntimeLookup => {
      const lookup = lookups[i];
      if (!lookup) return { target, found: false, reason: 'no answer' };
      return lookup.found
        ? { target, found: true, snapshot: ecsRuntimeSnapshot(target, lookup.snapshot) }
        : lookup.error === undefined
          ? { target, found: false, reason: lookup.reason }
          : { target, found: false, reason: lookup.reason, error: lookup.error };
    });
  }

  /**
   * One DescribeTargetHealth per target group of a service found behind a load balancer; a failed read is kept.
   * A copy of the lookup: the reader's may be shared with other callers (SharedSnapshots freezes it).
   */
  async #withTargetHealth(lookup: ServiceLookup): Promise<ServiceLookup> {
    const reader = this.#targetHealth;
    const loadBalancers = lookup.found ? lookup.snapshot.loadBalancers : undefined;
    if (!reader || !lookup.found || !loadBalancers) return lookup;
    const s = lookup.snapshot;
    const targetHealth = await reader.read(s.ref, loadBalancers, s.tasks, { settle: true });
    return { ...lookup, snapshot: { ...s, targetHealth } };
  }

  async plan(target: ResolvedTarget, change: RuntimeChange): Promise<RuntimePlan> {
    const image = change.kind === 'image' ? change.image : '';
    const plan = await this.#deployer.planImage(this.ecsTarget(target), image);
    const current = { revision: `${plan.current.family}:${plan.current.revision}`, ref: plan.current.arn };
    const changes =
      change.kind === 'image'
        ? plan.changes
        : change.kind === 'revision'
          ? [{ field: 'taskDefinition', from: current.revision, to: change.to.revision }]
          : // A restart or a new count keeps the task definition as it is.
            [];
    return {
      current,
      currentImage: plan.currentImage,
      newImage: image || undefined,
      changes,
      ...(plan.alarms ? { alarms: plan.alarms } : {}),
    };
  }

  async apply(target: ResolvedTarget, change: RuntimeChange, context: ApplyContext): Promise<AppliedChange> {
    const ecsTarget = this.ecsTarget(target);
    if (change.kind === 'scale') {
      await context.beforeSend?.({});
      const { deploymentId } = await this.#deployer.updateService(ecsTarget, { desiredCount: change.count });
      return { rolloutId: deploymentId, done: false, countOnly: true };
    }
    let revision: RevisionRef | undefined;
    let previous: RevisionRef | undefined;
    let registered = false;
    if (change.kind === 'image') {
      const made = await this.#deployer.registerImage(ecsTarget, change.image);
      revision = { revision: made.revision, ref: made.taskDefinitionArn };
      previous = made.previousTaskDefinitionArn ? revisionRef(made.previousTaskDefinitionArn) : undefined;
      registered = true;
    } else if (change.kind === 'revision') {
      revision = change.to;
    }
    await context.beforeSend?.({ revision, previous });
    const sentAt = this.#clock.now();
    const update = revision ? { taskDefinitionArn: revision.ref } : { forceNewDeployment: true };
    try {
      const { deploymentId } = await this.#deployer.updateService(ecsTarget, update);
      return { rolloutId: deploymentId, revision, previous, done: false };
    } catch (error) {
      // A timeout after ECS acted: the rollout exists, follow it. Known not applied: a revision registered for it
      // is dropped, since nothing will run it.
      const applied = await this.#deployer
        .findRollout(ecsTarget, { since: sentAt, taskDefinitionArn: revision?.ref })
        .catch(() => 'unknown' as const);
      if (applied !== undefined && applied !== 'unknown') {
        return { rolloutId: applied.deploymentId, revision, previous, done: false };
      }
      if (applied === 'unknown' || !registered || !revision) throw error;
      const dropped = await this.#deployer.deregisterRevision(ecsTarget, revision.ref).then(
        () => true,
        () => false,
      );
      if (!dropped) throw error;
      // Still an AwsError, so that a channel reads its action and code and never AWS's message.
      if (error instanceof AwsError) {
        const action = `${error.action} (the unused revision ${revision.revision} was deregistered)`;
        throw new AwsError(action, error.cause, error.hint);
      }
      const message = `${error instanceof Error ? error.message : String(error)} The unused revision ${revision.revision} was deregistered.`;
      throw error instanceof DockhandError
        ? new DockhandError(error.code, message, { cause: error, hint: error.hint })
        : new DockhandError('aws', message, { cause: error });
    }
  }

  classify(error: unknown): 'permanent' | 'throttled' | 'passing' {
    return isPermanent(error) ? 'permanent' : isThrottle(error) ? 'throttled' : 'passing';
  }

  progress(target: ResolvedTarget, applied: AppliedChange): Promise<RolloutProgress> {
    if (!applied.rolloutId) throw new DockhandError('internal', 'An ECS change without a rollout to follow.');
    return this.#deployer.rolloutProgress(this.ecsTarget(target), applied.rolloutId, {
      countOnly: applied.countOnly,
    });
  }

  abort(
    target: ResolvedTarget,
    applied: AppliedChange,
    previous: RevisionRef,
  ): Promise<{ method: string; fallbackReason?: string | undefined }> {
    // Aborted while UpdateService was in flight, the rollout is not known yet: the deployer then returns the service
    // to `previous` with an UpdateService of its own.
    return this.#deployer.abort(this.ecsTarget(target), {
      deploymentId: applied.rolloutId ?? '',
      ...(applied.revision ? { taskDefinitionArn: applied.revision.ref } : {}),
      previousTaskDefinitionArn: previous.ref,
    });
  }

  async revisions(target: ResolvedTarget, limit: number): Promise<RevisionList> {
    const ecsTarget = this.ecsTarget(target);
    const current = await this.#deployer.currentTaskDefinition(ecsTarget);
    const active = limit > 0 ? await this.#deployer.listRevisions(ecsTarget, current.family, limit) : [];
    const ref = (arn: string, number: number): RevisionRef => ({
      revision: `${current.family}:${number}`,
      ref: arn,
      number,
    });
    return {
      current: ref(current.arn, current.revision),
      series: current.family,
      others: active.filter((r) => r.revision !== current.revision).map((r) => ref(r.arn, r.revision)),
    };
  }

  discard(target: ResolvedTarget, revision: RevisionRef): Promise<void> {
    return this.#deployer.deregisterRevision(this.ecsTarget(target), revision.ref);
  }

  async recover(
    target: ResolvedTarget,
    interrupted: { operationId: string; sentAt: Date; revision?: RevisionRef | undefined },
  ): Promise<Recovery> {
    const found = await this.#deployer.findRollout(this.ecsTarget(target), {
      since: interrupted.sentAt,
      taskDefinitionArn: interrupted.revision?.ref,
    });
    return found ? { result: 'resume', rolloutId: found.deploymentId } : { result: 'not_applied' };
  }

  /** One DescribeTasks per cluster and 100 tasks, whatever the number of services asked about. */
  async stoppedUnits(
    gone: readonly { target: ResolvedTarget; unitRefs: readonly string[] }[],
  ): Promise<{ target: ResolvedTarget; units: StoppedUnit[]; error?: unknown }[]> {
    const describeTasks = this.#reader.describeTasks?.bind(this.#reader);
    if (!describeTasks) return gone.map(({ target }) => ({ target, units: [] }));
    const clusterOf = (target: ResolvedTarget) => {
      const { cluster, region } = this.ecsTarget(target);
      return { key: clusterKey(region, cluster), where: { cluster, region } };
    };
    const clusters = new Map<string, { where: { cluster: string; region?: string | undefined }; arns: string[] }>();
    for (const { target, unitRefs } of gone) {
      if (unitRefs.length === 0) continue;
      const { key, where } = clusterOf(target);
      const entry = clusters.get(key) ?? { where, arns: [] };
      entry.arns.push(...unitRefs);
      clusters.set(key, entry);
    }
    const tasks = new Map<string, TaskSnapshot>();
    // A cluster whose DescribeTasks fails is that cluster's answer, not the others'.
    const failed = new Map<string, unknown>();
    for (const [key, { where, arns }] of clusters) {
      try {
        for (const task of await describeTasks(where, arns)) tasks.set(task.arn, task);
      } catch (error) {
        failed.set(key, error);
      }
    }
    return gone.map(({ target, unitRefs }) => {
      const { key } = clusterOf(target);
      if (failed.has(key)) return { target, units: [], error: failed.get(key) };
      return {
        target,
        units: unitRefs.flatMap((arn) => {
          const t = tasks.get(arn);
          return t ? [stoppedUnitOf(t)] : [];
        }),
      };
    });
  }

  logs(target: ResolvedTarget, request: LogRequest): Promise<ServiceLogs> {
    return this.#logs.serviceLogs(this.ecsTarget(target), request);
  }

  recentLines(target: ResolvedTarget, unitIds: readonly string[], limit: number): Promise<string[]> {
    return this.#deployer.recentLogLines(this.ecsTarget(target), unitIds, limit);
  }
}
