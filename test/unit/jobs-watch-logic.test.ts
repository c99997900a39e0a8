import { describe, expect, it } from 'vitest';
import { ecsRuntimeSnapshot, stoppedUnitOf } from '../../src/adapters/aws/ecs-runtime.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import {
  evaluateHealth,
  groupStoppedTasks,
  isExpectedStop,
  STUCK_PENDING_MS,
  unitsGoneSince,
} from '../../src/core/watch/health.ts';
import { evaluateIps, MAX_HOLD_MS } from '../../src/core/watch/ips.ts';
import type { TaskSnapshot } from '../../src/ports.ts';
import { aConfig, aDeployment, aSnapshot, aTask, at } from '../support/builders.ts';

const production = resolveTarget(aConfig(), 'api', 'production');

const t0 = at('2026-11-21T12:00:00Z');
const later = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);

/** A task that crashed, as the ECS runtime reports it (Runtime.stoppedUnits). */
const crashed = (id: string, exitCode = 137) =>
  stoppedUnitOf(
    aTask({
      id,
      arn: `arn:aws:ecs:us-east-1:123456789012:task/prod/${id}`,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stoppedReason: 'Essential container in task exited',
      stopCode: 'EssentialContainerExited',
      stoppedAt: t0,
      containers: [{ name: 'app', lastStatus: 'STOPPED', exitCode }],
    }),
  );

describe('the health watch', () => {
  it('says nothing while a healthy service stays healthy', () => {
    const first = evaluateHealth(undefined, aSnapshot(), [], t0);
    expect(first.change).toBeUndefined();
    const second = evaluateHealth(first.memory, aSnapshot(), [], later(1));
    expect(second.change).toBeUndefined();
    expect(second.memory).toEqual(first.memory);
  });

  it('reports degraded once, with grouped stop reasons, then recovered with how long it lasted', () => {
    const healthy = evaluateHealth(undefined, aSnapshot(), [], t0).memory;
    const [a, b] = aSnapshot().tasks as [TaskSnapshot, TaskSnapshot];
    const down = aSnapshot({ running: 0, pending: 2, tasks: [] });
    expect(unitsGoneSince(healthy, ecsRuntimeSnapshot(production, down))).toEqual([a.arn, b.arn]);

    const degraded = evaluateHealth(healthy, down, [crashed(a.id), crashed(b.id)], later(1));
    expect(degraded.change).toEqual({
      kind: 'degraded',
      reasons: ['2 tasks stopped: Essential container in task exited (exit 137)', '0 of 2 tasks running'],
      stoppedTasks: [expect.objectContaining({ count: 2, exitCodes: [137] })],
    });
    const still = evaluateHealth(degraded.memory, aSnapshot({ running: 1, pending: 1 }), [], later(2));
    expect(still.change).toBeUndefined();
    const recovered = evaluateHealth(still.memory, aSnapshot(), [], later(4));
    expect(recovered.change).toEqual({
      kind: 'recovered',
      since: later(1),
      reasons: degraded.memory.reasons,
    });
  });

  it('does not count stops the scheduler asked for (deployments, scale-in)', () => {
    const stop = stoppedUnitOf(
      aTask({
        lastStatus: 'STOPPED',
        stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/1)',
        stopCode: 'ServiceSchedulerInitiated',
        containers: [{ name: 'app', exitCode: 143 }],
      }),
    );
    expect(isExpectedStop(stop)).toBe(true);
    expect(isExpectedStop({ ...stop, reason: 'Task failed ELB health checks' })).toBe(false);
    const healthy = evaluateHealth(undefined, aSnapshot(), [], t0).memory;
    expect(evaluateHealth(healthy, aSnapshot(), [stop], later(1)).change).toBeUndefined();
  });

  it('groups identical reasons and keeps different exit codes apart', () => {
    const groups = groupStoppedTasks([crashed('a'), crashed('b'), crashed('c'), crashed('d', 1)]);
    expect(groups.map((g) => [g.count, g.exitCodes])).toEqual([
      [3, [137]],
      [1, [1]],
    ]);
  });

  it('reports a deployment that failed once, and tasks with an unhealthy container', () => {
    const memory = evaluateHealth(undefined, aSnapshot(), [], t0).memory;
    const failed = aSnapshot({
      deployments: [
        aDeployment({ id: 'ecs-svc/2', rolloutState: 'IN_PROGRESS', revision: 'api:42' }),
        aDeployment({
          id: 'ecs-svc/3',
          status: 'ACTIVE',
          revision: 'api:43',
          rolloutState: 'FAILED',
          rolloutStateReason: 'circuit breaker',
        }),
      ],
    });
    const first = evaluateHealth(memory, failed, [], later(1));
    expect(first.change).toMatchObject({
      kind: 'degraded',
      reasons: ['deployment ecs-svc/3 (api:43) failed: circuit breaker'],
    });
    // Reported once: the next tick, still listed, it is no reason any more.
    expect(evaluateHealth(first.memory, failed, [], later(2)).change?.kind).toBe('recovered');

    const sick = aSnapshot({
      tasks: [aTask({ health: 'UNKNOWN', containers: [{ name: 'app', health: 'UNHEALTHY' }] })],
    });
    expect(evaluateHealth(memory, sick, [], later(1)).change).toMatchObject({
      reasons: ['1 task with an unhealthy container (app)'],
    });
  });

  it('reports tasks stuck in PENDING only after a while', () => {
    const memory = evaluateHealth(undefined, aSnapshot(), [], t0).memory;
    const pending = aSnapshot({ pending: 1 });
    const soon = evaluateHealth(memory, pending, [], later(1));
    expect(soon.change).toBeUndefined();
    const stuck = evaluateHealth(soon.memory, pending, [], new Date(later(1).getTime() + STUCK_PENDING_MS));
    expect(stuck.change).toMatchObject({ kind: 'degraded', reasons: ['1 task stuck in PENDING for 10m'] });
  });
});

