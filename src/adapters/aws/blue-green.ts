/**
 * ECS blue/green rollouts (deploymentConfiguration.strategy BLUE_GREEN): where one stands is its service deployment's
 * `status` and `lifecycleStage` (DescribeServiceDeployments), not the ECS deployments' rolloutState. This maps them
 * into the runtime-neutral `StagedRollout`; the verdict is the core's (src/core/deploy/staged-rule.ts).
 *
 * Calls per rollout look: none for a rolling service (the strategy is read from the DescribeServices the look already
 * made); one DescribeServiceDeployments for a blue/green one. Which service deployment is the rollout's: the service's
 * `currentServiceDeployment` while the rollout's ECS deployment is PRIMARY, if it began no earlier than that ECS
 * deployment (else it is an earlier rollout's: a new count, for one, starts no service deployment), remembered for
 * later looks (a rollback makes the blue deployment PRIMARY again, and the same service deployment reports it).
 *
 * Bake time left: ECS says how long the bake lasts (`bakeTimeInMinutes`), not when it began; it is counted from the
 * service deployment's `updatedAt` at the first look that saw BAKE_TIME (remembered per service deployment).
 */
import type { ECSClient, Service, ServiceDeployment } from '@aws-sdk/client-ecs';
import { AwsError, errorName } from '../../errors.ts';
import type { EcsServiceRef, RolloutStage, StagedRollout } from '../../ports.ts';
import { clusterKey } from './ecs-reader.ts';
import { ecsSdk } from './sdk.ts';

/** How many rollouts' service deployments and bake starts are remembered (oldest forgotten first). */
const MEMORY_SIZE = 200;

/** ECS lifecycle stages (ServiceDeploymentLifecycleStage) as the core names them. */
const STAGES: Readonly<Record<string, RolloutStage>> = {
  RECONCILE_SERVICE: 'reconcile',
  PRE_SCALE_UP: 'pre_scale_up',
  SCALE_UP: 'scale_up',
  POST_SCALE_UP: 'post_scale_up',
  TEST_TRAFFIC_SHIFT: 'test_traffic',
  POST_TEST_TRAFFIC_SHIFT: 'post_test_traffic',
  PRE_PRODUCTION_TRAFFIC_SHIFT: 'pre_production_traffic',
  PRODUCTION_TRAFFIC_SHIFT: 'production_traffic',
  POST_PRODUCTION_TRAFFIC_SHIFT: 'post_production_traffic',
  BAKE_TIME: 'bake',
  CLEAN_UP: 'clean_up',
};

const STATUSES: Readonly<Record<string, StagedRollout['status']>> = {
  PENDING: 'in_progress',
  IN_PROGRESS: 'in_progress',
  SUCCESSFUL: 'succeeded',
  ROLLBACK_REQUESTED: 'rolling_back',
  ROLLBACK_IN_PROGRESS: 'rolling_back',
  ROLLBACK_SUCCESSFUL: 'rolled_back',
  ROLLBACK_FAILED: 'rollback_failed',
  STOP_REQUESTED: 'stopped',
  STOPPED: 'stopped',
};

/** How much earlier than its ECS deployment a rollout's service deployment may say it began (clock skew). */
const STARTED_SKEW_MS = 5_000;

/** Errors after which this process stops asking for the service's service deployments (the rolling rule decides). */
const UNAVAILABLE = /AccessDenied|UnauthorizedOperation|UnsupportedFeature/;

export const isBlueGreen = (service: Service): boolean => service.deploymentConfiguration?.strategy === 'BLUE_GREEN';

/**
 * A service deployment as a staged rollout. `bakeStartedAt`: when its bake began, where known; `now`: when the look
 * was taken (for the bake time left).
 */
