/** ECS deployment alarms on the deployment card: the approval card names them, the rollout card shows their states. */
import { describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/local/console/render.js';
import type { DeploymentAlarms } from '../../src/ports.ts';
import { alarmFailureBlocks, alarmsBlocks } from '../../src/slack/blocks/alarms.ts';
import { deploymentCard } from '../../src/slack/blocks/deploy.ts';
import { aDeployment, at } from '../support/builders.ts';
import { aDeploymentView, aPlan, aRollout, rolloutFacts } from '../support/deploy-builders.ts';

const now = at('2026-11-20T10:05:00Z');

const alarms = (over: Partial<DeploymentAlarms> = {}): DeploymentAlarms => ({
  rollback: true,
  alarms: [
    {
      name: 'api-5xx',
      state: 'OK',
      reason: 'Threshold Crossed: no datapoints were above 5.0.',
      since: at('2026-11-20T09:00:00Z'),
    },
    { name: 'api-latency-p99', state: 'INSUFFICIENT_DATA', reason: 'Insufficient Data: 1 datapoint was unknown.' },
  ],
  ...over,
});

const texts = (blocks: readonly unknown[]): string => JSON.stringify(blocks);

describe('deployment alarms on the cards (golden)', () => {
  it('the approval card names the alarms with their states and says ECS rolls back on ALARM', async () => {
    const view = aDeploymentView({ plan: { ...aPlan(), alarms: alarms() } });
    const card = deploymentCard(view, now);
    expect(texts(card.blocks)).toContain('`api-5xx` :large_green_circle: OK');
    expect(texts(card.blocks)).toContain('`api-latency-p99` :white_circle: insufficient data');
    await expect(card).toMatchFileSnapshot('golden/deploy-alarms-awaiting_approval.json');
  });

  it('the rollout card shows the alarm states, an alarm in ALARM with its reason', async () => {
    const firing = alarms({
      alarms: [
        {
          name: 'api-5xx',
          state: 'ALARM',
          reason: 'Threshold Crossed: 1 datapoint [12.0 (20/11/26 10:04:00)] was greater than the threshold (5.0).',
        },
        { name: 'api-latency-p99', state: 'OK' },
      ],
    });
    const view = aDeploymentView({
      state: 'rolling_out',
      facts: rolloutFacts(),
      rollout: aRollout({ alarms: firing }),
    });
    const card = deploymentCard(view, now);
    expect(texts(card.blocks)).toContain('`api-5xx` :red_circle: *ALARM* — Threshold Crossed');
    await expect(card).toMatchFileSnapshot('golden/deploy-alarms-rolling_out.json');
  });

  it('a rollout an alarm failed: the card names the alarm and says ECS rolls the service back', async () => {
    const view = aDeploymentView({
      state: 'failed',
      facts: rolloutFacts(),
      reason: 'Rollout failed: ECS deployment ecs-svc/1 failed: alarm(s) api-5xx in ALARM state.',
      rollout: aRollout({
        outcome: 'failed',
        reason: 'ECS deployment ecs-svc/1 failed: alarm(s) api-5xx in ALARM state.',
        deployment: undefined,
        deployments: [aDeployment({ rolloutState: 'IN_PROGRESS', desired: 4, running: 2 })],
        failureEvents: ['(service api) (deployment ecs-svc/1) deployment failed: alarm detected.'],
        stoppedTasks: [],
        alarms: alarms({
          alarms: [
            { name: 'api-5xx', state: 'ALARM', reason: 'Threshold Crossed: 1 datapoint [12.0] > 5.0.' },
            { name: 'api-latency-p99', state: 'OK' },
          ],
          triggered: ['api-5xx'],
        }),
      }),
    });
    const card = deploymentCard(view, now);
    expect(texts(card.blocks)).toContain(
      ':rotating_light: *Alarm `api-5xx` went into ALARM* — ECS failed the rollout and rolls the service back to the previous revision.',
    );
    await expect(card).toMatchFileSnapshot('golden/deploy-alarms-failed.json');
  });
});

describe('the local console shows the alarm card', () => {
  it('renders the alarms with emoji, the failing one and the rollback', () => {
    const html = renderBlocks(
      [
        ...alarmFailureBlocks(alarms({ triggered: ['api-5xx'] })),
        ...alarmsBlocks({
          rollback: true,
          alarms: [{ name: 'api-5xx', state: 'ALARM', reason: 'x > 5' }, { name: 'gone' }],
        }),
      ],
      {},
    );
    expect(html).toContain('🚨');
    expect(html).toContain('<code>api-5xx</code>');
    expect(html).toContain('🔴 <strong>ALARM</strong> — x &gt; 5');
    expect(html).toContain('❔ not found in CloudWatch');
  });
});

describe('alarm blocks', () => {
  it('nothing for a service without alarms, and no failure line when no alarm triggered', () => {
    expect(alarmsBlocks(undefined)).toEqual([]);
    expect(alarmsBlocks({ rollback: true, alarms: [] })).toEqual([]);
    expect(alarmFailureBlocks(alarms())).toEqual([]);
  });

  it('without rollback, says the service keeps what runs now', () => {
    const text = texts(alarmFailureBlocks(alarms({ rollback: false, triggered: ['a', 'b'] })));
    expect(text).toContain('*Alarms `a`, `b` went into ALARM*');
    expect(text).toContain('automatic rollback is off');
    expect(texts(alarmsBlocks(alarms({ rollback: false })))).toContain('automatic rollback is off');
  });

  it('states it could not read: names kept, the reason said, unknown alarms marked', () => {
    const text = texts(
      alarmsBlocks({
        rollback: true,
        alarms: [{ name: 'api-5xx' }],
        unreadable: 'read the CloudWatch alarms: AccessDenied: not authorized',
      }),
    );
    expect(text).toContain('`api-5xx` :grey_question: unknown');
    expect(text).toContain('States unavailable: read the CloudWatch alarms: AccessDenied');
    expect(texts(alarmsBlocks({ rollback: true, alarms: [{ name: 'gone' }] }))).toContain('not found in CloudWatch');
  });

  it('hostile alarm names and reasons are escaped, no mention or code fence gets through', () => {
    const text = texts(
      alarmsBlocks({
        rollback: true,
        alarms: [{ name: 'x<!channel>`', state: 'ALARM', reason: '<!here> ```boom``` <https://evil|click>' }],
      }),
    );
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('```');
    expect(text).not.toContain('<https://evil');
  });
});
