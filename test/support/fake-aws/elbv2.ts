/**
 * Elastic Load Balancing v2, the part dockhand reads: target groups whose targets follow a service's tasks, and
 * DescribeTargetHealth over the query protocol (form body `Action=DescribeTargetHealth&Version=2015-12-01`, XML
 * answers in the `2015-12-01` namespace). The server dispatches here by that Version or by the signing scope
 * `elasticloadbalancing`; handlers return the children of `<{Action}Result>`.
 *
 * A target's life (one step = one `stepService` of the service, see README):
 *   the task RUNNING → registered `initial` (Elb.RegistrationInProgress) → after `healthyAfterSteps` steps `healthy`,
 *   or `unhealthy` (Target.FailedHealthChecks) while the target group fails new targets (`failNewTargets`);
 *   the task stopped → `draining` (Target.DeregistrationInProgress) → gone one step later.
 * `setTargetHealth` forces a target's state (kept until set `healthy` again).
 */
import { xmlEscape } from './ec2.ts';
import { AwsError } from './errors.ts';
import type { FakeAws } from './fake-aws.ts';
import {
  ACCOUNT_ID,
  type JsonObject,
  REGION,
  type ServiceState,
  type TargetGroupState,
  type TargetRecord,
  type TaskState,
} from './model.ts';

export const ELBV2_NS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';
export const ELBV2_VERSION = '2015-12-01';

/** Steps a new target stays `initial` by default (health checks until the healthy threshold). */
export const DEFAULT_HEALTHY_AFTER_STEPS = 3;

