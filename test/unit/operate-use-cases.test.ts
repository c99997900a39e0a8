import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { operationHistory } from '../../src/core/operate/history.ts';
import { lockService, unlockService } from '../../src/core/operate/locks.ts';
import { readServiceLogs } from '../../src/core/operate/logs.ts';
import { checkScaleCount } from '../../src/core/operate/scale.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { Refusal } from '../../src/domain/policy.ts';
import type { LogReader, ServiceLogs } from '../../src/ports.ts';
import { logsMessage } from '../../src/slack/blocks/operate.ts';
import { deployConfig, deployHarness, FakeClock, FakeEcs, fakeDirectory } from '../support/deploy-fakes.ts';
import { testRuntimes } from '../support/runtimes.ts';

const config = deployConfig();
const production = resolveTarget(config, 'api', 'production');
const staging = resolveTarget(config, 'api', 'staging');

describe('scale bounds', () => {
  it('allows 1 to 10 tasks when the environment sets no bounds', () => {
    expect(checkScaleCount(production, 1)).toBe(1);
    expect(checkScaleCount(production, 10)).toBe(10);
    expect(() => checkScaleCount(production, 0)).toThrow(/between 1 and 10 tasks; 0 is outside/);
    expect(() => checkScaleCount(production, 11)).toThrow(/between 1 and 10 tasks/);
  });

  it('follows the environment’s scale: { min, max }, which may allow 0', () => {
    const custom = configSchema.parse({
      defaults: { channel: '#deploys' },
      services: {
        api: {
          environments: {
            staging: {
              target: { type: 'ecs', cluster: 's', service: 'api', container: 'app' },
              scale: { min: 0, max: 3 },
            },
          },
        },
      },
    });
    const target = resolveTarget(custom, 'api', 'staging');
    expect(checkScaleCount(target, 0)).toBe(0);
    expect(() => checkScaleCount(target, 4)).toThrow(/between 0 and 3 tasks/);
  });
});

describe('a scale operation', () => {
  it('asks for approval like a deploy, then updates only the desired count and follows it until running equals desired', async () => {
    const h = await deployHarness();
    const outcome = await h.service.request({
      kind: 'scale',
      target: production,
      user: 'U0ALICE',
      request: { type: 'scale', desiredCount: 4 },
    });
    if (outcome.result !== 'started') throw new Error('not started');
    await h.settle();
    expect((await h.store.getDeployment(outcome.deployment.id))?.state).toBe('awaiting_approval');
    expect(h.ecs.updates).toEqual([]);
    await h.service.approve(outcome.deployment.id, 'U0BOB');
    await h.settle();
    expect(h.ecs.updates).toEqual([{ desiredCount: 4 }]);
    expect(h.ecs.registered).toEqual([]);
    expect((await h.store.getDeployment(outcome.deployment.id))?.state).toBe('succeeded');
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, h.clock.now())).toBeUndefined();
  });

  it('uses scaleApproval instead of approval when the environment sets one', async () => {
    const h = await deployHarness({
      config: deployConfig({
        approvals: {
          prod: { approvers: ['U0BOB'], required: 1, expiresAfter: '30m' },
          quick: { approvers: ['U0CAROL'], required: 1, expiresAfter: '30m' },
        },
        services: {
          api: {
            environments: {
              production: {
                target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' },
                approval: 'prod',
                scaleApproval: 'quick',
              },
            },
          },
        },
      }),
    });
    const target = resolveTarget(h.deps.config, 'api', 'production');
    const outcome = await h.service.request({
      kind: 'scale',
      target,
      user: 'U0ALICE',
      request: { type: 'scale', desiredCount: 2 },
    });
    if (outcome.result !== 'started') throw new Error('not started');
    await h.settle();
    await expect(h.service.approve(outcome.deployment.id, 'U0BOB')).rejects.toThrow(/Only approvers/);
    await h.service.approve(outcome.deployment.id, 'U0CAROL');
    await h.settle();
    expect(h.ecs.updates).toEqual([{ desiredCount: 2 }]);
  });
});

