/**
 * The health of a service's load balancer targets (ELBv2 DescribeTargetHealth), mapped to the service's tasks by IP
 * and port: an awsvpc task is the target whose Id is its private IP on the container port; an EC2-launch-type task
 * (target type instance) is the target on one of its host ports.
 *
 * Calls: one DescribeTargetHealth per target group of the service, per read. It reads current state, so a steady
 * service costs the same as a rolling one. Reads for /status and the watches share one call per target group while
 * it is in flight or younger than `maxAgeMs` (like the ECS snapshots they come with); a rollout's look never does.
 * A refusal (the role lacks the permission; ELBv2's Describe actions have no resource-level permissions, so it holds
 * for every group of the region, but a policy may deny some regions only) is not asked again in that region for
 * `refusalBackoffMs`: meanwhile every read there answers it without a call. Then one call asks again while the other
 * reads of the region wait for its answer; a failure that is not a refusal forgets it.
 */
import type {
  DescribeTargetHealthCommandOutput,
  TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsError, errorName, isAccessDenied, messageForChannel } from '../../errors.ts';
import type {
  Clock,
  EcsServiceRef,
  LbTargetState,
  ServiceLoadBalancer,
  TargetGroupHealth,
  TargetHealthSnapshot,
  TaskSnapshot,
} from '../../ports.ts';
import type { AwsClientSet } from './clients.ts';
import { elbv2Sdk } from './sdk.ts';

const STATES: readonly LbTargetState[] = [
  'initial',
  'healthy',
  'unhealthy',
  'unhealthy.draining',
  'unused',
  'draining',
  'unavailable',
];

/** "arn:…:targetgroup/api-tg/0123456789abcdef" → "api-tg". */
export const targetGroupName = (arn: string): string => /:targetgroup\/([^/]+)\//.exec(arn)?.[1] ?? arn;

/** The task a target stands for: same IP on the container port (ip targets), or one of its host ports (instance). */
export const taskOfTarget = (
  target: { id: string; port?: number | undefined },
  lb: ServiceLoadBalancer,
  tasks: readonly TaskSnapshot[],
): TaskSnapshot | undefined => {
  const byIp = tasks.find(
    (t) =>
      t.privateIp === target.id &&
      (target.port === undefined || lb.containerPort === undefined || target.port === lb.containerPort),
  );
  if (byIp) return byIp;
  if (target.port === undefined) return undefined;
  const port = target.port;
  const onHostPort = tasks.filter((t) => t.hostPorts?.includes(port));
  return onHostPort.length === 1 ? onHostPort[0] : undefined;
};

/** One target as the port shows it. */
export const toTargetHealth = (
  d: TargetHealthDescription,
  lb: ServiceLoadBalancer,
  tasks: readonly TaskSnapshot[],
): TargetHealthSnapshot => {
  const id = d.Target?.Id ?? '';
  const port = d.Target?.Port;
  const raw = d.TargetHealth?.State;
  const state: LbTargetState = STATES.includes(raw as LbTargetState) ? (raw as LbTargetState) : 'unavailable';
  return {
    id,
    type: /^i-[0-9a-f]+$/.test(id) ? 'instance' : 'ip',
    port,
    state,
    reason: d.TargetHealth?.Reason,
    description: d.TargetHealth?.Description,
    taskId: taskOfTarget({ id, port }, lb, tasks)?.id,
  };
};

