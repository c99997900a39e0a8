import { describe, expect, it } from 'vitest';
import { assessRollout, describeUnhealthyTargets, unhealthyTargetsOf } from '../../src/core/deploy/rollout-rule.ts';
import type { DeploymentSnapshot, TargetGroupHealth, TaskSnapshot } from '../../src/ports.ts';

const completed: DeploymentSnapshot = {
  id: 'ecs-svc/new',
  status: 'PRIMARY',
  taskDefinitionArn: 'arn:aws:ecs:eu-west-1:1:task-definition/api:8',
  revision: 'api:8',
  rolloutState: 'COMPLETED',
  desired: 2,
  running: 2,
  pending: 0,
  failed: 0,
};

const task = (id: string, privateIp: string): TaskSnapshot => ({
  arn: `arn:aws:ecs:eu-west-1:1:task/prod/${id}`,
  id,
  taskDefinitionArn: completed.taskDefinitionArn,
  revision: 'api:8',
  lastStatus: 'RUNNING',
  desiredStatus: 'RUNNING',
  health: 'UNKNOWN',
  containers: [],
  privateIp,
});

const tasks = [task('aaaaaaaa1111', '10.0.0.5'), task('bbbbbbbb2222', '10.0.0.6')];

const group = (targets: TargetGroupHealth['targets'], over: Partial<TargetGroupHealth> = {}): TargetGroupHealth => ({
  targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/api-tg/0123456789abcdef',
  name: 'api-tg',
  targets,
  ...over,
});

const look = (targetHealth: TargetGroupHealth[] | undefined) =>
  assessRollout({
    deploymentId: completed.id,
    deployments: [completed],
    events: [],
    since: undefined,
    running: tasks,
    stopped: [],
    targetHealth,
  });

describe('the rollout rule behind a load balancer', () => {
  it('completes a COMPLETED deployment once every task of it is a healthy target', () => {
    const progress = look([
      group([
        { id: '10.0.0.5', port: 8080, state: 'healthy', taskId: 'aaaaaaaa1111' },
        { id: '10.0.0.6', port: 8080, state: 'healthy', taskId: 'bbbbbbbb2222' },
        { id: '10.0.0.4', port: 8080, state: 'draining', reason: 'Target.DeregistrationInProgress' },
      ]),
    ]);
    expect(progress.outcome).toBe('completed');
    expect(progress.unhealthyTargets).toEqual([]);
  });

  it('keeps a COMPLETED deployment in progress while a task of it is an unhealthy target, and says why', () => {
    const progress = look([
      group([
        { id: '10.0.0.5', port: 8080, state: 'healthy', taskId: 'aaaaaaaa1111' },
        {
          id: '10.0.0.6',
          port: 8080,
          state: 'unhealthy',
          reason: 'Target.FailedHealthChecks',
          description: 'Health checks failed',
          taskId: 'bbbbbbbb2222',
        },
      ]),
    ]);
    expect(progress.outcome).toBe('in_progress');
    expect(progress.unhealthyTargets).toEqual([
      {
        targetGroup: 'api-tg',
        taskId: 'bbbbbbbb2222',
        state: 'unhealthy',
        reason: 'Target.FailedHealthChecks',
        description: 'Health checks failed',
      },
    ]);
    expect(progress.reason).toBe(
      '1 target is not healthy: task bbbbbbbb in target group api-tg is unhealthy (Target.FailedHealthChecks: Health checks failed)',
    );
  });

  it('waits for a task that is not registered yet and for initial targets', () => {
    const progress = look([
      group([{ id: '10.0.0.5', state: 'initial', reason: 'Elb.RegistrationInProgress', taskId: 'aaaaaaaa1111' }]),
    ]);
    expect(progress.outcome).toBe('in_progress');
    expect(progress.unhealthyTargets?.map((u) => [u.taskId, u.state])).toEqual([
      ['aaaaaaaa1111', 'initial'],
      ['bbbbbbbb2222', undefined],
    ]);
  });

  it('does not call a target group whose read failed healthy', () => {
    const progress = look([group([], { error: 'AccessDenied: not allowed' })]);
    expect(progress.outcome).toBe('in_progress');
    expect(progress.unhealthyTargets).toHaveLength(2);
    expect(progress.reason).toContain('AccessDenied: not allowed');
  });

  it('leaves a service without a load balancer to ECS alone', () => {
    const progress = look(undefined);
    expect(progress.outcome).toBe('completed');
    expect(progress.unhealthyTargets).toBeUndefined();
    expect(progress.targetHealth).toBeUndefined();
  });

  it('never turns a failed deployment into a waiting one', () => {
    const failed = { ...completed, rolloutState: 'FAILED' as const, rolloutStateReason: 'circuit breaker' };
    const progress = assessRollout({
      deploymentId: failed.id,
      deployments: [failed],
      events: [],
      since: undefined,
      running: tasks,
      stopped: [],
      targetHealth: [group([])],
    });
    expect(progress.outcome).toBe('failed');
    expect(progress.reason).toBe('circuit breaker');
  });

  it('lists the unhealthy targets task by task for each target group', () => {
    const unhealthy = unhealthyTargetsOf([group([]), group([], { name: 'admin-tg' })], tasks.slice(0, 1));
    expect(unhealthy.map((u) => u.targetGroup)).toEqual(['api-tg', 'admin-tg']);
    expect(describeUnhealthyTargets(unhealthy)).toBe(
      '2 targets are not healthy: task aaaaaaaa in target group api-tg is not registered',
    );
  });

  it('lets unmapped instance targets stand for tasks they cannot be told apart for, old draining ones aside', () => {
    const instance = (id: string, state: 'healthy' | 'initial' | 'draining') =>
      ({ id, type: 'instance', port: 32768, state }) as const;
    expect(
      look([group([instance('i-0a', 'healthy'), instance('i-0b', 'healthy'), instance('i-0c', 'draining')])]).outcome,
    ).toBe('completed');
    const waiting = look([group([instance('i-0a', 'healthy'), instance('i-0b', 'initial')])]);
    expect(waiting.outcome).toBe('in_progress');
    expect(waiting.unhealthyTargets?.map((u) => u.state)).toEqual(['initial', 'initial']);
    // ip targets are mapped by address: an unregistered task is never covered by another task's target.
    expect(look([group([{ id: '10.0.0.9', type: 'ip', state: 'healthy' }])]).outcome).toBe('in_progress');
  });
});