describe('rollbackTo', () => {
  const deployTwice = async (h: Awaited<ReturnType<typeof deployHarness>>) => {
    for (const _ of [1, 2]) {
      const o = await h.service.request({
        kind: 'deploy',
        target: staging,
        user: 'U0ALICE',
        request: { type: 'image', imageTag: '1.4.2' },
      });
      if (o.result !== 'started') throw new Error('not started');
      await h.settle();
    }
  };

  it('restores the revision that ran before the last successful deployment and marks that one rolled back', async () => {
    const h = await deployHarness();
    await deployTwice(h); // api:42 → 43 → 44
    const outcome = await h.service.rollbackTo(staging, 'U0ALICE');
    if (outcome.result !== 'started') throw new Error(JSON.stringify(outcome));
    expect(outcome.deployment.request).toMatchObject({
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
      revision: 'api:43',
      rule: 'the revision that ran before deployment #2',
    });
    await h.settle();
    expect(h.ecs.updates.at(-1)).toEqual({
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
    });
    const [latest, undone] = await h.store.listDeployments({ service: 'api', environment: 'staging', limit: 2 });
    expect(latest?.state).toBe('succeeded');
    expect(undone?.state).toBe('rolled_back');
  });

  it('falls back to the previous ACTIVE revision of the family when dockhand has no history, and says so', async () => {
    const ecs = new (class extends FakeEcs {
      override async listRevisions(): Promise<never[]> {
        return [
          { arn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42', revision: 42 },
          { arn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:40', revision: 40 },
        ] as never[];
      }
    })();
    const h = await deployHarness({ ecs });
    const outcome = await h.service.rollbackTo(staging, 'U0ALICE');
    if (outcome.result !== 'started') throw new Error(JSON.stringify(outcome));
    expect(outcome.deployment.request).toMatchObject({ revision: 'api:40' });
    expect(outcome.deployment.request).toMatchObject({ type: 'rollback' });
    if (outcome.deployment.request.type !== 'rollback') return;
    expect(outcome.deployment.request.rule).toContain('previous ACTIVE revision of family api');
  });

  it('refuses a revision that is not an ACTIVE revision of the family', async () => {
    const h = await deployHarness();
    await expect(h.service.rollbackTo(staging, 'U0ALICE', 9999)).rejects.toThrow(
      new Refusal('revision 9999 is not an ACTIVE revision of family api.'),
    );
    expect(h.ecs.updates).toEqual([]);
  });
});

describe('manual locks', () => {
  const lockDeps = async () => {
    const h = await deployHarness();
    return {
      h,
      deps: {
        config,
        store: h.store,
        clock: h.clock,
        directory: fakeDirectory({ S0PLATFORM: ['U0CAROL'] }),
        instance: 'test',
      },
    };
  };

  it('block deploys with who, when and why, and only the locker or an approver may unlock', async () => {
    const { h, deps } = await lockDeps();
    const locked = await lockService(deps, production, 'U0ALICE', 'investigating the 5xx spike');
    expect(locked.result).toBe('locked');
    const refused = h.service.request({
      kind: 'deploy',
      target: production,
      user: 'U0DAVE',
      request: { type: 'image', imageTag: '1.4.2' },
    });
    await expect(refused).rejects.toBeInstanceOf(Refusal);
    const message = await refused.catch((e: unknown) => (e instanceof Error ? e.message : ''));
    expect(message).toContain('<@U0ALICE> since 2026-11-21 12:00 UTC: investigating the 5xx spike');
    expect(message).toContain('/dockhand unlock api in production');
    expect(await unlockService(deps, production, 'U0DAVE')).toMatchObject({ result: 'refused' });
    expect(await unlockService(deps, production, 'U0CAROL')).toMatchObject({ result: 'unlocked' }); // group approver
    expect(await unlockService(deps, production, 'U0CAROL')).toEqual({ result: 'not_locked' });
    await lockService(deps, production, 'U0ALICE', undefined);
    expect(await unlockService(deps, production, 'U0ALICE')).toMatchObject({ result: 'unlocked' });
  });

  it('refuse to release the lock of a deployment still in progress', async () => {
    const { h, deps } = await lockDeps();
    await h.service.request({
      kind: 'deploy',
      target: production,
      user: 'U0ALICE',
      request: { type: 'image', imageTag: '1.4.2' },
    });
    await h.settle();
    const outcome = await unlockService(deps, production, 'U0BOB');
    expect(outcome).toMatchObject({ result: 'refused' });
    if (outcome.result === 'refused') expect(outcome.reason).toContain('awaiting approval');
  });
});

describe('history', () => {
  it('lists operations oldest first with requester, approvers, result and revision', async () => {
    const h = await deployHarness();
    const o = await h.service.request({
      kind: 'deploy',
      target: production,
      user: 'U0ALICE',
      request: { type: 'image', imageTag: '1.4.2' },
    });
    if (o.result !== 'started') throw new Error('not started');
    await h.settle();
    await h.service.approve(o.deployment.id, 'U0BOB');
    await h.settle();
    await h.service.request({
      kind: 'scale',
      target: production,
      user: 'U0ALICE',
      request: { type: 'scale', desiredCount: 3 },
    });
    await h.settle();
    const history = await operationHistory(h, production);
    expect(history.entries.map((e) => [e.seq, e.kind, e.state, e.requestedBy, e.approvedBy, e.what])).toEqual([
      [1, 'deploy', 'succeeded', 'U0ALICE', ['U0BOB'], 'api:43'],
      [2, 'scale', 'awaiting_approval', 'U0ALICE', [], '3 tasks'],
    ]);
    expect(history.entries[0]?.previousRevision).toBe('api:42');
    const [pendingScale] = await h.store.listDeployments({ limit: 1 });
    expect(history.lock?.owner).toBe(pendingScale?.id); // the pending scale holds the lock
  });
});

describe('/logs', () => {
  const reader = (result: ServiceLogs, seen: unknown[] = []): LogReader => ({
    serviceLogs: async (_target, query) => {
      seen.push(query);
      return result;
    },
  });
  const clock = new FakeClock('2026-11-21T12:00:00Z');

  it('reads since the duration, masks secrets, keeps the newest 200 lines and says the output was cut', async () => {
    const lines = Array.from({ length: 250 }, (_, i) => ({
      at: new Date(Date.parse('2026-11-21T11:50:00Z') + i * 1000),
      taskId: '0123456789abcdef',
      message: i === 249 ? 'ERROR login failed password=hunter2' : `ERROR line ${i}`,
    }));
    const seen: unknown[] = [];
    const report = await readServiceLogs(
      {
        runtimes: testRuntimes({ logs: reader({ found: true, group: '/ecs/api', lines, incomplete: false }, seen) }),
        clock,
      },
      production,
      { sinceMs: 15 * 60_000, grep: 'ERROR' },
    );
    expect(seen).toEqual([{ since: new Date('2026-11-21T11:45:00Z'), grep: 'ERROR', limit: 1000 }]);
    if (!report.found) throw new Error('expected lines');
    expect(report.matched).toBe(250);
    expect(report.lines).toHaveLength(200);
    expect(report.cut).toBe(true);
    expect(report.lines.at(-1)?.message).toBe('ERROR login failed password=[REDACTED]');
    const message = JSON.stringify(logsMessage(report));
    expect(message).toContain('250 lines containing');
    expect(message).toContain('output cut');
    expect(message).toContain('11:54:09 01234567 ERROR login failed');
    expect(message).not.toContain('hunter2');
  });

  it('names the log driver when the container does not log with awslogs', async () => {
    const report = await readServiceLogs(
      { runtimes: testRuntimes({ logs: reader({ found: false, container: 'app', logDriver: 'splunk' }) }), clock },
      production,
      { sinceMs: 60_000 },
    );
    expect(JSON.stringify(logsMessage(report))).toContain(
      'has no awslogs configuration: it uses the `splunk` log driver',
    );
  });
});