export interface TargetHealthReaderOptions {
  /** The clients of a region (undefined = the default region); see createAwsClients. */
  clients: { forRegion(region?: string): Pick<AwsClientSet, 'elbv2'> };
  /**
   * How long a read for /status or a watch (`settle`) answers other such reads of the same target group, like the
   * ECS snapshots they come with (DOCKHAND_SNAPSHOT_MAX_AGE_MS); 0 (default): never. A rollout's look reads afresh.
   */
  maxAgeMs?: number | undefined;
  clock?: Pick<Clock, 'now'> | undefined;
  /**
   * Told of a read that failed while settling (/status, the watch): what those show is the action and code only,
   * so the whole error (AWS's message) goes to the log from here. Told once per failure, not once per tick or
   * caller: again only when a group's error changes or comes back after a read that worked; a refusal (the role
   * lacks the permission, for every group of a region alike) once for all the region's groups.
   */
  onSettledError?: ((error: AwsError) => void) | undefined;
  /**
   * After a refusal, how long every read in its region answers it without asking (REFUSAL_BACKOFF_MS); then one call
   * asks again for all the region's groups (the others wait for its answer; if it fails otherwise, throttled say,
   * they ask at once).
   */
  refusalBackoffMs?: number | undefined;
}

const ACCESS_DENIED = 'AccessDenied';

/** Where #told keeps a region's refusal, told once for all its groups. */
const refusedKey = (ref: EcsServiceRef): string => `${ACCESS_DENIED} ${ref.region ?? ''}`;

/**
 * Five minutes: a refused read costs a call per target group per watch tick and rollout look, all refused until
 * someone changes the IAM policy; an operator who does expects dockhand to see it soon, without a restart.
 */
export const REFUSAL_BACKOFF_MS = 5 * 60_000;

/**
 * A region's last refusal: answered without a call until `until`; then `probe` is the one call asking again, if any.
 * Its answer settles it: refused again, a new refusal; answered or failed otherwise, none.
 */
interface Refusal {
  cause: unknown;
  until: number;
  probe?: Promise<void> | undefined;
}

export class TargetHealthReader {
  readonly #clients: TargetHealthReaderOptions['clients'];
  readonly #maxAgeMs: number;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #onSettledError: ((error: AwsError) => void) | undefined;
  readonly #refusalBackoffMs: number;
  /**
   * The last refusal by region ('' = the default region): a Deny may be conditioned on aws:RequestedRegion (an SCP
   * allowing some regions only), so one region's refusal says nothing of another's.
   */
  readonly #refusals = new Map<string, Refusal>();
  /** The failure last told, by target group ARN (a refusal under `refusedKey(region)`). */
  readonly #told = new Map<string, string>();
  /** Shared reads by region and target group ARN: in flight, or answered less than maxAgeMs ago. */
  readonly #shared = new Map<string, { at: number; read: Promise<TargetHealthDescription[]> }>();

  constructor(options: TargetHealthReaderOptions) {
    this.#clients = options.clients;
    this.#maxAgeMs = options.maxAgeMs ?? 0;
    this.#clock = options.clock ?? { now: () => new Date() };
    this.#onSettledError = options.onSettledError;
    this.#refusalBackoffMs = options.refusalBackoffMs ?? REFUSAL_BACKOFF_MS;
  }

