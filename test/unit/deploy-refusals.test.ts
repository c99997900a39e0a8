import { describe, expect, it } from 'vitest';
import { resolveTarget } from '../../src/core/targets.ts';
import { deployRefusalText } from '../../src/slack/blocks/refusals.ts';
import { deployConfig, deployHarness } from '../support/deploy-fakes.ts';

describe('refusal words (the Slack layer renders what the core decided)', () => {
  it('says which deployment holds a lock, with its typed reason escaped', () => {
    expect(
      deployRefusalText({
        kind: 'locked',
        service: 'api',
        environment: 'production',
        holder: 'U0ALICE',
        reason: 'deploy <!here>',
        acquiredAt: new Date('2026-11-21T12:00:00Z'),
        manual: false,
        deployment: { seq: 7, state: 'awaiting_approval', requestedBy: 'U0ALICE' },
      }),
    ).toBe(
      '`api` in `production` is locked by deployment #7 (awaiting approval) requested by <@U0ALICE>: deploy &lt;!here&gt;. Try again when it is done.',
    );
  });

  it('tells who locked by hand, since when, and how to unlock', () => {
    expect(
      deployRefusalText({
        kind: 'locked',
        service: 'api',
        environment: 'staging',
        holder: 'U0DAVE',
        acquiredAt: new Date('2026-11-21T12:34:56.789Z'),
        manual: true,
      }),
    ).toBe(
      '`api` in `staging` is locked by <@U0DAVE> since 2026-11-21 12:34 UTC. Nothing was changed; ask them, or an approver, to run `/dockhand unlock api in staging`.',
    );
  });

  it('reaches the requester through the pipeline: a second request on a locked service is refused in these words', async () => {
    const h = await deployHarness();
    const production = resolveTarget(deployConfig(), 'api', 'production');
    const first = await h.service.request({
      kind: 'deploy',
      target: production,
      user: 'U0ALICE',
      request: { type: 'git', ref: 'main' },
    });
    expect(first.result).toBe('started');
    await h.settle();
    await expect(
      h.service.request({
        kind: 'deploy',
        target: production,
        user: 'U0DAVE',
        request: { type: 'git', ref: 'main' },
      }),
    ).rejects.toThrow(
      '`api` in `production` is locked by deployment #1 (awaiting approval) requested by <@U0ALICE>: deploy requested. Try again when it is done.',
    );
  });
});