const REASONS = {
  registering: { reason: 'Elb.RegistrationInProgress', description: 'Target registration is in progress' },
  draining: { reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' },
  failed: { reason: 'Target.FailedHealthChecks', description: 'Health checks failed' },
  notRegistered: { reason: 'Target.NotRegistered', description: 'Target is not registered to the target group' },
} as const;

export const targetGroupArn = (name: string, id: string): string =>
  `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT_ID}:targetgroup/${name}/${id}`;

const ARN_PATTERN = /^arn:aws:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;

function el(name: string, value: string | number | undefined): string {
  return value === undefined ? '' : `<${name}>${xmlEscape(String(value))}</${name}>`;
}

/** Where a task is reached in a target group: its ENI's IP (type ip), or its instance and host port (type instance). */
function addressOf(fake: FakeAws, group: TargetGroupState, task: TaskState): { id: string; port: number } | undefined {
  if (group.targetType === 'ip') return task.privateIp ? { id: task.privateIp, port: group.containerPort } : undefined;
  const instance = task.containerInstanceArn ? fake.containerInstances.get(task.containerInstanceArn) : undefined;
  const container = task.containers.find((c) => c.name === group.containerName);
  const binding = container?.networkBindings?.find((b) => b.containerPort === group.containerPort);
  return instance && binding ? { id: instance.ec2InstanceId, port: binding.hostPort } : undefined;
}

/**
 * Brings a service's target groups in line with its tasks: RUNNING tasks not registered yet are registered
 * (`initial`, or `healthy` when `seeded`), targets whose task stopped start draining. With `advance` (a step), the
 * targets already there move on first: initial → healthy/unhealthy after their steps, draining → gone.
 */
export function syncTargets(
  fake: FakeAws,
  svc: ServiceState,
  opts: { advance: boolean; seeded?: boolean } = { advance: false },
) {
  for (const lb of svc.loadBalancers) {
    const group = fake.targetGroups.get(lb.targetGroupArn);
    if (!group) continue;
    if (opts.advance) advance(group);
    const tasks = fake.serviceTasks(svc.cluster, svc.name, { includeStopped: true });
    for (const task of tasks) {
      const registered = group.targets.find((t) => t.taskArn === task.arn);
      if (task.lastStatus === 'RUNNING' && !registered) {
        const where = addressOf(fake, group, task);
        if (!where) continue;
        group.targets.push(
          opts.seeded
            ? { ...where, taskArn: task.arn, state: 'healthy', steps: 0 }
            : { ...where, taskArn: task.arn, state: 'initial', ...REASONS.registering, steps: 0 },
        );
      } else if (task.lastStatus === 'STOPPED' && registered && registered.state !== 'draining') {
        Object.assign(registered, { state: 'draining', ...REASONS.draining, steps: 0, forced: false });
      }
    }
  }
}

function advance(group: TargetGroupState): void {
  for (const t of group.targets) t.steps++;
  group.targets = group.targets.filter((t) => !(t.state === 'draining' && t.steps >= 1));
  for (const t of group.targets) {
    if (t.state !== 'initial' || t.forced || t.steps < group.healthyAfterSteps) continue;
    if (group.failNew) Object.assign(t, { state: 'unhealthy', ...group.failNew });
    else setHealthy(t);
  }
}

function setHealthy(t: TargetRecord): void {
  t.state = 'healthy';
  t.reason = undefined;
  t.description = undefined;
  t.forced = false;
}

/** New targets of the group become unhealthy (`reason`, default Target.FailedHealthChecks) instead of healthy. */
export function failNewTargets(group: TargetGroupState, how: { reason?: string; description?: string } = {}): void {
  group.failNew = {
    reason: how.reason ?? REASONS.failed.reason,
    description: how.description ?? REASONS.failed.description,
  };
}

/** The health checks pass again: no more failing new targets, and every unhealthy or forced target is healthy. */
export function healTargets(group: TargetGroupState): void {
  group.failNew = undefined;
  for (const t of group.targets) if (t.state === 'unhealthy' || t.forced) setHealthy(t);
}

/** Forces the state of the targets of one task (every group it is registered in); `healthy` lifts the force. */
export function setTargetHealth(
  fake: FakeAws,
  taskArn: string,
  state: TargetRecord['state'],
  how: { reason?: string; description?: string } = {},
): number {
  let changed = 0;
  for (const group of fake.targetGroups.values()) {
    for (const t of group.targets) {
      if (t.taskArn !== taskArn) continue;
      changed++;
      if (state === 'healthy') setHealthy(t);
      else {
        const defaults = state === 'unhealthy' ? REASONS.failed : state === 'draining' ? REASONS.draining : {};
        Object.assign(t, {
          state,
          reason: how.reason ?? ('reason' in defaults ? defaults.reason : undefined),
          description: how.description ?? ('description' in defaults ? defaults.description : undefined),
          forced: true,
        });
      }
    }
  }
  return changed;
}

function targetXml(group: TargetGroupState, t: Pick<TargetRecord, 'id' | 'port' | 'state' | 'reason' | 'description'>) {
  return (
    '<member>' +
    `<Target>${el('Id', t.id)}${el('Port', t.port)}</Target>` +
    el('HealthCheckPort', group.targetType === 'ip' ? String(t.port) : 'traffic-port') +
    `<TargetHealth>${el('State', t.state)}${el('Reason', t.reason)}${el('Description', t.description)}</TargetHealth>` +
    '</member>'
  );
}

function describeTargetHealth(fake: FakeAws, input: JsonObject): string {
  const arn = input.TargetGroupArn;
  if (typeof arn !== 'string' || arn === '') {
    throw new AwsError(
      'ValidationError',
      "1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null",
    );
  }
  if (!ARN_PATTERN.test(arn)) throw new AwsError('ValidationError', `'${arn}' is not a valid target group ARN`);
  const group = fake.targetGroups.get(arn);
  if (!group) throw new AwsError('TargetGroupNotFound', `Target groups '${arn}' not found`);
  for (const svc of fake.services.values()) {
    if (svc.loadBalancers.some((lb) => lb.targetGroupArn === arn)) syncTargets(fake, svc);
  }
  const asked = (input.Targets as JsonObject | undefined)?.member;
  let members: string[];
  if (Array.isArray(asked) && asked.length > 0) {
    members = asked.map((m) => {
      const want = m as JsonObject;
      if (typeof want.Id !== 'string') throw new AwsError('ValidationError', 'A target ID must be specified');
      const port = typeof want.Port === 'string' ? Number(want.Port) : undefined;
      const found = group.targets.find((t) => t.id === want.Id && (port === undefined || t.port === port));
      return targetXml(
        group,
        found ?? { id: want.Id, port: port ?? group.containerPort, state: 'unused', ...REASONS.notRegistered },
      );
    });
  } else {
    members = group.targets.map((t) => targetXml(group, t));
  }
  return `<TargetHealthDescriptions>${members.join('')}</TargetHealthDescriptions>`;
}

export const elbv2Handlers: Record<string, (fake: FakeAws, input: JsonObject) => unknown> = {
  DescribeTargetHealth: describeTargetHealth,
};
