/** Image scan findings (issue 13, item 6): the fact's parser, the config keys, and the approval they add. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { parseFacts } from '../../src/domain/deployment.ts';
import { approvalPolicyFor, enforce, mayApproveWithReason, Refusal } from '../../src/domain/policy.ts';
import { findingsAtOrAbove, type ScanFindings } from '../../src/domain/scan.ts';
import { ConfigError } from '../../src/errors.ts';
import { denialText } from '../../src/slack/blocks/refusals.ts';

const CONFIG = (approval: string, registry = '{ type: ecr }') => `
defaults: { channel: "#deploys" }
registries:
  ecr: ${registry}
approvals:
  prod: ${approval}
services:
  api:
    image: { registry: ecr, repository: acme/api }
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app }, approval: prod }
      staging: { target: { type: ecs, cluster: stage, service: api, container: app } }
`;
const parse = (text: string) => parseConfig(text, { env: {}, source: 'test.yml' });
const problemsOf = (text: string): readonly string[] => {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected the config to be rejected');
};

const complete = (counts: Record<string, number>): ScanFindings => ({ status: 'complete', counts });

describe('scan findings as a deployment fact', () => {
  it('reads every status back from stored JSON and refuses a malformed one', () => {
    const stored: ScanFindings[] = [
      complete({ critical: 1, high: 2, medium: 3, low: 4, informational: 5, undefined: 6 }),
      { status: 'in_progress' },
      { status: 'failed', detail: 'The scan failed.' },
      { status: 'unsupported' },
      { status: 'not_scanned' },
      { status: 'unreadable', detail: 'ThrottlingException' },
    ];
    for (const scan of stored) expect(parseFacts('dep_1', JSON.parse(JSON.stringify({ scan })))).toEqual({ scan });
    expect(() => parseFacts('dep_1', { scan: { status: 'complete', counts: { critical: -1 } } })).toThrow(/scan/);
    expect(() => parseFacts('dep_1', { scan: { status: 'done' } })).toThrow(/scan/);
  });

  it('counts the findings at or above a severity, and none for a scan that did not finish', () => {
    const scan = complete({ critical: 1, high: 2, medium: 7 });
    expect(findingsAtOrAbove(scan, 'critical')).toBe(1);
    expect(findingsAtOrAbove(scan, 'high')).toBe(3);
    expect(findingsAtOrAbove(complete({ medium: 9 }), 'high')).toBe(0);
    expect(findingsAtOrAbove({ status: 'in_progress' }, 'high')).toBe(0);
    expect(findingsAtOrAbove(undefined, 'high')).toBe(0);
  });
});

describe('approvals.<name>.blockOn and registries.<name>.scanWait', () => {
  it('accepts critical or high, and a scan wait on an ECR registry', () => {
    const c = parse(CONFIG('{ approvers: ["U0BOB", "U0CAROL"], blockOn: high }', '{ type: ecr, scanWait: 2m }'));
    expect(c.approvals.prod?.blockOn).toBe('high');
    expect(c.registries.ecr).toMatchObject({ scanWait: '2m' });
  });

  it('names the path of a bad blockOn or scanWait, and refuses scanWait on a plain registry', () => {
    expect(problemsOf(CONFIG('{ approvers: ["U0BOB"], blockOn: medium }'))).toEqual([
      expect.stringContaining('approvals.prod.blockOn: expected "critical" or "high", got "medium"'),
    ]);
    expect(problemsOf(CONFIG('{ approvers: ["U0BOB"] }', '{ type: ecr, scanWait: soon }'))).toEqual([
      expect.stringContaining('registries.ecr.scanWait: expected a duration'),
    ]);
    expect(
      problemsOf(CONFIG('{ approvers: ["U0BOB"] }', '{ type: registry, address: "r.example:5000", scanWait: 1m }')),
    ).toEqual([expect.stringContaining('registries.ecr')]);
  });

  it('refuses a blockOn that too few listed approvers could ever satisfy, but trusts a group to have enough', () => {
    expect(problemsOf(CONFIG('{ approvers: ["U0BOB"], blockOn: critical }'))).toEqual([
      expect.stringContaining('approvals.prod.blockOn: an image it holds needs 2 approvals, but only 1 approver(s)'),
    ]);
    expect(parse(CONFIG('{ approvers: ["S0PLATFORM"], blockOn: critical }')).approvals.prod?.blockOn).toBe('critical');
    expect(parse(CONFIG('{ approvers: ["U0BOB", "U0CAROL"], blockOn: high }')).approvals.prod?.blockOn).toBe('high');
  });
});

describe('the scan gate on approvals', () => {
  const config = parse(CONFIG('{ approvers: ["U0BOB", "U0CAROL"], required: 1, blockOn: critical }'));
  const deploy = (scan: ScanFindings | undefined, emergency?: string) =>
    approvalPolicyFor(config, {
      service: 'api',
      environment: 'production',
      kind: 'deploy',
      ...(emergency ? { request: { emergency } } : {}),
      ...(scan ? { facts: { scan } } : {}),
    });

  it('adds one approval, with a reason, for critical findings; nothing for high ones or an image with no scan', () => {
    expect(deploy(complete({ critical: 2, high: 1 }))).toMatchObject({
      required: 2,
      scanGate: { blockOn: 'critical', findings: 2 },
    });
    for (const scan of [complete({ high: 5 }), undefined]) {
      const policy = deploy(scan);
      expect(policy?.required).toBe(1);
      expect(policy?.scanGate).toBeUndefined();
    }
  });

  it('fails closed: a scan with no result (running, unreadable, failed, unscannable, never scanned) is held too', () => {
    const unknown: ScanFindings[] = [
      { status: 'in_progress' },
      { status: 'unreadable', detail: 'AccessDeniedException' },
      { status: 'failed', detail: 'The scan failed.' },
      { status: 'unsupported' },
      { status: 'not_scanned' },
    ];
    for (const scan of unknown) {
      const policy = deploy(scan);
      expect(policy).toMatchObject({ required: 2, scanGate: { blockOn: 'critical', unknown: scan.status } });
      if (!policy) throw new Error('expected a policy');
      const refused = mayApproveWithReason(policy, undefined);
      expect(refused).toEqual({
        allowed: false,
        reason: { kind: 'reason_required', blockOn: 'critical', unknown: scan.status },
      });
      if (!refused.allowed) expect(denialText(refused.reason)).toContain("The image's scan result is unknown");
      expect(mayApproveWithReason(policy, 'scanned by hand, see SEC-9')).toEqual({ allowed: true });
    }
  });

  it('adds up with break-glass: one more for each', () => {
    expect(deploy(complete({ critical: 1 }), 'prod is down')?.required).toBe(3);
  });

  it('changes nothing where the environment asks for no approval', () => {
    const policy = approvalPolicyFor(config, {
      service: 'api',
      environment: 'staging',
      kind: 'deploy',
      facts: { scan: complete({ critical: 4 }) },
    });
    expect(policy).toBeUndefined();
  });

  it('refuses an approval without a reason while the gate holds, and words it for the clicker', () => {
    const policy = deploy(complete({ critical: 2 }));
    if (!policy) throw new Error('expected a policy');
    expect(mayApproveWithReason(policy, 'patched upstream, CVE not reachable')).toEqual({ allowed: true });
    const refused = mayApproveWithReason(policy, '   ');
    expect(refused).toEqual({ allowed: false, reason: { kind: 'reason_required', blockOn: 'critical', findings: 2 } });
    expect(() => enforce(refused)).toThrow(Refusal);
    if (!refused.allowed) expect(denialText(refused.reason)).toContain('2 findings rated critical');
    const ungated = deploy(complete({ high: 1 }));
    if (ungated) expect(mayApproveWithReason(ungated, undefined)).toEqual({ allowed: true });
  });
});
