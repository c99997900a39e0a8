import { describe, expect, it } from 'vitest';
import {
  approvalPolicyFor,
  enforce,
  environmentApprovers,
  type Membership,
  mayAbort,
  mayApprove,
  mayDeploy,
  mayReadLogs,
  mayReject,
  mayRequest,
  mayRestart,
  mayRollBack,
  mayScale,
  mayUnlock,
  type PolicyTarget,
  quorumOf,
  quorumReached,
  Refusal,
} from '../../src/domain/policy.ts';
import { deployConfig } from '../support/deploy-fakes.ts';

/** The directory's answer: users, and groups with their members. Records every question it is asked. */
const directory = (groups: Record<string, string[]> = {}) => {
  const asked: { principals: string[]; user: string }[] = [];
  const isMember: Membership = async (principals, user) => {
    asked.push({ principals: [...principals], user });
    return principals.some((p) => p === user || (groups[p] ?? []).includes(user));
  };
  return { isMember, asked };
};

const target = (
  deployers?: string[],
  env: { approval?: string; scaleApproval?: string } = { approval: 'prod' },
): PolicyTarget => ({
  service: 'api',
  environment: 'production',
  serviceConfig: deployers ? { deployers } : {},
  envConfig: env,
});

const approval = (overrides: Partial<{ approvers: string[]; allowSelfApproval: boolean; required: number }> = {}) => ({
  approvers: ['U0BOB', 'S0PLATFORM'],
  allowSelfApproval: false,
  required: 1,
  expiresAfter: '30m',
  ...overrides,
});

describe('who may deploy, restart, roll back and scale', () => {
  it('lets anyone deploy a service that names no deployers, without asking the directory', async () => {
    const d = directory();
    expect(await mayDeploy(target(), 'U0ANYONE', d.isMember)).toEqual({ allowed: true });
    expect(d.asked).toEqual([]);
  });

  it('lets a named deployer or a member of a named group deploy', async () => {
    const d = directory({ S0DEVS: ['U0DEV'] });
    expect(await mayDeploy(target(['U0ALICE', 'S0DEVS']), 'U0ALICE', d.isMember)).toEqual({ allowed: true });
    expect(await mayDeploy(target(['U0ALICE', 'S0DEVS']), 'U0DEV', d.isMember)).toEqual({ allowed: true });
  });

  it('refuses anyone else, naming the deployers', async () => {
    const d = directory({ S0DEVS: ['U0DEV'] });
    expect(await mayDeploy(target(['U0ALICE', 'S0DEVS']), 'U0MALLORY', d.isMember)).toEqual({
      allowed: false,
      reason: { kind: 'not_a_deployer', service: 'api', deployers: ['U0ALICE', 'S0DEVS'] },
    });
  });

  it('applies the same rule to restart, rollback and scale, whichever way it is asked', async () => {
    const d = directory();
    expect(mayRollBack).toBe(mayDeploy);
    expect(mayScale).toBe(mayDeploy);
    expect(mayRestart).toBe(mayDeploy);
    for (const kind of ['deploy', 'restart', 'rollback', 'scale'] as const) {
      expect(await mayRequest(kind, target(['U0ALICE']), 'U0EVE', d.isMember)).toEqual({
        allowed: false,
        reason: { kind: 'not_a_deployer', service: 'api', deployers: ['U0ALICE'] },
      });
      expect(await mayRequest(kind, target(['U0ALICE']), 'U0ALICE', d.isMember)).toEqual({ allowed: true });
    }
  });

  it('asks the environment’s trigger, not the deployers or the directory, about a deploy a hook asked for', async () => {
    const d = directory();
    const triggered = (trigger?: { source: string; branches: string[] }): PolicyTarget => ({
      ...target(['U0ALICE']),
      envConfig: { approval: 'prod', trigger },
    });
    const ci = triggered({ source: 'ci', branches: ['main'] });
    expect(
      await mayRequest('deploy', ci, 'CI (https://ci.example.com/1)', d.isMember, { source: 'ci', branch: 'main' }),
    ).toEqual({
      allowed: true,
    });
    expect(await mayRequest('deploy', ci, 'CI (x)', d.isMember, { source: 'ci', branch: 'dev' })).toEqual({
      allowed: false,
      reason: {
        kind: 'branch_not_allowed',
        service: 'api',
        environment: 'production',
        source: 'ci',
        branches: ['main'],
        branch: 'dev',
      },
    });
    expect(await mayRequest('deploy', ci, 'GitHub push (x)', d.isMember, { source: 'github', branch: 'main' })).toEqual(
      {
        allowed: false,
        reason: { kind: 'trigger_not_set', service: 'api', environment: 'production', source: 'github' },
      },
    );
    expect(
      await mayRequest('deploy', triggered(), 'CI (x)', d.isMember, { source: 'ci', branch: 'main' }),
    ).toMatchObject({
      allowed: false,
    });
    expect(await mayRequest('restart', ci, 'CI (x)', d.isMember, { source: 'ci', branch: 'main' })).toEqual({
      allowed: false,
      reason: { kind: 'hook_deploys_only' },
    });
    expect(d.asked).toEqual([]);
    // Without a hook, the same environment keeps its deployers' rule.
    expect(await mayRequest('deploy', ci, 'U0EVE', d.isMember)).toMatchObject({ allowed: false });
  });
});

