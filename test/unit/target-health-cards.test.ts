import { describe, expect, it } from 'vitest';
import { resolveTarget } from '../../src/core/targets.ts';
import type { TargetGroupHealth } from '../../src/ports.ts';
import { deploymentCard } from '../../src/slack/blocks/deploy.ts';
import { serviceStatusCard } from '../../src/slack/blocks/status.ts';
import { TARGETS_SHOWN, targetHealthText } from '../../src/slack/blocks/target-health.ts';
import { aConfig, aDeployment, aSnapshot, aTask, at } from '../support/builders.ts';
import { aDeploymentView, aRollout, rolloutFacts } from '../support/deploy-builders.ts';

const now = at('2026-11-21T12:00:00Z');
const production = resolveTarget(aConfig(), 'api', 'production');
const GROUP_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/0123456789abcdef';

const first = aTask({ privateIp: '10.0.1.5' });
const second = aTask({ id: '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b', privateIp: '10.0.1.6' });

const apiTg = (over: Partial<TargetGroupHealth> = {}): TargetGroupHealth => ({
  targetGroupArn: GROUP_ARN,
  name: 'api-tg',
  targets: [
    { id: '10.0.1.5', port: 8080, state: 'healthy', taskId: first.id },
    {
      id: '10.0.1.6',
      port: 8080,
      state: 'unhealthy',
      reason: 'Target.FailedHealthChecks',
      description: 'Health checks failed with these codes: [502]',
      taskId: second.id,
    },
    {
      id: '10.0.1.4',
      port: 8080,
      state: 'draining',
      reason: 'Target.DeregistrationInProgress',
      description: 'Target deregistration is in progress',
    },
  ],
  ...over,
});

describe('target health on the cards (golden)', () => {
  it('shows a rollout ECS completed that waits for an unhealthy target, and why', async () => {
    const ours = aDeployment({
      id: 'ecs-svc/9876543210987654321',
      revision: 'api:43',
      rolloutState: 'COMPLETED',
      desired: 2,
      running: 2,
      pending: 0,
    });
    const rollout = aRollout({
      deployment: ours,
      deployments: [ours],
      failureEvents: [],
      stoppedTasks: [],
      tasks: [first, second],
      targetHealth: [apiTg()],
      unhealthyTargets: [
        {
          targetGroup: 'api-tg',
          taskId: second.id,
          state: 'unhealthy',
          reason: 'Target.FailedHealthChecks',
          description: 'Health checks failed with these codes: [502]',
        },
      ],
      reason: '1 target is not healthy',
    });
    const card = deploymentCard(aDeploymentView({ state: 'rolling_out', facts: rolloutFacts(), rollout }), now);
    await expect(card).toMatchFileSnapshot('golden/deploy-rolling_out-target-health.json');
    const texts = JSON.stringify(card.blocks);
    expect(texts).toContain('waiting for its targets to be healthy');
    expect(texts).toContain('Target.FailedHealthChecks');
  });

  it('says a rollout is judged on ECS alone when its target health may not be read, naming the permission', async () => {
    const rollout = aRollout({
      targetHealthUnreadable: { permission: 'elasticloadbalancing:DescribeTargetHealth', code: 'AccessDenied' },
    });
    const card = deploymentCard(aDeploymentView({ state: 'rolling_out', facts: rolloutFacts(), rollout }), now);
    await expect(card).toMatchFileSnapshot('golden/deploy-rolling_out-target-health-unreadable.json');
    const texts = JSON.stringify(card.blocks);
    expect(texts).toContain('target health could not be read (AccessDenied');
    expect(texts).toContain('`elasticloadbalancing:DescribeTargetHealth`');
    expect(texts).toContain('judged on ECS alone');
  });

  it('does not say a rollout ECS has not completed waits for targets', () => {
    const rollout = aRollout({ targetHealth: [apiTg()], unhealthyTargets: [] });
    const card = deploymentCard(aDeploymentView({ state: 'rolling_out', facts: rolloutFacts(), rollout }), now);
    expect(JSON.stringify(card.blocks)).not.toContain('waiting for its targets');
    expect(JSON.stringify(card.blocks)).toContain('1/3 healthy');
  });

  it('shows each target group’s targets on /status, and a group that could not be read', async () => {
    const other: TargetGroupHealth = {
      targetGroupArn: GROUP_ARN.replace('api-tg', 'admin-tg'),
      name: 'admin-tg',
      targets: [],
      error: 'read the target health of target group admin-tg: AccessDenied: not authorized',
    };
    const s = aSnapshot({ tasks: [first, second], targetHealth: [apiTg(), other] });
    await expect(serviceStatusCard(production, s, now)).toMatchFileSnapshot('golden/status-target-health.json');
  });

  it('lists at most TARGETS_SHOWN targets per group, escapes ELBv2’s words and counts the rest', () => {
    const many = apiTg({
      targets: Array.from({ length: 25 }, (_, i) => ({
        id: `10.0.2.${i}`,
        port: 80,
        state: 'unhealthy' as const,
        reason: 'Target.ResponseCodeMismatch',
        description: '<!channel> `502` & more',
      })),
    });
    const text = targetHealthText([many], 3000);
    expect(text.split('\n')).toHaveLength(TARGETS_SHOWN + 2);
    expect(text).toContain('…and 15 more');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text.length).toBeLessThanOrEqual(3000);
  });
});
