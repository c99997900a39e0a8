import { describe, expect, it } from 'vitest';
import type { Freeze } from '../../src/domain/windows.ts';
import { deploymentCard, dryRunCard } from '../../src/slack/blocks/deploy.ts';
import { freezesMessage, frozenMessage, unfrozenMessage } from '../../src/slack/blocks/freeze.ts';
import { at } from '../support/builders.ts';
import { aDeploymentView, aPlan } from '../support/deploy-builders.ts';

const now = at('2026-11-20T10:05:00Z');

const freeze: Freeze = {
  environment: 'production',
  by: 'U0ALICE',
  at: at('2026-11-20T10:00:00Z'),
  until: at('2026-11-23T08:00:00Z'),
  reason: 'Black Friday <!channel>',
};

describe('break-glass on the deployment card (golden)', () => {
  it('marks an emergency and counts the extra approval it needs', async () => {
    const view = aDeploymentView({
      plan: aPlan(),
      request: { type: 'git', ref: 'main', emergency: 'checkout is down <!here>', emergencyCause: 'freeze' },
      approvalPolicy: { required: 2, approvers: ['U0APPROVER', 'S0PLATFORM'] },
    });
    const card = deploymentCard(view, now);
    const text = JSON.stringify(card);
    expect(text).toContain(':rotating_light: *Emergency* (break-glass): checkout is down &lt;!here&gt;');
    expect(text).toContain('0 of 2');
    await expect(card).toMatchFileSnapshot('golden/deploy-emergency-awaiting_approval.json');
  });

  it('keeps the mark once the emergency is done', async () => {
    const view = aDeploymentView({ state: 'succeeded', request: { type: 'git', ref: 'main', emergency: 'hotfix' } });
    expect(JSON.stringify(deploymentCard(view, now))).toContain('*Emergency* (break-glass): hotfix');
  });

  it('says anyone but the requester may approve an emergency where the environment has no approvers', () => {
    const view = aDeploymentView({
      request: { type: 'git', ref: 'main', emergency: 'hotfix' },
      approvalPolicy: { required: 1, approvers: ['*'] },
    });
    const text = JSON.stringify(deploymentCard(view, now));
    expect(text).toContain('Who can approve: anyone but the requester');
    expect(text).not.toContain('<@*>');
  });

  it('marks a dry run of an emergency, with the approvals it would need', () => {
    const view = aDeploymentView({
      plan: aPlan(),
      request: { type: 'git', ref: 'main', emergency: 'hotfix' },
      approvalPolicy: { required: 2, approvers: ['U0APPROVER'] },
    });
    const text = JSON.stringify(dryRunCard(view));
    expect(text).toContain('*Emergency* (break-glass): hotfix');
    expect(text).toContain('2 approvals needed');
  });

  it('shows no mark on an ordinary deployment', () => {
    expect(JSON.stringify(deploymentCard(aDeploymentView({ plan: aPlan() }), now))).not.toContain('Emergency');
  });
});

describe('freeze messages (golden)', () => {
  it('announces a freeze with its end in the environment’s time zone, escaping the reason', async () => {
    const card = frozenMessage(freeze, 'Europe/Berlin');
    expect(JSON.stringify(card)).not.toContain('<!channel>');
    await expect(card).toMatchFileSnapshot('golden/freeze-frozen.json');
  });

  it('announces the end of a freeze with who had set it', async () => {
    await expect(unfrozenMessage(freeze, 'U0BOB')).toMatchFileSnapshot('golden/freeze-unfrozen.json');
  });

  it('lists the freezes in force and the windows', async () => {
    const card = freezesMessage(
      [freeze, { environment: 'staging', by: 'U0BOB', at: at('2026-11-20T09:00:00Z') }],
      [
        {
          environment: 'production',
          windows: {
            timeZone: 'Europe/Berlin',
            open: [{ days: ['mon', 'tue', 'wed', 'thu'], from: '09:00', to: '17:00' }],
          },
        },
      ],
      (env) => (env === 'production' ? 'Europe/Berlin' : undefined),
    );
    const text = JSON.stringify(card);
    expect(text).toContain('until someone unfreezes it');
    expect(text).toContain('mon–thu 09:00–17:00 (Europe/Berlin)');
    await expect(card).toMatchFileSnapshot('golden/freeze-list.json');
  });

  it('says so when nothing is frozen', () => {
    expect(freezesMessage([], [], () => undefined).text).toBe('No environment is frozen.');
  });
});
