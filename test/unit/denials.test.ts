import { describe, expect, it } from 'vitest';
import {
  type Denial,
  type DenialReason,
  enforce,
  type Membership,
  mayAbort,
  mayApprove,
  mayDeploy,
  mayReadLogs,
  mayReject,
  mayUnlock,
  type PolicyTarget,
  Refusal,
} from '../../src/domain/policy.ts';
import { denialText } from '../../src/slack/blocks/refusals.ts';
import { failureReason, failureText } from '../../src/slack/replies.ts';

/** The words of a rule's no, as the Slack layer writes them (src/slack/blocks/refusals.ts denialText). */
const nobody: Membership = async () => false;
const groups: Membership = async (principals, user) =>
  principals.some((p) => p === user || (p === 'S0PLATFORM' && user === 'U0CAROL'));

const target = (deployers?: string[]): PolicyTarget => ({
  service: 'api',
  environment: 'production',
  serviceConfig: deployers ? { deployers } : {},
  envConfig: { approval: 'prod' },
});
const policy = { approvers: ['U0BOB', 'S0PLATFORM'], allowSelfApproval: false };

const wordsOf = (decision: { allowed: boolean } | Denial): string => {
  if (decision.allowed || !('reason' in decision)) throw new Error('expected a denial');
  return denialText(decision.reason);
};

describe('the words of a denial', () => {
  it('names the deployers as user and group mentions', async () => {
    expect(wordsOf(await mayDeploy(target(['U0ALICE', 'S0DEVS']), 'U0MALLORY', nobody))).toBe(
      'You may not deploy `api`: its deployers are <@U0ALICE>, <!subteam^S0DEVS>.',
    );
    expect(wordsOf(await mayDeploy(target(['U0ALICE']), 'U0EVE', nobody))).toBe(
      'You may not deploy `api`: its deployers are <@U0ALICE>.',
    );
  });

  it('says why an approval does not count', async () => {
    const request = { requestedBy: 'U0ALICE' };
    expect(wordsOf(await mayApprove(undefined, request, 'U0BOB', groups))).toBe('This deployment needs no approval.');
    expect(wordsOf(await mayApprove({ ...policy, approvers: ['U0ALICE'] }, request, 'U0ALICE', groups))).toBe(
      'You requested this deployment; someone else must approve it.',
    );
    expect(wordsOf(await mayApprove(policy, request, 'U0MALLORY', groups))).toBe(
      'Only approvers can approve this: <@U0BOB>, <!subteam^S0PLATFORM>.',
    );
  });

  it('says who may reject, abort and read logs', async () => {
    const request = { requestedBy: 'U0ALICE' };
    expect(wordsOf(await mayReject(policy, request, 'U0MALLORY', groups))).toBe(
      'Only an approver or the requester can reject this request.',
    );
    expect(wordsOf(await mayAbort(policy, request, 'U0MALLORY', groups))).toBe(
      'Only the requester or an approver can abort this rollout.',
    );
    expect(wordsOf(await mayReadLogs(target(['U0ALICE']), ['U0BOB'], 'U0EVE', groups))).toBe(
      'Only the deployers and approvers of `api` may read its logs.',
    );
  });

  it('says who may unlock, as the tail of the unlock refusal', async () => {
    const base = { target: target(), approvers: ['U0BOB'] };
    const manual = { ...base, manualOwner: 'U0ALICE', deployment: undefined };
    const leftover = { ...base, manualOwner: undefined, deployment: { requestedBy: 'U0ALICE' } };
    const other = { ...base, manualOwner: undefined, deployment: undefined };
    expect(wordsOf(await mayUnlock(manual, 'U0DAVE', groups))).toBe(
      'only the person who locked it or an approver of `production` can unlock it.',
    );
    expect(wordsOf(await mayUnlock(leftover, 'U0DAVE', groups))).toBe(
      'only the requester of that deployment or an approver of `production` can unlock it.',
    );
    expect(wordsOf(await mayUnlock(other, 'U0DAVE', groups))).toBe(
      'only its holder or an approver of `production` can unlock it.',
    );
  });
});