describe('the public-IP watch', () => {
  const task = (id: string, ip: string | undefined, startedMin = 0) =>
    aTask({
      id,
      arn: `arn:aws:ecs:us-east-1:123456789012:task/prod/${id}`,
      publicIp: ip,
      startedAt: later(startedMin),
    });
  const snap = (tasks: TaskSnapshot[], deployments = [aDeployment()]) => aSnapshot({ tasks, deployments });

  it('takes a baseline silently, then reports one change with which task replaced which', () => {
    const base = evaluateIps(undefined, snap([task('a', '203.0.113.1'), task('b', '203.0.113.2')]), {}, t0);
    expect(base.events).toEqual([]);
    const same = evaluateIps(base.memory, snap([task('a', '203.0.113.1'), task('b', '203.0.113.2')]), {}, later(1));
    expect(same.events).toEqual([]);
    const changed = evaluateIps(
      same.memory,
      snap([task('b', '203.0.113.2'), task('c', '203.0.113.3', 2)]),
      {},
      later(2),
    );
    expect(changed.events).toEqual([
      {
        kind: 'changed',
        cause: { kind: 'none' },
        before: ['203.0.113.1', '203.0.113.2'],
        after: ['203.0.113.2', '203.0.113.3'],
        added: ['203.0.113.3'],
        removed: ['203.0.113.1'],
        replacements: [{ fromTaskId: 'a', fromIp: '203.0.113.1', toTaskId: 'c', toIp: '203.0.113.3' }],
      },
    ]);
  });

  it('holds changes while a dockhand rollout is in progress and sums them up when it ends', () => {
    const cause = { kind: 'dockhand' as const, seq: 7, operation: 'deploy', requestedBy: 'U1' };
    let memory = evaluateIps(undefined, snap([task('a', '203.0.113.1')]), {}, t0).memory;
    const steps = [
      snap([task('a', '203.0.113.1'), task('b', '203.0.113.2')]),
      snap([task('b', '203.0.113.2')]),
      snap([task('b', '203.0.113.2'), task('c', '203.0.113.3')]),
    ];
    for (const [i, s] of steps.entries()) {
      const r = evaluateIps(memory, s, { rollingOut: cause }, later(i + 1));
      expect(r.events).toEqual([]);
      memory = r.memory;
    }
    const done = evaluateIps(memory, snap([task('b', '203.0.113.2'), task('c', '203.0.113.3')]), {}, later(5));
    expect(done.events).toEqual([
      expect.objectContaining({
        kind: 'changed-by-deployment',
        cause,
        before: ['203.0.113.1'],
        after: ['203.0.113.2', '203.0.113.3'],
        since: later(1),
        stillInProgress: false,
      }),
    ]);
    expect(done.memory.held).toBeUndefined();
  });

  it('holds changes while ECS rolls out a deployment, but not forever', () => {
    const rolling = [aDeployment({ id: 'ecs-svc/2', rolloutState: 'IN_PROGRESS' }), aDeployment({ status: 'ACTIVE' })];
    let memory = evaluateIps(undefined, snap([task('a', '203.0.113.1')]), {}, t0).memory;
    memory = evaluateIps(memory, snap([task('b', '203.0.113.2')], rolling), {}, later(1)).memory;
    const timedOut = evaluateIps(
      memory,
      snap([task('b', '203.0.113.2')], rolling),
      {},
      new Date(later(1).getTime() + MAX_HOLD_MS),
    );
    expect(timedOut.events).toEqual([
      expect.objectContaining({
        kind: 'changed-by-deployment',
        cause: { kind: 'ecs', deploymentId: 'ecs-svc/2', revision: 'api:42' },
        stillInProgress: true,
      }),
    ]);
  });

  it('says once that tasks have no public IP', () => {
    const first = evaluateIps(undefined, snap([task('a', undefined)]), {}, t0);
    expect(first.events).toEqual([{ kind: 'private-subnet', taskIds: ['a'] }]);
    const again = evaluateIps(first.memory, snap([task('b', undefined)]), {}, later(1));
    expect(again.events).toEqual([]);
  });
});
