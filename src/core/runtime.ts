/**
 * The Runtime port: where a service runs, by role, not by technology. Amazon ECS and a plain Docker host both
 * implement it (src/adapters/aws/ecs-runtime.ts, src/adapters/docker/docker-runtime.ts); a third runtime (ECS
 * blue/green, a Kubernetes Deployment) is one more adapter, one more entry in the factory
 * (src/adapters/runtimes.ts) and one more file running test/contract/runtime.contract.ts.
 *
 * Every method takes the resolved target (service, environment, its config): the adapter reads what it needs from
 * it. Nothing here branches on the target type: `Runtimes.for(target)` is the only place that does.
 */
import { DockhandError, failureLineForChannel } from '../errors.ts';
import type {
  DeploymentAlarms,
  FieldChange,
  Health,
  HostPhase,
  HostSnapshot,
  RegistryAuth,
  RolloutProgress,
  ServiceLogs,
  ServiceSnapshot,
} from '../ports.ts';
import type { ResolvedTarget } from './targets.ts';

// ---------------------------------------------------------------------------------------------------------------
// What runs: one snapshot type for /status, /dockhand ips, cards and the watches.

/** One running unit of a service: an ECS task, a Docker container. */
export interface RuntimeUnit {
  /** ECS task id, container name. */
  id: string;
  /** The runtime's full name for it, where it differs from `id` (the task ARN). */
  ref?: string | undefined;
  /** RUNNING, PENDING… (ECS); running, exited… (Docker). */
  state: string;
  health: Health;
  /** What it runs, as the cards name it: "family:revision", or a short image digest or reference. */
  revision: string;
  /** sha256:… of the image the target's container runs, when the runtime reports it (what a tag pointed to then). */
  imageDigest?: string | undefined;
  startedAt?: Date | undefined;
  privateIp?: string | undefined;
  /** Where it is reached from outside (a public IP, or host:port), when it is. */
  publicAddress?: string | undefined;
}

/** A unit that left the running set, and why. */
export interface StoppedUnit extends RuntimeUnit {
  stoppedAt?: Date | undefined;
  /** In the runtime's words ("Essential container in task exited"). */
  reason?: string | undefined;
  /** The runtime's code for it (ECS: EssentialContainerExited, TaskFailedToStart, ServiceSchedulerInitiated…). */
  stopCode?: string | undefined;
  exitCodes: number[];
}

/** A change of revision under way or just done (an ECS deployment), as status cards show it. */
export interface RuntimeRollout {
  id: string;
  revision: string;
  /** True for the newest one (the one that will remain). */
  primary: boolean;
  /** When it began, where the runtime says (the watches match it with dockhand's deployments). */
  startedAt?: Date | undefined;
  outcome: 'in_progress' | 'completed' | 'failed' | undefined;
  desired: number;
  running: number;
  pending: number;
  failed: number;
}

/**
 * The technology's own view, for the cards that show it (task definitions and ECS events; container names and
 * ports). Only renderers look inside; the core reads the common fields above.
 */
export type RuntimeDetail =
  | { kind: 'ecs'; service: ServiceSnapshot }
  | { kind: 'docker'; host: HostSnapshot; replicas: number };

export interface RuntimeSnapshot {
  service: string;
  environment: string;
  /** What the service runs now ("api:42", "sha256:abcdef123456"), undefined when nothing runs. */
  revision: string | undefined;
  /** The image of the target's container now (the digest shows its tag), when the runtime tells. */
  image?: string | undefined;
  /** How many units it should run, and runs. */
  desired: number;
  running: number;
  units: RuntimeUnit[];
  /** Newest first; empty when the runtime has no rollouts of its own (a Docker host changes in one step). */
  rollouts: RuntimeRollout[];
  /** When the read it comes from started, when it was shared; cards say how old it is. */
  observedAt?: Date | undefined;
  detail: RuntimeDetail;
}

export type RuntimeLookup =
  | { target: ResolvedTarget; found: true; snapshot: RuntimeSnapshot }
  /**
   * `error` is what the read threw, when it threw (a single read rethrows it: its message says what to do);
   * `unsupported` when no runtime for the target's type is available in this process; `batch` when the runtime's
   * read of all the targets asked of it failed at once (describeTargets: one error for all of them).
   */
  | { target: ResolvedTarget; found: false; reason: string; error?: unknown; unsupported?: boolean; batch?: boolean };

