/**
 * Application Auto Scaling of an ECS service's desired count (the Runtime port's `AutoScaling`), over the SDK client
 * loaded on first use (sdk.ts): a dockhand that never runs /scale or /status of an ECS service never loads it.
 *
 *   bounds     ONE DescribeScalableTargets (ResourceIds: [service/<cluster>/<service>]): per /scale request, and again
 *              right before an approved bounds change is set.
 *   detail     that, then (only when a target exists) DescribeScalingPolicies and DescribeScalingActivities, in
 *              parallel: per single-service /status, shared like the ECS snapshots (shared-snapshots.ts): one read
 *              serves every /status of the service while it is in flight and for `maxAgeMs` after it started
 *              (fifty /status at once cost one). Never on a watch tick.
 *   setBounds  ONE RegisterScalableTarget (MinCapacity, MaxCapacity of the existing target): per approved /scale a..b.
 *
 * IAM: application-autoscaling:DescribeScalableTargets, DescribeScalingPolicies, DescribeScalingActivities and
 * RegisterScalableTarget.
 */
import type { AutoScaling, AutoScalingDetail, ScalingBounds } from '../../core/runtime.ts';
import type { ResolvedTarget } from '../../core/targets.ts';
import { AwsError, DockhandError } from '../../errors.ts';
import type { Clock } from '../../ports.ts';
import type { AwsClients } from './clients.ts';
import { autoScalingSdk } from './sdk.ts';
import { DEFAULT_SNAPSHOT_MAX_AGE_MS } from './shared-snapshots.ts';

export const ECS_DESIRED_COUNT = 'ecs:service:DesiredCount' as const;

/**
 * A cluster or service named by its ARN, reduced to its name: `arn:aws:ecs:<region>:<account>:cluster/<name>`,
 * `…:service/<cluster>/<name>` and the older `…:service/<name>` all end in the name. A name is kept as it is.
 */
const nameOf = (nameOrArn: string): string =>
  nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.lastIndexOf('/') + 1) : nameOrArn;

interface Resource {
  resourceId: string;
  region: string | undefined;
}

export class AwsAutoScaling implements AutoScaling {
  readonly #clients: AwsClients;
  readonly #defaultRegion: string | undefined;
  readonly #clock: Clock | undefined;
  readonly #maxAgeMs: number;
  /** Shared /status reads by region and resource id: when each started, and its answer (failed ones dropped). */
  readonly #details = new Map<string, { at: number; detail: Promise<AutoScalingDetail | undefined> }>();

  constructor(options: {
    clients: AwsClients;
    defaultRegion?: string | undefined;
    /** Without a clock nothing is shared. */
    clock?: Clock | undefined;
    maxAgeMs?: number | undefined;
  }) {
    this.#clients = options.clients;
    this.#defaultRegion = options.defaultRegion;
    this.#clock = options.clock;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_SNAPSHOT_MAX_AGE_MS;
  }