describe('a thrown denial at the boundary (src/slack/replies.ts)', () => {
  const thrown = (reason: DenialReason): Refusal => {
    try {
      enforce({ allowed: false, reason });
    } catch (e) {
      if (e instanceof Refusal) return e;
    }
    throw new Error('expected a Refusal');
  };

  it('replies and logs the worded denial, mentions intact, and no mrkdwn in the refusal itself', () => {
    const refusal = thrown({ kind: 'not_a_deployer', service: 'api', deployers: ['U0CAROL', 'S0DEVS'] });
    expect(refusal.message).not.toMatch(/<[@!]/);
    expect(failureText(refusal)).toBe(
      ':no_entry: You may not deploy `api`: its deployers are <@U0CAROL>, <!subteam^S0DEVS>.',
    );
    expect(failureReason(refusal)).toBe('You may not deploy `api`: its deployers are <@U0CAROL>, <!subteam^S0DEVS>.');
  });

  it('keeps the text of a refusal by the state of things', () => {
    const refusal = new Refusal('The rollout already ended; nothing changed.');
    expect(refusal.denial).toBeUndefined();
    expect(failureText(refusal)).toBe(':no_entry: The rollout already ended; nothing changed.');
  });
});

describe('hook denials', () => {
  it('word the trigger rules as the hook reply reads them', () => {
    expect(denialText({ kind: 'hook_deploys_only' })).toBe('A hook may only deploy.');
    expect(denialText({ kind: 'trigger_not_set', service: 'api', environment: 'production', source: 'github' })).toBe(
      'api in production takes no deploys from github (its trigger is not set)',
    );
    expect(
      denialText({
        kind: 'branch_not_allowed',
        service: 'api',
        environment: 'production',
        source: 'ci',
        branches: ['main', 'release'],
        branch: 'dev',
      }),
    ).toBe('api in production deploys only main, release from ci, not dev');
  });
});

describe('freeze denials', () => {
  it('name the approvers who may freeze an environment', () => {
    expect(denialText({ kind: 'may_not_freeze', environment: 'production', approvers: ['U0BOB', 'S0OPS'] })).toBe(
      'Only the approvers of `production` may freeze or unfreeze it: <@U0BOB>, <!subteam^S0OPS>.',
    );
  });
});

describe('closed-gate denials', () => {
  const freeze = { environment: 'production', by: 'U0ALICE', at: new Date('2026-12-20T00:00:00Z') };
  const windows = { timeZone: 'Europe/Berlin', open: [{ days: ['mon', 'tue'] as const, from: '09:00', to: '17:00' }] };

  it('word a freeze from its data, the typed reason as text, with how to break the glass', () => {
    const gate = {
      open: false as const,
      cause: 'freeze' as const,
      environment: 'production',
      freeze: { ...freeze, reason: '<!channel> & <@U0X>', until: new Date('2027-01-04T08:00:00Z') },
      timeZone: 'Europe/Berlin',
    };
    expect(denialText({ kind: 'change_closed', gate, refused: 'request' })).toBe(
      '`production` is frozen (&lt;!channel&gt; &amp; &lt;@U0X&gt;) by <@U0ALICE> until Mon 2027-01-04 09:00 Europe/Berlin. Nothing changed. In an emergency, add `--emergency &lt;reason&gt;`: it needs one more approval than usual.',
    );
    expect(denialText({ kind: 'change_closed', gate: { ...gate, freeze, timeZone: 'UTC' }, refused: 'approval' })).toBe(
      '`production` is frozen by <@U0ALICE> until someone unfreezes it. This request did not break the glass, so it cannot be approved now; nothing changed. Approve it once that is over, or ask for it again with `--emergency &lt;reason&gt;`.',
    );
  });

  it('word a closed window with when the next opens', () => {
    const gate = {
      open: false as const,
      cause: 'window' as const,
      environment: 'staging',
      windows,
      opensAt: new Date('2026-12-07T08:00:00Z'),
      timeZone: 'Europe/Berlin',
    };
    expect(denialText({ kind: 'change_closed', gate, refused: 'request' })).toMatch(
      /^`staging` is outside its deploy windows \(mon, tue 09:00–17:00 \(Europe\/Berlin\)\)\. The next window opens Mon 2026-12-07 09:00 Europe\/Berlin\. Nothing changed\./,
    );
    expect(denialText({ kind: 'change_closed', gate: { ...gate, opensAt: undefined }, refused: 'request' })).toContain(
      'No window opens this week. Nothing changed.',
    );
  });

  it('refuse an emergency when nothing is closed', () => {
    expect(denialText({ kind: 'emergency_not_needed', environment: 'staging', rollback: false })).toBe(
      '`staging` is neither frozen nor outside its windows: no emergency needed, nothing changed. Ask again without `--emergency`.',
    );
    expect(denialText({ kind: 'emergency_not_needed', environment: 'staging', rollback: true })).toBe(
      'Rollbacks in `staging` go ahead during a freeze and outside its windows: no emergency needed, nothing changed. Ask again without `--emergency`.',
    );
  });
});
