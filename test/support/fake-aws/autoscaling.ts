/**
 * Application Auto Scaling over JSON 1.1 (`X-Amz-Target: AnyScaleFrontendService.<Op>`), for the ECS namespace:
 * RegisterScalableTarget, DescribeScalableTargets, DescribeScalingPolicies, DescribeScalingActivities.
 *
 * Targets, policies and activities are seeded with `fake.putScalableTarget`, `fake.putScalingPolicy` and
 * `fake.putScalingActivity` (or the control ops of the same names). Like the service, RegisterScalableTarget on an
 * existing target changes only the bounds it is given, and when the service's desired count falls outside the new
 * bounds it is moved inside them (a `Setting desired count to N.` activity), as Application Auto Scaling does.
 * Errors are the service's: `ValidationException` (bad namespace or dimension, min > max, a new target without both
 * bounds, an ECS service that does not exist), `ObjectNotFoundException` (a policy seeded for no target).
 */
import { AwsError } from './errors.ts';
import type { FakeAws } from './fake-aws.ts';
import { optInt, optString, optStringArray, paginate } from './input.ts';
import { ACCOUNT_ID, type JsonObject, REGION } from './model.ts';

export const ECS_DIMENSION = 'ecs:service:DesiredCount';

export interface ScalableTargetState {
  resourceId: string;
  scalableDimension: string;
  minCapacity: number;
  maxCapacity: number;
  arn: string;
  createdAt: Date;
}

export interface ScalingPolicyState {
  resourceId: string;
  name: string;
  type: 'TargetTrackingScaling' | 'StepScaling' | 'PredictiveScaling';
  /** TargetTrackingScaling: the value and the metric (a predefined one, or a custom metric name). */
  targetValue?: number | undefined;
  predefinedMetric?: string | undefined;
  customMetric?: { name: string; namespace: string; statistic: string } | undefined;
  createdAt: Date;
}

export interface ScalingActivityState {
  id: string;
  resourceId: string;
  description: string;
  cause: string;
  startTime: Date;
  endTime?: Date | undefined;
  statusCode: 'Pending' | 'InProgress' | 'Successful' | 'Overridden' | 'Unfulfilled' | 'Failed';
  statusMessage?: string | undefined;
}

/** The fake's Application Auto Scaling state (by resource id, `service/<cluster>/<service>`). */
export class AutoScalingState {
  readonly targets = new Map<string, ScalableTargetState>();
  readonly policies: ScalingPolicyState[] = [];
  /** Oldest first; answered newest first. */
  readonly activities: ScalingActivityState[] = [];
  #counter = 0;

  nextId(): string {
    this.#counter++;
    return `fa4e${this.#counter.toString(16).padStart(4, '0')}-0000-4000-8000-000000000000`;
  }

  clear(): void {
    this.targets.clear();
    this.policies.length = 0;
    this.activities.length = 0;
    this.#counter = 0;
  }
}

const validation = (message: string): AwsError => new AwsError('ValidationException', message);

const namespaceOf = (input: JsonObject): 'ecs' => {
  const ns = input.ServiceNamespace;
  if (typeof ns !== 'string' || ns === '') throw validation('1 validation error detected: ServiceNamespace is null.');
  if (ns !== 'ecs') {
    throw validation(`Unsupported service namespace ${ns}: the fake knows ecs only.`);
  }
  return ns;
};

const dimensionOf = (input: JsonObject, required: boolean): string | undefined => {
  const d = optString(input, 'ScalableDimension');
  if (d === undefined) {
    if (required) throw validation('1 validation error detected: ScalableDimension is null.');
    return undefined;
  }
  if (d !== ECS_DIMENSION) throw validation(`Unsupported scalable dimension ${d} for service namespace ecs.`);
  return d;
};

const resourceIdOf = (input: JsonObject): string => {
  const id = optString(input, 'ResourceId');
  if (!id) throw validation('1 validation error detected: ResourceId is null.');
  const m = /^service\/([^/]+)\/([^/]+)$/.exec(id);
  if (!m) throw validation(`Unsupported resource ID ${id}: expected service/<cluster>/<service>.`);
  return id;
};

/** The ECS service a resource id names, if it exists. */
const serviceOf = (fake: FakeAws, resourceId: string) => {
  const [, cluster, service] = resourceId.split('/');
  return fake.services.get(`${cluster}/${service}`);
};

const serializeTarget = (t: ScalableTargetState): JsonObject => ({
  ServiceNamespace: 'ecs',
  ResourceId: t.resourceId,
  ScalableDimension: t.scalableDimension,
  MinCapacity: t.minCapacity,
  MaxCapacity: t.maxCapacity,
  RoleARN: `arn:aws:iam::${ACCOUNT_ID}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`,
  CreationTime: t.createdAt,
  SuspendedState: {
    DynamicScalingInSuspended: false,
    DynamicScalingOutSuspended: false,
    ScheduledScalingSuspended: false,
  },
  ScalableTargetARN: t.arn,
});

