import { describe, expect, it } from 'vitest';
import {
  assessRollout,
  failureEventsOf,
  groupStoppedTasks,
  judge,
  tasksToRead,
} from '../../src/core/deploy/rollout-rule.ts';
import type { DeploymentSnapshot, TaskSnapshot } from '../../src/ports.ts';

const at = (time: string): Date => new Date(`2026-11-21T${time}Z`);

const deployment = (over: Partial<DeploymentSnapshot> = {}): DeploymentSnapshot => ({
  id: 'ecs-svc/new',
  status: 'PRIMARY',
  taskDefinitionArn: 'arn:aws:ecs:eu-west-1:1:task-definition/api:8',
  revision: 'api:8',
  rolloutState: 'IN_PROGRESS',
  desired: 2,
  running: 1,
  pending: 1,
  failed: 0,
  ...over,
});

const old = (over: Partial<DeploymentSnapshot> = {}): DeploymentSnapshot =>
  deployment({
    id: 'ecs-svc/old',
    status: 'ACTIVE',
    taskDefinitionArn: 'arn:aws:ecs:eu-west-1:1:task-definition/api:7',
    revision: 'api:7',
    rolloutState: 'COMPLETED',
    running: 2,
    pending: 0,
    ...over,
  });

const stoppedTask = (id: string, reason: string | undefined, stoppedAt: Date, exitCode?: number): TaskSnapshot => ({
  arn: `arn:aws:ecs:eu-west-1:1:task/prod/${id}`,
  id,
  taskDefinitionArn: '',
  revision: 'api:8',
  lastStatus: 'STOPPED',
  desiredStatus: 'STOPPED',
  health: 'UNKNOWN',
  stoppedAt,
  stoppedReason: reason,
  containers: exitCode === undefined ? [] : [{ name: 'app', exitCode }],
});

describe('the rollout rule: judge', () => {
  it('keeps a rollout in progress while running is below desired, even once ECS says COMPLETED', () => {
    const ours = deployment({ rolloutState: 'COMPLETED', running: 1 });
    expect(judge(ours.id, ours, [ours, old()])).toEqual({ outcome: 'in_progress', reason: undefined });
  });

  it('completes when ECS says COMPLETED and running equals desired', () => {
    const ours = deployment({ rolloutState: 'COMPLETED', running: 2, pending: 0 });
    expect(judge(ours.id, ours, [ours]).outcome).toBe('completed');
  });

  it('completes a service without a circuit breaker once it is the only, settled PRIMARY deployment', () => {
    const ours = deployment({ rolloutState: undefined, running: 2, pending: 0 });
    expect(judge(ours.id, ours, [ours]).outcome).toBe('completed');
    expect(judge(ours.id, ours, [ours, old()]).outcome).toBe('in_progress');
  });

  it("fails with ECS's reason when the circuit breaker marks the deployment FAILED", () => {
    const ours = deployment({ rolloutState: 'FAILED', rolloutStateReason: 'tasks failed to start' });
    expect(judge(ours.id, ours, [ours])).toEqual({ outcome: 'failed', reason: 'tasks failed to start' });
  });

  it('fails when ECS no longer lists the deployment and another one is PRIMARY (a circuit-breaker rollback)', () => {
    const primary = old({ status: 'PRIMARY', rolloutStateReason: 'rolled back' });
    expect(judge('ecs-svc/new', undefined, [primary])).toEqual({
      outcome: 'failed',
      reason: 'ECS replaced deployment ecs-svc/new with ecs-svc/old (api:7): rolled back',
    });
    expect(judge('ecs-svc/new', undefined, []).reason).toBe('ECS no longer lists deployment ecs-svc/new');
  });

  it('fails when a deployment of another task definition became PRIMARY, not one of the same revision', () => {
    const ours = deployment({ status: 'ACTIVE' });
    const newer = old({ id: 'ecs-svc/newer', status: 'PRIMARY', rolloutState: 'IN_PROGRESS' });
    expect(judge(ours.id, ours, [newer, ours])).toEqual({
      outcome: 'failed',
      reason: 'deployment ecs-svc/newer (api:7) replaced it',
    });
    const sameRevision = deployment({ id: 'ecs-svc/forced', status: 'PRIMARY' });
    expect(judge(ours.id, ours, [sameRevision, ours]).outcome).toBe('in_progress');
  });
});

