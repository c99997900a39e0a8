/** State types of the fake AWS endpoint. All objects are live state: read them, don't mutate them. */

export const ACCOUNT_ID = '123456789012';
export const REGION = 'us-east-1';

export type JsonObject = Record<string, unknown>;
export type AwsServiceName =
  | 'ECS'
  | 'ECR'
  | 'Logs'
  | 'EC2'
  | 'Route53'
  | 'CloudWatch'
  | 'ApplicationAutoScaling'
  | 'ELBv2';

export interface ClusterState {
  name: string;
  arn: string;
  createdAt: Date;
}

export type RolloutState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
export type HealthStatus = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

export interface DeploymentState {
  /** `ecs-svc/<19 digits>`; also the `startedBy` of the tasks this deployment launched. */
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDefinition: string;
  desiredCount: number;
  failedTasks: number;
  rolloutState: RolloutState;
  rolloutStateReason: string;
  createdAt: Date;
  updatedAt: Date;
  /** Fake-only: tasks launched by this deployment exit (set by `failNextRollout`). */
  failure?: DeploymentFailure;
  /**
   * Fake-only: the deployment alarms that fail this deployment when they go into ALARM (the service's, less those
   * already in ALARM when it started). Unset without deployment alarms, and for a rollback deployment.
   */
  watchedAlarms?: string[];
}

export interface DeploymentFailure {
  rolloutStateReason: string;
  stoppedReason: string;
  exitCode: number;
  /** Failed tasks after which the circuit breaker trips. */
  threshold: number;
}

export type ServiceDeploymentStatus =
  | 'PENDING'
  | 'IN_PROGRESS'
  | 'SUCCESSFUL'
  | 'STOPPED'
  | 'STOP_REQUESTED'
  | 'ROLLBACK_REQUESTED'
  | 'ROLLBACK_IN_PROGRESS'
  | 'ROLLBACK_SUCCESSFUL'
  | 'ROLLBACK_FAILED';

/** Statuses of a service deployment that has not finished (StopServiceDeployment accepts these). */
export const ONGOING_SERVICE_DEPLOYMENT_STATUSES: readonly ServiceDeploymentStatus[] = [
  'PENDING',
  'IN_PROGRESS',
  'STOP_REQUESTED',
  'ROLLBACK_REQUESTED',
  'ROLLBACK_IN_PROGRESS',
];

/** A service revision as a service deployment names it: the one of an ECS deployment (same numeric id). */
export interface ServiceRevisionRef {
  /** `arn:aws:ecs:…:service-revision/<cluster>/<service>/<digits of the ecs-svc id>` */
  arn: string;
  /** The `ecs-svc/…` deployment that runs it. */
  deploymentId: string;
  taskDefinition: string;
}

/**
 * One service deployment (ListServiceDeployments / DescribeServiceDeployments): created by every UpdateService that
 * starts an ECS deployment. A rollback (circuit breaker or StopServiceDeployment) is part of the same service
 * deployment, although DescribeServices shows it as a new `ecs-svc/…` deployment.
 */
export interface ServiceDeploymentState {
  /** `arn:aws:ecs:<region>:<account>:service-deployment/<cluster>/<service>/<22 characters>` */
  arn: string;
  cluster: string;
  service: string;
  status: ServiceDeploymentStatus;
  statusReason?: string;
  target: ServiceRevisionRef;
  /** The revisions that ran when it started (the previous PRIMARY first). */
  sources: ServiceRevisionRef[];
  createdAt: Date;
  startedAt: Date;
  updatedAt: Date;
  finishedAt?: Date;
  stoppedAt?: Date;
  rollback?: { reason: string; startedAt: Date; revision: ServiceRevisionRef };
  /** BLUE_GREEN services only: the lifecycle stage (DescribeServiceDeployments `lifecycleStage`). */
  lifecycleStage?: LifecycleStage;
  /** Fake-only: when the current lifecycle stage began (bake time is counted from it). */
  stageStartedAt?: Date;
  /** The deployment alarms that failed it (DescribeServiceDeployments `alarms.triggeredAlarmNames`). */
  triggeredAlarms?: string[];
}

/** The lifecycle stages a BLUE_GREEN service deployment walks in the fake, one per step (BAKE_TIME: by the clock). */
export const BLUE_GREEN_STAGES = [
  'PRE_SCALE_UP',
  'SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
  'BAKE_TIME',
  'CLEAN_UP',
] as const;
export type LifecycleStage = (typeof BLUE_GREEN_STAGES)[number];

export interface ServiceEvent {
  id: string;
  createdAt: Date;
  message: string;
}