export interface DescribeDepth {
  /** Also list the running units (default true). */
  units?: boolean;
  /** Also resolve their public addresses (default true; implies units). */
  publicAddresses?: boolean;
  /**
   * Also read the health of the load balancer targets, where the service has some (default false; implies units):
   * for every target asked about, or only for those the predicate picks (a watch tick: the health-watched ones).
   */
  targetHealth?: boolean | ((target: ResolvedTarget) => boolean);
}

// ---------------------------------------------------------------------------------------------------------------
// Changing what runs: plan → apply → follow (→ abort | recover), and rollback as an apply of an older revision.

/** A revision the runtime can return to: its name for cards and what `apply` needs (task definition ARN, image). */
export interface RevisionRef {
  revision: string;
  ref: string;
  /** Its number, where the runtime numbers revisions (ECS: the task definition revision, `/rollback api 41`). */
  number?: number | undefined;
}

export interface RevisionList {
  /** What runs now. */
  current: RevisionRef | undefined;
  /** The name the revisions share, where they have one (an ECS task definition family), for messages. */
  series?: string | undefined;
  /**
   * The other revisions it can switch to, newest first (older and newer: after a rollback the newer one is still
   * there); undefined when the runtime keeps none (a Docker host: the deployment history names the images it ran).
   * Asked for none (`limit` 0), a runtime that keeps some answers [] without reading them.
   */
  others: RevisionRef[] | undefined;
}

export type RuntimeChange =
  /** Run this image in the target container (a deploy). */
  | { kind: 'image'; image: string }
  /** Start fresh units of what runs now (ECS force new deployment; the Docker host re-creates the containers). */
  | { kind: 'restart' }
  /** Return to an earlier revision (a rollback). */
  | { kind: 'revision'; to: RevisionRef }
  /** Run this many units. */
  | { kind: 'scale'; count: number };

export interface RuntimePlan {
  current: RevisionRef | undefined;
  /** The target container's image now ("—" when nothing runs). */
  currentImage: string;
  /** The image the change would run, where it names one (a deploy; a rollback to an image). */
  newImage?: string | undefined;
  changes: FieldChange[];
  /** The alarms that judge the rollout (ECS deployment alarms) and their states now; absent when there are none. */
  alarms?: DeploymentAlarms | undefined;
}

