import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import {
  AutoScalingState,
  autoScalingHandlers,
  putScalableTarget,
  putScalingActivity,
  putScalingPolicy,
  type ScalableTargetState,
  type SeedScalingActivity,
  type SeedScalingPolicy,
} from './autoscaling.ts';
import { cloudWatchHandlers } from './cloudwatch.ts';
import { ec2Handlers } from './ec2.ts';
import { ecrHandlers } from './ecr.ts';
import { ecsHandlers } from './ecs.ts';
import {
  DEFAULT_HEALTHY_AFTER_STEPS,
  elbv2Handlers,
  failNewTargets,
  healTargets,
  setTargetHealth,
  syncTargets,
  targetGroupArn,
} from './elbv2.ts';
import { AwsError, statusForCode } from './errors.ts';
import { logsHandlers } from './logs.ts';
import {
  ACCOUNT_ID,
  type AlarmState,
  type AwsServiceName,
  BLUE_GREEN_STAGES,
  type ClusterState,
  type ContainerInstanceState,
  type ContainerState,
  type DeploymentState,
  type EniState,
  type FailNextFault,
  type FaultConfig,
  type HealthStatus,
  type ImageScanState,
  type ImageState,
  type JsonObject,
  type LogGroupState,
  type LogStreamState,
  ONGOING_SERVICE_DEPLOYMENT_STATUSES,
  REGION,
  type RepositoryState,
  type RequestRecord,
  type ScanSeverity,
  type ServiceDeploymentState,
  type ServiceRevisionRef,
  type ServiceState,
  type TargetGroupState,
  type TargetRecord,
  type TaskDefinitionRecord,
  type TaskState,
} from './model.ts';
import { createPrng, type Prng } from './prng.ts';
import { type ChangeState, fqdn, type HostedZoneState, type RecordSetState, route53Handlers } from './route53.ts';
import { startServer } from './server.ts';

export interface FakeAwsOptions {
  /**
   * `onDescribe` (default): every ECS DescribeServices call advances each described service by one rollout step,
   * so a process polling DescribeServices sees rollouts progress and finish. `manual`: only `step()` advances.
   */
  autoStep?: 'onDescribe' | 'manual';
  /** Seed for generated ids (task ids, ENIs, deployment ids). Default 1. */
  seed?: number;
  /** Clock for timestamps (rollouts never depend on it). Default: real time. */
  now?: () => Date;
  /**
   * ECR GetAuthorizationToken answer: base64 `username:password` (username `AWS` by default, as ECR's), valid for
   * tokenTtlSeconds from `now()`. Point proxyEndpoint at a real registry with these credentials to push for real.
   */
  ecr?: { proxyEndpoint?: string; username?: string; password?: string; tokenTtlSeconds?: number };
}

export interface SeedContainer {
  name: string;
  image: string;
  essential?: boolean;
  /** A map or the ECS `[{name, value}]` list. */
  environment?: Record<string, string> | Array<{ name: string; value: string }>;
  secrets?: Array<{ name: string; valueFrom: string }>;
  portMappings?: Array<{ containerPort: number; hostPort?: number; protocol?: string }>;
  healthCheck?: { command: string[]; interval?: number; timeout?: number; retries?: number; startPeriod?: number };
  /** Default: awslogs to the service's log group with stream prefix `ecs`. */
  logConfiguration?: JsonObject;
  /** Any other container definition fields, copied as is. */
  extra?: JsonObject;
}

export interface SeedServiceOptions {
  cluster?: string;
  service: string;
  /** Task definition family (default: the service name). */
  family?: string;
  containers: SeedContainer[];
  /** Default 1. */
  desiredCount?: number;
  /** Tasks get a public IP (default true); false models private subnets. */
  publicIp?: boolean;
  /**
   * Default FARGATE (awsvpc networking, a task ENI each). EC2: the tasks are placed on the cluster's container
   * instances (`addContainerInstance`, first), with `networkMode` bridge (default; a hostPort of 0 or none gets a
   * dynamic host port from 32768) or host (host port = container port); they have no ENI.
   */
  launchType?: 'FARGATE' | 'EC2';
  networkMode?: 'bridge' | 'host';
  /** Default `/ecs/<family>`. */
  logGroup?: string;
  cpu?: string;
  memory?: string;
  taskRoleArn?: string;
  executionRoleArn?: string;
  /** Default `{ enable: true, rollback: true }`. */
  circuitBreaker?: { enable: boolean; rollback: boolean };
  /** Register this many revisions (identical but for the revision); the service runs the last. Default 1. */
  revisions?: number;
  /**
   * `BLUE_GREEN`: the ECS blue/green deployment strategy. Each new deployment's service deployment walks the
   * lifecycle stages one per step (BAKE_TIME lasts `bakeTimeInMinutes` by the fake's clock); see README.
   */
  strategy?: 'BLUE_GREEN';
  /** Bake time of a BLUE_GREEN service (default 0: the step after the production traffic shift cleans up). */
  bakeTimeInMinutes?: number;
  /**
   * ECS deployment alarms (`deploymentConfiguration.alarms`; `enable` and `rollback` default true). Alarms named here
   * that do not exist yet are created in state OK (`putAlarm` first for another state or a composite alarm).
   */
  alarms?: { alarmNames: string[]; enable?: boolean; rollback?: boolean };
  /**
   * Target groups the service's tasks register in (created when missing; seeded tasks are healthy targets). Target
   * type ip for awsvpc tasks, instance for the EC2 launch type. Default container: the first; default port 80.
   */
  loadBalancers?: Array<{
    targetGroup: string;
    containerName?: string;
    containerPort?: number;
    /** Steps a new target stays `initial` (default 3). */
    healthyAfterSteps?: number;
  }>;
}

export interface SeededService {
  cluster: ClusterState;
  service: ServiceState;
  taskDefinition: TaskDefinitionRecord;
  tasks: TaskState[];
}

export interface FailRolloutOptions {
  /** rolloutStateReason of the failed deployment. Default `ECS deployment circuit breaker: tasks failed to start.` */
  reason?: string;
  /** stoppedReason of the failing tasks. Default `Essential container in task exited`. */
  stoppedReason?: string;
  /** Exit code of the first essential container. Default 1. */
  exitCode?: number;
  /** Failed tasks that trip the circuit breaker. Default like ECS: max(3, ceil(desired / 2)), at most 200. */
  threshold?: number;
}

/** An entry of DescribeServices' `failures` (`failServiceDescribe`): ECS's code and, optionally, its text. */
export interface ServiceDescribeFailure {
  reason: string;
  detail?: string;
}

export interface StopTaskOptions {
  reason?: string;
  exitCode?: number;
  stopCode?: string;
}

type Handler = (fake: FakeAws, input: JsonObject) => unknown;

const HANDLERS: Record<AwsServiceName, Record<string, Handler>> = {
  ECS: ecsHandlers,
  ECR: ecrHandlers,
  Logs: logsHandlers,
  EC2: ec2Handlers,
  Route53: route53Handlers,
  CloudWatch: cloudWatchHandlers,
  ApplicationAutoScaling: autoScalingHandlers,
  ELBv2: elbv2Handlers,
};

const THROTTLE: Record<AwsServiceName, { code: string; status: number }> = {
  ECS: { code: 'ThrottlingException', status: 400 },
  ECR: { code: 'ThrottlingException', status: 400 },
  Logs: { code: 'ThrottlingException', status: 400 },
  EC2: { code: 'RequestLimitExceeded', status: 503 },
  Route53: { code: 'Throttling', status: 400 },
  CloudWatch: { code: 'Throttling', status: 400 },
  ApplicationAutoScaling: { code: 'ThrottlingException', status: 400 },
  ELBv2: { code: 'Throttling', status: 400 },
};
const SERVER_ERROR: Record<AwsServiceName, { code: string; status: number }> = {
  ECS: { code: 'ServerException', status: 500 },
  ECR: { code: 'ServerException', status: 500 },
  Logs: { code: 'ServiceUnavailableException', status: 500 },
  EC2: { code: 'InternalError', status: 500 },
  Route53: { code: 'InternalFailure', status: 500 },
  CloudWatch: { code: 'InternalServiceError', status: 500 },
  ApplicationAutoScaling: { code: 'InternalServiceException', status: 500 },
  ELBv2: { code: 'InternalFailure', status: 500 },
};
const UNAVAILABLE: Record<AwsServiceName, { code: string; status: number }> = {
  ECS: { code: 'ServiceUnavailable', status: 503 },
  ECR: { code: 'ServiceUnavailable', status: 503 },
  Logs: { code: 'ServiceUnavailable', status: 503 },
  EC2: { code: 'Unavailable', status: 503 },
  Route53: { code: 'ServiceUnavailable', status: 503 },
  CloudWatch: { code: 'ServiceUnavailable', status: 503 },
  ApplicationAutoScaling: { code: 'ServiceUnavailable', status: 503 },
  ELBv2: { code: 'ServiceUnavailable', status: 503 },
};

const DEFAULT_PROXY = `https://${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com`;
const MAX_EVENTS = 100;

export const arn = {
  cluster: (name: string) => `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:cluster/${name}`,
  service: (cluster: string, name: string) => `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:service/${cluster}/${name}`,
  task: (cluster: string, id: string) => `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:task/${cluster}/${id}`,
  taskDefinition: (family: string, revision: number) =>
    `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:task-definition/${family}:${revision}`,
  serviceDeployment: (cluster: string, service: string, id: string) =>
    `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:service-deployment/${cluster}/${service}/${id}`,
  /** ECS numbers a service revision like the `ecs-svc/<digits>` deployment that runs it. */
  serviceRevision: (cluster: string, service: string, deploymentId: string) =>
    `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:service-revision/${cluster}/${service}/${deploymentId.replace(/^ecs-svc\//, '')}`,
  repository: (name: string) => `arn:aws:ecr:${REGION}:${ACCOUNT_ID}:repository/${name}`,
  logGroup: (name: string) => `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:${name}`,
};