export const stagedRolloutOf = (
  sd: ServiceDeployment,
  service: Service,
  bakeStartedAt: Date | undefined,
  now: Date,
): StagedRollout => {
  const stage = sd.lifecycleStage === undefined ? undefined : STAGES[sd.lifecycleStage];
  const bakeMinutes =
    sd.deploymentConfiguration?.bakeTimeInMinutes ?? service.deploymentConfiguration?.bakeTimeInMinutes;
  const status = STATUSES[sd.status ?? ''] ?? 'in_progress';
  const triggered = [...new Set(sd.alarms?.triggeredAlarmNames ?? [])];
  const bakeLeftMs =
    stage === 'bake' && status === 'in_progress' && bakeMinutes !== undefined && bakeStartedAt !== undefined
      ? Math.max(0, bakeStartedAt.getTime() + bakeMinutes * 60_000 - now.getTime())
      : undefined;
  return {
    strategy: 'blue_green',
    id: sd.serviceDeploymentArn ?? '',
    ...(stage === undefined ? {} : { stage }),
    status,
    ...(sd.statusReason && status !== 'in_progress' && status !== 'succeeded' ? { reason: sd.statusReason } : {}),
    ...(bakeMinutes === undefined ? {} : { bakeMinutes }),
    ...(bakeLeftMs === undefined ? {} : { bakeLeftMs }),
    ...(triggered.length === 0 ? {} : { triggeredAlarms: triggered }),
  };
};

/** Follows blue/green rollouts for the ECS deployer: which service deployment is whose, and when each bake began. */
export class BlueGreenProgress {
  readonly #now: () => Date;
  /** ECS deployment id (ecs-svc/…) → the ARN of the service deployment that rolls it out. */
  readonly #serviceDeployments = new Map<string, string>();
  /** Service deployment ARN → when its bake began. */
  readonly #bakeStarts = new Map<string, Date>();
  /** Services (cluster key + name) whose service deployments this process may not read. */
  readonly #unavailable = new Set<string>();

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  /**
   * Where the blue/green rollout of ECS deployment `deploymentId` stands, read with one DescribeServiceDeployments;
   * undefined for a rolling service (no call), when its service deployment is not known, or when the API is refused
   * (the rolling rule then decides alone: the green deployment completes only after clean-up). Throttling and other
   * passing errors are thrown, so that the look is repeated after a backoff.
   */
  async look(
    ecs: ECSClient,
    target: EcsServiceRef,
    service: Service,
    deploymentId: string,
  ): Promise<StagedRollout | undefined> {
    if (!isBlueGreen(service)) return undefined;
    const key = `${clusterKey(target.region, target.cluster)}\u0000${target.service}`;
    if (this.#unavailable.has(key)) return undefined;
    const known = this.#serviceDeployments.get(deploymentId);
    const arn = known ?? this.#candidateOf(service, deploymentId);
    if (arn === undefined) return undefined;
    let sd: ServiceDeployment | undefined;
    try {
      const out = await ecs.send(new (ecsSdk().DescribeServiceDeploymentsCommand)({ serviceDeploymentArns: [arn] }));
      sd = out.serviceDeployments?.find((d) => d.serviceDeploymentArn === arn);
    } catch (error) {
      if (UNAVAILABLE.test(errorName(error))) {
        this.#unavailable.add(key);
        return undefined;
      }
      throw new AwsError(`describe the service deployment of service ${target.service} in ${target.cluster}`, error);
    }
    if (!sd) return undefined;
    if (known === undefined) {
      const created = service.deployments?.find((d) => d.id === deploymentId)?.createdAt;
      const began = sd.startedAt ?? sd.createdAt;
      if (created !== undefined && began !== undefined && began.getTime() < created.getTime() - STARTED_SKEW_MS) {
        return undefined;
      }
      remember(this.#serviceDeployments, deploymentId, arn);
    }
    const now = this.#now();
    let bakeStartedAt = this.#bakeStarts.get(arn);
    if (bakeStartedAt === undefined && sd.lifecycleStage === 'BAKE_TIME') {
      bakeStartedAt = sd.updatedAt ?? now;
      remember(this.#bakeStarts, arn, bakeStartedAt);
    }
    return stagedRolloutOf(sd, service, bakeStartedAt, now);
  }

  /** The service deployment that may be the rollout's, adopted once it is seen to begin with it (`look`). */
  #candidateOf(service: Service, deploymentId: string): string | undefined {
    const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
    const current = service.currentServiceDeployment;
    return primary?.id === deploymentId && current ? current : undefined;
  }
}

const remember = <V>(map: Map<string, V>, key: string, value: V): void => {
  if (map.size >= MEMORY_SIZE) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
};