describe('which approval an operation needs', () => {
  const config = deployConfig({
    approvals: { prod: approval(), scaling: approval({ approvers: ['U0SRE'] }) },
    services: {
      api: {
        source: { git: 'file:///tmp/api.git', ref: 'main' },
        image: { registry: 'local', repository: 'acme/api' },
        environments: {
          production: {
            target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' },
            approval: 'prod',
            scaleApproval: 'scaling',
          },
          staging: {
            target: { type: 'ecs', cluster: 'staging', service: 'api', container: 'app' },
            approval: 'prod',
          },
          dev: { target: { type: 'ecs', cluster: 'dev', service: 'api', container: 'app' } },
        },
      },
    },
  });
  const of = (environment: string, kind: 'deploy' | 'restart' | 'rollback' | 'scale') =>
    approvalPolicyFor(config, { service: 'api', environment, kind })?.approvers;

  it('is the environment’s approval for deploys, restarts and rollbacks', () => {
    expect(of('production', 'deploy')).toEqual(['U0BOB', 'S0PLATFORM']);
    expect(of('production', 'restart')).toEqual(['U0BOB', 'S0PLATFORM']);
    expect(of('production', 'rollback')).toEqual(['U0BOB', 'S0PLATFORM']);
  });

  it('is the scale approval for scaling, or the approval where there is none', () => {
    expect(of('production', 'scale')).toEqual(['U0SRE']);
    expect(of('staging', 'scale')).toEqual(['U0BOB', 'S0PLATFORM']);
  });

  it('is none where the environment names none, or the service or environment is unknown', () => {
    expect(of('dev', 'deploy')).toBeUndefined();
    expect(of('dev', 'scale')).toBeUndefined();
    expect(of('nowhere', 'deploy')).toBeUndefined();
    expect(approvalPolicyFor(config, { service: 'gone', environment: 'production', kind: 'deploy' })).toBeUndefined();
  });

  it('counts everyone who may approve anything in an environment once', () => {
    const both = { ...target(undefined, { approval: 'prod', scaleApproval: 'scaling' }) };
    expect(environmentApprovers(config, both)).toEqual(['U0BOB', 'S0PLATFORM', 'U0SRE']);
    expect(environmentApprovers(config, target(undefined, { approval: 'prod', scaleApproval: 'prod' }))).toEqual([
      'U0BOB',
      'S0PLATFORM',
    ]);
    expect(environmentApprovers(config, target(undefined, {}))).toEqual([]);
  });
});

describe('quorum', () => {
  it('needs the required number of distinct approvals, and at least one', () => {
    expect(quorumReached(0, 1)).toBe(false);
    expect(quorumReached(1, 1)).toBe(true);
    expect(quorumReached(1, 2)).toBe(false);
    expect(quorumReached(2, 2)).toBe(true);
    expect(quorumReached(3, 2)).toBe(true);
    expect(quorumOf(0)).toBe(1);
    expect(quorumOf(2.7)).toBe(2);
    expect(quorumReached(0, 0)).toBe(false);
  });
});

