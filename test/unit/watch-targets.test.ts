import { describe, expect, it } from 'vitest';
import { ecsRuntimeSnapshot } from '../../src/adapters/aws/ecs-runtime.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { evaluateTarget, type WatchMemory } from '../../src/core/watch/evaluate.ts';
import type { Observation } from '../../src/core/watch/observation.ts';
import { evaluateTargets, isDegraded } from '../../src/core/watch/targets.ts';
import type { TargetGroupHealth, TargetHealthSnapshot } from '../../src/ports.ts';
import { alertCard } from '../../src/slack/blocks/alerts.ts';
import { aConfig, aSnapshot, at } from '../support/builders.ts';

const t0 = at('2026-11-21T12:00:00Z');
const later = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
const production = resolveTarget(aConfig(), 'api', 'production');
const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/0123456789abcdef';

/** A task id per IP: 10.0.0.2 → 0f5a1c2b3d4e5f60718293a4b5c6d702. */
const taskIdOf = (ip: string): string => `0f5a1c2b3d4e5f60718293a4b5c6d7${ip.split('.').at(-1)?.padStart(2, '0')}`;
const healthy = (id: string): TargetHealthSnapshot => ({ id, port: 8080, state: 'healthy', taskId: taskIdOf(id) });
const failing = (id: string): TargetHealthSnapshot => ({
  id,
  port: 8080,
  state: 'unhealthy',
  reason: 'Target.FailedHealthChecks',
  description: 'Health checks failed',
  taskId: taskIdOf(id),
});
const group = (targets: TargetHealthSnapshot[], over: Partial<TargetGroupHealth> = {}): TargetGroupHealth => ({
  targetGroupArn: ARN,
  name: 'api-tg',
  targets,
  ...over,
});

const observe = (groups: TargetGroupHealth[], context: Observation['context'] = {}): Observation => ({
  watches: { health: true, ips: false },
  read: { ok: true, snapshot: ecsRuntimeSnapshot(production, aSnapshot({ targetHealth: groups })), stopped: [] },
  context,
});

describe('the target health watch', () => {
  it('alerts once when a target group loses a healthy target, then once when it is healthy again', () => {
    const ok = evaluateTarget({} as WatchMemory, observe([group([healthy('10.0.0.1'), healthy('10.0.0.2')])]), t0);
    expect(ok.alerts).toEqual([]);

    const lost = evaluateTarget(ok.memory, observe([group([healthy('10.0.0.1'), failing('10.0.0.2')])]), later(1));
    expect(lost.alerts).toEqual([
      {
        kind: 'targets-unhealthy',
        targetGroup: 'api-tg',
        healthy: 1,
        total: 2,
        unhealthy: [failing('10.0.0.2')],
      },
    ]);

    const still = evaluateTarget(lost.memory, observe([group([healthy('10.0.0.1'), failing('10.0.0.2')])]), later(2));
    expect(still.alerts).toEqual([]);
    expect(still.memory.targets).toEqual(lost.memory.targets);

    const back = evaluateTarget(still.memory, observe([group([healthy('10.0.0.1'), healthy('10.0.0.2')])]), later(5));
    expect(back.alerts).toEqual([
      { kind: 'targets-recovered', targetGroup: 'api-tg', since: later(1), healthy: 2, total: 2 },
    ]);
    expect(back.memory.health).toBeDefined();
  });

  it('says nothing while dockhand rolls the service out, and judges the group after', () => {
    const ok = evaluateTarget({} as WatchMemory, observe([group([healthy('10.0.0.1')])]), t0);
    const cause = { kind: 'dockhand' as const, seq: 4, operation: 'deploy', requestedBy: 'U0ALICE' };
    const during = evaluateTarget(ok.memory, observe([group([failing('10.0.0.9')])], { rollingOut: cause }), later(1));
    expect(during.alerts).toEqual([]);
    expect(during.memory.targets).toEqual(ok.memory.targets);
    const after = evaluateTarget(during.memory, observe([group([failing('10.0.0.9')])]), later(2));
    expect(after.alerts.map((a) => a.kind)).toEqual(['targets-unhealthy']);
  });

  it('keeps a group’s state through a failed read of it, and ignores a service without a load balancer', () => {
    const lost = evaluateTargets(undefined, [group([failing('10.0.0.1')])], { desired: 1, rollingOut: false }, t0);
    expect(lost.alerts).toHaveLength(1);
    const unread = evaluateTargets(
      lost.memory,
      [group([], { error: 'AccessDenied' })],
      { desired: 1, rollingOut: false },
      later(1),
    );
    expect(unread).toEqual({ memory: lost.memory, alerts: [] });
    const plain = evaluateTarget(
      {} as WatchMemory,
      { ...observe([]), read: { ok: true, snapshot: ecsRuntimeSnapshot(production, aSnapshot()), stopped: [] } },
      t0,
    );
    expect(plain.memory.targets).toBeUndefined();
  });

  it('counts only health as lost: initial and draining targets of a replacement are not', () => {
    const replacing = group([
      { id: '10.0.0.3', state: 'initial', reason: 'Elb.RegistrationInProgress' },
      { id: '10.0.0.1', state: 'draining', reason: 'Target.DeregistrationInProgress' },
    ]);
    expect(isDegraded(replacing, 1)).toBe(false);
    expect(isDegraded(group([{ id: '10.0.0.1', state: 'unused', reason: 'Target.NotInUse' }]), 1)).toBe(true);
    expect(isDegraded(group([]), 0)).toBe(false);
  });

  it('renders the alerts (golden)', async () => {
    const lost = evaluateTargets(
      undefined,
      [group([healthy('10.0.0.1'), failing('10.0.0.2'), { id: '10.0.0.3', port: 8080, state: 'initial' }])],
      { desired: 3, rollingOut: false },
      t0,
    );
    const [unhealthy] = lost.alerts;
    if (!unhealthy) throw new Error('no alert');
    const name = { service: 'api', environment: 'production' };
    await expect(alertCard(name, unhealthy, t0)).toMatchFileSnapshot('golden/alert-targets-unhealthy.json');
    const back = evaluateTargets(
      lost.memory,
      [group([healthy('10.0.0.1'), healthy('10.0.0.2')])],
      { desired: 2, rollingOut: false },
      later(12),
    );
    const [recovered] = back.alerts;
    if (!recovered) throw new Error('no alert');
    await expect(alertCard(name, recovered, later(12))).toMatchFileSnapshot('golden/alert-targets-recovered.json');
    expect(alertCard(name, unhealthy, t0).text).toBe(
      'api · production: target group api-tg lost healthy targets (1/3 healthy): unhealthy Target.FailedHealthChecks',
    );
  });
});