/** Last path segment of an ARN (`.../name`), or the ref itself. */
export function nameFromRef(ref: string): string {
  if (!ref.startsWith('arn:')) return ref;
  const slash = ref.lastIndexOf('/');
  return slash >= 0 ? ref.slice(slash + 1) : ref;
}

/**
 * A stateful fake of the ECS, ECR, CloudWatch Logs and EC2 APIs dockhand uses, speaking the real wire protocols
 * on one HTTP port. See README.md next to this file.
 */
export class FakeAws {
  readonly clusters = new Map<string, ClusterState>();
  /** Keyed `<cluster>/<service>`. */
  readonly services = new Map<string, ServiceState>();
  /** family → revisions (index = revision - 1). */
  readonly taskDefinitions = new Map<string, TaskDefinitionRecord[]>();
  /** task ARN → task, in launch order (stopped tasks are kept). */
  readonly tasks = new Map<string, TaskState>();
  readonly enis = new Map<string, EniState>();
  /** By container instance ARN. */
  readonly containerInstances = new Map<string, ContainerInstanceState>();
  readonly repositories = new Map<string, RepositoryState>();
  readonly logGroups = new Map<string, LogGroupState>();
  /** Route 53 hosted zones by id (without "/hostedzone/"). */
  readonly hostedZones = new Map<string, HostedZoneState>();
  /** Route 53 changes by id (without "/change/"). */
  readonly changes = new Map<string, ChangeState>();
  /** CloudWatch alarms by name. */
  readonly alarms = new Map<string, AlarmState>();
  /** Application Auto Scaling: scalable targets, policies, activities (autoscaling.ts). */
  readonly autoScaling = new AutoScalingState();
  /** ELBv2 target groups by ARN. */
  readonly targetGroups = new Map<string, TargetGroupState>();

  autoStep: 'onDescribe' | 'manual';
  ecrProxyEndpoint: string;
  ecrUsername: string;
  ecrPassword: string;
  ecrTokenTtlSeconds: number;
  url = '';

  readonly #now: () => Date;
  readonly #ids: Prng;
  /** Service deployment ids have their own sequence, so they do not shift task ids and IPs. */
  readonly #serviceDeploymentIds: Prng;
  /** Set by `disableServiceDeployments`: the error the service-deployment operations answer. */
  #serviceDeploymentsDisabled: string | undefined;
  /** Set by `failServiceDescribe`: services DescribeServices answers as a `failures[]` entry, by `cluster/service`. */
  readonly #describeFailures = new Map<string, ServiceDescribeFailure>();
  #faultPrng: Prng = createPrng(1);
  #faultConfig: FaultConfig | null = null;
  #failNext: Array<Required<Pick<FailNextFault, 'op' | 'count'>> & FailNextFault> = [];
  #slowAnswers = new Map<string, { ms: number; calls: number }>();
  #counts = new Map<string, number>();
  #requests: RequestRecord[] = [];
  #server: Server | undefined;
  #publicIpCounter = 0;
  #instanceCounter = 0;
  #privateIpCounter = 0;
  #requestCounter = 0;
  #eventCounter = 0;
  #digestCounter = 0;

  constructor(options: FakeAwsOptions = {}) {
    this.autoStep = options.autoStep ?? 'onDescribe';
    this.#now = options.now ?? (() => new Date());
    this.#ids = createPrng(options.seed ?? 1);
    this.#serviceDeploymentIds = createPrng((options.seed ?? 1) + 0x5d);
    this.ecrProxyEndpoint = options.ecr?.proxyEndpoint ?? DEFAULT_PROXY;
    this.ecrUsername = options.ecr?.username ?? 'AWS';
    this.ecrPassword = options.ecr?.password ?? 'fake-ecr-password';
    this.ecrTokenTtlSeconds = options.ecr?.tokenTtlSeconds ?? 12 * 3600;
  }

  // ---------------------------------------------------------------- server

