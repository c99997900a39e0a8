/**
 * The interfaces the core needs. Adapters (src/adapters/*) implement them; only src/app.ts constructs adapters.
 * Types here speak the domain, not the SDKs: an ECS DescribeServices output never leaves src/adapters/aws.
 */

import type { DeploymentFacts, DeploymentRequest, DeploymentState, OperationKind } from './domain/deployment.ts';
import type { ScanReading } from './domain/scan.ts';

export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Cancels what a Timers call scheduled; calling it again does nothing. */
export type Cancel = () => void;

/**
 * Work scheduled for later: approval expiry, lease renewal, the recovery sweep. Never keeps the process alive on its
 * own (shutdown does not wait for a timer). Tests pass a fake that fires on demand.
 */
export interface Timers {
  /** Runs `run` once after `ms` (capped at the longest wait a timer allows, 2^31-1 ms: callers check the time). */
  after(ms: number, run: () => void): Cancel;
  /** Runs `run` every `ms` until cancelled. */
  every(ms: number, run: () => void): Cancel;
}

/** Randomness: jitter and identifiers. */
export interface Random {
  /** A number in [0, 1). */
  fraction(): number;
  /** `bytes` random bytes as lowercase hex. */
  hex(bytes: number): string;
}

// ---------------------------------------------------------------------------------------------------------------
// Runtime snapshots: what a service looks like right now (ECS today; the Docker-host target fills the same shape).

export type Health = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

export interface EcsServiceRef {
  cluster: string;
  service: string;
  /** Region override; undefined = the client's default region. */
  region?: string | undefined;
}

export interface ContainerSpec {
  name: string;
  image: string;
}

export interface TaskDefinitionSummary {
  arn: string;
  family: string;
  revision: number;
  containers: ContainerSpec[];
}

export interface DeploymentSnapshot {
  id: string;
  /** PRIMARY (the newest), ACTIVE (being replaced), INACTIVE. */
  status: string;
  taskDefinitionArn: string;
  /** "family:revision". */
  revision: string;
  rolloutState?: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | undefined;
  rolloutStateReason?: string | undefined;
  desired: number;
  running: number;
  pending: number;
  failed: number;
  createdAt?: Date | undefined;
  updatedAt?: Date | undefined;
}

export interface ServiceEvent {
  id: string;
  at: Date;
  message: string;
}

export interface ContainerState {
  name: string;
  /** sha256:… of the image the container runs, as ECS reports it (DescribeTasks containers[].imageDigest). */
  imageDigest?: string | undefined;
  lastStatus?: string | undefined;
  exitCode?: number | undefined;
  reason?: string | undefined;
  health?: Health | undefined;
}

export interface TaskSnapshot {
  arn: string;
  /** The last part of the ARN, as the console shows it. */
  id: string;
  taskDefinitionArn: string;
  /** "family:revision". */
  revision: string;
  /** The ECS deployment that started it ("ecs-svc/…"), when known. */
  startedBy?: string | undefined;
  lastStatus: string;
  desiredStatus: string;
  health: Health;
  startedAt?: Date | undefined;
  stoppedAt?: Date | undefined;
  stoppedReason?: string | undefined;
  /** Why ECS stopped it: EssentialContainerExited, TaskFailedToStart, ServiceSchedulerInitiated, UserInitiated… */
  stopCode?: string | undefined;
  containers: ContainerState[];
  eniId?: string | undefined;
  privateIp?: string | undefined;
  /** undefined when the task has no public IP (private subnet) or it is not known yet. */
  publicIp?: string | undefined;
  /** EC2 launch type: the container instance it runs on (its public IP is the instance's; no ENI with bridge/host). */
  containerInstanceArn?: string | undefined;
  /** EC2 launch type: the host ports its containers are bound to (`containers[].networkBindings`), ascending. */
  hostPorts?: number[] | undefined;
}

/** A load balancer target group a service registers its tasks in (DescribeServices `loadBalancers`). */
export interface ServiceLoadBalancer {
  targetGroupArn: string;
  containerName?: string | undefined;
  containerPort?: number | undefined;
}

/** ELBv2's target states (DescribeTargetHealth `TargetHealth.State`). */
export type LbTargetState =
  | 'initial'
  | 'healthy'
  | 'unhealthy'
  | 'unhealthy.draining'
  | 'unused'
  | 'draining'
  | 'unavailable';