describe('the rollout rule: events, stopped tasks and the whole verdict', () => {
  it('keeps failure events since the deployment started, newest first, once per wording, at most 5', () => {
    const events = [
      { createdAt: at('12:00:01'), message: '(service api) has started 2 tasks' },
      { createdAt: at('12:00:02'), message: '(task 0123456789abcdef0123456789abcdef) failed ELB health checks' },
      { createdAt: at('12:00:03'), message: '(task fedcba9876543210fedcba9876543210) failed ELB health checks' },
      { createdAt: at('11:59:00'), message: 'an earlier rollout failed' },
      ...[4, 5, 6, 7, 8].map((s) => ({
        createdAt: at(`12:00:0${s}`),
        message: `unable to place task ${'x'.repeat(s)}`,
      })),
    ];
    expect(failureEventsOf({ events }, at('12:00:00'))).toEqual([
      `unable to place task ${'x'.repeat(8)}`,
      `unable to place task ${'x'.repeat(7)}`,
      `unable to place task ${'x'.repeat(6)}`,
      `unable to place task ${'x'.repeat(5)}`,
      `unable to place task ${'x'.repeat(4)}`,
    ]);
    expect(failureEventsOf({ events: events.slice(0, 4) }, at('12:00:00'))).toEqual([
      '(task fedcba9876543210fedcba9876543210) failed ELB health checks',
    ]);
  });

  it('groups stopped tasks by reason and exit codes, the group with the newest stop first', () => {
    const groups = groupStoppedTasks([
      stoppedTask('a', 'Essential container exited', at('12:00:01'), 1),
      stoppedTask('b', 'Essential container exited', at('12:00:05'), 1),
      stoppedTask('c', 'Essential container exited', at('12:00:03'), 137),
      stoppedTask('d', undefined, at('12:00:02')),
    ]);
    expect(groups).toEqual([
      { reason: 'Essential container exited', count: 2, exampleTaskId: 'b', exitCodes: [1] },
      { reason: 'Essential container exited', count: 1, exampleTaskId: 'c', exitCodes: [137] },
      { reason: 'stopped without a reason', count: 1, exampleTaskId: 'd', exitCodes: [] },
    ]);
  });

  it('reads running tasks only while the deployment has some, stopped ones only once it has failures', () => {
    expect(tasksToRead(deployment({ running: 0, pending: 0 }))).toEqual({ running: false, stopped: false });
    expect(tasksToRead(deployment({ failed: 1 }))).toEqual({ running: true, stopped: true });
    expect(tasksToRead(undefined)).toEqual({ running: false, stopped: true });
  });

  it('assesses one look: the watched deployment, the verdict, failure events and stopped-task groups together', () => {
    const ours = deployment({ rolloutState: 'FAILED', rolloutStateReason: 'circuit breaker', failed: 2 });
    const progress = assessRollout({
      deploymentId: ours.id,
      deployments: [ours, old()],
      events: [{ createdAt: at('12:00:02'), message: 'service api is unhealthy' }],
      since: at('12:00:00'),
      running: [],
      stopped: [stoppedTask('a', 'Task failed to start', at('12:00:01'))],
    });
    expect(progress).toMatchObject({
      deployment: ours,
      outcome: 'failed',
      reason: 'circuit breaker',
      failureEvents: ['service api is unhealthy'],
      stoppedTasks: [{ reason: 'Task failed to start', count: 1, exampleTaskId: 'a' }],
      tasks: [],
    });
  });
});