export interface ServiceState {
  cluster: string;
  name: string;
  arn: string;
  taskDefinition: string;
  desiredCount: number;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  /** PRIMARY first. */
  deployments: DeploymentState[];
  /** Newest first. */
  events: ServiceEvent[];
  /** Newest first. */
  serviceDeployments: ServiceDeploymentState[];
  deploymentConfiguration: {
    maximumPercent: number;
    minimumHealthyPercent: number;
    deploymentCircuitBreaker: { enable: boolean; rollback: boolean };
    /** Present only on services seeded with `strategy: 'BLUE_GREEN'` (rolling services answer as before). */
    strategy?: 'BLUE_GREEN';
    bakeTimeInMinutes?: number;
    /** ECS deployment alarms; absent unless seeded or set by UpdateService. */
    alarms?: { alarmNames: string[]; enable: boolean; rollback: boolean };
  };
  assignPublicIp: boolean;
  /** Default FARGATE (awsvpc). EC2: tasks are placed on the cluster's container instances. */
  launchType: 'FARGATE' | 'EC2';
  networkMode: 'awsvpc' | 'bridge' | 'host';
  subnets: string[];
  securityGroups: string[];
  createdAt: Date;
  /** Fake-only: the last step found nothing to do (a "steady state" event was emitted). */
  steady: boolean;
  /** The target groups its tasks register in (DescribeServices `loadBalancers`); [] without a load balancer. */
  loadBalancers: ServiceLoadBalancerState[];
  /** Fake-only: armed by `failNextRollout`, consumed by the next new deployment. */
  pendingFailure?: Omit<DeploymentFailure, 'threshold'> & { threshold?: number };
}

export interface TaskDefinitionRecord {
  family: string;
  revision: number;
  arn: string;
  status: 'ACTIVE' | 'INACTIVE';
  registeredAt: Date;
  /** Exactly the RegisterTaskDefinition input that created this revision (minus nothing). */
  input: JsonObject;
}

export interface ContainerState {
  name: string;
  image: string;
  /** What ECS reports it pulled: the digest the image names, else its tag's in the fake ECR at launch (else unknown). */
  imageDigest?: string;
  essential: boolean;
  hasHealthCheck: boolean;
  containerArn: string;
  runtimeId: string;
  lastStatus: 'PENDING' | 'RUNNING' | 'STOPPED';
  exitCode?: number;
  reason?: string;
  healthStatus: HealthStatus;
  /** EC2 launch type (bridge or host networking): the host ports of its port mappings on the instance. */
  networkBindings?: NetworkBinding[];
}

export interface NetworkBinding {
  bindIP: string;
  containerPort: number;
  hostPort: number;
  protocol: string;
}

/** A container instance of a cluster (EC2 launch type) and the EC2 instance under it. */
export interface ContainerInstanceState {
  arn: string;
  cluster: string;
  ec2InstanceId: string;
  /** undefined = no public IP. Changes when the instance is stopped and started (`restartInstance`). */
  publicIp?: string;
  privateIp: string;
  registeredAt: Date;
  /** Next dynamic host port (bridge networking with hostPort 0), from 32768 like Docker's ephemeral range. */
  nextHostPort: number;
}

export interface TaskState {
  id: string;
  arn: string;
  cluster: string;
  /** `service:<name>` */
  group: string;
  service: string;
  taskDefinitionArn: string;
  /** The deployment id that launched it. */
  startedBy: string;
  lastStatus: 'PENDING' | 'RUNNING' | 'STOPPED';
  desiredStatus: 'RUNNING' | 'STOPPED';
  healthStatus: HealthStatus;
  containers: ContainerState[];
  createdAt: Date;
  startedAt?: Date;
  stoppingAt?: Date;
  stoppedAt?: Date;
  stoppedReason?: string;
  stopCode?: string;
  attachmentId: string;
  /** '' for EC2-launch-type tasks with bridge or host networking (no ENI). */
  eniId: string;
  privateIp: string;
  /** EC2 launch type: the container instance it runs on. */
  containerInstanceArn?: string;
  cpu?: string;
  memory?: string;
}

export interface EniState {
  id: string;
  privateIp: string;
  publicIp?: string;
  subnetId: string;
  securityGroups: string[];
  macAddress: string;
  taskArn: string;
  attachmentId: string;
  createdAt: Date;
  /** ENIs of stopped tasks are deleted, as on Fargate: EC2 then answers NotFound. */
  deleted: boolean;
}

export interface ImageState {
  digest: string;
  tags: string[];
  pushedAt: Date;
  sizeInBytes: number;
  /** Its basic scan (DescribeImageScanFindings); absent = never scanned (ScanNotFoundException). */
  scan?: ImageScanState;
}