export interface ApplyContext {
  /** The dockhand deployment this change belongs to (labels, recovery). */
  operationId: string;
  /**
   * Where the runtime pulls the image itself (a Docker host), pull it first with these credentials (undefined:
   * anonymous), asked for only when it pulls (a runtime that does not never calls it: no token is fetched for
   * nothing). Without it the image is taken as already there (built by the engine that runs it).
   */
  pull?: { auth: () => Promise<RegistryAuth | undefined> } | undefined;
  /**
   * Called once the change is ready to be sent (a new revision registered) and before it is: the pipeline records
   * what it is about to do, so that a restart in between can find out whether the runtime applied it.
   */
  beforeSend?:
    | ((prepared: { revision?: RevisionRef | undefined; previous?: RevisionRef | undefined }) => Promise<void>)
    | undefined;
  onProgress?: ((phase: HostPhase, detail?: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** What `apply` started. */
export interface AppliedChange {
  /** The rollout to follow (ECS deployment id); the Docker host finishes inside `apply` and names none. */
  rolloutId?: string | undefined;
  /** The revision it runs (new registrations only). */
  revision?: RevisionRef | undefined;
  /** What ran before, to roll back to. */
  previous?: RevisionRef | undefined;
  /** True when the change was complete when `apply` returned. */
  done: boolean;
  /** A new count only: the runtime follows its units, no staged rollout (a count change starts none). */
  countOnly?: boolean | undefined;
  /** A fixed host port forced a short gap in service (Docker host). */
  gap?: boolean | undefined;
  /** What runs once a change `apply` finished (`done`): its units, how many run, where they are reached. */
  settled?: { units: string[]; running: number; addresses: string[] } | undefined;
}

/** How an interrupted change (dockhand stopped while applying it) stands after `recover`. */
export type Recovery =
  /** The runtime applied it: follow this rollout. */
  | { result: 'resume'; rolloutId: string }
  /** It was not applied; nothing runs it. */
  | { result: 'not_applied' }
  /** The runtime cleaned up after it: old units restarted, new ones that had taken over kept. */
  | { result: 'undone'; restarted: string[]; tookOver: string[] };

export interface LogRequest {
  since: Date;
  grep?: string | undefined;
  limit: number;
}

/** The bounds an auto scaler keeps a service's unit count within. */
export interface ScalingBounds {
  min: number;
  max: number;
}

/** A service's count under an auto scaler (ECS: Application Auto Scaling's scalable target), as /status shows it. */
export interface AutoScalingDetail extends ScalingBounds {
  /** Its scaling policies: name, type ("TargetTrackingScaling"), and what it tracks, where it tracks something. */
  policies: { name: string; type: string; targetValue?: number | undefined; metric?: string | undefined }[];
  /** Its last scaling activities, newest first. */
  activities: { at: Date; status: string; description: string; cause?: string | undefined }[];
}

/**
 * An auto scaler that owns a service's unit count, where the runtime has one (ECS). A runtime without it (a Docker
 * host) has no bounds to set: `/scale api 2..8` is refused there.
 */
export interface AutoScaling {
  /** The bounds of the service's count, undefined when nothing auto scales it (one read). */
  bounds(target: ResolvedTarget): Promise<ScalingBounds | undefined>;
  /** The same with its policies and last `activities` activities, for /status (undefined: not auto scaled). */
  detail(target: ResolvedTarget, activities: number): Promise<AutoScalingDetail | undefined>;
  /** Sets the bounds of the service's existing auto scaling (the auto scaler moves the count inside them). */
  setBounds(target: ResolvedTarget, bounds: ScalingBounds): Promise<void>;
}

export interface Runtime {
  /** What runs the service, for messages: "Amazon ECS", "a Docker host". */
  readonly label: string;
  /** Where an auto scaler may own the count (ECS with Application Auto Scaling); absent where none can. */
  readonly autoScaling?: AutoScaling | undefined;
  /**
   * True when its units are reached at a fixed address (a Docker host's host:port): there are no public IPs that
   * change to watch, and a public-IP watch of its targets is not scheduled.
   */
  readonly fixedAddress?: boolean;
  /** The cards' vocabulary: tasks and task definitions ('ecs'), containers and images ('docker'). */
  readonly platform: 'ecs' | 'docker';
  /**
   * What a `RevisionRef.ref` is: a task definition ARN (numbered revisions the runtime keeps, ECS) or an image (no
   * numbers, none kept: the deployment history names them). It names the facts and rollback requests that keep it.
   */
  readonly revisionKind: 'taskDefinition' | 'image';
  /** `apply` registers a new revision before it sends a change of image (the card shows "registering"). */
  readonly registers: boolean;
  /** The failure reason of a rollout whose runtime gave none. */
  readonly unexplainedFailure: string;
  /** Whether a failed `progress` look is worth repeating: never (permanent), after a backoff, or a few times. */
  classify(error: unknown): 'permanent' | 'throttled' | 'passing';
  /** The services' snapshots, in as few calls as the runtime allows (batched per cluster). */
  describe(targets: readonly ResolvedTarget[], depth?: DescribeDepth): Promise<RuntimeLookup[]>;
  /**
   * Which of its targets the runtime reads together in one batch of calls (ECS: a region's cluster, whose tasks one
   * ListTasks lists): a watch tick reads a few such groups at a time, so what it read of one is let go before the
   * next is read, at no extra call. Absent: all its targets are one group.
   */
  readGroup?(target: ResolvedTarget): string;
  /** What `change` would change (no writes). */
  plan(target: ResolvedTarget, change: RuntimeChange): Promise<RuntimePlan>;
  /** Makes the change. A Docker host finishes it here (or throws, leaving the old units serving). */
  apply(target: ResolvedTarget, change: RuntimeChange, context: ApplyContext): Promise<AppliedChange>;
  /** One look at a change `apply` started; COMPLETED only when the new revision runs everywhere it should. */
  progress(target: ResolvedTarget, applied: AppliedChange): Promise<RolloutProgress>;
  /**
   * Returns to `previous` while the rollout `applied` still runs (the Abort button); says how. Absent where a change
   * is one step that `apply` finishes (a Docker host): there is no rollout in progress to abort.
   */
  abort?(
    target: ResolvedTarget,
    applied: AppliedChange,
    previous: RevisionRef,
  ): Promise<{ method: string; fallbackReason?: string | undefined }>;
  /** What runs now and the revisions it could return to (at most `limit` of those). */
  revisions(target: ResolvedTarget, limit: number): Promise<RevisionList>;
  /** Drops a revision `apply` registered that nothing will run (its rollout was never started). */
  discard(target: ResolvedTarget, revision: RevisionRef): Promise<void>;
  /** Finds out how a change interrupted at `sentAt` stands, cleaning up after it where the runtime must. */
  recover(
    target: ResolvedTarget,
    interrupted: { operationId: string; sentAt: Date; revision?: RevisionRef | undefined },
  ): Promise<Recovery>;
  /**
   * Why units that left the running set since an earlier snapshot stopped (`unitRefs`: their `ref`, else `id`), for
   * many targets in one go, read in as few calls as the runtime allows; in the order asked. Units the runtime no
   * longer knows are absent; a runtime whose snapshot already shows its stopped units answers none. `error`: the
   * runtime could not tell for this target (its part of the read failed: an ECS cluster's DescribeTasks), also for a
   * target asked with no units whose part was read for others. It is the error itself: the core words it for the
   * channel and logs it whole.
   */
  stoppedUnits(
    gone: readonly { target: ResolvedTarget; unitRefs: readonly string[] }[],
  ): Promise<{ target: ResolvedTarget; units: StoppedUnit[]; error?: unknown }[]>;
  /** The service's log lines (raw: the core masks them). */
  logs(target: ResolvedTarget, request: LogRequest): Promise<ServiceLogs>;
  /** The last lines of some units, for a failure card ([] when the runtime cannot tell). */
  recentLines(target: ResolvedTarget, unitIds: readonly string[], limit: number): Promise<string[]>;
}

/**
 * True when `apply` finishes a change in one step (a Docker host): nothing to follow, nothing to abort. The port
 * says so by having no `abort`.
 */
export const isOneStep = (runtime: Runtime): boolean => runtime.abort === undefined;

/** Picks the runtime of a target: the one place that knows which technology runs it. */
export interface Runtimes {
  /** Throws a DockhandError naming the target when no runtime for its type is available in this process. */
  for(target: ResolvedTarget): Runtime;
}

/**
 * Snapshots of many targets, each runtime asked once for all of its targets; in the order of `targets`. A runtime
 * whose read throws rejects the whole answer, unless `settle`: then its targets are lookups with `batch` (a watch
 * tick reads the other runtimes' targets all the same).
 */
export const describeTargets = async (
  runtimes: Runtimes,
  targets: readonly ResolvedTarget[],
  depth?: DescribeDepth,
  options: { settle?: boolean } = {},
): Promise<RuntimeLookup[]> => {
  const groups = new Map<Runtime, number[]>();
  const results: (RuntimeLookup | undefined)[] = targets.map(() => undefined);
  targets.forEach((target, i) => {
    let runtime: Runtime;
    try {
      runtime = runtimes.for(target);
    } catch (error) {
      results[i] = { target, found: false, reason: failureLineForChannel(error), error, unsupported: true };
      return;
    }
    const indexes = groups.get(runtime) ?? [];
    indexes.push(i);
    groups.set(runtime, indexes);
  });
  await Promise.all(
    [...groups].map(async ([runtime, indexes]) => {
      let lookups: RuntimeLookup[];
      try {
        lookups = await runtime.describe(
          indexes.map((i) => targets[i] as ResolvedTarget),
          depth,
        );
      } catch (error) {
        if (!options.settle) throw error;
        lookups = indexes.map((i) => ({
          target: targets[i] as ResolvedTarget,
          found: false,
          reason: failureLineForChannel(error),
          error,
          batch: true,
        }));
      }
      indexes.forEach((i, n) => {
        results[i] = lookups[n] ?? { target: targets[i] as ResolvedTarget, found: false, reason: 'no answer' };
      });
    }),
  );
  return results as RuntimeLookup[];
};

/** The snapshot of one target; a read that failed throws (a service not found as a DockhandError). */
export const describeTarget = async (
  runtimes: Runtimes,
  target: ResolvedTarget,
  depth?: DescribeDepth,
): Promise<RuntimeSnapshot> => {
  const [lookup] = await runtimes.for(target).describe([target], depth);
  if (!lookup) throw new DockhandError('internal', 'The runtime returned nothing.');
  if (lookup.found) return lookup.snapshot;
  if (lookup.error !== undefined) throw lookup.error;
  throw new DockhandError('not_found', `${target.service} (${target.environment}): ${lookup.reason}.`, {
    hint: 'Check the cluster and service names in dockhand.yml.',
  });
};
