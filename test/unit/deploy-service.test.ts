import { describe, expect, it, vi } from 'vitest';
import { resolveTarget } from '../../src/core/targets.ts';
import type { DeploymentRequest } from '../../src/domain/deployment.ts';
import { Refusal } from '../../src/domain/policy.ts';
import { AwsError, DockhandError } from '../../src/errors.ts';
import type { DeploymentRecord } from '../../src/ports.ts';
import { operationCard } from '../../src/slack/blocks/operate.ts';
import { refusalReason } from '../../src/slack/replies.ts';
import {
  deployConfig,
  deployHarness,
  FakeClock,
  FakeEcs,
  FakeHost,
  fakeBuilder,
  hostConfig,
} from '../support/deploy-fakes.ts';

const config = deployConfig();
const production = resolveTarget(config, 'api', 'production');
const staging = resolveTarget(config, 'api', 'staging');

const started = (
  outcome: Awaited<ReturnType<Awaited<ReturnType<typeof deployHarness>>['service']['request']>>,
): DeploymentRecord => {
  if (outcome.result !== 'started') throw new Error(`expected started, got ${JSON.stringify(outcome)}`);
  return outcome.deployment;
};

const refusal = async (work: Promise<unknown>): Promise<string> => {
  try {
    await work;
  } catch (e) {
    // The words the requester reads: a rule's denial is worded by the Slack layer.
    if (e instanceof Refusal) return refusalReason(e);
    throw e;
  }
  throw new Error('expected a refusal');
};

describe('a deployment that needs approval', () => {
  it('waits for an approver, then builds, pushes, registers and rolls out, releasing the lock', async () => {
    const h = await deployHarness();
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    let current = await h.store.getDeployment(deployment.id);
    expect(current?.state).toBe('awaiting_approval');
    expect(current?.facts.commitSha).toBe('3f2a1bc9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3');
    expect(h.notifier.last().view?.plan?.changes[0]?.to).toBe('127.0.0.1:5000/acme/api:3f2a1bc');
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, h.clock.now())).toMatchObject({
      owner: deployment.id,
    });

    await h.service.approve(deployment.id, 'U0BOB');
    await h.settle();
    current = await h.store.getDeployment(deployment.id);
    expect(current?.state).toBe('succeeded');
    expect(h.source.checkouts).toEqual(['main', '3f2a1bc9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3']); // the approved SHA is built
    expect(h.builder.builds[0]?.tags).toEqual(['127.0.0.1:5000/acme/api:3f2a1bc']);
    expect(h.ecs.registered).toEqual([
      '127.0.0.1:5000/acme/api@sha256:1111111111111111111111111111111111111111111111111111111111111111',
    ]);
    expect(h.ecs.updates).toEqual([{ taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43' }]);
    expect(current?.facts.publicIps).toEqual(['203.0.113.7']);
    expect(current?.approvals.map((a) => a.user)).toEqual(['U0BOB']);
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, h.clock.now())).toBeUndefined();

    const trail = (await h.store.listAudit({ subject: deployment.id, limit: 100 })).map((e) => e.action).reverse();
    expect(trail).toEqual([
      'deployment.requested',
      'deployment.awaiting_approval',
      'deployment.approved',
      'deployment.building',
      'deployment.pushing',
      'deployment.registering',
      'deployment.rolling_out',
      'deployment.succeeded',
    ]);
    expect(h.notifier.last().text).toBe('deploy #1 succeeded');
  });

  it('accepts a member of an approver group', async () => {
    const h = await deployHarness();
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    await h.service.approve(deployment.id, 'U0CAROL');
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
  });

  it('refuses the requester’s own approval and a non-approver, changing nothing', async () => {
    const h = await deployHarness();
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    expect(await refusal(h.service.approve(deployment.id, 'U0ALICE'))).toContain('someone else must approve');
    expect(await refusal(h.service.approve(deployment.id, 'U0MALLORY'))).toContain('Only approvers');
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('awaiting_approval');
    expect(h.builder.builds).toHaveLength(0);
    expect(h.ecs.registered).toHaveLength(0);
  });

  it('starts exactly one pipeline when the approver double-clicks', async () => {
    const h = await deployHarness();
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    const clicks = await Promise.allSettled([
      h.service.approve(deployment.id, 'U0BOB'),
      h.service.approve(deployment.id, 'U0BOB'),
      h.service.approve(deployment.id, 'U0CAROL'),
    ]);
    await h.settle();
    expect(clicks.filter((c) => c.status === 'fulfilled')).toHaveLength(1);
    expect(h.ecs.registered).toHaveLength(1);
    expect(h.builder.builds).toHaveLength(1);
  });

  it('refuses a second request while the first holds the lock, naming it', async () => {
    const h = await deployHarness();
    started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    const second = await refusal(
      h.service.request({ kind: 'deploy', target: production, user: 'U0DAVE', request: { type: 'git', ref: 'main' } }),
    );
    expect(second).toContain('locked by deployment #1 (awaiting approval) requested by <@U0ALICE>');
    // another environment is not locked
    expect(
      (
        await h.service.request({
          kind: 'deploy',
          target: staging,
          user: 'U0DAVE',
          request: { type: 'git', ref: 'main' },
        })
      ).result,
    ).toBe('started');
  });

  it('expires: an approval after expiresAfter is refused and the lock is released', async () => {
    const h = await deployHarness();
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    h.clock.advance(31 * 60_000);
    expect(await refusal(h.service.approve(deployment.id, 'U0BOB'))).toContain('expired');
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('expired');
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, h.clock.now())).toBeUndefined();
    expect(h.builder.builds).toHaveLength(0);
    expect(await refusal(h.service.approve(deployment.id, 'U0BOB'))).toContain('already expired');
  });

  it('lets an approver reject, and the requester withdraw, releasing the lock', async () => {
    const h = await deployHarness();
    const first = started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    await h.service.reject(first.id, 'U0BOB');
    expect((await h.store.getDeployment(first.id))?.state).toBe('rejected');
    const second = started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    await h.service.reject(second.id, 'U0ALICE');
    expect((await h.store.getDeployment(second.id))?.state).toBe('cancelled');
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, h.clock.now())).toBeUndefined();
  });
});

