import { describe, expect, it } from 'vitest';
import { rolloutDeadline } from '../../src/core/deploy/follow.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import type { DeploymentSnapshot, RolloutProgress, StagedRollout } from '../../src/ports.ts';
import { deployConfig, deployHarness, FakeEcs } from '../support/deploy-fakes.ts';

const staging = resolveTarget(deployConfig(), 'api', 'staging');
const POLL_MS = 4000;

const green: DeploymentSnapshot = {
  id: 'ecs-svc/1',
  status: 'PRIMARY',
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
  revision: 'api:43',
  rolloutState: 'IN_PROGRESS',
  desired: 1,
  running: 1,
  pending: 0,
  failed: 0,
};

const look = (staged: StagedRollout, outcome: RolloutProgress['outcome'] = 'in_progress'): RolloutProgress => ({
  deployment: green,
  deployments: [green],
  outcome,
  failureEvents: [],
  stoppedTasks: [],
  tasks: [],
  staged,
});
const baking = (bakeMinutes: number): RolloutProgress =>
  look({ strategy: 'blue_green', id: 'sd', status: 'in_progress', stage: 'bake', bakeMinutes });

/** Looks for `minutes` of the fake clock (one per poll), then `then`. */
const script = (minutes: number, each: RolloutProgress, then: RolloutProgress): RolloutProgress[] => [
  ...Array.from({ length: Math.ceil((minutes * 60_000) / POLL_MS) }, () => each),
  then,
];

const restart = async (ecs: FakeEcs) => {
  const h = await deployHarness({ ecs });
  const result = await h.service.request({
    kind: 'restart',
    target: staging,
    user: 'U0ALICE',
    request: { type: 'restart' },
  });
  if (result.result !== 'started') throw new Error(`not started: ${result.result}`);
  await h.settle();
  const current = await h.store.getDeployment(result.deployment.id);
  const views = [...h.notifier.cards.values()].flatMap((c) => c.versions.map((v) => v.view));
  return { current, views };
};

describe('the rollout timeout of a rollout that bakes', () => {
  it('waits for a bake longer than rolloutTimeout (30m) instead of failing mid-bake', async () => {
    const ecs = new FakeEcs();
    const done = look({ strategy: 'blue_green', id: 'sd', status: 'succeeded', bakeMinutes: 60 }, 'completed');
    ecs.script = script(55, baking(60), done);
    const { current, views } = await restart(ecs);
    expect(current?.state).toBe('succeeded');
    // The card said the timeout was extended, and until when.
    const extended = views.find((v) => v?.rollout?.timeoutExtended)?.rollout?.timeoutExtended;
    expect(extended).toMatchObject({ timeout: '30m', bakeMinutes: 60 });
  });

  it('still gives up at rolloutTimeout plus the bake time, and says so', async () => {
    const ecs = new FakeEcs();
    ecs.script = [baking(60)];
    const { current } = await restart(ecs);
    expect(current?.state).toBe('failed');
    expect(current?.reason).toBe('The rollout did not finish within 30m and its 1h bake time.');
  });

  it('extends the deadline only while a staged rollout with a bake time is in progress', () => {
    const start = new Date('2026-12-01T10:00:00Z');
    const at = (p: RolloutProgress | undefined) => rolloutDeadline(start, 30 * 60_000, p).at.toISOString();
    expect(at(undefined)).toBe('2026-12-01T10:30:00.000Z');
    expect(at(baking(90))).toBe('2026-12-01T12:00:00.000Z');
    expect(at(look({ strategy: 'blue_green', id: 'sd', status: 'rolling_back', bakeMinutes: 90 }))).toBe(
      '2026-12-01T10:30:00.000Z',
    );
    expect(at({ ...baking(90), staged: undefined })).toBe('2026-12-01T10:30:00.000Z');
  });
});
