import type { Service, ServiceDeployment } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { isBlueGreen, stagedRolloutOf } from '../../src/adapters/aws/blue-green.ts';
import { assessStaged } from '../../src/core/deploy/staged-rule.ts';
import type { RolloutProgress, StagedRollout } from '../../src/ports.ts';

const service: Service = { deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 15 } };
const now = new Date('2026-12-01T10:20:00Z');
const sd = (over: Partial<ServiceDeployment>): ServiceDeployment => ({
  serviceDeploymentArn: 'arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/api/abc',
  status: 'IN_PROGRESS',
  ...over,
});
const progress = (outcome: RolloutProgress['outcome']): RolloutProgress => ({
  deployments: [],
  outcome,
  failureEvents: [],
  stoppedTasks: [],
  tasks: [],
});

const settled = (running: number, desired: number): RolloutProgress => ({
  ...progress(running === desired ? 'completed' : 'in_progress'),
  deployment: {
    id: 'ecs-svc/1',
    status: 'PRIMARY',
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:2',
    revision: 'api:2',
    desired,
    running,
    pending: 0,
    failed: 0,
  },
});

describe('blue/green: ECS service deployments as staged rollouts', () => {
  it('tells a blue/green service from a rolling one by its deployment strategy', () => {
    expect(isBlueGreen(service)).toBe(true);
    expect(isBlueGreen({ deploymentConfiguration: { strategy: 'ROLLING' } })).toBe(false);
    expect(isBlueGreen({})).toBe(false);
  });

  it('maps every lifecycle stage, and leaves an unknown one unnamed', () => {
    const stages = [
      'RECONCILE_SERVICE',
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
    expect(stages.map((s) => stagedRolloutOf(sd({ lifecycleStage: s }), service, undefined, now).stage)).toEqual([
      'reconcile',
      'pre_scale_up',
      'scale_up',
      'post_scale_up',
      'test_traffic',
      'post_test_traffic',
      'production_traffic',
      'post_production_traffic',
      'bake',
      'clean_up',
    ]);
    const unknown = stagedRolloutOf(sd({ lifecycleStage: 'WARP_SPEED' as 'BAKE_TIME' }), service, undefined, now);
    expect(unknown.stage).toBeUndefined();
  });

  it('counts the bake time left from when the bake began, never below zero', () => {
    const bake = sd({ lifecycleStage: 'BAKE_TIME' });
    const began = new Date('2026-12-01T10:10:00Z');
    expect(stagedRolloutOf(bake, service, began, now)).toMatchObject({ bakeMinutes: 15, bakeLeftMs: 5 * 60_000 });
    expect(stagedRolloutOf(bake, service, new Date('2026-12-01T09:00:00Z'), now).bakeLeftMs).toBe(0);
    // The service deployment's own configuration wins over the service's (it is what this rollout runs with).
    const own = sd({ lifecycleStage: 'BAKE_TIME', deploymentConfiguration: { bakeTimeInMinutes: 30 } });
    expect(stagedRolloutOf(own, service, began, now).bakeLeftMs).toBe(20 * 60_000);
    expect(stagedRolloutOf(sd({ lifecycleStage: 'CLEAN_UP' }), service, began, now).bakeLeftMs).toBeUndefined();
  });

  it('takes the triggered alarms from the service deployment’s own record', () => {
    const tripped = sd({
      status: 'ROLLBACK_IN_PROGRESS',
      alarms: { status: 'TRIGGERED', alarmNames: ['a', 'b'], triggeredAlarmNames: ['b'] },
    });
    expect(stagedRolloutOf(tripped, service, undefined, now).triggeredAlarms).toEqual(['b']);
    expect(stagedRolloutOf(sd({}), service, undefined, now).triggeredAlarms).toBeUndefined();
  });

  it('keeps ECS’s reason only for a rollout that stopped or rolled back', () => {
    const rolledBack = sd({ status: 'ROLLBACK_SUCCESSFUL', statusReason: 'alarm api-5xx in ALARM' });
    expect(stagedRolloutOf(rolledBack, service, undefined, now)).toMatchObject({
      status: 'rolled_back',
      reason: 'alarm api-5xx in ALARM',
    });
    expect(stagedRolloutOf(sd({ statusReason: 'going well' }), service, undefined, now).reason).toBeUndefined();
  });
});

describe('the staged rollout rule', () => {
  const staged = (status: StagedRollout['status'], reason?: string): StagedRollout => ({
    strategy: 'blue_green',
    id: 'sd',
    status,
    ...(reason ? { reason } : {}),
  });

  it('succeeds only when the service deployment succeeded', () => {
    expect(assessStaged(settled(6, 6), staged('succeeded')).outcome).toBe('completed');
    // The green deployment may look complete before clean-up is over: still in progress.
    expect(assessStaged(progress('completed'), staged('in_progress')).outcome).toBe('in_progress');
    expect(assessStaged(progress('in_progress'), staged('in_progress')).outcome).toBe('in_progress');
  });

  it('completes a SUCCESSFUL service deployment only once the deployment runs all its tasks, healthy', () => {
    // The service deployment of another change (a count change makes none) says nothing of these tasks.
    expect(assessStaged(settled(2, 6), staged('succeeded'))).toMatchObject({ outcome: 'in_progress' });
    expect(assessStaged(progress('completed'), staged('succeeded')).outcome).toBe('in_progress');
    const waiting = {
      ...settled(6, 6),
      unhealthyTargets: [{ targetGroup: 'api-tg', taskId: 't1', state: 'initial' as const }],
    };
    expect(assessStaged(waiting, staged('succeeded')).outcome).toBe('in_progress');
  });

  it('fails a rollback or a stop with the reason', () => {
    expect(assessStaged(progress('in_progress'), staged('rolling_back', 'tasks failed'))).toMatchObject({
      outcome: 'failed',
      reason: 'the blue/green deployment is rolling back: tasks failed',
    });
    expect(assessStaged(progress('in_progress'), staged('rolled_back')).reason).toBe(
      'the blue/green deployment was rolled back',
    );
    expect(assessStaged(progress('in_progress'), staged('rollback_failed')).outcome).toBe('failed');
    expect(assessStaged(progress('in_progress'), staged('stopped')).reason).toBe(
      'the blue/green deployment was stopped',
    );
  });
});