  async start(): Promise<{ url: string }> {
    if (this.#server) return { url: this.url };
    const { server, url } = await startServer(this);
    this.#server = server;
    this.url = url;
    return { url };
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  now(): Date {
    return this.#now();
  }

  nextRequestId(): string {
    this.#requestCounter++;
    const n = this.#requestCounter.toString(16).padStart(12, '0');
    return `fa4e0000-0000-4000-8000-${n}`;
  }

  /** Forget all state, faults and recorded calls (the server keeps running; options are kept). */
  reset(): void {
    this.clusters.clear();
    this.services.clear();
    this.taskDefinitions.clear();
    this.tasks.clear();
    this.enis.clear();
    this.containerInstances.clear();
    this.repositories.clear();
    this.logGroups.clear();
    this.hostedZones.clear();
    this.changes.clear();
    this.alarms.clear();
    this.autoScaling.clear();
    this.targetGroups.clear();
    this.faults(null);
    this.enableServiceDeployments();
    this.#describeFailures.clear();
    this.resetCalls();
  }

  // ---------------------------------------------------------------- calls and faults

  /** Per-operation request counts, keyed like `ECS.DescribeServices`. */
  get calls(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  /** Every AWS request received since the last `resetCalls()`, oldest first. */
  get requests(): readonly RequestRecord[] {
    return this.#requests;
  }

  /** Requests for one operation key, e.g. `ECS.RegisterTaskDefinition`. */
  requestsFor(key: string): RequestRecord[] {
    return this.#requests.filter((r) => r.key === key);
  }

  resetCalls(): void {
    this.#counts.clear();
    this.#requests = [];
  }

  /** Configure fault injection (replaces the previous configuration); `faults(null)` turns it off. */
  faults(config: FaultConfig | null): void {
    this.#faultConfig = config;
    this.#faultPrng = createPrng(config?.seed ?? 1);
    const failNext = config?.failNext === undefined ? [] : [config.failNext].flat();
    this.#failNext = failNext.map((f) => ({ ...f, count: f.count ?? 1 }));
  }

  /**
   * The next `calls` calls of `key` (e.g. `ECS.UpdateService`) are carried out at once but answered only after `ms`:
   * AWS applied the change, and the caller is left waiting (or is killed meanwhile).
   */
  slowNext(key: string, ms: number, calls = 1): void {
    this.#slowAnswers.set(key, { ms, calls });
  }

  /** How long to hold the answer to this call of `key` (used by the HTTP server); 0 for most calls. */
  answerDelay(key: string): number {
    const slow = this.#slowAnswers.get(key);
    if (!slow || slow.calls <= 0) return 0;
    slow.calls -= 1;
    if (slow.calls === 0) this.#slowAnswers.delete(key);
    return slow.ms;
  }

  /**
   * Entry point of the HTTP server: count, maybe inject a fault, run the handler.
   * Returns the handler output; throws AwsError for wire errors.
   */
  invoke(service: AwsServiceName, op: string, input: JsonObject): unknown {
    const key = `${service}.${op}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    const record: RequestRecord = { key, service, op, input, at: Date.now(), status: 200 };
    this.#requests.push(record);
    try {
      const injected = this.#injectedFault(service, op, key);
      if (injected) {
        record.injected = true;
        throw injected;
      }
      const handler = HANDLERS[service][op];
      if (!handler) {
        if (service === 'EC2' || service === 'ELBv2')
          throw new AwsError('InvalidAction', `The action ${op} is not valid for this web service.`);
        throw new AwsError('UnknownOperationException', `Operation ${op} is not supported by the fake ${service}.`);
      }
      return handler(this, input);
    } catch (err) {
      if (err instanceof AwsError) {
        record.status = err.status;
        record.error = err.code;
      } else {
        record.status = 500;
        record.error = 'InternalFailure';
      }
      throw err;
    }
  }

  #injectedFault(service: AwsServiceName, op: string, key: string): AwsError | undefined {
    const matches = (pattern: string) => pattern === key || pattern === op || pattern === service;
    const next = this.#failNext.find((f) => f.count > 0 && matches(f.op));
    if (next) {
      next.count--;
      const code = next.code ?? THROTTLE[service].code;
      const status = next.status ?? (next.code ? statusForCode(code) : THROTTLE[service].status);
      return new AwsError(code, next.message ?? `Injected fault (${code}) for ${key}`, status);
    }
    const config = this.#faultConfig;
    if (!config) return undefined;
    if (config.operations && !config.operations.some(matches)) return undefined;
    if (config.throttleRate && this.#faultPrng.next() < config.throttleRate) {
      const t = THROTTLE[service];
      return new AwsError(t.code, 'Rate exceeded', t.status);
    }
    if (config.errorRate && this.#faultPrng.next() < config.errorRate) {
      const e = this.#faultPrng.next() < 0.5 ? SERVER_ERROR[service] : UNAVAILABLE[service];
      return new AwsError(e.code, 'Injected server error', e.status);
    }
    return undefined;
  }

  // ---------------------------------------------------------------- Application Auto Scaling

  /** Registers (or re-bounds) the scalable target of a seeded ECS service's desired count. */
  putScalableTarget(cluster: string, service: string, bounds: { min: number; max: number }): ScalableTargetState {
    return putScalableTarget(this, cluster, service, bounds);
  }

  /** A scaling policy of a registered scalable target (TargetTrackingScaling on CPU by default). */
  putScalingPolicy(cluster: string, service: string, policy: SeedScalingPolicy): void {
    putScalingPolicy(this, cluster, service, policy);
  }

  /** A past scaling activity of a service (answered newest first). */
  putScalingActivity(cluster: string, service: string, activity: SeedScalingActivity): void {
    putScalingActivity(this, cluster, service, activity);
  }

  // ---------------------------------------------------------------- ELBv2

  /** A target group (returned as is when one of that name exists). */
  createTargetGroup(
    name: string,
    opts: {
      targetType?: 'ip' | 'instance';
      containerName?: string;
      containerPort?: number;
      healthyAfterSteps?: number;
    } = {},
  ): TargetGroupState {
    const existing = [...this.targetGroups.values()].find((g) => g.name === name);
    if (existing) return existing;
    const id = createHash('sha256').update(`targetgroup/${name}`).digest('hex').slice(0, 16);
    const group: TargetGroupState = {
      arn: targetGroupArn(name, id),
      name,
      targetType: opts.targetType ?? 'ip',
      containerName: opts.containerName ?? 'app',
      containerPort: opts.containerPort ?? 80,
      healthyAfterSteps: opts.healthyAfterSteps ?? DEFAULT_HEALTHY_AFTER_STEPS,
      targets: [],
    };
    this.targetGroups.set(group.arn, group);
    return group;
  }

  /** The target group named `name` (throws when there is none). */
  targetGroup(name: string): TargetGroupState {
    const group = [...this.targetGroups.values()].find((g) => g.name === name);
    if (!group) throw new Error(`fake-aws: no target group ${name}`);
    return group;
  }

  /** The health checks of the group fail for new targets: they turn unhealthy (Target.FailedHealthChecks) from initial. */
  failNewTargets(name: string, how: { reason?: string; description?: string } = {}): void {
    failNewTargets(this.targetGroup(name), how);
  }

  /** The health checks of the group pass again: every unhealthy target turns healthy, new ones will too. */
  healTargets(name: string): void {
    healTargets(this.targetGroup(name));
  }

  /** Forces the targets of one task into `state` (kept until set healthy); returns how many targets it changed. */
  setTargetHealth(
    taskArn: string,
    state: TargetRecord['state'],
    how: { reason?: string; description?: string } = {},
  ): number {
    return setTargetHealth(this, taskArn, state, how);
  }

  // ---------------------------------------------------------------- Route 53

  /** A public hosted zone `name`, with its SOA and NS records as Route 53 creates them; returns its id. */
  putHostedZone(
    name: string,
    id = `Z${(this.hostedZones.size + 1).toString().padStart(4, '0')}FAKEZONE${'0'.repeat(6)}`,
  ): string {
    const zoneName = fqdn(name);
    const zone: HostedZoneState = { id, name: zoneName, records: new Map() };
    const put = (r: RecordSetState) => zone.records.set(`${r.name} ${r.type} `, r);
    put({ name: zoneName, type: 'NS', ttl: 172800, values: ['ns-1.awsdns-01.org.', 'ns-2.awsdns-02.com.'] });
    put({
      name: zoneName,
      type: 'SOA',
      ttl: 900,
      values: ['ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400'],
    });
    this.hostedZones.set(id, zone);
    return id;
  }

  /** A record set of a hosted zone (simple routing), or undefined. */
  dnsRecord(zoneId: string, name: string, type = 'A'): RecordSetState | undefined {
    return this.hostedZones.get(zoneId)?.records.get(`${fqdn(name)} ${type} `);
  }

  /** Records a Route 53 change (used by the handlers). */
  recordChange(comment: string | undefined): ChangeState {
    const id = `C${(this.changes.size + 1).toString(16).toUpperCase().padStart(12, '0')}FAKE`;
    const change: ChangeState = { id, submittedAt: this.#now(), comment };
    this.changes.set(id, change);
    return change;
  }

  // ---------------------------------------------------------------- lookups (also used by handlers)

  cluster(ref: string): ClusterState {
    const c = this.clusters.get(nameFromRef(ref));
    if (!c) throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    return c;
  }

  findService(cluster: string, ref: string): ServiceState | undefined {
    return this.services.get(`${cluster}/${nameFromRef(ref)}`);
  }

  /** The live state of a service; throws if it does not exist. */
  service(cluster: string, name: string): ServiceState {
    const s = this.findService(cluster, name);
    if (!s) throw new AwsError('ServiceNotFoundException', 'Service not found.');
    return s;
  }

  /** A task by ARN or by id (within `cluster` when given). */
  findTask(ref: string, cluster?: string): TaskState | undefined {
    if (ref.startsWith('arn:')) return this.tasks.get(ref);
    for (const t of this.tasks.values()) if (t.id === ref && (cluster === undefined || t.cluster === cluster)) return t;
    return undefined;
  }

  #task(ref: string): TaskState {
    const t = this.findTask(ref);
    if (!t) throw new Error(`fake-aws: no task ${ref}`);
    return t;
  }

  /** Tasks of a service, launch order; stopped ones only with `includeStopped`. */
  serviceTasks(cluster: string, service: string, opts: { includeStopped?: boolean } = {}): TaskState[] {
    const group = `service:${service}`;
    return [...this.tasks.values()].filter(
      (t) => t.cluster === cluster && t.group === group && (opts.includeStopped || t.lastStatus !== 'STOPPED'),
    );
  }

  /** Public IPs of the service's running tasks, in launch order. */
  publicIps(cluster: string, service: string): string[] {
    return this.serviceTasks(cluster, service)
      .filter((t) => t.lastStatus === 'RUNNING')
      .map((t) => this.enis.get(t.eniId)?.publicIp)
      .filter((ip): ip is string => ip !== undefined);
  }

  publicIp(taskArn: string): string | undefined {
    const t = this.tasks.get(taskArn);
    if (t?.containerInstanceArn) return this.containerInstances.get(t.containerInstanceArn)?.publicIp;
    return t ? this.enis.get(t.eniId)?.publicIp : undefined;
  }

  /** EC2 launch type: "ip:port" of the service's running tasks (instance public IP, host ports), in launch order. */
  hostAddresses(cluster: string, service: string): string[] {
    return this.serviceTasks(cluster, service)
      .filter((t) => t.lastStatus === 'RUNNING' && t.containerInstanceArn)
      .flatMap((t) => {
        const ip = this.publicIp(t.arn);
        const ports = [...new Set(t.containers.flatMap((c) => (c.networkBindings ?? []).map((b) => b.hostPort)))];
        return ip === undefined ? [] : [`${ip}:${ports.sort((a, b) => a - b).join(',')}`];
      });
  }

  /**
   * Registers an EC2 instance as a container instance of `cluster` (EC2 launch type). Ids are counted, not drawn from
   * the seeded sequence, so adding instances does not shift the ids of tasks. `publicIp: null` = none.
   */
  addContainerInstance(clusterName: string, opts: { publicIp?: string | null } = {}): ContainerInstanceState {
    this.createCluster(clusterName);
    const n = ++this.#instanceCounter;
    const hex = n.toString(16).padStart(8, '0');
    const ci: ContainerInstanceState = {
      arn: `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:container-instance/${clusterName}/${'0'.repeat(24)}${hex}`,
      cluster: clusterName,
      ec2InstanceId: `i-0fa4e0000${hex}`,
      privateIp: `10.1.0.${(n % 250) + 4}`,
      registeredAt: this.now(),
      nextHostPort: 32768,
    };
    const publicIp = opts.publicIp === undefined ? this.#nextPublicIp() : opts.publicIp;
    if (publicIp !== null) ci.publicIp = publicIp;
    this.containerInstances.set(ci.arn, ci);
    return ci;
  }

  /**
   * Stops and starts an EC2 instance, as EC2 does: every task on it stops (the service launches replacements on the
   * next steps) and it comes back with a new public IP (unless it had none).
   */
  restartInstance(ec2InstanceId: string): ContainerInstanceState {
    const ci = [...this.containerInstances.values()].find((c) => c.ec2InstanceId === ec2InstanceId);
    if (!ci) throw new Error(`fake-aws: no container instance on ${ec2InstanceId}`);
    for (const t of this.tasks.values()) {
      if (t.containerInstanceArn !== ci.arn || t.lastStatus === 'STOPPED') continue;
      const reason = `Host EC2 (instance ${ec2InstanceId}) stopped/terminated.`;
      this.stopTaskNow(t, { reason, stopCode: 'TerminationNotice', exitCode: 137 });
    }
    for (const svc of this.services.values()) if (svc.cluster === ci.cluster) svc.steady = false;
    if (ci.publicIp !== undefined) ci.publicIp = this.#nextPublicIp();
    ci.nextHostPort = 32768;
    return ci;
  }

  /** Resolve `family`, `family:revision` or a task definition ARN. */
  taskDefinition(ref: string): TaskDefinitionRecord | undefined {
    const spec = ref.startsWith('arn:') ? ref.slice(ref.indexOf('task-definition/') + 'task-definition/'.length) : ref;
    const colon = spec.lastIndexOf(':');
    const family = colon >= 0 ? spec.slice(0, colon) : spec;
    const revisions = this.taskDefinitions.get(family);
    if (!revisions) return undefined;
    if (colon >= 0) return revisions[Number(spec.slice(colon + 1)) - 1];
    return revisions.filter((r) => r.status === 'ACTIVE').at(-1);
  }

  counts(svc: ServiceState, deployment?: DeploymentState): { running: number; pending: number } {
    let running = 0;
    let pending = 0;
    for (const t of this.serviceTasks(svc.cluster, svc.name)) {
      if (deployment && t.startedBy !== deployment.id) continue;
      if (t.lastStatus === 'RUNNING') running++;
      else if (t.lastStatus === 'PENDING') pending++;
    }
    return { running, pending };
  }

  // ---------------------------------------------------------------- seeding

  createCluster(name: string): ClusterState {
    let c = this.clusters.get(name);
    if (!c) {
      c = { name, arn: arn.cluster(name), createdAt: this.now() };
      this.clusters.set(name, c);
    }
    return c;
  }

  /**
   * Register a revision exactly as given (the RegisterTaskDefinition input); validation errors are AwsErrors
   * (ClientException) like ECS.
   */
  registerTaskDefinition(input: JsonObject): TaskDefinitionRecord {
    const family = input.family;
    if (typeof family !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(family)) {
      throw new AwsError('ClientException', 'Family contains invalid characters or is missing.');
    }
    const defs = input.containerDefinitions;
    if (!Array.isArray(defs) || defs.length === 0) {
      throw new AwsError('ClientException', 'Container list cannot be empty.');
    }
    const names = new Set<string>();
    for (const d of defs as unknown[]) {
      const def = (d ?? {}) as JsonObject;
      if (typeof def.name !== 'string' || def.name === '') {
        throw new AwsError('ClientException', 'Container.name should not be null or empty.');
      }
      if (typeof def.image !== 'string' || def.image === '') {
        throw new AwsError('ClientException', 'Container.image should not be null or empty.');
      }
      if (names.has(def.name)) throw new AwsError('ClientException', 'Container names must be unique.');
      names.add(def.name);
    }
    const revisions = this.taskDefinitions.get(family) ?? [];
    this.taskDefinitions.set(family, revisions);
    const revision = revisions.length + 1;
    const record: TaskDefinitionRecord = {
      family,
      revision,
      arn: arn.taskDefinition(family, revision),
      status: 'ACTIVE',
      registeredAt: this.now(),
      input: structuredClone(input),
    };
    revisions.push(record);
    return record;
  }

  /** Create cluster + task definition + a service with a COMPLETED primary deployment and running tasks. */
  seedService(opts: SeedServiceOptions): SeededService {
    const clusterName = opts.cluster ?? 'default';
    const cluster = this.createCluster(clusterName);
    const family = opts.family ?? opts.service;
    const logGroup = opts.logGroup ?? `/ecs/${family}`;
    const input: JsonObject = {
      family,
      taskRoleArn: opts.taskRoleArn ?? `arn:aws:iam::${ACCOUNT_ID}:role/${family}-task`,
      executionRoleArn: opts.executionRoleArn ?? `arn:aws:iam::${ACCOUNT_ID}:role/ecsTaskExecutionRole`,
      networkMode: opts.launchType === 'EC2' ? (opts.networkMode ?? 'bridge') : 'awsvpc',
      requiresCompatibilities: [opts.launchType ?? 'FARGATE'],
      cpu: opts.cpu ?? '256',
      memory: opts.memory ?? '512',
      containerDefinitions: opts.containers.map((c) => {
        const env = Array.isArray(c.environment)
          ? c.environment
          : Object.entries(c.environment ?? {}).map(([name, value]) => ({ name, value }));
        const def: JsonObject = {
          name: c.name,
          image: c.image,
          essential: c.essential ?? true,
          environment: env,
          secrets: c.secrets ?? [],
          portMappings: c.portMappings ?? [],
          logConfiguration: c.logConfiguration ?? {
            logDriver: 'awslogs',
            options: { 'awslogs-group': logGroup, 'awslogs-region': REGION, 'awslogs-stream-prefix': 'ecs' },
          },
          ...(c.healthCheck ? { healthCheck: c.healthCheck } : {}),
          ...(c.extra ?? {}),
        };
        return def;
      }),
    };
    let td = this.registerTaskDefinition(input);
    for (let i = 1; i < (opts.revisions ?? 1); i++) td = this.registerTaskDefinition(input);
    if (!this.logGroups.has(logGroup)) this.#logGroup(logGroup, true);

    const key = `${clusterName}/${opts.service}`;
    if (this.services.has(key)) throw new Error(`fake-aws: service ${key} already exists`);
    const now = this.now();
    const desiredCount = opts.desiredCount ?? 1;
    const deployment = this.#newDeployment(td.arn, desiredCount, 'COMPLETED');
    const svc: ServiceState = {
      cluster: clusterName,
      name: opts.service,
      arn: arn.service(clusterName, opts.service),
      taskDefinition: td.arn,
      desiredCount,
      status: 'ACTIVE',
      deployments: [deployment],
      events: [],
      serviceDeployments: [],
      deploymentConfiguration: {
        maximumPercent: 200,
        minimumHealthyPercent: 100,
        deploymentCircuitBreaker: opts.circuitBreaker ?? { enable: true, rollback: true },
        ...(opts.strategy === 'BLUE_GREEN'
          ? { strategy: 'BLUE_GREEN' as const, bakeTimeInMinutes: opts.bakeTimeInMinutes ?? 0 }
          : {}),
        ...(opts.alarms
          ? {
              alarms: {
                alarmNames: [...opts.alarms.alarmNames],
                enable: opts.alarms.enable ?? true,
                rollback: opts.alarms.rollback ?? true,
              },
            }
          : {}),
      },
      assignPublicIp: opts.publicIp ?? true,
      launchType: opts.launchType ?? 'FARGATE',
      networkMode: opts.launchType === 'EC2' ? (opts.networkMode ?? 'bridge') : 'awsvpc',
      subnets: ['subnet-0fa4e00000000001', 'subnet-0fa4e00000000002'],
      securityGroups: ['sg-0fa4e00000000001'],
      createdAt: now,
      steady: true,
      loadBalancers: (opts.loadBalancers ?? []).map((lb) => {
        const containerName = lb.containerName ?? opts.containers[0]?.name ?? 'app';
        const containerPort = lb.containerPort ?? 80;
        const group = this.createTargetGroup(lb.targetGroup, {
          targetType: opts.launchType === 'EC2' ? 'instance' : 'ip',
          containerName,
          containerPort,
          ...(lb.healthyAfterSteps === undefined ? {} : { healthyAfterSteps: lb.healthyAfterSteps }),
        });
        return { targetGroupArn: group.arn, containerName, containerPort };
      }),
    };
    this.services.set(key, svc);
    for (const name of opts.alarms?.alarmNames ?? []) if (!this.alarms.has(name)) this.putAlarm(name);
    const seeded = this.#newServiceDeployment(svc, deployment, []);
    seeded.status = 'SUCCESSFUL';
    seeded.finishedAt = now;
    const tasks: TaskState[] = [];
    for (let i = 0; i < desiredCount; i++) tasks.push(this.#launchTask(svc, deployment, true));
    if (tasks.length) this.#event(svc, `(service ${svc.name}) has started ${tasks.length} tasks: ${taskList(tasks)}.`);
    this.#event(svc, `(service ${svc.name}) has reached a steady state.`);
    syncTargets(this, svc, { advance: false, seeded: true });
    return { cluster, service: svc, taskDefinition: td, tasks };
  }

  createRepository(name: string): RepositoryState {
    let repo = this.repositories.get(name);
    if (!repo) {
      repo = { name, arn: arn.repository(name), createdAt: this.now(), images: [] };
      this.repositories.set(name, repo);
    }
    return repo;
  }

  /** Push (or re-tag) an image. Creates the repository. The tag moves off any other image. */
  putImage(repository: string, tag: string | null, digest?: string): ImageState {
    const repo = this.createRepository(repository);
    this.#digestCounter++;
    const d =
      digest ?? `sha256:${createHash('sha256').update(`${repository}:${tag}:${this.#digestCounter}`).digest('hex')}`;
    if (tag !== null) for (const img of repo.images) img.tags = img.tags.filter((t) => t !== tag);
    let image = repo.images.find((i) => i.digest === d);
    if (!image) {
      image = { digest: d, tags: [], pushedAt: this.now(), sizeInBytes: 20_000_000 + this.#digestCounter };
      repo.images.push(image);
    }
    if (tag !== null) image.tags.push(tag);
    return image;
  }

  /**
   * Seeds the basic scan of an image (by digest; the image is created untagged if unknown): its findings' counts per
   * severity, answered after `inProgressCalls` calls (default 0: complete at once; the first answers PENDING, the
   * others IN_PROGRESS) or once the fake clock reaches `completesAt`; or a scan that ends FAILED / UNSUPPORTED_IMAGE.
   */
  putScanFindings(
    repository: string,
    digest: string,
    scan: {
      counts?: Partial<Record<ScanSeverity, number>>;
      status?: ImageScanState['status'];
      description?: string;
      inProgressCalls?: number;
      completesAt?: Date;
    } = {},
  ): ImageScanState {
    const repo = this.createRepository(repository);
    const image = repo.images.find((i) => i.digest === digest) ?? this.putImage(repository, null, digest);
    image.scan = {
      status: scan.status ?? 'COMPLETE',
      counts: { ...(scan.counts ?? {}) },
      description: scan.description,
      inProgressCalls: scan.inProgressCalls ?? 0,
      calls: 0,
      completesAt: scan.completesAt,
    };
    return image.scan;
  }

  /** Point GetAuthorizationToken's proxyEndpoint (and repositoryUri hosts) at e.g. `http://127.0.0.1:5000`. */
  setEcrProxyEndpoint(url: string): void {
    this.ecrProxyEndpoint = url;
  }

  #logGroup(name: string, create: boolean): LogGroupState | undefined {
    let g = this.logGroups.get(name);
    if (!g && create) {
      g = { name, arn: arn.logGroup(name), createdAt: this.now().getTime(), streams: new Map() };
      this.logGroups.set(name, g);
    }
    return g;
  }

  /**
   * Append log events (group and stream are created). A string event gets the current time; events without
   * ingestionTime get `timestamp + 100`.
   */
  putLogEvents(
    group: string,
    stream: string,
    events: Array<string | { timestamp?: number; message: string; ingestionTime?: number }>,
  ): LogStreamState {
    const g = this.#logGroup(group, true)!;
    let s = g.streams.get(stream);
    if (!s) {
      s = { name: stream, createdAt: this.now().getTime(), events: [] };
      g.streams.set(stream, s);
    }
    for (const e of events) {
      const ev = typeof e === 'string' ? { message: e } : e;
      const timestamp = ev.timestamp ?? this.now().getTime();
      this.#eventCounter++;
      s.events.push({
        timestamp,
        message: ev.message,
        ingestionTime: ev.ingestionTime ?? timestamp + 100,
        eventId: String(this.#eventCounter).padStart(56, '0'),
      });
    }
    s.events.sort((a, b) => a.timestamp - b.timestamp);
    return s;
  }

  // ---------------------------------------------------------------- ECS mutations (API + controls)

  /** ECS UpdateService semantics. Returns the service. */
  updateService(
    svc: ServiceState,
    changes: { taskDefinition?: string; desiredCount?: number; forceNewDeployment?: boolean },
  ): ServiceState {
    if (svc.status !== 'ACTIVE') throw new AwsError('ServiceNotActiveException', 'Service was not ACTIVE.');
    let tdArn = svc.taskDefinition;
    if (changes.taskDefinition !== undefined) {
      const td = this.taskDefinition(changes.taskDefinition);
      if (!td) throw new AwsError('ClientException', 'TaskDefinition not found.');
      if (td.status !== 'ACTIVE') throw new AwsError('ClientException', `TaskDefinition is inactive`);
      tdArn = td.arn;
    }
    if (changes.desiredCount !== undefined) {
      if (!Number.isInteger(changes.desiredCount) || changes.desiredCount < 0) {
        throw new AwsError('InvalidParameterException', 'desiredCount must be a non-negative integer.');
      }
      svc.desiredCount = changes.desiredCount;
      const primary = primaryOf(svc);
      primary.desiredCount = changes.desiredCount;
      primary.updatedAt = this.now();
      svc.steady = false;
    }
    if (tdArn !== svc.taskDefinition || changes.forceNewDeployment) {
      const sources = svc.deployments.map((d) => this.#revisionOf(svc, d));
      for (const d of svc.deployments) d.status = 'ACTIVE';
      const dep = this.#newDeployment(tdArn, svc.desiredCount, 'IN_PROGRESS');
      if (svc.pendingFailure) {
        const f = svc.pendingFailure;
        dep.failure = {
          ...f,
          threshold: f.threshold ?? Math.min(200, Math.max(3, Math.ceil(svc.desiredCount / 2))),
        };
        svc.pendingFailure = undefined;
      }
      const alarms = svc.deploymentConfiguration.alarms;
      // ECS judges a deployment by the alarms that were not already in ALARM when it started.
      if (alarms?.enable) dep.watchedAlarms = alarms.alarmNames.filter((n) => this.alarms.get(n)?.state !== 'ALARM');
      svc.deployments.unshift(dep);
      svc.taskDefinition = tdArn;
      svc.steady = false;
      const now = this.now();
      for (const sd of svc.serviceDeployments) {
        if (!ONGOING_SERVICE_DEPLOYMENT_STATUSES.includes(sd.status)) continue;
        sd.status = 'STOPPED';
        sd.statusReason = 'A newer service deployment replaced it.';
        sd.stoppedAt = now;
        sd.updatedAt = now;
      }
      const sd = this.#newServiceDeployment(svc, dep, sources);
      if (svc.deploymentConfiguration.strategy === 'BLUE_GREEN') {
        sd.lifecycleStage = 'PRE_SCALE_UP';
        sd.stageStartedAt = now;
      }
    }
    return svc;
  }

  // ---------------------------------------------------------------- CloudWatch alarms

  /** Creates (or replaces) a CloudWatch alarm; a deployment alarm of a service goes by its name. */
  putAlarm(
    name: string,
    opts: { state?: AlarmState['state']; reason?: string; type?: AlarmState['type']; metricName?: string } = {},
  ): AlarmState {
    const alarm: AlarmState = {
      name,
      arn: `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:${name}`,
      type: opts.type ?? 'MetricAlarm',
      state: opts.state ?? 'OK',
      reason: opts.reason ?? (opts.state === undefined ? 'Unchecked: Initial alarm creation' : `Set to ${opts.state}`),
      updatedAt: this.now(),
      ...(opts.metricName === undefined ? {} : { metricName: opts.metricName }),
    };
    this.alarms.set(name, alarm);
    return alarm;
  }

  /**
   * SetAlarmState: the alarm goes into `state` (ECS reacts on the service's next step: an in-progress deployment it
   * watches fails, and rolls back when the service's alarms say so). Unknown alarm → `ResourceNotFound`.
   */
  setAlarmState(name: string, state: AlarmState['state'], reason: string, reasonData?: string): AlarmState {
    const alarm = this.alarms.get(name);
    if (!alarm) throw new AwsError('ResourceNotFound', `Alarm ${name} not found`, 404);
    if (alarm.state !== state) alarm.updatedAt = this.now();
    alarm.state = state;
    alarm.reason = reason;
    if (reasonData === undefined) delete alarm.reasonData;
    else alarm.reasonData = reasonData;
    return alarm;
  }

  // ---------------------------------------------------------------- service deployments

  /**
   * Fault switch: ListServiceDeployments, DescribeServiceDeployments and StopServiceDeployment answer `code`
   * (default `UnsupportedFeatureException`, as in a Region without the feature; `AccessDeniedException` models a role
   * without the permission), and DescribeServices leaves out `currentServiceDeployment`.
   */
  disableServiceDeployments(code = 'UnsupportedFeatureException'): void {
    this.#serviceDeploymentsDisabled = code;
  }

  enableServiceDeployments(): void {
    this.#serviceDeploymentsDisabled = undefined;
  }

  /**
   * Fault switch: DescribeServices answers `service` of `cluster` in `failures` (its ARN, which names the account,
   * with `reason` and `detail`) instead of describing it, as ECS does for a service it cannot describe; `undefined`
   * describes it again. The service need not exist.
   */
  failServiceDescribe(cluster: string, service: string, failure: ServiceDescribeFailure | undefined): void {
    if (failure) this.#describeFailures.set(`${cluster}/${service}`, failure);
    else this.#describeFailures.delete(`${cluster}/${service}`);
  }

  /** The failure `failServiceDescribe` chose for a service, if any (DescribeServices asks it first). */
  serviceDescribeFailure(cluster: string, ref: string): ServiceDescribeFailure | undefined {
    return this.#describeFailures.get(`${cluster}/${nameFromRef(ref)}`);
  }

  /** Throws the error `disableServiceDeployments` chose, if any (the service-deployment handlers call it first). */
  assertServiceDeploymentsAvailable(): void {
    const code = this.#serviceDeploymentsDisabled;
    if (code === undefined) return;
    const message =
      code === 'UnsupportedFeatureException'
        ? 'Service deployments are not supported in this Region.'
        : `fake-aws: service deployments are disabled (${code}).`;
    throw new AwsError(code, message, statusForCode(code));
  }

  get serviceDeploymentsAvailable(): boolean {
    return this.#serviceDeploymentsDisabled === undefined;
  }

  findServiceDeployment(serviceDeploymentArn: string): ServiceDeploymentState | undefined {
    for (const svc of this.services.values()) {
      const found = svc.serviceDeployments.find((sd) => sd.arn === serviceDeploymentArn);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * ECS StopServiceDeployment with stopType ROLLBACK: an ongoing service deployment (PENDING, IN_PROGRESS) moves to
   * ROLLBACK_REQUESTED and a new PRIMARY deployment of its previous revision starts (ROLLBACK_IN_PROGRESS from the
   * next step, ROLLBACK_SUCCESSFUL when it completes); one already stopping or rolling back keeps doing so; a finished
   * one is a ConflictException.
   */
  stopServiceDeployment(serviceDeploymentArn: string, stopType = 'ROLLBACK'): ServiceDeploymentState {
    const sd = this.findServiceDeployment(serviceDeploymentArn);
    if (!sd) throw new AwsError('ServiceDeploymentNotFoundException', 'The service deployment does not exist.');
    if (stopType !== 'ROLLBACK') {
      throw new AwsError(
        'InvalidParameterException',
        `stopType ${stopType} is not supported for a service using the rolling update deployment strategy.`,
      );
    }
    if (sd.status === 'STOP_REQUESTED' || sd.status === 'ROLLBACK_REQUESTED' || sd.status === 'ROLLBACK_IN_PROGRESS') {
      return sd;
    }
    if (sd.status !== 'PENDING' && sd.status !== 'IN_PROGRESS') {
      throw new AwsError('ConflictException', `The service deployment is ${sd.status} and can't be stopped.`);
    }
    const svc = this.service(sd.cluster, sd.service);
    const previous = sd.sources[0];
    if (!previous) {
      throw new AwsError(
        'InvalidParameterException',
        'The service deployment has no previous revision to roll back to.',
      );
    }
    const now = this.now();
    // Blue/green: the blue deployment still runs until clean-up is over; production traffic returns to it, and the
    // green tasks are stopped. Otherwise (rolling) a new deployment of the previous revision starts.
    const blue =
      svc.deploymentConfiguration.strategy === 'BLUE_GREEN'
        ? svc.deployments.find((d) => d.id === previous.deploymentId)
        : undefined;
    const rollback = blue ?? this.#newDeployment(previous.taskDefinition, svc.desiredCount, 'IN_PROGRESS');
    rollback.rolloutStateReason = `ECS deployment rolling back to ${previous.deploymentId}: stopped by the user.`;
    for (const d of svc.deployments) d.status = 'ACTIVE';
    if (blue) {
      this.#returnToBlue(svc, blue);
    } else {
      svc.deployments.unshift(rollback);
    }
    svc.taskDefinition = previous.taskDefinition;
    svc.steady = false;
    sd.status = 'ROLLBACK_REQUESTED';
    sd.statusReason = 'Service deployment rollback requested by the user.';
    sd.updatedAt = now;
    sd.rollback = {
      reason: 'Service deployment rollback requested by the user.',
      startedAt: now,
      revision: { ...previous, deploymentId: rollback.id },
    };
    this.#event(svc, `(service ${svc.name}) rolling back to deployment ${previous.deploymentId}.`);
    return sd;
  }

  #newServiceDeployment(
    svc: ServiceState,
    dep: DeploymentState,
    sources: ServiceRevisionRef[],
  ): ServiceDeploymentState {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let id = '';
    for (let i = 0; i < 22; i++) id += alphabet[this.#serviceDeploymentIds.int(alphabet.length)];
    const now = this.now();
    const sd: ServiceDeploymentState = {
      arn: arn.serviceDeployment(svc.cluster, svc.name, id),
      cluster: svc.cluster,
      service: svc.name,
      status: 'IN_PROGRESS',
      target: this.#revisionOf(svc, dep),
      sources,
      createdAt: now,
      startedAt: now,
      updatedAt: now,
    };
    svc.serviceDeployments.unshift(sd);
    return sd;
  }

  #revisionOf(svc: ServiceState, dep: DeploymentState): ServiceRevisionRef {
    return {
      arn: arn.serviceRevision(svc.cluster, svc.name, dep.id),
      deploymentId: dep.id,
      taskDefinition: dep.taskDefinition,
    };
  }

  /** The service deployment that `dep` rolls out or rolls back to. */
  #serviceDeploymentOf(svc: ServiceState, dep: DeploymentState): ServiceDeploymentState | undefined {
    return svc.serviceDeployments.find(
      (sd) => sd.target.deploymentId === dep.id || sd.rollback?.revision.deploymentId === dep.id,
    );
  }

  /** The next new deployment of the service (UpdateService with a new task definition or force) fails. */
  failNextRollout(cluster: string, service: string, opts: FailRolloutOptions = {}): void {
    const svc = this.service(cluster, service);
    svc.pendingFailure = {
      rolloutStateReason: opts.reason ?? 'ECS deployment circuit breaker: tasks failed to start.',
      stoppedReason: opts.stoppedReason ?? 'Essential container in task exited',
      exitCode: opts.exitCode ?? 1,
      ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}),
    };
  }

  /** Stop a task as if it crashed (default: essential container exited with code 1). The service replaces it on the next steps. */
  stopTask(taskArn: string, opts: StopTaskOptions = {}): TaskState {
    const t = this.#task(taskArn);
    this.stopTaskNow(t, {
      reason: opts.reason ?? 'Essential container in task exited',
      stopCode: opts.stopCode ?? 'EssentialContainerExited',
      exitCode: opts.exitCode ?? 1,
    });
    const svc = this.findService(t.cluster, t.service);
    if (svc) svc.steady = false;
    return t;
  }

  /** Set the health of a task (and of its containers that have a health check, or its first container). */
  setTaskHealth(taskArn: string, health: HealthStatus): TaskState {
    const t = this.#task(taskArn);
    t.healthStatus = health;
    const checked = t.containers.filter((c) => c.hasHealthCheck);
    for (const c of checked.length ? checked : t.containers.slice(0, 1)) c.healthStatus = health;
    return t;
  }

  /** Replace every live task of the service at once with new RUNNING tasks (new ENIs, new public IPs). */
  replaceTasks(cluster: string, service: string): TaskState[] {
    const svc = this.service(cluster, service);
    const old = this.serviceTasks(cluster, service);
    const fresh: TaskState[] = [];
    for (const t of old) {
      this.stopTaskNow(t, {
        reason: 'Task was replaced (fake-aws replaceTasks)',
        stopCode: 'ServiceSchedulerInitiated',
        exitCode: 0,
      });
      const dep = svc.deployments.find((d) => d.id === t.startedBy) ?? primaryOf(svc);
      fresh.push(this.#launchTask(svc, dep, true));
    }
    if (old.length) {
      this.#event(svc, `(service ${svc.name}) has stopped ${old.length} running tasks: ${taskList(old)}.`);
      this.#event(svc, `(service ${svc.name}) has started ${fresh.length} tasks: ${taskList(fresh)}.`);
    }
    return fresh;
  }

  stopTaskNow(t: TaskState, how: { reason: string; stopCode: string; exitCode: number }): void {
    if (t.lastStatus === 'STOPPED') return;
    const now = this.now();
    t.desiredStatus = 'STOPPED';
    t.lastStatus = 'STOPPED';
    t.stoppingAt = now;
    t.stoppedAt = now;
    t.stoppedReason = how.reason;
    t.stopCode = how.stopCode;
    t.healthStatus = 'UNKNOWN';
    const crashed = how.stopCode === 'EssentialContainerExited';
    const first = t.containers.find((c) => c.essential) ?? t.containers[0];
    for (const c of t.containers) {
      c.lastStatus = 'STOPPED';
      c.healthStatus = 'UNKNOWN';
      if (crashed) c.exitCode = c === first ? how.exitCode : 137;
      else c.exitCode = how.exitCode;
      if (crashed && c === first) c.reason = `Essential container exited with code ${how.exitCode}`;
    }
    const eni = this.enis.get(t.eniId);
    if (eni) eni.deleted = true;
  }

  // ---------------------------------------------------------------- rollout simulation

  /** Advance every service that is not steady by one step, `times` times. */
  step(times = 1): void {
    for (let i = 0; i < times; i++) for (const svc of this.services.values()) this.stepService(svc);
  }

  /**
   * One step of one service: pending tasks start (or fail); else missing tasks launch; else surplus tasks stop;
   * else tasks of older deployments stop; else the rollout completes (older deployments removed, steady state).
   * Returns whether anything changed.
   */
  stepService(svc: ServiceState): boolean {
    if (svc.status !== 'ACTIVE') return false;
    if (svc.deploymentConfiguration.strategy === 'BLUE_GREEN') {
      const stepped = this.#stepBlueGreen(svc);
      if (stepped !== undefined) return stepped;
    }
    if (svc.loadBalancers.length === 0) return this.#stepTasks(svc);
    // Targets that were there move on a step (health checks, deregistration delay), then follow the tasks' changes.
    syncTargets(this, svc, { advance: true });
    const changed = this.#stepTasks(svc);
    syncTargets(this, svc, { advance: false });
    return changed;
  }

  #stepTasks(svc: ServiceState): boolean {
    const primary = primaryOf(svc);
    const now = this.now();
    for (const sd of svc.serviceDeployments) {
      if (sd.status !== 'ROLLBACK_REQUESTED') continue;
      sd.status = 'ROLLBACK_IN_PROGRESS';
      sd.updatedAt = now;
    }
    const tripped = this.#trippedAlarms(svc, primary);
    if (tripped.length > 0) {
      this.#failDeployment(svc, primary, {
        reason: `ECS deployment ${primary.id} failed: alarm(s) ${tripped.join(', ')} in ALARM state.`,
        event: 'deployment failed: alarm detected.',
        rollback: svc.deploymentConfiguration.alarms?.rollback === true,
        rollbackReason: (previous) => `ECS deployment alarms: rolling back to deploymentId ${previous}.`,
        alarms: tripped,
      });
      return true;
    }
    const live = this.serviceTasks(svc.cluster, svc.name);
    const mine = live.filter((t) => t.startedBy === primary.id);

    const pending = mine.filter((t) => t.lastStatus === 'PENDING');
    if (pending.length) {
      svc.steady = false;
      primary.updatedAt = now;
      const failure = primary.failure;
      if (!failure) {
        for (const t of pending) this.#markRunning(t);
        return true;
      }
      for (const t of pending) {
        this.stopTaskNow(t, {
          reason: failure.stoppedReason,
          stopCode: 'EssentialContainerExited',
          exitCode: failure.exitCode,
        });
      }
      primary.failedTasks += pending.length;
      this.#event(svc, `(service ${svc.name}) has stopped ${pending.length} running tasks: ${taskList(pending)}.`);
      if (svc.deploymentConfiguration.deploymentCircuitBreaker.enable && primary.failedTasks >= failure.threshold) {
        this.#failDeployment(svc, primary);
      }
      return true;
    }
    if (primary.rolloutState === 'FAILED') return false;

    const missing = primary.desiredCount - mine.length;
    if (missing > 0) {
      const started: TaskState[] = [];
      for (let i = 0; i < missing; i++) started.push(this.#launchTask(svc, primary, false));
      this.#event(svc, `(service ${svc.name}) has started ${started.length} tasks: ${taskList(started)}.`);
      svc.steady = false;
      primary.updatedAt = now;
      return true;
    }
    if (missing < 0) {
      const surplus = mine.slice(missing);
      this.#schedulerStop(svc, primary, surplus);
      return true;
    }
    const others = svc.deployments.filter((d) => d !== primary);
    const otherTasks = live.filter((t) => t.startedBy !== primary.id);
    if (otherTasks.length) {
      this.#schedulerStop(svc, primary, otherTasks);
      return true;
    }
    if (others.length || primary.rolloutState !== 'COMPLETED' || !svc.steady) {
      svc.deployments = [primary];
      if (primary.rolloutState !== 'COMPLETED') {
        primary.rolloutState = 'COMPLETED';
        primary.rolloutStateReason = `ECS deployment ${primary.id} completed.`;
        primary.updatedAt = now;
        this.#finishServiceDeployment(svc, primary);
        this.#event(svc, `(service ${svc.name}) (deployment ${primary.id}) deployment completed.`);
      }
      this.#event(svc, `(service ${svc.name}) has reached a steady state.`);
      svc.steady = true;
      return true;
    }
    return false;
  }

  /**
   * One step of a BLUE_GREEN service whose PRIMARY (green) deployment's service deployment is IN_PROGRESS: the next
   * lifecycle stage. SCALE_UP launches the green tasks and waits until they run; BAKE_TIME waits `bakeTimeInMinutes`
   * by the fake's clock; CLEAN_UP stops the blue tasks, and the step after it completes the deployment. Undefined when
   * there is no such rollout (steady, a count change, a rollback): the rolling steps apply.
   */
  #stepBlueGreen(svc: ServiceState): boolean | undefined {
    const green = primaryOf(svc);
    const sd = this.#serviceDeploymentOf(svc, green);
    if (sd?.status !== 'IN_PROGRESS' || sd.target.deploymentId !== green.id || !sd.lifecycleStage) {
      return undefined;
    }
    const now = this.now();
    const live = this.serviceTasks(svc.cluster, svc.name);
    const mine = live.filter((t) => t.startedBy === green.id);
    const enter = (stage: (typeof BLUE_GREEN_STAGES)[number]) => {
      sd.lifecycleStage = stage;
      sd.stageStartedAt = now;
      sd.updatedAt = now;
      green.updatedAt = now;
      svc.steady = false;
      return true;
    };
    // ECS watches the deployment alarms from the green tasks' start until the bake is over.
    const tripped = sd.lifecycleStage === 'CLEAN_UP' ? [] : this.#trippedAlarms(svc, green);
    const blueDeployment = svc.deployments.find((d) => d.id === sd.sources[0]?.deploymentId);
    if (tripped.length > 0) {
      green.rolloutState = 'FAILED';
      green.rolloutStateReason = `ECS deployment ${green.id} failed: alarm detected.`;
      green.updatedAt = now;
      sd.triggeredAlarms = [...tripped];
      sd.updatedAt = now;
      this.#event(svc, `(service ${svc.name}) (deployment ${green.id}) deployment failed: alarm detected.`);
      if (svc.deploymentConfiguration.alarms?.rollback !== true || !blueDeployment) {
        sd.status = 'STOPPED';
        sd.statusReason = 'Service deployment stopped: a deployment alarm went into ALARM.';
        sd.stoppedAt = now;
        return true;
      }
      this.#event(svc, `(service ${svc.name}) rolling back to deployment ${blueDeployment.id}.`);
      // The rollback is not judged by the alarms (like the rolling rollback's new deployment).
      delete blueDeployment.watchedAlarms;
      this.#returnToBlue(svc, blueDeployment);
      sd.status = 'ROLLBACK_IN_PROGRESS';
      sd.statusReason = 'Service deployment rolled back: a deployment alarm went into ALARM.';
      const source = sd.sources[0] as ServiceRevisionRef;
      sd.rollback = { reason: sd.statusReason, startedAt: now, revision: { ...source } };
      return true;
    }
    switch (sd.lifecycleStage) {
      case 'PRE_SCALE_UP': {
        const started: TaskState[] = [];
        for (let i = mine.length; i < green.desiredCount; i++) started.push(this.#launchTask(svc, green, false));
        if (started.length) {
          this.#event(svc, `(service ${svc.name}) has started ${started.length} tasks: ${taskList(started)}.`);
        }
        return enter('SCALE_UP');
      }
      case 'SCALE_UP': {
        const pending = mine.filter((t) => t.lastStatus === 'PENDING');
        const failure = green.failure;
        const blue = svc.deployments.find((d) => d.id === sd.sources[0]?.deploymentId);
        if (!failure || !blue) {
          for (const t of pending) this.#markRunning(t);
          return enter('POST_SCALE_UP');
        }
        // The green tasks exit: ECS rolls the service deployment back to blue, which never stopped serving.
        for (const t of pending) {
          this.stopTaskNow(t, {
            reason: failure.stoppedReason,
            stopCode: 'EssentialContainerExited',
            exitCode: failure.exitCode,
          });
        }
        green.failedTasks += pending.length;
        green.rolloutState = 'FAILED';
        green.rolloutStateReason = failure.rolloutStateReason;
        green.updatedAt = now;
        this.#event(svc, `(service ${svc.name}) has stopped ${pending.length} running tasks: ${taskList(pending)}.`);
        this.#event(svc, `(service ${svc.name}) rolling back to deployment ${blue.id}.`);
        this.#returnToBlue(svc, blue);
        sd.status = 'ROLLBACK_IN_PROGRESS';
        sd.statusReason = failure.rolloutStateReason;
        sd.updatedAt = now;
        const source = sd.sources[0] as ServiceRevisionRef;
        sd.rollback = { reason: failure.rolloutStateReason, startedAt: now, revision: { ...source } };
        return true;
      }
      case 'BAKE_TIME': {
        const bakeMs = (svc.deploymentConfiguration.bakeTimeInMinutes ?? 0) * 60_000;
        if (now.getTime() - (sd.stageStartedAt ?? sd.updatedAt).getTime() < bakeMs) return false;
        const blue = live.filter((t) => t.startedBy !== green.id);
        if (blue.length) this.#schedulerStop(svc, green, blue);
        return enter('CLEAN_UP');
      }
      case 'CLEAN_UP': {
        svc.deployments = [green];
        green.rolloutState = 'COMPLETED';
        green.rolloutStateReason = `ECS deployment ${green.id} completed.`;
        green.updatedAt = now;
        this.#finishServiceDeployment(svc, green);
        this.#event(svc, `(service ${svc.name}) (deployment ${green.id}) deployment completed.`);
        this.#event(svc, `(service ${svc.name}) has reached a steady state.`);
        svc.steady = true;
        return true;
      }
      default: {
        const next = BLUE_GREEN_STAGES[BLUE_GREEN_STAGES.indexOf(sd.lifecycleStage) + 1];
        return next ? enter(next) : false;
      }
    }
  }

  /** Blue/green rollback: the blue deployment is PRIMARY again (its tasks still run); the green tasks will stop. */
  #returnToBlue(svc: ServiceState, blue: DeploymentState): void {
    for (const d of svc.deployments) d.status = 'ACTIVE';
    blue.status = 'PRIMARY';
    blue.rolloutState = 'IN_PROGRESS';
    blue.desiredCount = svc.desiredCount;
    blue.updatedAt = this.now();
    svc.deployments = [blue, ...svc.deployments.filter((d) => d !== blue)];
    svc.taskDefinition = blue.taskDefinition;
    svc.steady = false;
  }

  #schedulerStop(svc: ServiceState, primary: DeploymentState, tasks: TaskState[]): void {
    for (const t of tasks) {
      this.stopTaskNow(t, {
        reason: `Scaling activity initiated by (deployment ${primary.id})`,
        stopCode: 'ServiceSchedulerInitiated',
        exitCode: 0,
      });
    }
    this.#event(svc, `(service ${svc.name}) has stopped ${tasks.length} running tasks: ${taskList(tasks)}.`);
    svc.steady = false;
  }