/** One registered target of a target group, as DescribeTargetHealth shows it, mapped to our task by IP and port. */
export interface TargetHealthSnapshot {
  /** An IP address (target type ip, awsvpc tasks) or an instance id (target type instance). */
  id: string;
  /** ip: the task's own address; instance: an EC2 instance, the task known only by a host port unique to it. */
  type?: 'ip' | 'instance' | undefined;
  port?: number | undefined;
  state: LbTargetState;
  /** ELBv2's code: Target.FailedHealthChecks, Elb.RegistrationInProgress, Target.DeregistrationInProgress… */
  reason?: string | undefined;
  description?: string | undefined;
  /** The task behind it, when one of the service's tasks has its IP and port. */
  taskId?: string | undefined;
}

/** The targets of one target group of a service, or why they could not be read. */
export interface TargetGroupHealth {
  targetGroupArn: string;
  /** The target group's name (from its ARN). */
  name: string;
  targets: TargetHealthSnapshot[];
  /** The read failed: what it said. */
  error?: string | undefined;
}

export interface ServiceSnapshot {
  ref: EcsServiceRef;
  status: string;
  taskDefinition: TaskDefinitionSummary;
  desired: number;
  running: number;
  pending: number;
  deployments: DeploymentSnapshot[];
  /** Newest first. */
  events: ServiceEvent[];
  /** Tasks whose desired status is RUNNING. */
  tasks: TaskSnapshot[];
  /** When the read that produced it started, when it was shared (SharedSnapshots); cards say how old it is. */
  observedAt?: Date | undefined;
  /** The target groups the service registers its tasks in (none: no load balancer). */
  loadBalancers?: ServiceLoadBalancer[] | undefined;
  /** Their targets' health, when it was asked for (DescribeDepth.targetHealth) and the service has target groups. */
  targetHealth?: TargetGroupHealth[] | undefined;
}

export type ServiceLookup =
  | { ref: EcsServiceRef; found: true; snapshot: ServiceSnapshot }
  /** `reason` in words a channel may read; `error` what ECS answered instead of the service, for the log. */
  | { ref: EcsServiceRef; found: false; reason: string; error?: unknown };

export interface DescribeOptions {
  /** Also list and describe the services' running tasks (default true). */
  tasks?: boolean;
  /** Also resolve tasks' public IPs through their ENIs (default true; implies tasks). */
  publicIps?: boolean;
}