/** ECR's scan severities, as findingSeverityCounts keys them. */
export type ScanSeverity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'INFORMATIONAL' | 'UNDEFINED';

/**
 * A seeded scan: it answers PENDING to the first call, IN_PROGRESS to the next `inProgressCalls - 1` calls (or until
 * the fake clock reaches `completesAt`), then `status` (COMPLETE with `counts`, or FAILED / UNSUPPORTED_IMAGE).
 */
export interface ImageScanState {
  status: 'COMPLETE' | 'FAILED' | 'UNSUPPORTED_IMAGE';
  counts: Partial<Record<ScanSeverity, number>>;
  description?: string | undefined;
  /** Calls still to answer PENDING/IN_PROGRESS (counted down). */
  inProgressCalls: number;
  /** Calls answered so far. */
  calls: number;
  /** In progress until the fake clock reaches this, whatever the call count. */
  completesAt?: Date | undefined;
  completedAt?: Date | undefined;
}

export interface RepositoryState {
  name: string;
  arn: string;
  createdAt: Date;
  images: ImageState[];
}

export interface LogEventState {
  timestamp: number;
  message: string;
  ingestionTime: number;
  eventId: string;
}

export interface LogStreamState {
  name: string;
  createdAt: number;
  events: LogEventState[];
}

export interface LogGroupState {
  name: string;
  arn: string;
  createdAt: number;
  streams: Map<string, LogStreamState>;
}

/** One request the fake received (including ones answered with an injected fault). */
export interface RequestRecord {
  /** e.g. `ECS.DescribeServices` */
  key: string;
  service: AwsServiceName;
  op: string;
  /** Parsed input: the JSON body, or the EC2 form decoded into nested objects/arrays. */
  input: JsonObject;
  at: number;
  /** HTTP status answered. */
  status: number;
  /** Error code answered, if any. */
  error?: string;
  /** True when the error was injected by `faults()`. */
  injected?: boolean;
}

export interface FaultConfig {
  /** Probability [0,1] that a matching request is throttled (ECS/ECR/Logs `ThrottlingException` 400, EC2 `RequestLimitExceeded` 503). */
  throttleRate?: number;
  /** Probability [0,1] that a matching request gets a 500 or 503 server error. */
  errorRate?: number;
  /** Restrict the rates to these operations: `ECS.DescribeServices`, `DescribeServices` or a whole service `ECS`. */
  operations?: string[];
  /** PRNG seed for the rolls (default 1). */
  seed?: number;
  /** Fail the next `count` (default 1) calls of `op` with `code` (default: the service's throttling code). */
  failNext?: FailNextFault | FailNextFault[];
}

export interface FailNextFault {
  op: string;
  count?: number;
  code?: string;
  status?: number;
  message?: string;
}

/** A CloudWatch alarm (metric or composite), as DescribeAlarms shows it. */
export interface AlarmState {
  name: string;
  arn: string;
  type: 'MetricAlarm' | 'CompositeAlarm';
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  reason: string;
  reasonData?: string;
  updatedAt: Date;
  /** Metric alarms: what they watch (for a plausible answer; the fake never evaluates metrics). */
  namespace?: string;
  metricName?: string;
  threshold?: number;
}

/** A service's target group (DescribeServices `loadBalancers`). */
export interface ServiceLoadBalancerState {
  targetGroupArn: string;
  containerName: string;
  containerPort: number;
}

/** ELBv2 DescribeTargetHealth `TargetHealth.State`. */
export type TargetHealthState = 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'unavailable';

/** One registered target of a target group, following one task. */
export interface TargetRecord {
  /** The task's IP (target type ip) or its instance id (target type instance). */
  id: string;
  port: number;
  taskArn: string;
  state: TargetHealthState;
  reason?: string | undefined;
  description?: string | undefined;
  /** Steps spent in this state. */
  steps: number;
  /** Set by `setTargetHealth`: the state stays until set healthy. */
  forced?: boolean | undefined;
}

/** An ELBv2 target group (fake-only: created by `seedService({ loadBalancers })` or `createTargetGroup`). */
export interface TargetGroupState {
  arn: string;
  name: string;
  /** ip: awsvpc tasks register their ENI's IP; instance: EC2-launch-type tasks their instance and host port. */
  targetType: 'ip' | 'instance';
  containerName: string;
  containerPort: number;
  /** Steps a new target stays `initial` before it is healthy (or unhealthy, see `failNew`). */
  healthyAfterSteps: number;
  /** Set by `failNewTargets`: new targets become unhealthy with this reason. */
  failNew?: { reason: string; description: string } | undefined;
  targets: TargetRecord[];
}