const policyArn = (p: ScalingPolicyState): string =>
  `arn:aws:autoscaling:${REGION}:${ACCOUNT_ID}:scalingPolicy:fa4e0000-0000-4000-8000-000000000000:resource/ecs/${p.resourceId}:policyName/${p.name}`;

const serializePolicy = (p: ScalingPolicyState): JsonObject => ({
  PolicyARN: policyArn(p),
  PolicyName: p.name,
  ServiceNamespace: 'ecs',
  ResourceId: p.resourceId,
  ScalableDimension: ECS_DIMENSION,
  PolicyType: p.type,
  ...(p.type === 'TargetTrackingScaling'
    ? {
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: p.targetValue ?? 50,
          ...(p.customMetric
            ? {
                CustomizedMetricSpecification: {
                  MetricName: p.customMetric.name,
                  Namespace: p.customMetric.namespace,
                  Statistic: p.customMetric.statistic,
                },
              }
            : {
                PredefinedMetricSpecification: {
                  PredefinedMetricType: p.predefinedMetric ?? 'ECSServiceAverageCPUUtilization',
                },
              }),
          ScaleOutCooldown: 60,
          ScaleInCooldown: 300,
          DisableScaleIn: false,
        },
      }
    : {}),
  ...(p.type === 'StepScaling'
    ? {
        StepScalingPolicyConfiguration: {
          AdjustmentType: 'ChangeInCapacity',
          StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
          Cooldown: 60,
        },
      }
    : {}),
  Alarms: [],
  CreationTime: p.createdAt,
});

const serializeActivity = (a: ScalingActivityState): JsonObject => ({
  ActivityId: a.id,
  ServiceNamespace: 'ecs',
  ResourceId: a.resourceId,
  ScalableDimension: ECS_DIMENSION,
  Description: a.description,
  Cause: a.cause,
  StartTime: a.startTime,
  EndTime: a.endTime,
  StatusCode: a.statusCode,
  StatusMessage: a.statusMessage,
});

function registerScalableTarget(fake: FakeAws, input: JsonObject) {
  namespaceOf(input);
  const resourceId = resourceIdOf(input);
  const scalableDimension = dimensionOf(input, true) as string;
  const min = optInt(input, 'MinCapacity', 0, 2_147_483_647);
  const max = optInt(input, 'MaxCapacity', 0, 2_147_483_647);
  const svc = serviceOf(fake, resourceId);
  if (svc?.status !== 'ACTIVE') throw validation(`ECS service doesn't exist: ${resourceId}`);
  const state = fake.autoScaling;
  let target = state.targets.get(resourceId);
  if (!target) {
    if (min === undefined || max === undefined) {
      throw validation('MinCapacity and MaxCapacity are required when registering a new scalable target.');
    }
    target = {
      resourceId,
      scalableDimension,
      minCapacity: min,
      maxCapacity: max,
      arn: `arn:aws:application-autoscaling:${REGION}:${ACCOUNT_ID}:scalable-target/${state.nextId().replace(/-/g, '').slice(0, 28)}`,
      createdAt: fake.now(),
    };
  }
  const newMin = min ?? target.minCapacity;
  const newMax = max ?? target.maxCapacity;
  if (newMin > newMax) {
    throw validation(`Minimum capacity ${newMin} cannot be greater than maximum capacity ${newMax}.`);
  }
  target.minCapacity = newMin;
  target.maxCapacity = newMax;
  state.targets.set(resourceId, target);
  const clamped = Math.min(newMax, Math.max(newMin, svc.desiredCount));
  if (clamped !== svc.desiredCount) {
    const from = svc.desiredCount;
    fake.updateService(svc, { desiredCount: clamped });
    state.activities.push({
      id: state.nextId(),
      resourceId,
      description: `Setting desired count to ${clamped}.`,
      cause: `${clamped > from ? 'minimum' : 'maximum'} capacity was set to ${clamped > from ? newMin : newMax}`,
      startTime: fake.now(),
      endTime: fake.now(),
      statusCode: 'Successful',
      statusMessage: `Successfully set desired count to ${clamped}. Change successfully fulfilled by ecs.`,
    });
  }
  return { ScalableTargetARN: target.arn };
}

