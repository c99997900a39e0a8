import { describe, expect, it } from 'vitest';
import { parseDeploy, parseDockhand, parseRollback, parseScale } from '../../src/core/grammar.ts';
import { approvalPolicyFor, emergencyPolicy, mayApprove, mayFreeze } from '../../src/domain/policy.ts';
import { UsageError } from '../../src/errors.ts';
import { deployConfig } from '../support/deploy-fakes.ts';

const usageOf = (parse: () => unknown): string => {
  try {
    parse();
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error('expected a usage error');
};

describe('the freeze grammar', () => {
  it('reads freeze with for, until (a date and a time as one) and a reason, and freeze alone as the list', () => {
    expect(parseDockhand('freeze')).toEqual({ sub: 'freeze' });
    expect(parseDockhand('freeze production')).toEqual({ sub: 'freeze', env: 'production', end: undefined });
    expect(parseDockhand('FREEZE production for 4h release day')).toEqual({
      sub: 'freeze',
      env: 'production',
      end: { for: 4 * 3_600_000 },
      reason: 'release day',
    });
    expect(parseDockhand('freeze production until 2026-12-24 18:00 holidays')).toEqual({
      sub: 'freeze',
      env: 'production',
      end: { until: '2026-12-24 18:00' },
      reason: 'holidays',
    });
    expect(parseDockhand('freeze in staging until 18:00')).toMatchObject({ env: 'staging', end: { until: '18:00' } });
    expect(parseDockhand('unfreeze production')).toEqual({ sub: 'unfreeze', env: 'production' });
  });

  it('refuses what does not parse, with the usage', () => {
    expect(usageOf(() => parseDockhand('unfreeze'))).toContain('Which environment?');
    expect(usageOf(() => parseDockhand('unfreeze production now'))).toContain('Unexpected “now”');
    expect(usageOf(() => parseDockhand('freeze production for ever'))).toContain('“for” needs a duration');
    expect(usageOf(() => parseDockhand('freeze production for 100d'))).toContain('90 days at most');
    expect(usageOf(() => parseDockhand('freeze production until'))).toContain('“until” needs a time');
    expect(usageOf(() => parseDockhand('freeze Production'))).toContain('is not an environment name');
  });

  it('reads --emergency <reason> as the rest of the text on deploy, rollback and scale', () => {
    expect(parseDeploy('api v1.2 to production --emergency checkout is down')).toMatchObject({
      ref: 'v1.2',
      env: 'production',
      emergency: 'checkout is down',
    });
    expect(parseDeploy('api —emergency fix')).toMatchObject({ emergency: 'fix' });
    expect(parseRollback('api in production 41 --emergency bad release')).toMatchObject({
      revision: 41,
      emergency: 'bad release',
    });
    expect(parseScale('api 6 in production --emergency traffic spike')).toEqual({
      service: 'api',
      env: 'production',
      count: 6,
      emergency: 'traffic spike',
    });
    expect(parseScale('api 6')).toEqual({ service: 'api', env: undefined, count: 6 });
    expect(usageOf(() => parseDeploy('api --emergency'))).toContain('--emergency needs a reason');
  });
});

describe('break-glass approval and who may freeze', () => {
  const isMember = async (principals: readonly string[], user: string) => principals.includes(user);

  it('needs one more approval than the environment’s policy', () => {
    const config = deployConfig();
    const usual = approvalPolicyFor(config, { service: 'api', environment: 'production', kind: 'deploy' });
    const emergency = approvalPolicyFor(config, {
      service: 'api',
      environment: 'production',
      kind: 'deploy',
      request: { emergency: 'down' },
    });
    expect(usual?.required).toBe(1);
    expect(emergency).toEqual({ ...usual, required: 2 });
  });

  it('needs one approval where the environment needs none: the deployers, or anyone but the requester', async () => {
    const staging = approvalPolicyFor(deployConfig(), {
      service: 'api',
      environment: 'staging',
      kind: 'scale',
      request: { emergency: 'down' },
    });
    expect(staging).toMatchObject({ approvers: ['*'], required: 1, allowSelfApproval: false });
    expect(await mayApprove(staging, { requestedBy: 'U0ALICE' }, 'U0ANYONE', isMember)).toMatchObject({
      allowed: true,
    });
    expect(await mayApprove(staging, { requestedBy: 'U0ALICE' }, 'U0ALICE', isMember)).toMatchObject({
      allowed: false,
    });
    const deployers = emergencyPolicy(undefined, ['U0DEV']);
    expect(await mayApprove(deployers, { requestedBy: 'U0ALICE' }, 'U0ANYONE', isMember)).toMatchObject({
      allowed: false,
    });
    expect(await mayApprove(deployers, { requestedBy: 'U0ALICE' }, 'U0DEV', isMember)).toMatchObject({
      allowed: true,
    });
  });

  it('lets the approvers freeze an environment that has some, and anyone one that has none', async () => {
    expect(await mayFreeze('production', ['U0BOB'], 'U0BOB', isMember)).toEqual({ allowed: true });
    expect(await mayFreeze('production', ['U0BOB'], 'U0EVE', isMember)).toEqual({
      allowed: false,
      reason: { kind: 'may_not_freeze', environment: 'production', approvers: ['U0BOB'] },
    });
    expect(await mayFreeze('staging', [], 'U0EVE', isMember)).toEqual({ allowed: true });
  });
});