describe('who may approve', () => {
  const request = { requestedBy: 'U0ALICE' };

  it('refuses when the deployment needs no approval', async () => {
    const d = directory();
    expect(await mayApprove(undefined, request, 'U0BOB', d.isMember)).toEqual({
      allowed: false,
      reason: { kind: 'needs_no_approval' },
    });
  });

  it('refuses the requester (before asking the directory) unless the policy allows self-approval', async () => {
    const d = directory();
    const policy = approval({ approvers: ['U0ALICE', 'U0BOB'] });
    expect(await mayApprove(policy, request, 'U0ALICE', d.isMember)).toEqual({
      allowed: false,
      reason: { kind: 'own_request' },
    });
    expect(d.asked).toEqual([]);
    const selfOk = approval({ approvers: ['U0ALICE', 'U0BOB'], allowSelfApproval: true });
    expect(await mayApprove(selfOk, request, 'U0ALICE', d.isMember)).toEqual({ allowed: true, policy: selfOk });
  });

  it('refuses the requester who may self-approve but is no approver', async () => {
    const d = directory();
    const policy = approval({ allowSelfApproval: true });
    expect((await mayApprove(policy, request, 'U0ALICE', d.isMember)).allowed).toBe(false);
  });

  it('lets an approver, or a member of an approving group, approve, and hands back the policy', async () => {
    const d = directory({ S0PLATFORM: ['U0CAROL'] });
    const policy = approval();
    expect(await mayApprove(policy, request, 'U0BOB', d.isMember)).toEqual({ allowed: true, policy });
    expect(await mayApprove(policy, request, 'U0CAROL', d.isMember)).toEqual({ allowed: true, policy });
  });

  it('refuses anyone else, naming the approvers', async () => {
    const d = directory({ S0PLATFORM: ['U0CAROL'] });
    expect(await mayApprove(approval(), request, 'U0MALLORY', d.isMember)).toEqual({
      allowed: false,
      reason: { kind: 'not_an_approver', approvers: ['U0BOB', 'S0PLATFORM'] },
    });
  });
});

describe('who may reject', () => {
  const request = { requestedBy: 'U0ALICE' };

  it('lets an approver reject, even one who requested it', async () => {
    const d = directory();
    expect(await mayReject(approval(), request, 'U0BOB', d.isMember)).toEqual({ allowed: true, as: 'approver' });
    expect(await mayReject(approval({ approvers: ['U0ALICE'] }), request, 'U0ALICE', d.isMember)).toEqual({
      allowed: true,
      as: 'approver',
    });
  });

  it('lets the requester who is no approver withdraw it', async () => {
    const d = directory();
    expect(await mayReject(approval(), request, 'U0ALICE', d.isMember)).toEqual({ allowed: true, as: 'requester' });
    expect(await mayReject(undefined, request, 'U0ALICE', d.isMember)).toEqual({ allowed: true, as: 'requester' });
  });

  it('refuses anyone else', async () => {
    const d = directory();
    const refused = { allowed: false, reason: { kind: 'may_not_reject' } };
    expect(await mayReject(approval(), request, 'U0MALLORY', d.isMember)).toEqual(refused);
    expect(await mayReject(undefined, request, 'U0BOB', d.isMember)).toEqual(refused);
  });
});

describe('who may abort a rollout', () => {
  const rollout = { requestedBy: 'U0ALICE' };

  it('lets its requester abort without asking the directory', async () => {
    const d = directory();
    expect(await mayAbort(approval(), rollout, 'U0ALICE', d.isMember)).toEqual({ allowed: true });
    expect(await mayAbort(undefined, rollout, 'U0ALICE', d.isMember)).toEqual({ allowed: true });
    expect(d.asked).toEqual([]);
  });

  it('lets an approver of its policy abort', async () => {
    const d = directory({ S0PLATFORM: ['U0CAROL'] });
    expect(await mayAbort(approval(), rollout, 'U0CAROL', d.isMember)).toEqual({ allowed: true });
  });

  it('refuses anyone else, and everyone but the requester where no approval applies', async () => {
    const d = directory();
    const refused = { allowed: false, reason: { kind: 'may_not_abort' } };
    expect(await mayAbort(approval(), rollout, 'U0MALLORY', d.isMember)).toEqual(refused);
    expect(await mayAbort(undefined, rollout, 'U0BOB', d.isMember)).toEqual(refused);
  });
});