  /** The deployment alarms in ALARM that fail `primary` now (none unless it is watched and still in progress). */
  #trippedAlarms(svc: ServiceState, primary: DeploymentState): string[] {
    if (primary.rolloutState !== 'IN_PROGRESS' || !primary.watchedAlarms) return [];
    if (!svc.deploymentConfiguration.alarms?.enable) return [];
    // ECS watches the alarms once a task of the deployment runs.
    if (this.counts(svc, primary).running === 0) return [];
    return primary.watchedAlarms.filter((n) => this.alarms.get(n)?.state === 'ALARM');
  }

  /**
   * The circuit breaker (default) or a deployment alarm (`cause`) fails `failed`; with rollback on, a new PRIMARY
   * deployment of the previous task definition starts.
   */
  #failDeployment(
    svc: ServiceState,
    failed: DeploymentState,
    cause?: {
      reason: string;
      event: string;
      rollback: boolean;
      rollbackReason: (previous: string) => string;
      alarms: string[];
    },
  ): void {
    const now = this.now();
    failed.rolloutState = 'FAILED';
    failed.rolloutStateReason =
      cause?.reason ?? failed.failure?.rolloutStateReason ?? 'ECS deployment circuit breaker: tasks failed.';
    failed.updatedAt = now;
    this.#event(
      svc,
      `(service ${svc.name}) (deployment ${failed.id}) ${cause?.event ?? 'deployment failed: tasks failed to start.'}`,
    );
    const previous = svc.deployments.find((d) => d !== failed);
    const sd = this.#serviceDeploymentOf(svc, failed);
    if (sd && cause) sd.triggeredAlarms = [...cause.alarms];
    if (!(cause ? cause.rollback : svc.deploymentConfiguration.deploymentCircuitBreaker.rollback) || !previous) {
      if (sd && ONGOING_SERVICE_DEPLOYMENT_STATUSES.includes(sd.status)) {
        sd.status = 'STOPPED';
        sd.statusReason = failed.rolloutStateReason;
        sd.stoppedAt = now;
        sd.updatedAt = now;
      }
      return;
    }
    failed.status = 'ACTIVE';
    const rollback = this.#newDeployment(previous.taskDefinition, svc.desiredCount, 'IN_PROGRESS');
    rollback.rolloutStateReason =
      cause?.rollbackReason(previous.id) ??
      `ECS deployment circuit breaker: rolling back to deploymentId ${previous.id}.`;
    for (const d of svc.deployments) d.status = 'ACTIVE';
    svc.deployments.unshift(rollback);
    svc.taskDefinition = previous.taskDefinition;
    this.#event(svc, `(service ${svc.name}) rolling back to deployment ${previous.id}.`);
    if (sd && (sd.status === 'PENDING' || sd.status === 'IN_PROGRESS')) {
      sd.status = 'ROLLBACK_IN_PROGRESS';
      sd.statusReason = failed.rolloutStateReason;
      sd.updatedAt = now;
      sd.rollback = {
        reason: failed.rolloutStateReason,
        startedAt: now,
        revision: { ...this.#revisionOf(svc, previous), deploymentId: rollback.id },
      };
    }
  }

  /** The ECS deployment `primary` completed: its service deployment succeeded, or its rollback did. */
  #finishServiceDeployment(svc: ServiceState, primary: DeploymentState): void {
    const sd = this.#serviceDeploymentOf(svc, primary);
    if (!sd || !ONGOING_SERVICE_DEPLOYMENT_STATUSES.includes(sd.status)) return;
    const now = this.now();
    const rolledBack = sd.rollback?.revision.deploymentId === primary.id;
    sd.status = rolledBack ? 'ROLLBACK_SUCCESSFUL' : 'SUCCESSFUL';
    sd.statusReason = rolledBack ? 'Service deployment rolled back successfully.' : undefined;
    sd.finishedAt = now;
    sd.updatedAt = now;
  }

  #newDeployment(taskDefinition: string, desiredCount: number, rolloutState: 'IN_PROGRESS' | 'COMPLETED') {
    const now = this.now();
    const id = `ecs-svc/${this.#ids.digits(19)}`;
    const dep: DeploymentState = {
      id,
      status: 'PRIMARY',
      taskDefinition,
      desiredCount,
      failedTasks: 0,
      rolloutState,
      rolloutStateReason:
        rolloutState === 'COMPLETED' ? `ECS deployment ${id} completed.` : `ECS deployment ${id} in progress.`,
      createdAt: now,
      updatedAt: now,
    };
    return dep;
  }

  /** The digest a task pulls for an image reference: the one it names, else its tag's now in the fake ECR. */
  #pulledDigest(image: string): { imageDigest?: string } {
    const named = /@(sha256:[a-f0-9]{64})$/.exec(image)?.[1];
    if (named) return { imageDigest: named };
    const path = image.slice(image.indexOf('/') + 1);
    const colon = path.lastIndexOf(':');
    if (colon < 0) return {};
    const found = this.repositories
      .get(path.slice(0, colon))
      ?.images.find((i) => i.tags.includes(path.slice(colon + 1)));
    return found ? { imageDigest: found.digest } : {};
  }

  #launchTask(svc: ServiceState, dep: DeploymentState, running: boolean): TaskState {
    const now = this.now();
    const id = this.#ids.hex(32);
    const taskArn = arn.task(svc.cluster, id);
    const td = this.taskDefinition(dep.taskDefinition);
    const defs = (td?.input.containerDefinitions ?? []) as JsonObject[];
    const containers: ContainerState[] = defs.map((d) => ({
      name: String(d.name),
      image: String(d.image),
      ...this.#pulledDigest(String(d.image)),
      essential: d.essential !== false,
      hasHealthCheck: d.healthCheck !== undefined,
      containerArn: `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:container/${svc.cluster}/${id}/${this.#uuid()}`,
      runtimeId: `${id}-${this.#ids.digits(10)}`,
      lastStatus: 'PENDING',
      healthStatus: 'UNKNOWN',
    }));
    if (svc.launchType === 'EC2') return this.#placeOnInstance(svc, dep, { id, taskArn, containers, defs, running });
    this.#privateIpCounter++;
    const privateIp = `10.0.${Math.floor(this.#privateIpCounter / 250) % 256}.${(this.#privateIpCounter % 250) + 4}`;
    const eniId = `eni-0${this.#ids.hex(16)}`;
    const attachmentId = this.#uuid();
    const eni: EniState = {
      id: eniId,
      privateIp,
      subnetId: svc.subnets[this.#privateIpCounter % svc.subnets.length] ?? 'subnet-0fa4e00000000001',
      securityGroups: svc.securityGroups,
      macAddress: `0e:${this.#ids.hex(10).match(/../g)!.join(':')}`,
      taskArn,
      attachmentId,
      createdAt: now,
      deleted: false,
    };
    if (svc.assignPublicIp) eni.publicIp = this.#nextPublicIp();
    this.enis.set(eniId, eni);
    const task: TaskState = {
      id,
      arn: taskArn,
      cluster: svc.cluster,
      group: `service:${svc.name}`,
      service: svc.name,
      taskDefinitionArn: dep.taskDefinition,
      startedBy: dep.id,
      lastStatus: 'PENDING',
      desiredStatus: 'RUNNING',
      healthStatus: 'UNKNOWN',
      containers,
      createdAt: now,
      attachmentId,
      eniId,
      privateIp,
      ...(typeof td?.input.cpu === 'string' ? { cpu: td.input.cpu } : {}),
      ...(typeof td?.input.memory === 'string' ? { memory: td.input.memory } : {}),
    };
    this.tasks.set(taskArn, task);
    if (running) this.#markRunning(task);
    return task;
  }

  /** EC2 launch type: on the container instance with the fewest tasks of the cluster, host ports bound, no ENI. */
  #placeOnInstance(
    svc: ServiceState,
    dep: DeploymentState,
    t: { id: string; taskArn: string; containers: ContainerState[]; defs: JsonObject[]; running: boolean },
  ): TaskState {
    const live = [...this.tasks.values()].filter((x) => x.lastStatus !== 'STOPPED');
    const load = (ci: ContainerInstanceState) => live.filter((x) => x.containerInstanceArn === ci.arn).length;
    const candidates = [...this.containerInstances.values()].filter((ci) => ci.cluster === svc.cluster);
    const ci = candidates.sort((a, b) => load(a) - load(b))[0];
    if (!ci) throw new Error(`fake-aws: cluster ${svc.cluster} has no container instance (addContainerInstance)`);
    t.containers.forEach((c, i) => {
      const mappings = (t.defs[i]?.portMappings ?? []) as Array<{
        containerPort?: number;
        hostPort?: number;
        protocol?: string;
      }>;
      c.networkBindings = mappings.map((m) => {
        const containerPort = m.containerPort ?? 0;
        const hostPort = svc.networkMode === 'host' ? containerPort : m.hostPort ? m.hostPort : ci.nextHostPort++;
        return { bindIP: '0.0.0.0', containerPort, hostPort, protocol: m.protocol ?? 'tcp' };
      });
    });
    const td = this.taskDefinition(dep.taskDefinition);
    const task: TaskState = {
      id: t.id,
      arn: t.taskArn,
      cluster: svc.cluster,
      group: `service:${svc.name}`,
      service: svc.name,
      taskDefinitionArn: dep.taskDefinition,
      startedBy: dep.id,
      lastStatus: 'PENDING',
      desiredStatus: 'RUNNING',
      healthStatus: 'UNKNOWN',
      containers: t.containers,
      createdAt: this.now(),
      attachmentId: '',
      eniId: '',
      privateIp: ci.privateIp,
      containerInstanceArn: ci.arn,
      ...(typeof td?.input.cpu === 'string' ? { cpu: td.input.cpu } : {}),
      ...(typeof td?.input.memory === 'string' ? { memory: td.input.memory } : {}),
    };
    this.tasks.set(t.taskArn, task);
    if (t.running) this.#markRunning(task);
    return task;
  }

  #markRunning(t: TaskState): void {
    t.lastStatus = 'RUNNING';
    t.startedAt = this.now();
    for (const c of t.containers) {
      c.lastStatus = 'RUNNING';
      c.healthStatus = c.hasHealthCheck ? 'HEALTHY' : 'UNKNOWN';
    }
    t.healthStatus = t.containers.some((c) => c.hasHealthCheck) ? 'HEALTHY' : 'UNKNOWN';
  }

  /** 203.0.113.1-254 then 198.51.100.1-254 (documentation ranges), then wraps around. */
  #nextPublicIp(): string {
    const n = this.#publicIpCounter++ % 508;
    return n < 254 ? `203.0.113.${n + 1}` : `198.51.100.${n - 253}`;
  }

  #uuid(): string {
    const h = this.#ids.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
  }

  #event(svc: ServiceState, message: string): void {
    svc.events.unshift({ id: this.#uuid(), createdAt: this.now(), message });
    if (svc.events.length > MAX_EVENTS) svc.events.length = MAX_EVENTS;
  }
}

export function primaryOf(svc: ServiceState): DeploymentState {
  const p = svc.deployments.find((d) => d.status === 'PRIMARY') ?? svc.deployments[0];
  if (!p) throw new Error(`fake-aws: service ${svc.name} has no deployment`);
  return p;
}

function taskList(tasks: TaskState[]): string {
  return tasks.map((t) => `(task ${t.id})`).join(' ');
}