function describeScalableTargets(fake: FakeAws, input: JsonObject) {
  namespaceOf(input);
  const ids = optStringArray(input, 'ResourceIds');
  const dimension = dimensionOf(input, false);
  const max = optInt(input, 'MaxResults', 1, 50) ?? 50;
  const targets = [...fake.autoScaling.targets.values()].filter(
    (t) =>
      (ids === undefined || ids.includes(t.resourceId)) &&
      (dimension === undefined || t.scalableDimension === dimension),
  );
  const { page, nextToken } = paginate(targets, optString(input, 'NextToken'), max, 'DescribeScalableTargets');
  return { ScalableTargets: page.map(serializeTarget), NextToken: nextToken };
}

function describeScalingPolicies(fake: FakeAws, input: JsonObject) {
  namespaceOf(input);
  const resourceId = optString(input, 'ResourceId');
  const dimension = dimensionOf(input, false);
  const names = optStringArray(input, 'PolicyNames');
  const max = optInt(input, 'MaxResults', 1, 50) ?? 50;
  const policies = fake.autoScaling.policies.filter(
    (p) =>
      (resourceId === undefined || p.resourceId === resourceId) &&
      (dimension === undefined || dimension === ECS_DIMENSION) &&
      (names === undefined || names.includes(p.name)),
  );
  const { page, nextToken } = paginate(policies, optString(input, 'NextToken'), max, 'DescribeScalingPolicies');
  return { ScalingPolicies: page.map(serializePolicy), NextToken: nextToken };
}

function describeScalingActivities(fake: FakeAws, input: JsonObject) {
  namespaceOf(input);
  const resourceId = optString(input, 'ResourceId');
  const dimension = dimensionOf(input, false);
  const max = optInt(input, 'MaxResults', 1, 50) ?? 50;
  const activities = [...fake.autoScaling.activities]
    .reverse()
    .filter(
      (a) =>
        (resourceId === undefined || a.resourceId === resourceId) && (dimension ?? ECS_DIMENSION) === ECS_DIMENSION,
    );
  const { page, nextToken } = paginate(activities, optString(input, 'NextToken'), max, 'DescribeScalingActivities');
  return { ScalingActivities: page.map(serializeActivity), NextToken: nextToken };
}

export const autoScalingHandlers: Record<string, (fake: FakeAws, input: JsonObject) => unknown> = {
  RegisterScalableTarget: registerScalableTarget,
  DescribeScalableTargets: describeScalableTargets,
  DescribeScalingPolicies: describeScalingPolicies,
  DescribeScalingActivities: describeScalingActivities,
};

// ---------------------------------------------------------------------------------------------------------------
// Seeding

export const resourceIdFor = (cluster: string, service: string): string => `service/${cluster}/${service}`;

export interface SeedScalingPolicy {
  name: string;
  type?: ScalingPolicyState['type'];
  targetValue?: number;
  predefinedMetric?: string;
  customMetric?: { name: string; namespace: string; statistic: string };
}

export interface SeedScalingActivity {
  description: string;
  cause: string;
  statusCode?: ScalingActivityState['statusCode'];
  statusMessage?: string;
  startTime?: Date;
}

/** Registers (or re-bounds) the scalable target of an existing ECS service. */
export function putScalableTarget(
  fake: FakeAws,
  cluster: string,
  service: string,
  bounds: { min: number; max: number },
): ScalableTargetState {
  registerScalableTarget(fake, {
    ServiceNamespace: 'ecs',
    ResourceId: resourceIdFor(cluster, service),
    ScalableDimension: ECS_DIMENSION,
    MinCapacity: bounds.min,
    MaxCapacity: bounds.max,
  });
  return fake.autoScaling.targets.get(resourceIdFor(cluster, service)) as ScalableTargetState;
}

export function putScalingPolicy(fake: FakeAws, cluster: string, service: string, policy: SeedScalingPolicy): void {
  const resourceId = resourceIdFor(cluster, service);
  if (!fake.autoScaling.targets.has(resourceId)) {
    throw new AwsError(
      'ObjectNotFoundException',
      `No scalable target registered for service namespace: ecs, resource ID: ${resourceId}, scalable dimension: ${ECS_DIMENSION}`,
    );
  }
  fake.autoScaling.policies.push({
    resourceId,
    name: policy.name,
    type: policy.type ?? 'TargetTrackingScaling',
    targetValue: policy.targetValue,
    predefinedMetric: policy.predefinedMetric,
    customMetric: policy.customMetric,
    createdAt: fake.now(),
  });
}

export function putScalingActivity(
  fake: FakeAws,
  cluster: string,
  service: string,
  activity: SeedScalingActivity,
): void {
  const start = activity.startTime ?? fake.now();
  fake.autoScaling.activities.push({
    id: fake.autoScaling.nextId(),
    resourceId: resourceIdFor(cluster, service),
    description: activity.description,
    cause: activity.cause,
    startTime: start,
    endTime: start,
    statusCode: activity.statusCode ?? 'Successful',
    statusMessage: activity.statusMessage,
  });
}