/** Reads ECS state in as few calls as the APIs allow (batches per cluster; see DESIGN.md §3.3). */
export interface EcsReader {
  describe(refs: readonly EcsServiceRef[], options?: DescribeOptions): Promise<ServiceLookup[]>;
  /**
   * Tasks of one cluster by ARN, stopped ones included (ECS keeps those about an hour): one DescribeTasks per 100
   * ARNs. The watches use it only for tasks that left the RUNNING listing since the last tick, for their
   * stoppedReason and exit codes. ARNs ECS no longer knows are absent from the result.
   */
  describeTasks?(
    cluster: Pick<EcsServiceRef, 'cluster' | 'region'>,
    taskArns: readonly string[],
  ): Promise<TaskSnapshot[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// Store

export interface AuditEvent {
  id: number;
  at: Date;
  /** Slack user id, or "dockhand" for the app's own actions. */
  actor: string;
  /** What happened: "command", "deployment.approved", "lock.acquired"… */
  action: string;
  service?: string | undefined;
  environment?: string | undefined;
  /** What it happened to: a deployment id, a lock key… */
  subject?: string | undefined;
  /** ok | refused | error | a state name. */
  outcome: string;
  detail?: Record<string, unknown> | undefined;
}

export type NewAuditEvent = Omit<AuditEvent, 'id'>;

export interface AuditQuery {
  service?: string;
  environment?: string;
  subject?: string;
  action?: string;
  limit?: number;
}

export interface LockKey {
  service: string;
  environment: string;
}

export interface Lock extends LockKey {
  /** A deployment id, or "manual:<user>" for /dockhand lock. */
  owner: string;
  /** The process that took it (a restarted process reclaims its own). */
  instance: string;
  holder: string;
  reason?: string | undefined;
  acquiredAt: Date;
  expiresAt?: Date | undefined;
}

export type LockResult = { acquired: true; lock: Lock } | { acquired: false; held: Lock };

// The deployment model lives in src/domain/deployment.ts; its types are re-exported here for the ports' importers,
// its values (isTerminal, TERMINAL_STATES, …) are imported from the domain module: this file holds types only.
export type { DeploymentFacts, DeploymentRequest, DeploymentState, OperationKind } from './domain/deployment.ts';

export interface Approval {
  user: string;
  at: Date;
}

export interface DeploymentRecord {
  /** Opaque, stable id carried in button values ("dep_…"). */
  id: string;
  /** Human number, "#42", increasing across the store. */
  seq: number;
  kind: OperationKind;
  service: string;
  environment: string;
  state: DeploymentState;
  requestedBy: string;
  requestedAt: Date;
  updatedAt: Date;
  /** Where its card lives. */
  channel?: string | undefined;
  messageTs?: string | undefined;
  /** What was asked: one variant per kind of operation. */
  request: DeploymentRequest;
  /** What was found or produced along the way: commit sha/subject, image, digest, task definitions, ECS deployment id… */
  facts: DeploymentFacts;
  approvals: Approval[];
  expiresAt?: Date | undefined;
  finishedAt?: Date | undefined;
  /** Why it is in its state (failure reason, rejection, expiry). */
  reason?: string | undefined;
}

export interface NewDeployment {
  /** Chosen by the caller when it must be known before the record exists (the lock's owner); generated otherwise. */
  id?: string;
  kind: OperationKind;
  service: string;
  environment: string;
  state: DeploymentState;
  requestedBy: string;
  request: DeploymentRequest;
  facts?: DeploymentFacts;
  expiresAt?: Date;
}

export interface TransitionRequest {
  /** The transition happens only from a state that `TRANSITIONS` lets move to `to` (a conditional update). */
  to: DeploymentState;
  /** Narrows those sources further; must be a subset of them (checked). */
  onlyFrom?: readonly DeploymentState[];
  actor: string;
  reason?: string;
  /** Merged into facts in the same write. */
  facts?: DeploymentFacts;
}

export type ApprovalOutcome =
  /** Counted, more approvals are still needed. */
  | { result: 'recorded'; deployment: DeploymentRecord }
  /** This approval completed the quorum: the deployment moved to `approved` in the same write. */
  | { result: 'approved'; deployment: DeploymentRecord }
  /** This user had already approved. */
  | { result: 'duplicate'; deployment: DeploymentRecord }
  /** Not awaiting approval any more (approved, rejected, expired, …): nothing changed. */
  | { result: 'not_pending'; deployment: DeploymentRecord };

export interface DeploymentQuery {
  service?: string;
  environment?: string;
  states?: readonly DeploymentState[];
  kinds?: readonly OperationKind[];
  limit?: number;
}

/**
 * The store. Every state change is written here before it is announced; writes that decide something
 * (a transition, an approval, a lock) are single conditional statements, so two replicas or a double
 * click can never both win.
 */
/**
 * Facts that never change once AWS has told them (a task definition by ARN, a task's public IP by task ARN), kept
 * in the store so that a restart or another replica does not ask AWS again. Values are JSON text.
 */
export interface KeyValueCache {
  /** The stored values of those of `keys` that are known, in one query; marks them used at `at`. */
  cacheGet(kind: string, keys: readonly string[], at: Date): Promise<Map<string, string>>;
  /** Adds entries (a key already stored keeps its value); drops entries of `kind` unused for a while. */
  cachePut(kind: string, entries: ReadonlyMap<string, string>, at: Date): Promise<void>;
}

export interface Store extends KeyValueCache {
  /** Cheap round trip, for /healthz. */
  ping(): Promise<void>;
  close(): Promise<void>;

  appendAudit(event: NewAuditEvent): Promise<void>;
  /** Newest first. */
  listAudit(query: AuditQuery): Promise<AuditEvent[]>;

  /** Creates the record and its "requested" audit event in one transaction. */
  createDeployment(input: NewDeployment, at: Date): Promise<DeploymentRecord>;
  getDeployment(id: string): Promise<DeploymentRecord | undefined>;
  /** Conditional state change + audit event in one transaction; undefined when the current state may not move to `to`. */
  transition(id: string, request: TransitionRequest, at: Date): Promise<DeploymentRecord | undefined>;
  /** Merges facts / card location without a state change (progress, message ts). */
  updateDeployment(
    id: string,
    patch: { facts?: DeploymentFacts; channel?: string; messageTs?: string },
    at: Date,
  ): Promise<DeploymentRecord>;
  /** Records `user`'s approval; when `required` distinct approvals exist, moves to `approved` in the same transaction. */
  approve(id: string, user: string, required: number, at: Date): Promise<ApprovalOutcome>;
  /** Newest first. */
  listDeployments(query: DeploymentQuery): Promise<DeploymentRecord[]>;

  /** Takes the (service, environment) lock unless someone else holds an unexpired one. */
  acquireLock(lock: Omit<Lock, 'acquiredAt'>, at: Date): Promise<LockResult>;
  /** Releases it if `owner` holds it; true when released. */
  releaseLock(key: LockKey, owner: string): Promise<boolean>;
  getLock(key: LockKey, at: Date): Promise<Lock | undefined>;
  listLocks(at: Date): Promise<Lock[]>;

  /** A short lease so that one replica runs a job tick: true when `holder` has it until at+ttl. */
  tryLease(name: string, holder: string, ttlMs: number, at: Date): Promise<boolean>;

  /** Small JSON state that must survive restarts (watch state, IP caches…). */
  getState<T>(key: string): Promise<T | undefined>;
  /** The states of many keys in as few queries as the database allows (a watch tick's 1,000 services: one). */
  getStates<T>(keys: readonly string[]): Promise<Map<string, T>>;
  putState(key: string, value: unknown, at: Date): Promise<void>;

  /**
   * Records a hook delivery (src/http/hooks.ts): true the first time `source`/`id` is seen, false for a replay.
   * Deliveries older than a week are forgotten.
   */
  recordDelivery(source: string, id: string, at: Date): Promise<boolean>;

  /**
   * Forgets delivery ids this replica has just recorded, when they started nothing (every deploy refused, or a
   * failure), so that the same delivery can be sent again.
   */
  forgetDelivery(source: string, ids: readonly string[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Deploy pipeline ports (issue: /deploy). Source → build → push → register → roll out.

/** A checked-out source tree; `cleanup` removes it (always called, also on failure). */
export interface SourceCheckout {
  dir: string;
  commitSha: string;
  /** First line of the commit message. */
  subject: string;
  cleanup(): Promise<void>;
}

export interface CommitSummary {
  sha: string;
  subject: string;
  author: string;
}

export interface SourceFetcher {
  /** Shallow clone of `git` at `ref` (branch, tag or SHA), or the local `path` as is. */
  checkout(source: { git: string; ref: string } | { path: string }, signal?: AbortSignal): Promise<SourceCheckout>;
  /** Commits after `fromSha` up to `toSha`, newest first (at most `limit`, with the total count). */
  commitsBetween?(
    source: { git: string },
    fromSha: string,
    toSha: string,
    limit: number,
  ): Promise<{ commits: CommitSummary[]; total: number } | undefined>;
}

export type BuildEvent =
  | { type: 'step'; step: number; total: number; instruction: string }
  | { type: 'output'; line: string };

export interface BuildRequest {
  contextDir: string;
  /** Relative to contextDir. */
  dockerfile: string;
  buildArgs: Readonly<Record<string, string>>;
  /** Full image names with tags, e.g. 127.0.0.1:5000/acme/api:3f2a1bc. */
  tags: readonly string[];
  /** Labels set on the image (`org.opencontainers.image.revision`: the commit, which /promote reads back). */
  labels?: Readonly<Record<string, string>>;
  onEvent?: (event: BuildEvent) => void;
  signal?: AbortSignal;
}

export interface ImageBuilder {
  /** Throws BuildFailedError (src/errors.ts) with the failing step and its last output lines. */
  build(request: BuildRequest): Promise<{ imageId: string }>;
}

export interface PushRequest {
  /** Local image name:tag to push (already tagged for the registry). */
  image: string;
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
}

/** A registry from dockhand.yml (ECR or a plain Docker registry). */
export interface ImageRegistry {
  /** "host[:port]/repository", without tag. */
  imageName(repository: string): Promise<string>;
  /** Pushes through the engine with this registry's credentials; resolves with the manifest digest. */
  push(request: PushRequest): Promise<{ digest: string }>;
  /** The digest of repository:tag, or undefined when the tag does not exist. */
  resolveTag(repository: string, tag: string): Promise<string | undefined>;
  /** Credentials an engine needs to pull from this registry (undefined = anonymous). */
  auth?(): Promise<RegistryAuth | undefined>;
  /**
   * One look at the registry's scan of an image, by digest (ECR: DescribeImageScanFindings). Absent on registries that
   * do not scan. Throws when the registry cannot be asked (permissions, throttling): the caller decides what that means.
   */
  scanFindings?(repository: string, digest: string): Promise<ScanReading>;
}

/** An ECS service that dockhand deploys: the service plus the one container whose image it replaces. */
export interface EcsDeployTarget extends EcsServiceRef {
  container: string;
}

/** One field of the task definition that a deployment would change (shown in the plan and --dry-run). */
export interface FieldChange {
  /** e.g. "containerDefinitions[app].image". */
  field: string;
  from: string | undefined;
  to: string | undefined;
}

export interface TaskDefinitionPlan {
  /** The revision the service runs now. */
  current: TaskDefinitionSummary;
  /** The image of the target container now. */
  currentImage: string;
  changes: FieldChange[];
  /** The service's deployment alarms and their states; absent when it has none. */
  alarms?: DeploymentAlarms | undefined;
}

export interface StoppedTaskGroup {
  reason: string;
  count: number;
  /** Newest task id in the group, for "see task …". */
  exampleTaskId: string;
  exitCodes: number[];
}

/** A CloudWatch alarm that judges a rollout (ECS deployment alarms), as cards show it. */
export interface DeploymentAlarm {
  name: string;
  /** CloudWatch's StateValue; undefined when CloudWatch does not know the alarm (deleted, another region). */
  state?: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' | undefined;
  /** StateReason, in CloudWatch's words. */
  reason?: string | undefined;
  /** StateUpdatedTimestamp. */
  since?: Date | undefined;
}

/** The service's deployment alarms (`deploymentConfiguration.alarms`, enabled) and their states. */
export interface DeploymentAlarms {
  alarms: DeploymentAlarm[];
  /** ECS rolls the service back when one of them goes into ALARM. */
  rollback: boolean;
  /** Why the states could not be read (DescribeAlarms failed): the names are still shown, the states are not. */
  unreadable?: string | undefined;
  /** The alarms that failed this rollout; set only when it failed because of them. */
  triggered?: string[] | undefined;
}

/** The state of one ECS deployment (the one an UpdateService created), as a rollout card shows it. */
export interface RolloutProgress {
  /** The deployment being watched; undefined when ECS no longer lists it (replaced by a circuit-breaker rollback). */
  deployment?: DeploymentSnapshot | undefined;
  /** Every deployment of the service right now, PRIMARY first. */
  deployments: DeploymentSnapshot[];
  /** COMPLETED only when this deployment is COMPLETED and its running count equals desired. */
  outcome: 'in_progress' | 'completed' | 'failed';
  /** Why it failed, in ECS's words. */
  reason?: string | undefined;
  /** Newest first, de-duplicated, at most 5: service events that report a failure. */
  failureEvents: string[];
  /** Tasks of this deployment that stopped, grouped by reason. */
  stoppedTasks: StoppedTaskGroup[];
  /** Running tasks of this deployment (with public IPs once known). */
  tasks: TaskSnapshot[];
  /** A rollout in stages (ECS blue/green): where it stands, as data; absent for a rolling one. */
  staged?: StagedRollout | undefined;
  /** The service's deployment alarms and their states now; absent when it has none (no call is made). */
  alarms?: DeploymentAlarms | undefined;
  /** The service's target groups and their targets, for a service behind a load balancer. */
  targetHealth?: TargetGroupHealth[] | undefined;
  /**
   * This deployment's tasks whose targets are not healthy yet: while any is listed, a COMPLETED deployment is still
   * in progress (the rollout rule), and a rollout that times out names them.
   */
  unhealthyTargets?: UnhealthyTarget[] | undefined;
  /**
   * The service is behind a load balancer but its target health may not be read (dockhand's role lacks the
   * permission): the rollout is judged on the runtime's deployments alone. The AWS error code only, never its message.
   */
  targetHealthUnreadable?: { permission: string; code: string } | undefined;
  /**
   * Set by the follow loop, not the runtime: while a staged rollout with a bake time is in progress, the rollout
   * timeout is extended by the bake time, so that a bake longer than the timeout is waited for; when it now ends.
   */
  timeoutExtended?: { until: Date; timeout: string; bakeMinutes: number } | undefined;
}

/**
 * The stages of a blue/green rollout, in order: the new ("green") revision scales up beside the old ("blue") one,
 * takes test traffic, then production traffic, bakes while both run, and the old one is cleaned up.
 */
export type RolloutStage =
  | 'reconcile'
  | 'pre_scale_up'
  | 'scale_up'
  | 'post_scale_up'
  | 'test_traffic'
  | 'post_test_traffic'
  | 'pre_production_traffic'
  | 'production_traffic'
  | 'post_production_traffic'
  | 'bake'
  | 'clean_up';

/** One look at a staged rollout (an ECS service deployment of a BLUE_GREEN service). */
export interface StagedRollout {
  strategy: 'blue_green';
  /** The runtime's id of it (the service deployment ARN). */
  id: string;
  /** The stage now; undefined when the runtime names none (yet) or one dockhand does not know. */
  stage?: RolloutStage | undefined;
  /** How the whole rollout stands in the runtime's view. */
  status: 'in_progress' | 'succeeded' | 'rolling_back' | 'rolled_back' | 'rollback_failed' | 'stopped';
  /** Why it stopped or rolled back, in the runtime's words. */
  reason?: string | undefined;
  /** The configured bake time (minutes), when the runtime says. */
  bakeMinutes?: number | undefined;
  /** During the bake stage: how much of it was left when this look was taken (ms, at least 0). */
  bakeLeftMs?: number | undefined;
  /** The deployment alarms the runtime says triggered it (its own record, not read from words). */
  triggeredAlarms?: string[] | undefined;
}

/** A task of the rollout whose target in a target group is not healthy (or not registered yet). */
export interface UnhealthyTarget {
  targetGroup: string;
  taskId: string;
  /** undefined: the task is not registered in the target group yet. */
  state: LbTargetState | undefined;
  reason?: string | undefined;
  description?: string | undefined;
}

/** How an Abort returned the service to the previous revision. */
export interface AbortResult {
  /** stop_service_deployment: ECS rolls its service deployment back; update_service: UpdateService(previous revision). */
  method: 'stop_service_deployment' | 'update_service';
  /** Why ECS's rollback was not used (update_service only), e.g. the API is not available for this service. */
  fallbackReason?: string | undefined;
}

export interface EcsDeployer {
  /** What would change if `image` replaced the target container's image (no writes). */
  planImage(target: EcsDeployTarget, image: string): Promise<TaskDefinitionPlan>;
  /**
   * Copies the service's current task definition, replaces the image of `target.container` only (every other
   * field kept: other containers, env, secrets, logging, cpu/memory, roles), and registers a new revision.
   */
  registerImage(
    target: EcsDeployTarget,
    image: string,
  ): Promise<{ taskDefinitionArn: string; revision: string; previousTaskDefinitionArn: string }>;
  /** UpdateService; resolves with the id of the PRIMARY deployment this call created (or the existing one for count-only changes). */
  updateService(
    target: EcsServiceRef,
    change: { taskDefinitionArn?: string; forceNewDeployment?: boolean; desiredCount?: number },
  ): Promise<{ deploymentId: string }>;
  /**
   * The PRIMARY deployment of the service if it was created at or after `since` (less clock skew) and, when
   * `taskDefinitionArn` is given, runs it: the deployment an UpdateService sent at `since` created, if ECS applied it.
   */
  findRollout(
    target: EcsServiceRef,
    sent: { since: Date; taskDefinitionArn?: string | undefined },
  ): Promise<{ deploymentId: string } | undefined>;
  /** DeregisterTaskDefinition: the revision becomes INACTIVE (tasks that run it keep running). */
  deregisterRevision(target: EcsServiceRef, taskDefinitionArn: string): Promise<void>;
  /**
   * Abort button: returns the service to `previousTaskDefinitionArn` while the rollout `deploymentId` (the
   * "ecs-svc/…" id UpdateService created) still runs. ECS's own StopServiceDeployment with stopType ROLLBACK where the
   * API offers it for this rollout, otherwise UpdateService to the previous revision; resolves with the method used.
   */
  abort(
    target: EcsServiceRef,
    deployment: { deploymentId: string; taskDefinitionArn?: string; previousTaskDefinitionArn: string },
  ): Promise<AbortResult>;
  /**
   * One look at the deployment `deploymentId` of the service. `countOnly`: it follows a new desired count, which
   * starts no rollout of its own (no blue/green service deployment: the tasks decide).
   */
  rolloutProgress(
    target: EcsServiceRef,
    deploymentId: string,
    options?: { countOnly?: boolean | undefined },
  ): Promise<RolloutProgress>;
  /** The task definition ARN the service runs now, and the ACTIVE revisions of its family (newest first). */
  currentTaskDefinition(target: EcsServiceRef): Promise<{ arn: string; family: string; revision: number }>;
  listRevisions(target: EcsServiceRef, family: string, limit: number): Promise<{ arn: string; revision: number }[]>;
  /** The last `limit` log lines of tasks (when their containers log with awslogs); [] otherwise. */
  recentLogLines(target: EcsDeployTarget, taskIds: readonly string[], limit: number): Promise<string[]>;
}

/** Where a card lives in Slack. */
export interface MessageRef {
  channel: string;
  ts: string;
}

export interface OutgoingMessage {
  text: string;
  blocks?: unknown[];
}

/**
 * Posting to Slack from background work (cards, alerts). Implementations throttle `update` per card (~1 per 2 s,
 * coalescing: the newest content wins) and across the app (~40/min), honour Retry-After on 429 without stalling
 * other calls, and never throw for a transient failure of an update (it is retried with the newest content).
 */
export interface Notifier {
  /** Posts at once (never behind card updates); with `threadTs`, as a reply in that message's thread. */
  post(channel: string, message: OutgoingMessage, threadTs?: string): Promise<MessageRef>;
  /** Schedules an update; resolves when this content (or newer) has been written. */
  update(ref: MessageRef, message: OutgoingMessage): Promise<void>;
  /** Writes at once, skipping the throttle (final states). */
  updateNow(ref: MessageRef, message: OutgoingMessage): Promise<void>;
  ephemeral(channel: string, user: string, message: OutgoingMessage): Promise<void>;
  /** Uploads a text file (log excerpts) to a channel, optionally in a thread. */
  upload?(
    channel: string,
    file: { filename: string; content: string; title: string },
    threadTs?: string,
  ): Promise<void>;
  /** Resolves when every scheduled update has been written (for shutdown). */
  flush(): Promise<void>;
}

/** Slack users and user groups. */
export interface Directory {
  /** Members of a user group (S…), cached briefly. */
  membersOf(groupId: string): Promise<readonly string[]>;
  /** True when `user` is one of `principals` (user ids, or group ids it belongs to). */
  includes(principals: readonly string[], user: string): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------------------------
// Logs (issue: /logs).

export interface LogQuery {
  /** Lines from this moment on. */
  since: Date;
  /** Only lines containing this text (case-sensitive, as CloudWatch Logs matches). */
  grep?: string | undefined;
  /** Newest lines kept. */
  limit: number;
}

export interface ServiceLogLine {
  at: Date;
  /** The task that wrote it, from the stream name. */
  taskId?: string | undefined;
  /** Raw, unmasked: the core masks before anything is shown. */
  message: string;
}

export type ServiceLogs =
  | {
      found: true;
      group: string;
      /** Newest `limit` matching lines, oldest first. */
      lines: ServiceLogLine[];
      /** True when the search stopped before the whole window was read (more lines may exist). */
      incomplete: boolean;
    }
  /** The target container does not log with awslogs: `logDriver` is what it uses (undefined = none configured). */
  | { found: false; container: string; logDriver: string | undefined };

/** Reads the log lines of a service's tasks (the target container) from where its task definition sends them. */
export interface LogReader {
  serviceLogs(target: EcsDeployTarget, query: LogQuery): Promise<ServiceLogs>;
}

// ---------------------------------------------------------------------------------------------------------------
// Docker-host target (issue: Docker-host target). A plain Docker engine (unix://, tcp://, ssh://) runs the
// service's containers, named `<container>` (one replica) or `<container>-1…N`, labelled with what dockhand knows.

/** A `type: docker` environment target, with the names it belongs to. */
export interface DockerHostTarget {
  service: string;
  environment: string;
  host: string;
  container: string;
  ports: readonly string[];
  env: Readonly<Record<string, string>>;
  volumes: readonly string[];
  healthcheck?: { port: number; path?: string | undefined } | undefined;
  replicas: number;
  /** Docker's init as PID 1 (forwards signals, reaps zombies). */
  init?: boolean | undefined;
  /** The Docker network its containers join (default: the engine's bridge). */
  network?: string | undefined;
  publicAddress?: string | undefined;
  tls?: { ca: string; cert: string; key: string } | undefined;
  sshKey?: string | undefined;
}

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export interface HostContainer {
  id: string;
  name: string;
  /** The image reference it was started from (name@digest or name:tag). */
  image: string;
  /** sha256:… of the image's repo digest when known. */
  digest?: string | undefined;
  /** running, exited, restarting, created… */
  state: string;
  /** From the container's HEALTHCHECK; UNKNOWN when it has none. */
  health: Health;
  startedAt?: Date | undefined;
  restartCount: number;
  exitCode?: number | undefined;
  /** dockhand.* labels: service, environment, deployment, digest. */
  labels: Readonly<Record<string, string>>;
  /** "0.0.0.0:80->8080/tcp". */
  ports: string[];
  /** Its addresses on the Docker networks it joined (none with host networking). */
  addresses?: { network: string; ip: string }[] | undefined;
}

export interface HostSnapshot {
  /** The engine URL without credentials. */
  host: string;
  /** Where the service is reached: config publicAddress, else the host part of the engine URL. */
  publicAddress?: string | undefined;
  containers: HostContainer[];
}

/** What recover() left running: old containers started again, and the interrupted operation's that had taken over. */
export interface HostRecovery {
  restarted: string[];
  tookOver: string[];
}

export type HostPhase = 'pulling' | 'stopping_old' | 'starting' | 'waiting_healthy' | 'removing_old' | 'restoring_old';

export interface HostDeployRequest {
  target: DockerHostTarget;
  /** What to run: name@digest (preferred) or name:tag. */
  image: string;
  /** Pull credentials; undefined = anonymous, or the image is already on the engine. */
  auth?: RegistryAuth | undefined;
  /** Pull before starting (false when the engine that built the image is the one that runs it). */
  pull: boolean;
  deploymentId: string;
  /** Replicas to run; default target.replicas. */
  replicas?: number | undefined;
  onProgress?: ((phase: HostPhase, detail?: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface HostDeployResult {
  containers: HostContainer[];
  /** The image the replaced containers ran (for rollback), when there were any. */
  previousImage?: string | undefined;
  /** True when a fixed host port forced stop-old-then-start-new (a short gap in service). */
  gap: boolean;
}

/**
 * Deploys and inspects a service on a Docker host. A failed deploy (never healthy) removes what it started,
 * leaves the previous containers running (restarting them if they had to be stopped for a fixed port), and throws
 * HostDeployError with the new container's last log lines.
 */
export interface DockerHostRuntime {
  snapshot(target: DockerHostTarget): Promise<HostSnapshot>;
  deploy(request: HostDeployRequest): Promise<HostDeployResult>;
  /** Adds or removes replicas running the current image (`<container>-1…N`). */
  scale(target: DockerHostTarget, replicas: number, deploymentId: string): Promise<HostDeployResult>;
  /**
   * Undoes what an interrupted deploy left (dockhand stopped while it replaced the containers): its new containers
   * that never took over are removed, and old ones it had stopped to free a fixed host port (stopped since
   * `since`) are started again. Those that had already taken over (the handover was done) are kept.
   */
  recover(target: DockerHostTarget, interrupted: { deploymentId: string; since: Date }): Promise<HostRecovery>;
  logs(
    target: DockerHostTarget,
    query: { since: Date; grep?: string | undefined; limit: number },
  ): Promise<{ lines: { at: Date; container: string; message: string }[]; incomplete: boolean }>;
}

/**
 * A DNS zone's A records (Route 53: src/adapters/aws/route53.ts), for DNS that follows public IPs
 * (src/core/watch/dns.ts). `zone` is the hosted zone id, `name` a DNS name without the final dot.
 */
export interface DnsRecords {
  /** The simple A record `name` holds (values and TTL), or undefined when there is none. One call. */
  readA(zone: string, name: string): Promise<{ ips: string[]; ttl: number } | undefined>;
  /** Creates or replaces the A record `name` with one value per IP. One call. */
  upsertA(zone: string, name: string, ips: readonly string[], ttl: number, comment: string): Promise<void>;
}

/** An image in a registry of dockhand.yml: the registry's name there and a repository in it. */
export interface ImageLocation {
  registry: string;
  repository: string;
}

export interface ImageCopyRequest {
  /** The manifest digest to copy (a single-platform manifest or an index). */
  digest: string;
  from: ImageLocation;
  to: ImageLocation;
  /** Bytes of blobs moved so far and the total to move, reported while copying. */
  onProgress?: ((copied: number, total: number) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface ImageCopyResult {
  /** The digest in `to`, read back from the target registry after the copy (equals the request's digest). */
  digest: string;
  /**
   * `present`: the target already had the manifest, nothing moved; `mount`: blobs were mounted across repositories
   * of the same registry; `copy`: blobs were pulled from the source and pushed to the target.
   */
  method: 'present' | 'mount' | 'copy';
  /** Bytes of blobs moved (0 for present and mount). */
  bytes: number;
}

/**
 * Registries read and copied over their HTTP API (src/adapters/registry/), byte for byte, so a promoted image keeps
 * its digest (a pull and push through an engine would rewrite a multi-platform index).
 */
export interface ImageCopier {
  copy(request: ImageCopyRequest): Promise<ImageCopyResult>;
  /** The image config's labels (`org.opencontainers.image.revision`…) of `digest`; {} when it has none. */
  labels(location: ImageLocation, digest: string): Promise<Record<string, string>>;
}