describe('who may unlock', () => {
  const base = { target: target(), approvers: ['U0BOB', 'S0PLATFORM'] };

  it('lets an approver of the environment unlock any lock', async () => {
    const d = directory({ S0PLATFORM: ['U0CAROL'] });
    const manual = { ...base, manualOwner: 'U0ALICE', deployment: undefined };
    expect(await mayUnlock(manual, 'U0CAROL', d.isMember)).toEqual({ allowed: true });
    const leftover = { ...base, manualOwner: undefined, deployment: { requestedBy: 'U0ALICE' } };
    expect(await mayUnlock(leftover, 'U0BOB', d.isMember)).toEqual({ allowed: true });
  });

  it('lets whoever locked it by hand unlock it, and refuses others naming who may', async () => {
    const d = directory();
    const manual = { ...base, manualOwner: 'U0ALICE', deployment: undefined };
    expect(await mayUnlock(manual, 'U0ALICE', d.isMember)).toEqual({ allowed: true });
    expect(await mayUnlock(manual, 'U0DAVE', d.isMember)).toEqual({
      allowed: false,
      reason: { kind: 'may_not_unlock', environment: 'production', holder: 'manual' },
    });
  });

  it('lets the requester of the deployment that left the lock unlock it', async () => {
    const d = directory();
    const leftover = { ...base, manualOwner: undefined, deployment: { requestedBy: 'U0ALICE' } };
    expect(await mayUnlock(leftover, 'U0ALICE', d.isMember)).toEqual({ allowed: true });
    expect(await mayUnlock(leftover, 'U0DAVE', d.isMember)).toEqual({
      allowed: false,
      reason: { kind: 'may_not_unlock', environment: 'production', holder: 'requester' },
    });
  });

  it('asks nobody when the environment has no approvers, and names the holder of any other lock', async () => {
    const d = directory();
    const other = { target: target(), approvers: [], manualOwner: undefined, deployment: undefined };
    expect(await mayUnlock(other, 'U0DAVE', d.isMember)).toEqual({
      allowed: false,
      reason: { kind: 'may_not_unlock', environment: 'production', holder: 'other' },
    });
    expect(d.asked).toEqual([]);
  });
});

describe('who may read logs', () => {
  it('lets everyone read the logs of a service that names no deployers', async () => {
    const d = directory();
    expect(await mayReadLogs(target(), ['U0BOB'], 'U0ANYONE', d.isMember)).toEqual({ allowed: true });
    expect(d.asked).toEqual([]);
  });

  it('lets its deployers and the environment’s approvers read them', async () => {
    const d = directory({ S0PLATFORM: ['U0CAROL'] });
    const guarded = target(['U0ALICE']);
    expect(await mayReadLogs(guarded, ['U0BOB', 'S0PLATFORM'], 'U0ALICE', d.isMember)).toEqual({ allowed: true });
    expect(await mayReadLogs(guarded, ['U0BOB', 'S0PLATFORM'], 'U0CAROL', d.isMember)).toEqual({ allowed: true });
    expect(d.asked.at(-1)).toEqual({ principals: ['U0ALICE', 'U0BOB', 'S0PLATFORM'], user: 'U0CAROL' });
  });

  it('refuses anyone else', async () => {
    const d = directory();
    expect(await mayReadLogs(target(['U0ALICE']), ['U0BOB'], 'U0EVE', d.isMember)).toEqual({
      allowed: false,
      reason: { kind: 'may_not_read_logs', service: 'api' },
    });
  });
});

describe('enforce', () => {
  it('throws a Refusal (code forbidden) carrying the decision’s reason, and passes a yes', () => {
    expect(() => enforce({ allowed: true })).not.toThrow();
    const refused = (() => {
      try {
        enforce({ allowed: false, reason: { kind: 'may_not_abort' } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(Refusal);
    expect(refused).toMatchObject({ code: 'forbidden', denial: { kind: 'may_not_abort' } });
  });
});
