/**
 * The health of a service's load balancer targets (ELBv2 DescribeTargetHealth), mapped to the service's tasks by IP
 * and port: an awsvpc task is the target whose Id is its private IP on the container port; an EC2-launch-type task
 * (target type instance) is the target on one of its host ports.
 *
 * Calls: one DescribeTargetHealth per target group of the service, per read. It reads current state, so a steady
 * service costs the same as a rolling one; nothing is cached.
 */
import type {
  DescribeTargetHealthCommandOutput,
  TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsError } from '../../errors.ts';
import type {
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
}

export class TargetHealthReader {
  readonly #clients: TargetHealthReaderOptions['clients'];

  constructor(options: TargetHealthReaderOptions) {
    this.#clients = options.clients;
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
    const client = this.#clients.forRegion(ref.region).elbv2;
    return Promise.all(
      groups.map(async (lb): Promise<TargetGroupHealth> => {
        const name = targetGroupName(lb.targetGroupArn);
        let out: DescribeTargetHealthCommandOutput;
        try {
          out = await client.send(new (elbv2Sdk().DescribeTargetHealthCommand)({ TargetGroupArn: lb.targetGroupArn }));
        } catch (error) {
          const wrapped = new AwsError(`read the target health of target group ${name}`, error);
          if (!options.settle) throw wrapped;
          return { targetGroupArn: lb.targetGroupArn, name, targets: [], error: wrapped.message };
        }
        const targets = (out.TargetHealthDescriptions ?? []).map((d) => toTargetHealth(d, lb, tasks));
        return { targetGroupArn: lb.targetGroupArn, name, targets };
      }),
    );
  }
}
