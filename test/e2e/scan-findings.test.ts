import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * Image scan findings on the approval card (issue 13, item 6), end to end: dockhand as a process, signed requests
 * from the fake Slack, the fake ECR answering DescribeImageScanFindings over JSON 1.1. A requests; B and C approve.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const C = 'U0CAROL';
const REPO = 'acme/api';
const HELD = `sha256:${'c'.repeat(64)}`;
const CLEAN = `sha256:${'d'.repeat(64)}`;
const UNSCANNED = `sha256:${'e'.repeat(64)}`;
const RUNNING = `sha256:${'f'.repeat(64)}`;

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  ecr: { type: ecr, scanWait: 4s }
approvals:
  prod: { approvers: ["${B}", "${C}"], required: 1, expiresAfter: 30m, blockOn: critical }
services:
  api:
    image: { registry: ecr, repository: ${REPO} }
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app }, approval: prod }
`;

describe('dockhand as a process: image scan findings on the approval card', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;

  const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 30_000) =>
    slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
  const deploy = (tag: string) =>
    client.slashCommand({ command: '/deploy', text: `api image:${tag} to production`, userId: A, channel: '#deploys' });
  /** The newest card of deployment #seq waiting for approval with its buttons. */
  const waiting = (seq: number) =>
    card((m) => m.text.startsWith(`Deploy api → production #${seq}`) && m.text.includes('waiting for approval'));
  /** Clicks Approve with reason as `user`, types `reason` in the dialog and submits it. */
  const approveWithReason = async (message: StoredMessage, user: string, reason: string) => {
    const before = slack.state.openedViews().length;
    await client.clickButton({ message, actionId: 'approval.approve_with_reason', userId: user });
    const view = await slack.state.waitFor(() => slack.state.openedViews()[before], 10_000, 'the reason dialog');
    expect(view.callback_id).toBe('approval.reason');
    const viewId = String(view.id);
    await client.fillView({ viewId, blockId: 'approval_reason', value: reason, userId: user });
    return client.submitView({ viewId, userId: user });
  };

  beforeAll(async () => {
    const { url } = await aws.start();
    aws.seedService({
      cluster: 'prod',
      service: 'api',
      family: 'api',
      desiredCount: 1,
      containers: [{ name: 'app', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:1.0.0' }],
    });
    aws.putImage(REPO, '1.1.0', HELD);
    // Pending on the first look, complete on the second: the plan waits for it.
    aws.putScanFindings(REPO, HELD, { counts: { CRITICAL: 2, HIGH: 3, MEDIUM: 5, LOW: 1 }, inProgressCalls: 1 });
    aws.putImage(REPO, '1.2.0', CLEAN);
    aws.putScanFindings(REPO, CLEAN, { counts: { HIGH: 1 } });
    aws.putImage(REPO, '1.3.0', UNSCANNED);
    slack = await startTestSlack();
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: url,
      env: { DOCKHAND_ROLLOUT_POLL_MS: '200' },
    });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('shows the counts after waiting for the scan, and asks for one more approver with a reason', async () => {
    aws.resetCalls();
    await deploy('1.1.0');
    const pending = await waiting(1);
    const blocks = JSON.stringify(pending.blocks);
    expect(blocks).toContain('2 critical · 3 high · 5 medium · 1 low/other');
    expect(blocks).toContain('2 findings rated critical: one more approval than usual');
    expect(pending.text).toContain('(0 of 2)');
    expect(blocks).toContain('approval.approve_with_reason');
    expect(blocks).not.toContain('"approval.approve"');
    // PENDING, then COMPLETE: two looks by digest; nothing else asked of ECR but the tag.
    const looks = aws.requestsFor('ECR.DescribeImageScanFindings');
    expect(looks.map((r) => r.input)).toEqual([
      { repositoryName: REPO, imageId: { imageDigest: HELD }, maxResults: 1 },
      { repositoryName: REPO, imageId: { imageDigest: HELD }, maxResults: 1 },
    ]);
  });

  it('refuses a plain Approve (an older card) with how to approve with a reason, and counts nothing', async () => {
    const pending = await waiting(1);
    const stale = [
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: 'approval.approve',
            value: pendingId(pending),
            text: { type: 'plain_text', text: 'Approve' },
          },
        ],
      },
    ];
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B, blocks: stale });
    const refusal = await slack.state.waitForEphemeral(
      (m) => m.user === B && m.text.includes('needs a reason'),
      15_000,
    );
    expect(refusal.text).toContain('Approve with reason…');
    expect((await waiting(1)).text).toContain('(0 of 2)');
  });

  it('keeps the dialog open with the refusal when the requester tries, then approves with B’s and C’s reasons', async () => {
    const pending = await waiting(1);
    const own = await approveWithReason(pending, A, 'I wrote it, trust me please');
    expect(own.errors?.approval_reason).toContain('someone else must approve it');

    const first = await approveWithReason(pending, B, 'CVE-2026-1 is in a test-only dependency');
    expect(first.errors).toBeUndefined();
    const half = await card((m) => m.text.startsWith('Deploy api → production #1') && m.text.includes('(1 of 2)'));
    expect(JSON.stringify(half.blocks)).toContain('approval.approve_with_reason');
    const second = await approveWithReason(half, C, 'Accepted by security, ticket SEC-12');
    expect(second.errors).toBeUndefined();
    await card((m) => m.text.startsWith('Deploy api → production #1') && m.text.includes('succeeded'), 60_000);

    const store = await openStore(`sqlite:${dockhand.dir}/dockhand.db`);
    try {
      const [deployment] = await store.listDeployments({ service: 'api', environment: 'production', limit: 1 });
      const reasons = await store.listAudit({ subject: deployment?.id ?? '', action: 'deployment.approval_reason' });
      expect(reasons.map((r) => [r.actor, r.detail?.reason, r.detail?.blockOn, r.detail?.findings]).reverse()).toEqual([
        [B, 'CVE-2026-1 is in a test-only dependency', 'critical', 2],
        [C, 'Accepted by security, ticket SEC-12', 'critical', 2],
      ]);
      expect(deployment?.approvals.map((a) => a.user)).toEqual([B, C]);
    } finally {
      await store.close();
    }
  });

  it('asks for the usual approval when nothing reaches blockOn, and holds an image that was never scanned', async () => {
    aws.resetCalls();
    await deploy('1.2.0');
    const clean = await waiting(2);
    expect(JSON.stringify(clean.blocks)).toContain('0 critical · 1 high · 0 medium');
    expect(clean.text).toContain('(0 of 1)');
    expect(JSON.stringify(clean.blocks)).toContain('"approval.approve"');
    await client.clickButton({ message: clean, actionId: 'approval.approve', userId: B });
    await card((m) => m.text.startsWith('Deploy api → production #2') && m.text.includes('succeeded'), 60_000);

    await deploy('1.3.0');
    const unscanned = await waiting(3);
    expect(JSON.stringify(unscanned.blocks)).toContain('not scanned');
    // blockOn fails closed: no result to weigh, so one more approver, each with a reason, and the card says why.
    expect(unscanned.text).toContain('(0 of 2)');
    expect(JSON.stringify(unscanned.blocks)).toContain('Image scan result unknown (the image was never scanned)');
    expect(JSON.stringify(unscanned.blocks)).toContain('"approval.approve_with_reason"');
    // One look per deploy: 1.2.0 complete at once, 1.3.0 ScanNotFoundException.
    expect(aws.calls['ECR.DescribeImageScanFindings']).toBe(2);
    await client.clickButton({ message: unscanned, actionId: 'approval.reject', userId: B });
  });

  it('holds a scan still running after scanWait, and weighs what one more look finds when someone approves', async () => {
    aws.putImage(REPO, '1.4.0', RUNNING);
    aws.putScanFindings(REPO, RUNNING, { counts: { CRITICAL: 1 }, inProgressCalls: 1000 });
    // #3's rejection releases the lock before its card says so.
    await card((m) => m.text === 'Deploy api → production #3: rejected');
    await deploy('1.4.0');
    const running = await waiting(4);
    const blocks = JSON.stringify(running.blocks);
    expect(blocks).toContain('scan still running');
    expect(blocks).toContain('Image scan result unknown (the scan is still running)');
    expect(running.text).toContain('(0 of 2)');
    // The scan finishes after the plan gave up; B's approval looks once more, and the card shows the counts.
    aws.putScanFindings(REPO, RUNNING, { counts: { CRITICAL: 1 } });
    aws.resetCalls();
    await approveWithReason(running, B, 'the critical CVE is in a tool not shipped at runtime');
    const seen = await card(
      (m) =>
        m.text.startsWith('Deploy api → production #4') && JSON.stringify(m.blocks).includes('1 critical · 0 high'),
    );
    expect(JSON.stringify(seen.blocks)).toContain('1 finding rated critical: one more approval than usual');
    expect(aws.calls['ECR.DescribeImageScanFindings']).toBe(1);
    await client.clickButton({ message: seen, actionId: 'approval.reject', userId: C });
  }, 90_000);
});

/** The deployment id an approval card's buttons carry. */
const pendingId = (m: StoredMessage): string => {
  const match = /"value":"(dep_[a-z0-9]+)"/.exec(JSON.stringify(m.blocks));
  if (!match?.[1]) throw new Error('no deployment id on the card');
  return match[1];
};