  /**
   * The targets of each of the service's target groups (one DescribeTargetHealth each), mapped to `tasks`. A read
   * that fails throws (a rollout's look is retried or failed by the follow loop), unless `settle`: then that group
   * carries the error and the others are read all the same (/status, the watch).
   */
  async read(
    ref: EcsServiceRef,
    loadBalancers: readonly ServiceLoadBalancer[],
    tasks: readonly TaskSnapshot[],
    options: { settle?: boolean } = {},
  ): Promise<TargetGroupHealth[]> {
    const groups = [...new Map(loadBalancers.map((lb) => [lb.targetGroupArn, lb])).values()];
    return Promise.all(
      groups.map(async (lb): Promise<TargetGroupHealth> => {
        const name = targetGroupName(lb.targetGroupArn);
        let described: TargetHealthDescription[];
        try {
          described = await (options.settle ? this.#sharedRead(ref, lb.targetGroupArn) : this.#describe(ref, lb));
        } catch (error) {
          const wrapped = new AwsError(`read the target health of target group ${name}`, error);
          if (!options.settle) throw wrapped;
          this.#tell(ref, lb.targetGroupArn, wrapped);
          // A refusal's message names the account and the role: only its code, and the permission, are shown.
          const message = isAccessDenied(wrapped.awsCode)
            ? `read the target health of target group ${name}: ${wrapped.awsCode}: dockhand’s role lacks elasticloadbalancing:DescribeTargetHealth`
            : messageForChannel(wrapped);
          return { targetGroupArn: lb.targetGroupArn, name, targets: [], error: message };
        }
        this.#told.delete(lb.targetGroupArn);
        this.#told.delete(refusedKey(ref));
        const targets = described.map((d) => toTargetHealth(d, lb, tasks));
        return { targetGroupArn: lb.targetGroupArn, name, targets };
      }),
    );
  }

  #tell(ref: EcsServiceRef, targetGroupArn: string, error: AwsError): void {
    const refused = isAccessDenied(error.awsCode);
    const key = refused ? refusedKey(ref) : targetGroupArn;
    const what = refused ? error.awsCode : error.message;
    if (this.#told.get(key) === what) return;
    this.#told.set(key, what);
    this.#onSettledError?.(error);
  }

  /**
   * One DescribeTargetHealth, unless a refusal is remembered for the region: then its error, without a call (see
   * Refusal).
   */
  async #describe(
    ref: EcsServiceRef,
    lb: Pick<ServiceLoadBalancer, 'targetGroupArn'>,
  ): Promise<TargetHealthDescription[]> {
    const region = ref.region ?? '';
    let refusal = this.#refusals.get(region);
    while (refusal?.probe) {
      await refusal.probe;
      refusal = this.#refusals.get(region);
    }
    if (refusal && this.#clock.now().getTime() < refusal.until) throw refusal.cause;
    const asked = this.#ask(ref, lb).then(
      (described) => {
        this.#refusals.delete(region);
        return described;
      },
      (error: unknown) => {
        if (isAccessDenied(errorName(error)))
          this.#refusals.set(region, { cause: error, until: this.#clock.now().getTime() + this.#refusalBackoffMs });
        // Not a refusal (throttled, a 5xx, a timeout): that says nothing of the permission, so forget the refusal
        // and let the waiting reads ask at once, each for itself, instead of one by one as the next asking call.
        else if (refusal && this.#refusals.get(region) === refusal) this.#refusals.delete(region);
        throw error;
      },
    );
    // Asking again after a refusal: the region's reads meanwhile wait for this answer, and resume once #refusals is
    // updated.
    if (refusal) {
      refusal.probe = asked.then(
        () => {},
        () => {},
      );
    }
    return asked;
  }

  async #ask(ref: EcsServiceRef, lb: Pick<ServiceLoadBalancer, 'targetGroupArn'>) {
    const out: DescribeTargetHealthCommandOutput = await this.#clients
      .forRegion(ref.region)
      .elbv2.send(new (elbv2Sdk().DescribeTargetHealthCommand)({ TargetGroupArn: lb.targetGroupArn }));
    return out.TargetHealthDescriptions ?? [];
  }

  #sharedRead(ref: EcsServiceRef, targetGroupArn: string): Promise<TargetHealthDescription[]> {
    if (this.#maxAgeMs <= 0) return this.#describe(ref, { targetGroupArn });
    const now = this.#clock.now().getTime();
    for (const [key, entry] of this.#shared) if (now - entry.at > this.#maxAgeMs) this.#shared.delete(key);
    const key = `${ref.region ?? ''} ${targetGroupArn}`;
    const known = this.#shared.get(key);
    if (known) return known.read;
    const read = this.#describe(ref, { targetGroupArn });
    const entry = { at: now, read };
    this.#shared.set(key, entry);
    // A failed read answers only the reads that shared it.
    read.catch(() => {
      if (this.#shared.get(key) === entry) this.#shared.delete(key);
    });
    return read;
  }
}
