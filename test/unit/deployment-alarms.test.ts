import type { Service } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { alarmConfigOf, triggeredAlarms } from '../../src/adapters/aws/alarms.ts';
import type { DeploymentAlarms, DeploymentSnapshot } from '../../src/ports.ts';

const deployment = (reason: string, createdAt = new Date('2026-12-02T06:00:00Z')): DeploymentSnapshot => ({
  id: 'ecs-svc/1',
  status: 'ACTIVE',
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:1:task-definition/api:2',
  revision: 'api:2',
  rolloutState: 'FAILED',
  rolloutStateReason: reason,
  desired: 2,
  running: 2,
  pending: 0,
  failed: 0,
  createdAt,
});

const alarms = (states: Record<string, { state: 'OK' | 'ALARM'; since?: string }>): DeploymentAlarms => ({
  rollback: true,
  alarms: Object.entries(states).map(([name, s]) => ({
    name,
    state: s.state,
    ...(s.since ? { since: new Date(s.since) } : {}),
  })),
});

describe('alarmConfigOf', () => {
  it('reads enabled alarms, de-duplicated; none when absent, disabled or empty', () => {
    const svc = (alarmsConfig: unknown): Service =>
      ({ deploymentConfiguration: { alarms: alarmsConfig } }) as unknown as Service;
    expect(alarmConfigOf(svc({ alarmNames: ['a', 'b', 'a'], enable: true, rollback: false }))).toEqual({
      names: ['a', 'b'],
      rollback: false,
    });
    expect(alarmConfigOf(svc(undefined))).toBeUndefined();
    expect(alarmConfigOf(svc({ alarmNames: ['a'], enable: false, rollback: true }))).toBeUndefined();
    expect(alarmConfigOf(svc({ alarmNames: [], enable: true, rollback: true }))).toBeUndefined();
  });
});

describe('triggeredAlarms', () => {
  it('names the alarms ECS names, whole names only', () => {
    const a = alarms({ 'api-5xx': { state: 'ALARM' }, 'api-5xx-high': { state: 'OK' }, other: { state: 'OK' } });
    expect(triggeredAlarms(a, deployment('alarm(s) api-5xx in ALARM state'), [])).toEqual(['api-5xx']);
    expect(triggeredAlarms(a, deployment('failed'), ['(service api) alarm api-5xx-high detected'])).toEqual([
      'api-5xx-high',
    ]);
  });

  it('when ECS speaks of an alarm without naming it: the alarms in ALARM since the deployment began', () => {
    const a = alarms({
      fresh: { state: 'ALARM', since: '2026-12-02T06:05:00Z' },
      stale: { state: 'ALARM', since: '2026-12-02T05:00:00Z' },
      calm: { state: 'OK' },
    });
    expect(triggeredAlarms(a, deployment('deployment failed: alarm detected.'), [])).toEqual(['fresh']);
  });

  it('a failure that is not about alarms blames none, even with one in ALARM', () => {
    const a = alarms({ 'api-5xx': { state: 'ALARM' } });
    expect(triggeredAlarms(a, deployment('ECS deployment circuit breaker: tasks failed to start.'), [])).toEqual([]);
  });
});