describe('failures', () => {
  it('a failing build fails the card with the step and output, releases the lock, and pushes nothing', async () => {
    const h = await deployHarness({ builder: fakeBuilder({ step: 'RUN exit 3', output: ['boom'] }) });
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: staging,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    const current = await h.store.getDeployment(deployment.id);
    expect(current?.state).toBe('failed');
    expect(current?.reason).toContain('RUN exit 3');
    expect(h.notifier.last().view?.failure).toMatchObject({ step: 'RUN exit 3', output: ['boom'] });
    expect(h.registry.pushes).toHaveLength(0);
    expect(h.ecs.registered).toHaveLength(0);
    expect(h.ecs.updates).toHaveLength(0);
    expect(await h.store.getLock({ service: 'api', environment: 'staging' }, h.clock.now())).toBeUndefined();
  });

  it("a push the registry refuses fails the card with the registry's hint and registers nothing", async () => {
    const h = await deployHarness();
    h.registry.push = async () => {
      throw new DockhandError('registry', 'pushing x to registry "local" (127.0.0.1:5000) failed: unauthorized', {
        hint: 'Check the credentials configured for 127.0.0.1:5000.',
      });
    };
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: staging,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    const current = await h.store.getDeployment(deployment.id);
    expect(current?.state).toBe('failed');
    expect(current?.reason).toContain('registry "local" (127.0.0.1:5000)');
    expect(h.notifier.last().view?.failure).toEqual({ hint: 'Check the credentials configured for 127.0.0.1:5000.' });
    expect(h.ecs.registered).toHaveLength(0);
    expect(h.ecs.updates).toHaveLength(0);
    expect(await h.store.getLock({ service: 'api', environment: 'staging' }, h.clock.now())).toBeUndefined();
  });

  it('deregisters the revision it registered when UpdateService keeps failing', async () => {
    const ecs = new FakeEcs();
    const denied = Object.assign(new Error('User is not authorized to perform: ecs:UpdateService'), {
      name: 'AccessDeniedException',
    });
    ecs.updateErrors = [new AwsError('update service api in cluster staging', denied)];
    const h = await deployHarness({ ecs });
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: staging,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    const failed = await h.store.getDeployment(deployment.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.reason).toContain('AccessDeniedException');
    expect(failed?.reason).toContain('api:43 was deregistered');
    expect(ecs.deregistered).toEqual(['arn:aws:ecs:us-east-1:123456789012:task-definition/api:43']);
    expect(await h.store.getLock({ service: 'api', environment: 'staging' }, h.clock.now())).toBeUndefined();
  });

  it('follows the rollout when a failed UpdateService was applied after all, and deregisters nothing', async () => {
    const ecs = new FakeEcs();
    const timeout = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    ecs.updateErrors = [new AwsError('update service api in cluster staging', timeout)];
    ecs.primary = {
      deploymentId: 'ecs-svc/9',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
    };
    const h = await deployHarness({ ecs });
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: staging,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    const current = await h.store.getDeployment(deployment.id);
    expect(current?.state).toBe('succeeded');
    expect(current?.facts.ecsDeploymentId).toBe('ecs-svc/9');
    expect(ecs.deregistered).toEqual([]);
  });

  it('a failed rollout offers a rollback that redeploys the previous revision without registering anything', async () => {
    const ecs = new FakeEcs();
    ecs.script = FakeEcs.failing();
    const h = await deployHarness({ ecs });
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: staging,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    const failed = await h.store.getDeployment(deployment.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.reason).toContain('circuit breaker');
    expect(h.notifier.last().view?.failure?.logLines).toEqual(['Error: cannot connect to database']);

    ecs.script = FakeEcs.succeeding();
    ecs.polls = 0;
    const rollback = await h.service.rollbackOf(deployment.id, 'U0ALICE');
    expect(rollback.result).toBe('started');
    await h.settle();
    expect(ecs.registered).toHaveLength(1); // only the original deploy registered a revision
    expect(ecs.updates.at(-1)).toEqual({
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42',
    });
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('rolled_back');
    if (rollback.result === 'started')
      expect((await h.store.getDeployment(rollback.deployment.id))?.state).toBe('succeeded');
  });

  it('keeps watching a rollout through passing AWS faults, but gives up at once on a permanent one', async () => {
    const ecs = new FakeEcs();
    const timeout = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    ecs.pollErrors = [new AwsError('describe services api', timeout), new AwsError('describe services api', timeout)];
    const h = await deployHarness({ ecs });
    const restart = started(
      await h.service.request({ kind: 'restart', target: staging, user: 'U0ALICE', request: { type: 'restart' } }),
    );
    await h.settle();
    expect((await h.store.getDeployment(restart.id))?.state).toBe('succeeded');

    const denied = Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' });
    ecs.pollErrors = [new AwsError('describe services api', denied)];
    ecs.polls = 0;
    const again = started(
      await h.service.request({ kind: 'restart', target: staging, user: 'U0ALICE', request: { type: 'restart' } }),
    );
    await h.settle();
    const failed = await h.store.getDeployment(again.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.reason).toContain('AccessDeniedException');
  });

  it('times out a rollout that never finishes', async () => {
    const ecs = new FakeEcs();
    ecs.script = [FakeEcs.succeeding()[0] as (typeof ecs.script)[number]];
    const h = await deployHarness({ ecs });
    const deployment = started(
      await h.service.request({ kind: 'restart', target: staging, user: 'U0ALICE', request: { type: 'restart' } }),
    );
    await h.settle();
    const current = await h.store.getDeployment(deployment.id);
    expect(current?.state).toBe('failed');
    expect(current?.reason).toContain('did not finish within 30m');
    expect(ecs.updates).toEqual([{ forceNewDeployment: true }]);
  });
});

