/**
 * The deployment card of an ECS blue/green rollout: one golden file per stage a person follows (scale-up, test
 * traffic, production traffic, bake time with the time left, clean-up), the rollback ECS reports, and an Abort during
 * bake carried out as ECS's own rollback. A rolling rollout's card does not change (deploy-card.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/local/console/render.js';
import type { RolloutStage, StagedRollout } from '../../src/ports.ts';
import { ACTIONS } from '../../src/slack/actions.ts';
import { deploymentCard } from '../../src/slack/blocks/deploy.ts';
import { aDeployment, at } from '../support/builders.ts';
import { aDeploymentView, aRollout, rolloutFacts } from '../support/deploy-builders.ts';

const now = at('2026-11-20T10:05:00Z');
const ARN = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/api/r9i43YFjvgFEXAMPLE0001';

const staged = (stage: RolloutStage | undefined, over: Partial<StagedRollout> = {}): StagedRollout => ({
  strategy: 'blue_green',
  id: ARN,
  ...(stage ? { stage } : {}),
  status: 'in_progress',
  bakeMinutes: 15,
  ...over,
});

/** Green (api:43) beside blue (api:42), as DescribeServices shows them during a blue/green rollout. */
const blueGreenRollout = (s: StagedRollout, running = 4) => {
  const green = aDeployment({
    id: 'ecs-svc/9876543210987654321',
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
    revision: 'api:43',
    rolloutState: 'IN_PROGRESS',
    desired: 4,
    running,
    pending: 4 - running,
    failed: 0,
  });
  return aRollout({
    deployment: green,
    deployments: [green, aDeployment({ status: 'ACTIVE', desired: 4, running: 4 })],
    failureEvents: [],
    stoppedTasks: [],
    staged: s,
  });
};

const rollingOut = (s: StagedRollout, running = 4) =>
  deploymentCard(
    aDeploymentView({ state: 'rolling_out', facts: rolloutFacts(), rollout: blueGreenRollout(s, running) }),
    now,
  );

describe('blue/green rollout cards (golden)', () => {
  it.each([
    ['scale_up', 1],
    ['test_traffic', 4],
    ['production_traffic', 4],
    ['clean_up', 4],
  ] as const)('shows the %s stage', async (stage, running) => {
    const card = rollingOut(staged(stage), running);
    await expect(card).toMatchFileSnapshot(`golden/deploy-blue-green-${stage}.json`);
  });

  it('shows the bake time left, with Abort', async () => {
    const card = rollingOut(staged('bake', { bakeLeftMs: 4 * 60_000 + 10_000 }));
    const text = JSON.stringify(card.blocks);
    expect(text).toContain('4m 10s left of 15m');
    expect(card.text).toContain('bake time, 4m 10s left');
    expect(text).toContain(ACTIONS.abort);
    await expect(card).toMatchFileSnapshot('golden/deploy-blue-green-bake.json');
  });

  it('says when the rollout timeout is extended to cover a long bake', async () => {
    const rollout = {
      ...blueGreenRollout(staged('bake', { bakeMinutes: 120, bakeLeftMs: 100 * 60_000 })),
      timeoutExtended: { until: new Date('2026-11-21T14:30:00Z'), timeout: '30m', bakeMinutes: 120 },
    };
    const card = deploymentCard(aDeploymentView({ state: 'rolling_out', facts: rolloutFacts(), rollout }), now);
    expect(JSON.stringify(card.blocks)).toContain('The rollout timeout (30m) is extended by the 2h bake time');
    await expect(card).toMatchFileSnapshot('golden/deploy-blue-green-bake-timeout-extended.json');
  });

  it('shows the stages passed and the stage now in order', () => {
    const trail = JSON.stringify(rollingOut(staged('production_traffic')).blocks);
    expect(trail).toContain(
      ':white_check_mark: Scale-up → :white_check_mark: Test traffic → :arrow_forward: *Production traffic* → Bake time (15m) → Clean-up',
    );
  });

  it('shows a rollback ECS made, with its reason, on the failed card', async () => {
    const s = staged('bake', { status: 'rolled_back', reason: 'Alarm api-5xx went into ALARM <!channel>' });
    const view = aDeploymentView({
      state: 'failed',
      facts: rolloutFacts(),
      reason: 'Rollout failed: the blue/green deployment was rolled back: Alarm api-5xx went into ALARM',
      rollout: { ...blueGreenRollout(s), outcome: 'failed', reason: 'the blue/green deployment was rolled back' },
    });
    const card = deploymentCard(view, now);
    const text = JSON.stringify(card.blocks);
    expect(text).toContain('ECS rolled the blue/green deployment back: blue serves production again* during bake time');
    expect(text).not.toContain('<!channel>');
    await expect(card).toMatchFileSnapshot('golden/deploy-blue-green-rolled-back.json');
  });

  it('says an Abort during bake was carried out as ECS’s rollback (StopServiceDeployment, ROLLBACK)', async () => {
    const view = aDeploymentView({
      state: 'aborted',
      facts: rolloutFacts({ abortedBy: 'U0ONCALL', abortMethod: 'stop_service_deployment' }),
      rollout: blueGreenRollout(staged('bake', { bakeLeftMs: 9 * 60_000 })),
    });
    const card = deploymentCard(view, now);
    const text = JSON.stringify(card.blocks);
    expect(text).toContain(
      'Aborted during bake time: ECS rolls the blue/green deployment back to `api:42` (StopServiceDeployment, ROLLBACK)',
    );
    await expect(card).toMatchFileSnapshot('golden/deploy-blue-green-aborted.json');
  });

  it('says so when the Abort had to return the service with UpdateService instead', () => {
    const view = aDeploymentView({
      state: 'aborted',
      facts: rolloutFacts({ abortedBy: 'U0ONCALL', abortMethod: 'update_service' }),
      rollout: blueGreenRollout(staged('test_traffic')),
    });
    expect(JSON.stringify(deploymentCard(view, now).blocks)).toContain(
      'Aborted during test traffic: ECS returns the service to `api:42`.',
    );
  });

  it('shows in the local console, emoji and all', () => {
    const html = renderBlocks(rollingOut(staged('bake', { bakeLeftMs: 60_000 })).blocks, {});
    expect(html).toContain(
      '🔵 <strong>Bake time: both revisions run, production traffic is on green</strong> — 1m left of 15m',
    );
    expect(html).toContain(
      '✅ Scale-up → ✅ Test traffic → ✅ Production traffic → ▶️ <strong>Bake time (15m)</strong>',
    );
  });
});
