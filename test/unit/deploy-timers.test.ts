import { describe, expect, it } from 'vitest';
import { resolveTarget } from '../../src/core/targets.ts';
import { AwsError } from '../../src/errors.ts';
import type { DeploymentRecord } from '../../src/ports.ts';
import { deployConfig, deployHarness, FakeClock, FakeEcs, FakeRandom, FakeTimers } from '../support/deploy-fakes.ts';

const config = deployConfig();
const production = resolveTarget(config, 'api', 'production');
const staging = resolveTarget(config, 'api', 'staging');

const started = (outcome: { result: string; deployment?: DeploymentRecord }): DeploymentRecord => {
  if (outcome.result !== 'started' || !outcome.deployment) throw new Error(`expected started: ${outcome.result}`);
  return outcome.deployment;
};

describe('the pipeline keeps time only through its ports', () => {
  it('expires a waiting request when its timer fires, with nobody clicking, and releases the lock', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const h = await deployHarness({ clock, timers });
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('awaiting_approval');

    clock.advance(29 * 60_000);
    timers.fireDue();
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('awaiting_approval');

    clock.advance(2 * 60_000);
    expect(timers.fireDue()).toBeGreaterThan(0);
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('expired');
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, clock.now())).toBeUndefined();
    expect(h.notifier.last().text).toContain('expired');
  });

  it('cancels every timer it set (expiry, recovery sweep) when stopped', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const h = await deployHarness({ clock, timers });
    started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    await h.settle();
    await h.service.resume();
    expect(timers.pending).toBeGreaterThanOrEqual(2);
    h.service.stop();
    expect(timers.pending).toBe(0);
  });

  it('keeps a lease renewal timer only while it works on a deployment', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const h = await deployHarness({ clock, timers });
    const deployment = started(
      await h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0ALICE',
        request: { type: 'git', ref: 'main' },
      }),
    );
    // Right after the request the requester's replica owns it: its lease renewal is the one timer.
    expect(timers.pending).toBe(1);
    await h.settle();
    // Waiting for approval: the lease is given up, only the expiry timer is left.
    expect(timers.pending).toBe(1);
    await h.service.approve(deployment.id, 'U0BOB');
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
    expect(timers.pending).toBe(0);
  });

  it('names deployments from the Random port and jitters the backoff with it', async () => {
    const throttled = () =>
      new AwsError('describe services api', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const rolloutMs = async (fraction: number): Promise<{ id: string; ms: unknown }> => {
      const ecs = new FakeEcs();
      ecs.pollErrors = [throttled()];
      const h = await deployHarness({ ecs, random: new FakeRandom(fraction) });
      const restart = started(
        await h.service.request({ kind: 'restart', target: staging, user: 'U0ALICE', request: { type: 'restart' } }),
      );
      await h.settle();
      const done = await h.store.getDeployment(restart.id);
      expect(done?.state).toBe('succeeded');
      return { id: restart.id, ms: done?.facts.rolloutDurationMs };
    };
    // One throttled look backs off to twice the 4 s poll, times 0.75 + fraction × 0.5; then one 4 s poll.
    expect(await rolloutMs(0)).toEqual({ id: 'dep_00000000000000000001', ms: 8000 * 0.75 + 4000 });
    expect((await rolloutMs(0.5)).ms).toBe(8000 + 4000);
  });
});