describe('image:<tag> and restarts', () => {
  it('deploys an existing tag by digest without building', async () => {
    const h = await deployHarness();
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: staging,
        user: 'U0ALICE',
        request: { type: 'image', imageTag: '1.4.2' },
      }),
    );
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
    expect(h.builder.builds).toHaveLength(0);
    expect(h.ecs.registered).toEqual([
      '127.0.0.1:5000/acme/api@sha256:2222222222222222222222222222222222222222222222222222222222222222',
    ]);
  });

  it('refuses a tag that is not in the registry and releases the lock', async () => {
    const h = await deployHarness();
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: staging,
        user: 'U0ALICE',
        request: { type: 'image', imageTag: '9.9.9' },
      }),
    );
    await h.settle();
    const current = await h.store.getDeployment(deployment.id);
    expect(current?.state).toBe('failed');
    expect(current?.reason).toContain('`9.9.9` does not exist');
    expect(await h.store.getLock({ service: 'api', environment: 'staging' }, h.clock.now())).toBeUndefined();
  });

  it('shows a dry run without writing anything', async () => {
    const h = await deployHarness();
    const outcome = await h.service.request({
      kind: 'deploy',
      target: production,
      user: 'U0ALICE',
      request: { type: 'git', ref: 'main' },
      dryRun: true,
    });
    expect(outcome.result).toBe('dry_run');
    if (outcome.result === 'dry_run') {
      expect(outcome.view.plan?.changes[0]?.to).toBe('127.0.0.1:5000/acme/api:3f2a1bc');
      expect(outcome.view.approvalPolicy?.required).toBe(1);
    }
    expect(await h.store.listDeployments({})).toHaveLength(0);
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, h.clock.now())).toBeUndefined();
    expect(h.notifier.cards.size).toBe(0);
  });
});