  /**
   * `service/<cluster>/<service>`, the resource id Application Auto Scaling names an ECS service by: names, never
   * ARNs, though dockhand.yml may name either by its ARN (ECS takes both).
   */
  #resource(target: ResolvedTarget): Resource {
    const t = target.envConfig.target;
    if (t.type !== 'ecs') {
      throw new DockhandError('internal', `${target.service} in ${target.environment} is not an ECS target.`);
    }
    return {
      resourceId: `service/${nameOf(t.cluster)}/${nameOf(t.service)}`,
      region: t.region ?? this.#defaultRegion,
    };
  }

  #client(region: string | undefined) {
    return this.#clients.forRegion(region).autoScaling;
  }

  async bounds(target: ResolvedTarget): Promise<ScalingBounds | undefined> {
    return this.#bounds(this.#resource(target));
  }

  async #bounds({ resourceId, region }: Resource): Promise<ScalingBounds | undefined> {
    const { DescribeScalableTargetsCommand } = autoScalingSdk();
    try {
      const out = await this.#client(region).send(
        new DescribeScalableTargetsCommand({
          ServiceNamespace: 'ecs',
          ResourceIds: [resourceId],
          ScalableDimension: ECS_DESIRED_COUNT,
        }),
      );
      const found = out.ScalableTargets?.find(
        (t) => t.ResourceId === resourceId && t.ScalableDimension === ECS_DESIRED_COUNT,
      );
      if (!found || found.MinCapacity === undefined || found.MaxCapacity === undefined) return undefined;
      return { min: found.MinCapacity, max: found.MaxCapacity };
    } catch (error) {
      throw new AwsError(`read the auto scaling of ${resourceId}`, error);
    }
  }

  detail(target: ResolvedTarget, activities: number): Promise<AutoScalingDetail | undefined> {
    const resource = this.#resource(target);
    const key = `${resource.region ?? ''} ${resource.resourceId} ${activities}`;
    const now = this.#clock?.now().getTime();
    if (now === undefined) return this.#detail(resource, activities);
    for (const [k, entry] of this.#details) if (now - entry.at > this.#maxAgeMs) this.#details.delete(k);
    const shared = this.#details.get(key);
    if (shared) return shared.detail;
    const detail = this.#detail(resource, activities);
    this.#details.set(key, { at: now, detail });
    detail.catch(() => {
      if (this.#details.get(key)?.detail === detail) this.#details.delete(key);
    });
    return detail;
  }

  async #detail(resource: Resource, activities: number): Promise<AutoScalingDetail | undefined> {
    const bounds = await this.#bounds(resource);
    if (!bounds) return undefined;
    const { DescribeScalingPoliciesCommand, DescribeScalingActivitiesCommand } = autoScalingSdk();
    const client = this.#client(resource.region);
    const query = {
      ServiceNamespace: 'ecs' as const,
      ResourceId: resource.resourceId,
      ScalableDimension: ECS_DESIRED_COUNT,
    };
    try {
      const [policies, recent] = await Promise.all([
        client.send(new DescribeScalingPoliciesCommand({ ...query, MaxResults: 10 })),
        client.send(
          new DescribeScalingActivitiesCommand({ ...query, MaxResults: Math.max(1, Math.min(50, activities)) }),
        ),
      ]);
      return {
        ...bounds,
        policies: (policies.ScalingPolicies ?? []).map((p) => {
          const tracking = p.TargetTrackingScalingPolicyConfiguration;
          const metric =
            tracking?.PredefinedMetricSpecification?.PredefinedMetricType ??
            tracking?.CustomizedMetricSpecification?.MetricName;
          return {
            name: p.PolicyName ?? '?',
            type: p.PolicyType ?? '?',
            ...(tracking?.TargetValue === undefined ? {} : { targetValue: tracking.TargetValue }),
            ...(metric === undefined ? {} : { metric }),
          };
        }),
        activities: (recent.ScalingActivities ?? []).slice(0, activities).map((a) => ({
          at: a.StartTime ?? new Date(0),
          status: a.StatusCode ?? '?',
          description: a.Description ?? '',
          ...(a.Cause === undefined ? {} : { cause: a.Cause }),
        })),
      };
    } catch (error) {
      throw new AwsError(`read the scaling policies and activities of ${resource.resourceId}`, error);
    }
  }

  async setBounds(target: ResolvedTarget, bounds: ScalingBounds): Promise<void> {
    const { resourceId, region } = this.#resource(target);
    // The next /status shows the new bounds.
    for (const key of this.#details.keys())
      if (key.startsWith(`${region ?? ''} ${resourceId} `)) this.#details.delete(key);
    const { RegisterScalableTargetCommand } = autoScalingSdk();
    try {
      await this.#client(region).send(
        new RegisterScalableTargetCommand({
          ServiceNamespace: 'ecs',
          ResourceId: resourceId,
          ScalableDimension: ECS_DESIRED_COUNT,
          MinCapacity: bounds.min,
          MaxCapacity: bounds.max,
        }),
      );
    } catch (error) {
      throw new AwsError(`set the auto scaling bounds of ${resourceId}`, error);
    }
  }
}
