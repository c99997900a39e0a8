/** The image scan on the approval card (issue 13, item 6): counts, the states of a scan, the gate and its button. */
import { describe, expect, it } from 'vitest';
import type { ScanGate } from '../../src/domain/policy.ts';
import type { ScanFindings } from '../../src/domain/scan.ts';
import { ACTIONS } from '../../src/slack/actions.ts';
import { deploymentCard, dryRunCard, scanField } from '../../src/slack/blocks/deploy.ts';
import type { KnownBlock } from '../../src/slack/blocks/types.ts';
import { at } from '../support/builders.ts';
import { aDeploymentView, aPlan } from '../support/deploy-builders.ts';

const now = at('2026-11-20T10:05:00Z');
const DIGEST = 'sha256:7d5e1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d';

const imageView = (scan: ScanFindings, gate?: ScanGate) =>
  aDeploymentView({
    request: { type: 'image', imageTag: '1.4.2' },
    facts: {
      imageTag: '1.4.2',
      digest: DIGEST,
      image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api@${DIGEST}`,
      scan,
    },
    plan: { ...aPlan(), commits: undefined },
    approvalPolicy: { required: gate ? 2 : 1, approvers: ['U0APPROVER'], ...(gate ? { scanGate: gate } : {}) },
  });

const buttons = (blocks: readonly KnownBlock[]) =>
  blocks.flatMap((b) =>
    b.type === 'actions' ? (b.elements as { action_id: string; confirm?: unknown; text: { text: string } }[]) : [],
  );

describe('the image scan on the approval card (golden)', () => {
  it('shows the counts, and a gate asks for one more approval with a reason through its own Approve button', async () => {
    const view = imageView(
      { status: 'complete', counts: { critical: 2, high: 3, medium: 5, low: 4, informational: 1 } },
      { blockOn: 'critical', findings: 2 },
    );
    const card = deploymentCard(view, now);
    await expect(card).toMatchFileSnapshot('golden/deploy-scan-gate-awaiting_approval.json');
    const [approve, reject] = buttons(card.blocks);
    expect(approve).toMatchObject({ action_id: ACTIONS.approveWithReason, text: { text: 'Approve with reason…' } });
    // The reason dialog is the confirmation: no confirm dialog before it.
    expect(approve?.confirm).toBeUndefined();
    expect(reject?.action_id).toBe(ACTIONS.reject);
    expect(JSON.stringify(card.blocks)).toContain('2 findings rated critical: one more approval than usual');
  });

  it('says a scan is still running, and keeps the usual Approve without a gate', async () => {
    const card = deploymentCard(imageView({ status: 'in_progress' }), now);
    await expect(card).toMatchFileSnapshot('golden/deploy-scan-running-awaiting_approval.json');
    expect(buttons(card.blocks)[0]?.action_id).toBe(ACTIONS.approve);
  });

  it('says a scan result is unknown under blockOn, and asks for one more approval with a reason', async () => {
    const card = deploymentCard(imageView({ status: 'in_progress' }, { blockOn: 'high', unknown: 'in_progress' }), now);
    await expect(card).toMatchFileSnapshot('golden/deploy-scan-unknown-awaiting_approval.json');
    expect(buttons(card.blocks)[0]?.action_id).toBe(ACTIONS.approveWithReason);
    expect(JSON.stringify(card.blocks)).toContain(
      'Image scan result unknown (the scan is still running), and this approval blocks on high or critical findings: one more approval than usual',
    );
    const unreadable = deploymentCard(
      imageView(
        { status: 'unreadable', detail: 'AccessDeniedException' },
        { blockOn: 'critical', unknown: 'unreadable' },
      ),
      now,
    );
    expect(JSON.stringify(unreadable.blocks)).toContain('Image scan result unknown (the scan could not be read)');
  });

  it('says a request is waiting for the image scan, and for how long at most', async () => {
    const view = { ...imageView({ status: 'in_progress' }), state: 'requested' as const, scanWait: { waitMs: 60_000 } };
    const card = deploymentCard(view, now);
    await expect(card).toMatchFileSnapshot('golden/deploy-scan-waiting-requested.json');
    expect(card.text).toContain('starting, waiting for the image scan');
    expect(JSON.stringify(card.blocks)).toContain('Waiting for the image scan to finish (at most 1m)');
  });

  it('counts the approvals a dry run would need, the gate included', async () => {
    const card = dryRunCard({
      ...imageView({ status: 'complete', counts: { high: 1 } }, { blockOn: 'high', findings: 1 }),
      id: 'dry-run',
    });
    await expect(card).toMatchFileSnapshot('golden/deploy-dry-run-scan.json');
    expect(JSON.stringify(card.blocks)).toContain('2 approvals needed');
  });
});

describe('the scan field', () => {
  it('words every state of a scan, and nothing where there is none', () => {
    expect(scanField(undefined)).toBeUndefined();
    expect(scanField({ status: 'complete', counts: {} })).toBe(
      '*Image scan*\n:white_check_mark: 0 critical · 0 high · 0 medium',
    );
    expect(scanField({ status: 'complete', counts: { high: 1, undefined: 2 } })).toBe(
      '*Image scan*\n:large_orange_circle: 0 critical · 1 high · 0 medium · 2 low/other',
    );
    expect(scanField({ status: 'in_progress' })).toContain('scan still running');
    expect(scanField({ status: 'failed', detail: 'The scan failed.' })).toContain('the scan failed: The scan failed.');
    expect(scanField({ status: 'unsupported' })).toContain('ECR cannot scan this image');
    expect(scanField({ status: 'not_scanned' })).toContain('not scanned');
    expect(scanField({ status: 'unreadable', detail: 'AccessDeniedException' })).toContain(
      'could not read the scan (AccessDeniedException)',
    );
  });

  it('escapes what ECR says, so a description cannot mention anyone', () => {
    expect(scanField({ status: 'failed', detail: '<!channel> `boom`' })).not.toContain('<!channel>');
  });
});