describe('abort', () => {
  it('restores the previous revision and keeps the environment locked with the reason', async () => {
    const ecs = new FakeEcs();
    ecs.script = [FakeEcs.succeeding()[0] as (typeof ecs.script)[number]];
    const h = await deployHarness({ ecs });
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: staging,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    // let it reach rolling_out, then abort while the watcher polls
    for (let i = 0; i < 50 && (await h.store.getDeployment(deployment.id))?.state !== 'rolling_out'; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(await refusal(h.service.abort(deployment.id, 'U0MALLORY'))).toContain('Only the requester or an approver');
    await h.service.abort(deployment.id, 'U0ALICE');
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('aborted');
    expect(ecs.aborts).toEqual([
      {
        deploymentId: 'ecs-svc/2',
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
        previousTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42',
      },
    ]);
    expect(ecs.updates).toHaveLength(1);
    expect((await h.store.getDeployment(deployment.id))?.facts.abortMethod).toBe('update_service');
    const lock = await h.store.getLock({ service: 'api', environment: 'staging' }, h.clock.now());
    expect(lock?.reason).toContain('aborted by U0ALICE');
    expect(lock?.expiresAt?.getTime()).toBe(h.clock.now().getTime() + 3_600_000);
  });

  /** A rollout aborted while the role may not UpdateService: the restore of api:42 is refused by AWS. */
  const abortWithRestoreDenied = async () => {
    const ecs = new FakeEcs();
    ecs.script = [FakeEcs.succeeding()[0] as (typeof ecs.script)[number]];
    const denied = Object.assign(
      new Error(
        'User: arn:aws:sts::999988887777:assumed-role/dockhand/i-0abc is not authorized to perform: ' +
          'ecs:UpdateService on resource: arn:aws:ecs:us-east-1:999988887777:service/staging/api',
      ),
      { name: 'AccessDeniedException' },
    );
    ecs.abortErrors = [new AwsError('return service api in cluster staging to api:42', denied)];
    const h = await deployHarness({ ecs });
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: staging,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    for (let i = 0; i < 50 && (await h.store.getDeployment(deployment.id))?.state !== 'rolling_out'; i++)
      await new Promise((r) => setTimeout(r, 5));
    await h.service.abort(deployment.id, 'U0ALICE');
    await h.settle();
    return { ecs, h };
  };

  it('says which restore failed and AWS’s code, not the role AWS’s message names', async () => {
    const { ecs, h } = await abortWithRestoreDenied();
    expect(ecs.aborts).toHaveLength(1);
    const card = JSON.stringify(h.notifier.last());
    expect(card).toContain('return service api in cluster staging to api:42: AccessDeniedException');
    expect(card).not.toMatch(/999988887777|assumed-role|arn:aws:sts/);
  });

  it('names the permission a failed restore lacks on its line, as every other AWS failure does', async () => {
    const { h } = await abortWithRestoreDenied();
    const view = h.notifier.last().view;
    if (!view) throw new Error('no view');
    // The card Slack receives, not only the view it is rendered from.
    const card = JSON.stringify(operationCard(view, h.clock.now()));
    expect(card).toContain(
      'Restoring `api:42` failed: return service api in cluster staging to api:42: AccessDeniedException. ' +
        'dockhand’s IAM role lacks ecs:UpdateService: see “IAM policy” in the README.',
    );
    expect(card).not.toContain('ECS returns the service to');
    expect(card).not.toMatch(/999988887777|assumed-role|arn:aws:/);
  });
});

describe('restart recovery', () => {
  it('resumes watching a rollout and finishes it; closes an interrupted build; releases their locks', async () => {
    const first = await deployHarness();
    const done = started(
      await first.service.request({ kind: 'restart', target: staging, user: 'U0ALICE', request: { type: 'restart' } }),
    );
    await first.settle();
    // Simulate a crash mid-way: records where a killed process would have left them (a rollout with its ECS
    // deployment known, a build under way), each holding its lock. The transition table lets no finished record
    // move back, so they are written as such.
    const finished = await first.store.getDeployment(done.id);
    const crashed = (state: 'rolling_out' | 'building', environment: string, facts = {}) =>
      first.store.createDeployment(
        {
          kind: 'deploy',
          service: 'api',
          environment,
          state,
          requestedBy: 'U0ALICE',
          request: { type: 'git', ref: 'main' },
          facts,
        },
        first.clock.now(),
      );
    const rolling = await crashed('rolling_out', 'staging', finished?.facts);
    await first.store.acquireLock(
      { service: 'api', environment: 'staging', owner: rolling.id, instance: 'old', holder: 'U0ALICE' },
      first.clock.now(),
    );
    const building = await crashed('building', 'production');
    await first.store.acquireLock(
      { service: 'api', environment: 'production', owner: building.id, instance: 'old', holder: 'U0ALICE' },
      first.clock.now(),
    );

    const second = await deployHarness({ store: first.store });
    await second.service.resume();
    await second.settle();
    expect((await second.store.getDeployment(rolling.id))?.state).toBe('succeeded');
    const interrupted = await second.store.getDeployment(building.id);
    expect(interrupted?.state).toBe('failed');
    expect(interrupted?.reason).toContain('Interrupted');
    expect(await second.store.listLocks(second.clock.now())).toEqual([]);
  });
});

describe('restart recovery after an interrupted UpdateService', () => {
  /** A deploy to staging whose process dies while UpdateService is in flight (registered: api:43). */
  const interruptedDeploy = async () => {
    const first = await deployHarness({ ecs: Object.assign(new FakeEcs(), { hangUpdates: true }) });
    const deployment = started(
      await first.service.request({
        kind: 'deploy',
        target: staging,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await Promise.race([first.settle(), new Promise((r) => setTimeout(r, 300))]);
    first.service.stop();
    const record = await first.store.getDeployment(deployment.id);
    expect(record?.state).toBe('rolling_out');
    expect(record?.facts.ecsDeploymentId).toBeUndefined();
    return { store: first.store, id: deployment.id };
  };

  it('resumes following the rollout when the service runs this deployment’s revision', async () => {
    const { store, id } = await interruptedDeploy();
    const ecs = new FakeEcs();
    ecs.primary = {
      deploymentId: 'ecs-svc/7',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
    };
    const second = await deployHarness({ store, ecs });
    await second.service.resume();
    await second.settle();
    const resumed = await store.getDeployment(id);
    expect(resumed?.state).toBe('succeeded');
    expect(resumed?.facts.ecsDeploymentId).toBe('ecs-svc/7');
    expect(ecs.deregistered).toEqual([]);
    expect(ecs.polls).toBeGreaterThan(0);
    expect(ecs.updates).toEqual([]); // nothing sent twice
    expect(await store.listLocks(second.clock.now())).toEqual([]);
    second.service.stop();
  });

  it('takes the rollout up again at the next sweep when the store failed while adopting it', async () => {
    const { store, id } = await interruptedDeploy();
    const ecs = new FakeEcs();
    ecs.primary = {
      deploymentId: 'ecs-svc/7',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
    };
    // The store drops the first write after the restart (a database failover), then works again.
    let drop = 1;
    const flaky = new Proxy(store, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if (key === 'updateDeployment' && drop > 0)
          return () => {
            drop -= 1;
            return Promise.reject(new Error('connection terminated unexpectedly'));
          };
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const second = await deployHarness({ store: flaky, ecs });
    await second.service.resume();
    await second.settle();
    expect((await store.getDeployment(id))?.state).toBe('rolling_out');

    await second.service.resume(); // what the sweep does a few seconds later
    await second.settle();
    expect((await store.getDeployment(id))?.state).toBe('succeeded');
    expect(await store.listLocks(second.clock.now())).toEqual([]);
    second.service.stop();
  });

  it('closes it and releases its lock when its service has left dockhand.yml since', async () => {
    const { store, id } = await interruptedDeploy();
    const second = await deployHarness({ store, config: hostConfig() }); // no `api` any more
    await second.service.resume();
    await second.settle();
    const closed = await store.getDeployment(id);
    expect(closed?.state).toBe('failed');
    expect(closed?.reason).toContain('Interrupted');
    expect(await store.listLocks(second.clock.now())).toEqual([]);
    second.service.stop();
  });

  it('fails with a clear reason when ECS did not apply it', async () => {
    const { store, id } = await interruptedDeploy();
    const ecs = new FakeEcs();
    ecs.primary = {
      deploymentId: 'ecs-svc/1',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42',
    };
    const second = await deployHarness({ store, ecs });
    await second.service.resume();
    await second.settle();
    const failed = await store.getDeployment(id);
    expect(failed?.state).toBe('failed');
    expect(failed?.reason).toContain('ECS did not start rolling it out');
    expect(failed?.reason).toContain('nothing was rolled out');
    expect(failed?.reason).toContain('The unused revision api:43 was deregistered.');
    expect(ecs.deregistered).toEqual(['arn:aws:ecs:us-east-1:123456789012:task-definition/api:43']);
    expect(await store.listLocks(second.clock.now())).toEqual([]);
    second.service.stop();
  });
});

describe('restart recovery on a Docker host', () => {
  it('undoes a rollout cut off by a crash: the host restarts the old container, the card says so', async () => {
    const host = new FakeHost();
    host.restartOnRecover = ['web'];
    const first = await deployHarness({ config: hostConfig(), host });
    const record = await first.store.createDeployment(
      {
        kind: 'deploy',
        service: 'web',
        environment: 'box',
        state: 'rolling_out',
        requestedBy: 'U0ALICE',
        request: { type: 'git' },
      },
      first.clock.now(),
    );
    const rolloutStartedAt = new Date(first.clock.now().getTime() - 5_000);
    await first.store.updateDeployment(
      record.id,
      { facts: { rolloutStartedAt: rolloutStartedAt.toISOString() } },
      first.clock.now(),
    );

    const second = await deployHarness({ config: hostConfig(), host, store: first.store });
    await second.service.resume();
    await second.settle();
    expect(host.recovered).toEqual([{ deploymentId: record.id, since: rolloutStartedAt }]);
    const after = await second.store.getDeployment(record.id);
    expect(after?.state).toBe('failed');
    expect(after?.reason).toContain('Interrupted');
    expect(after?.reason).toContain('The previous container was started again (web).');
  });
});

describe('restart recovery on a Docker host after the handover', () => {
  it('says that the new version runs when it had taken over before the crash', async () => {
    const host = new FakeHost();
    host.tookOverOnRecover = ['web'];
    const first = await deployHarness({ config: hostConfig(), host });
    const record = await first.store.createDeployment(
      {
        kind: 'deploy',
        service: 'web',
        environment: 'box',
        state: 'rolling_out',
        requestedBy: 'U0ALICE',
        request: { type: 'git' },
      },
      first.clock.now(),
    );

    const second = await deployHarness({ config: hostConfig(), host, store: first.store });
    await second.service.resume();
    await second.settle();
    const after = await second.store.getDeployment(record.id);
    expect(after?.state).toBe('failed');
    expect(after?.reason).toContain('The new version had already taken over and keeps running (web)');
    expect(after?.reason).not.toContain('the new ones were removed');
    second.service.stop();
  });
});

describe('restart recovery when the Docker host cannot be reached', () => {
  it('still closes the cut-off rollout and releases its lock, saying what to check', async () => {
    const host = new FakeHost();
    host.failRecover = 'connecting to ssh://ec2-user@203.0.113.10 failed: connect ETIMEDOUT';
    const first = await deployHarness({ config: hostConfig(), host });
    const record = await first.store.createDeployment(
      {
        kind: 'deploy',
        service: 'web',
        environment: 'box',
        state: 'rolling_out',
        requestedBy: 'U0ALICE',
        request: { type: 'git' },
      },
      first.clock.now(),
    );
    await first.store.acquireLock(
      { service: 'web', environment: 'box', owner: record.id, instance: 'old', holder: 'U0ALICE' },
      first.clock.now(),
    );

    const second = await deployHarness({ config: hostConfig(), host, store: first.store });
    await second.service.resume();
    await second.settle();
    expect(host.recovered).toHaveLength(1);
    const after = await second.store.getDeployment(record.id);
    expect(after?.state).toBe('failed');
    expect(after?.reason).toContain('Interrupted');
    expect(after?.reason).toContain('/status web in box');
    expect(await second.store.listLocks(second.clock.now())).toEqual([]);
    second.service.stop();
  });
});

describe('card failures never strand a deployment', () => {
  it('runs the pipeline and releases the lock when the card cannot be rendered right after the approval', async () => {
    const h = await deployHarness();
    const render = h.deps.render;
    h.deps.render = (view, now) => {
      if (view.state === 'approved') throw new Error('render bug in the approved state');
      return render(view, now);
    };
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    await h.service.approve(deployment.id, 'U0BOB').catch(() => {});
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, h.clock.now())).toBeUndefined();
  });

  it('a failing progress update neither crashes the process nor fails the build', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const h = await deployHarness();
      const render = h.deps.render;
      h.deps.render = (view, now) => {
        if (view.build && view.state === 'building') throw new Error('store hiccup while showing progress');
        return render(view, now);
      };
      const deployment = started(
        await h.service.request({
          kind: 'deploy',
          target: staging,
          user: 'U0ALICE',
          request: { type: 'git', ref: 'main' },
        }),
      );
      await h.settle();
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('advances from approval to success on the store alone while Slack never answers a card update', async () => {
    const h = await deployHarness();
    h.notifier.stall = true;
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    const settled = (ms: number) => Promise.race([h.settle(), new Promise((r) => setTimeout(r, ms))]);
    await settled(1000);
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('awaiting_approval');
    await Promise.race([h.service.approve(deployment.id, 'U0BOB'), new Promise((r) => setTimeout(r, 1000))]);
    await settled(1000);
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
    expect(h.ecs.updates).toHaveLength(1);
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, h.clock.now())).toBeUndefined();
    // The card was still given every state to show; the approval request and the end jump the queue.
    expect(h.notifier.urgent).toEqual(['deploy #1 awaiting_approval', 'deploy #1 succeeded', 'deploy #1 succeeded']);
    // Slack did not take the approval request in time: it was also posted in the card's thread, which then
    // followed the card to its end.
    const [card, reply] = [...h.notifier.cards.entries()];
    expect(reply?.[1].threadTs).toBe(card?.[0]);
    const replyTexts = reply?.[1].versions.map((v) => v.text) ?? [];
    expect(replyTexts[0]).toBe('deploy #1 awaiting_approval');
    expect(replyTexts).toContain('deploy #1 approved');
    expect(replyTexts.at(-1)).toBe('deploy #1 succeeded');
  });

  it('shows the Approve buttons at once when Slack takes the card update, with no reply in the thread', async () => {
    const h = await deployHarness();
    started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    expect(h.notifier.cards.size).toBe(1);
    expect(h.notifier.last().text).toBe('deploy #1 awaiting_approval');
  });

  it('tells the requester when the card cannot be posted, and releases the lock', async () => {
    const h = await deployHarness();
    h.notifier.post = async () => {
      throw new DockhandError('slack', 'post to #deploys: not_in_channel', { hint: 'Invite dockhand' });
    };
    await expect(
      h.service.request({ kind: 'deploy', target: staging, user: 'U0ALICE', request: { type: 'git', ref: 'main' } }),
    ).rejects.toThrow('not_in_channel');
    await h.settle();
    expect(await h.store.getLock({ service: 'api', environment: 'staging' }, h.clock.now())).toBeUndefined();
    const [record] = await h.store.listDeployments({});
    expect(record?.state).toBe('failed');
    expect(h.builder.builds).toHaveLength(0);
  });
});

describe('authorization comes before any AWS call', () => {
  it('/rollback by someone who may not deploy is refused without reading ECS', async () => {
    const guarded = deployConfig({
      services: {
        api: {
          source: { git: 'file:///tmp/api.git', ref: 'main' },
          image: { registry: 'local', repository: 'acme/api' },
          deployers: ['U0ALICE'],
          environments: { staging: { target: { type: 'ecs', cluster: 'staging', service: 'api', container: 'app' } } },
        },
      },
    });
    const ecs = new FakeEcs();
    let reads = 0;
    ecs.currentTaskDefinition = async () => {
      reads += 1;
      return { arn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42', family: 'api', revision: 42 };
    };
    ecs.listRevisions = async () => {
      reads += 1;
      return [];
    };
    const h = await deployHarness({ config: guarded, ecs });
    const target = resolveTarget(guarded, 'api', 'staging');
    expect(await refusal(h.service.rollbackTo(target, 'U0MALLORY', 41))).toContain('You may not deploy');
    expect(reads).toBe(0);
  });

  it('a hook’s deploy is asked of the environment’s trigger; one that names no trigger is refused', async () => {
    const guarded = deployConfig({
      services: {
        api: {
          source: { git: 'file:///tmp/api.git', ref: 'main' },
          image: { registry: 'local', repository: 'acme/api' },
          deployers: ['U0ALICE'],
          environments: {
            staging: {
              target: { type: 'ecs', cluster: 'staging', service: 'api', container: 'app' },
              trigger: { source: 'ci', branches: ['main'], auto: true },
            },
          },
        },
      },
    });
    const h = await deployHarness({ config: guarded });
    const target = resolveTarget(guarded, 'api', 'staging');
    const trigger = { source: 'ci' as const, commit: 'a'.repeat(40), branch: 'dev', url: 'https://ci.example.com/1' };
    const ask = (request: DeploymentRequest) =>
      h.service.request({ kind: 'deploy', target, user: 'CI (https://ci.example.com/1)', request, triggered: true });
    expect(await refusal(ask({ type: 'image', imageTag: '1.4.2', trigger }))).toBe(
      'api in staging deploys only main from ci, not dev',
    );
    expect(await refusal(ask({ type: 'image', imageTag: '1.4.2' }))).toBe(
      'A hook’s request must say which delivery asked for it.',
    );
    // Not triggered: the deployers' rule, whatever the request carries.
    expect(
      await refusal(
        h.service.request({
          kind: 'deploy',
          target,
          user: 'U0MALLORY',
          request: { type: 'image', imageTag: '1.4.2', trigger: { ...trigger, branch: 'main' } },
        }),
      ),
    ).toContain('You may not deploy');
    expect(await h.store.listDeployments({})).toEqual([]);
  });
});

describe('abort on a Docker host', () => {
  it('is refused: the host rollout is one step and cannot be stopped half-way', async () => {
    const host = new FakeHost();
    const h = await deployHarness({ config: hostConfig(), host });
    const box = resolveTarget(hostConfig(), 'web', 'box');
    const record = await h.store.createDeployment(
      {
        kind: 'deploy',
        service: 'web',
        environment: 'box',
        state: 'rolling_out',
        requestedBy: 'U0ALICE',
        request: { type: 'git' },
      },
      h.clock.now(),
    );
    expect(box.environment).toBe('box');
    expect(await refusal(h.service.abort(record.id, 'U0ALICE'))).toContain('Docker host');
    expect((await h.store.getDeployment(record.id))?.state).toBe('rolling_out');
  });
});

describe('approval expiry', () => {
  it('does not expire a request early when expiresAfter is longer than a timer can wait', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const config = deployConfig({
        approvals: { prod: { approvers: ['U0BOB'], required: 1, expiresAfter: '40d' } },
      });
      const h = await deployHarness({ config });
      const deployment = started(
        await h.service.request({
          kind: 'deploy',
          target: resolveTarget(config, 'api', 'production'),
          user: 'U0ALICE',
          request: { type: 'git', ref: 'main' },
        }),
      );
      await h.settle();
      expect((await h.store.getDeployment(deployment.id))?.state).toBe('awaiting_approval');
      // Node caps a timer at 2^31-1 ms (24.8 days); the clock says 25 days have passed, 15 remain.
      h.clock.advance(25 * 86_400_000);
      vi.advanceTimersByTime(2 ** 31);
      await h.settle();
      expect((await h.store.getDeployment(deployment.id))?.state).toBe('awaiting_approval');
      h.clock.advance(15 * 86_400_000);
      vi.advanceTimersByTime(15 * 86_400_000);
      await h.settle();
      expect((await h.store.getDeployment(deployment.id))?.state).toBe('expired');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the lock refusal', () => {
  it('shows the reason someone typed as text, not as a link or mention', async () => {
    const h = await deployHarness();
    await h.store.acquireLock(
      {
        service: 'api',
        environment: 'staging',
        owner: 'manual:U0DAVE',
        instance: 'test-instance',
        holder: 'U0DAVE',
        reason: 'db migration <https://evil.example|unlock here> <!channel>',
      },
      h.clock.now(),
    );
    const message = await refusal(
      h.service.request({ kind: 'deploy', target: staging, user: 'U0ALICE', request: { type: 'git' } }),
    );
    expect(message).toContain('locked by <@U0DAVE>');
    expect(message).toContain('db migration &lt;https://evil.example|unlock here&gt; &lt;!channel&gt;');
  });

  it('masks a token someone typed as the reason', async () => {
    const h = await deployHarness();
    await h.store.acquireLock(
      {
        service: 'api',
        environment: 'staging',
        owner: 'manual:U0DAVE',
        instance: 'test-instance',
        holder: 'U0DAVE',
        reason: 'rotating xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp',
      },
      h.clock.now(),
    );
    const message = await refusal(
      h.service.request({ kind: 'deploy', target: staging, user: 'U0ALICE', request: { type: 'git' } }),
    );
    expect(message).toContain('rotating [REDACTED]');
    expect(message).not.toContain('xoxb-1234567890');
  });
});

describe('several replicas on one store', () => {
  it('leaves a rollout another live replica watches alone, and takes it over once that replica is gone', async () => {
    // Each replica has its own clock (A's advances as it polls); both start at the same moment.
    const slow = new FakeEcs();
    slow.script = [FakeEcs.succeeding()[0] as (typeof slow.script)[number]]; // in progress until told otherwise
    const a = await deployHarness({ ecs: slow, clock: new FakeClock(), instance: 'replica-a' });
    const deployment = started(
      await a.service.request({ kind: 'restart', target: staging, user: 'U0ALICE', request: { type: 'restart' } }),
    );
    for (let i = 0; i < 50 && (await a.store.getDeployment(deployment.id))?.state !== 'rolling_out'; i++)
      await new Promise((r) => setTimeout(r, 5));
    a.service.stop(); // replica A stops watching (as if it hung), but its lease is still fresh

    const clock = new FakeClock();
    const b = await deployHarness({ store: a.store, clock, instance: 'replica-b' });
    await b.service.resume();
    await b.settle();
    expect((await b.store.getDeployment(deployment.id))?.state).toBe('rolling_out');
    expect(b.ecs.polls).toBe(0);

    clock.advance(60_000); // A's lease has run out: it is gone
    await b.service.resume();
    await b.settle();
    b.service.stop();
    expect(b.ecs.polls).toBeGreaterThan(0);
    expect((await b.store.getDeployment(deployment.id))?.state).toBe('succeeded');
  });
});
