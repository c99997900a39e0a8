/**
 * The image scan in the pipeline (issue 13, item 6): the plan reads it (waiting a bounded time for one in progress),
 * the policy weighs it (blockOn), and an approval of a held image needs a reason, which the audit trail keeps.
 */
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.ts';
import { DEFAULT_SCAN_WAIT_MS } from '../../src/core/deploy/scan.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { Refusal } from '../../src/domain/policy.ts';
import type { ScanReading } from '../../src/domain/scan.ts';
import { AwsError } from '../../src/errors.ts';
import type { DeploymentRecord } from '../../src/ports.ts';
import { refusalReason } from '../../src/slack/replies.ts';
import { deployConfig, deployHarness } from '../support/deploy-fakes.ts';

const gated = (blockOn?: 'critical' | 'high', scanWait?: string): Config =>
  deployConfig({
    registries: {
      local: { type: 'ecr', ...(scanWait ? { scanWait } : {}) },
    },
    approvals: {
      prod: { approvers: ['U0BOB', 'U0CAROL'], required: 1, expiresAfter: '30m', ...(blockOn ? { blockOn } : {}) },
    },
  });

/** A harness whose registry answers the scan looks in turn (the last one again once they run out). */
const harness = async (config: Config, looks: (ScanReading | Error)[]) => {
  const h = await deployHarness({ config });
  const asked: { repository: string; digest: string; at: number }[] = [];
  h.registry.scanFindings = async (repository, digest) => {
    asked.push({ repository, digest, at: h.clock.now().getTime() });
    const look = looks[Math.min(asked.length - 1, looks.length - 1)];
    if (look instanceof Error) throw look;
    if (!look) throw new Error('no look');
    return look;
  };
  return { ...h, asked };
};

const requestImage = async (h: Awaited<ReturnType<typeof harness>>, config: Config, environment = 'production') => {
  const outcome = await h.service.request({
    kind: 'deploy',
    target: resolveTarget(config, 'api', environment),
    user: 'U0ALICE',
    request: { type: 'image', imageTag: '1.4.2' },
  });
  if (outcome.result !== 'started') throw new Error('expected a started request');
  await h.settle();
  return (await h.store.getDeployment(outcome.deployment.id)) as DeploymentRecord;
};

const critical: ScanReading = { status: 'complete', counts: { critical: 2, high: 1, medium: 4 } };

describe('the plan reads the image scan', () => {
  it('records the counts of a finished scan in one look, by digest', async () => {
    const config = gated();
    const h = await harness(config, [critical]);
    const deployment = await requestImage(h, config);
    expect(deployment.state).toBe('awaiting_approval');
    expect(deployment.facts.scan).toEqual(critical);
    expect(h.asked).toEqual([
      {
        repository: 'acme/api',
        digest: 'sha256:2222222222222222222222222222222222222222222222222222222222222222',
        at: expect.any(Number),
      },
    ]);
  });

  it('waits for a scan in progress with backoff, then records it finished', async () => {
    const config = gated();
    const h = await harness(config, [{ status: 'in_progress' }, { status: 'in_progress' }, critical]);
    const deployment = await requestImage(h, config);
    expect(deployment.facts.scan).toEqual(critical);
    const gaps = h.asked.slice(1).map((a, i) => a.at - (h.asked[i]?.at ?? 0));
    expect(gaps).toEqual([2_000, 4_000]);
    // The card said it was waiting for the scan, and stops saying so once it has the counts.
    const views = [...h.notifier.cards.values()].flatMap((c) => c.versions.map((v) => v.view));
    expect(views.some((v) => v?.state === 'requested' && v.scanWait?.waitMs === 60_000)).toBe(true);
    expect(h.notifier.last().view?.scanWait).toBeUndefined();
  });

  it('gives up after scanWait with "still running" and goes on to the approval', async () => {
    const config = gated('critical', '20s');
    const h = await harness(config, [{ status: 'in_progress' }]);
    const deployment = await requestImage(h, config);
    expect(deployment.state).toBe('awaiting_approval');
    expect(deployment.facts.scan).toEqual({ status: 'in_progress' });
    // 2 + 4 + 8 s, then the 6 s left: five looks in 20 s.
    expect(h.asked).toHaveLength(5);
    expect((h.asked.at(-1)?.at ?? 0) - (h.asked[0]?.at ?? 0)).toBe(20_000);
    expect(DEFAULT_SCAN_WAIT_MS).toBe(60_000);
  });

  it('looks once on a dry run, which answers at once, and counts the approvals the gate adds', async () => {
    const config = gated('critical');
    const h = await harness(config, [{ status: 'in_progress' }, critical]);
    const outcome = await h.service.request({
      kind: 'deploy',
      target: resolveTarget(config, 'api', 'production'),
      user: 'U0ALICE',
      request: { type: 'image', imageTag: '1.4.2' },
      dryRun: true,
    });
    if (outcome.result !== 'dry_run') throw new Error('expected a dry run');
    expect(outcome.view.facts.scan).toEqual({ status: 'in_progress' });
    expect(h.asked).toHaveLength(1);
    const h2 = await harness(config, [critical]);
    const held = await h2.service.request({
      kind: 'deploy',
      target: resolveTarget(config, 'api', 'production'),
      user: 'U0ALICE',
      request: { type: 'image', imageTag: '1.4.2' },
      dryRun: true,
    });
    if (held.result !== 'dry_run') throw new Error('expected a dry run');
    expect(held.view.approvalPolicy).toMatchObject({ required: 2, scanGate: { blockOn: 'critical', findings: 2 } });
  });

  it('records a scan it cannot read by its error code, and the request goes on', async () => {
    const config = gated('critical');
    const denied = new AwsError(
      'reading the scan',
      Object.assign(new Error('User arn:aws:iam::123456789012:role/x is not authorized'), {
        name: 'AccessDeniedException',
      }),
    );
    const h = await harness(config, [denied]);
    const deployment = await requestImage(h, config);
    expect(deployment.state).toBe('awaiting_approval');
    expect(deployment.facts.scan).toEqual({ status: 'unreadable', detail: 'AccessDeniedException' });
    expect(h.asked).toHaveLength(1);
  });

  it('reads nothing where nobody approves (no card to show it on) or the registry does not scan', async () => {
    const config = gated('critical');
    const h = await harness(config, [critical]);
    const deployment = await requestImage(h, config, 'staging');
    expect(deployment.state).toBe('succeeded');
    expect(deployment.facts.scan).toBeUndefined();
    expect(h.asked).toHaveLength(0);
    const plain = await deployHarness();
    const outcome = await plain.service.request({
      kind: 'deploy',
      target: resolveTarget(deployConfig(), 'api', 'production'),
      user: 'U0ALICE',
      request: { type: 'image', imageTag: '1.4.2' },
    });
    await plain.settle();
    if (outcome.result !== 'started') throw new Error('expected a started request');
    expect((await plain.store.getDeployment(outcome.deployment.id))?.facts.scan).toBeUndefined();
  });
});

describe('blockOn: an image with findings that severe', () => {
  it('needs one more approval, each with a reason, and the audit trail keeps the reasons', async () => {
    const config = gated('critical');
    const h = await harness(config, [critical]);
    const deployment = await requestImage(h, config);
    const refused = await h.service.approve(deployment.id, 'U0BOB').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Refusal);
    expect(refusalReason(refused as Refusal)).toContain('2 findings rated critical: approving it needs a reason');
    expect((await h.store.getDeployment(deployment.id))?.approvals).toEqual([]);

    await h.service.approve(deployment.id, 'U0BOB', 'CVE-2026-1 is in a test dependency only');
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('awaiting_approval');
    await h.service.approve(deployment.id, 'U0CAROL', 'accepted by security, ticket SEC-12');
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');

    const reasons = await h.store.listAudit({ subject: deployment.id, action: 'deployment.approval_reason' });
    expect(reasons.map((r) => [r.actor, r.detail?.reason, r.detail?.blockOn, r.detail?.findings])).toEqual([
      ['U0CAROL', 'accepted by security, ticket SEC-12', 'critical', 2],
      ['U0BOB', 'CVE-2026-1 is in a test dependency only', 'critical', 2],
    ]);
  });

  it('keeps a reason only for an approval that counted: a second click by the same approver leaves none', async () => {
    const config = gated('critical');
    const h = await harness(config, [critical]);
    const deployment = await requestImage(h, config);
    await h.service.approve(deployment.id, 'U0BOB', 'CVE-2026-1 is in a test dependency only');
    const again = await h.service.approve(deployment.id, 'U0BOB', 'clicked twice').catch((e: unknown) => e);
    expect(again).toBeInstanceOf(Refusal);
    expect((again as Refusal).message).toContain('already approved');
    const reasons = await h.store.listAudit({ subject: deployment.id, action: 'deployment.approval_reason' });
    expect(reasons.map((r) => r.detail?.reason)).toEqual(['CVE-2026-1 is in a test dependency only']);
  });

  it('changes nothing for findings below blockOn: one approval, no reason', async () => {
    const config = gated('critical');
    const h = await harness(config, [{ status: 'complete', counts: { high: 7 } }]);
    const deployment = await requestImage(h, config);
    await h.service.approve(deployment.id, 'U0BOB');
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
  });

  it('shows the gate on the card: the policy view says a reason is needed', async () => {
    const config = gated('high');
    const h = await harness(config, [critical]);
    const deployment = await requestImage(h, config);
    const last = h.notifier.last().view;
    expect(last?.id).toBe(deployment.id);
    expect(last?.state).toBe('awaiting_approval');
    expect(last?.approvalPolicy).toEqual({
      required: 2,
      approvers: ['U0BOB', 'U0CAROL'],
      scanGate: { blockOn: 'high', findings: 3 },
    });
  });
});

describe('blockOn fails closed: a scan without a result', () => {
  const running: ScanReading = { status: 'in_progress' };
  /** Five looks in progress use up a 20 s scanWait; what follows is the look at approve time. */
  const afterWait = (...then: (ScanReading | Error)[]) => [running, running, running, running, running, ...then];

  it('looks once more at approve time at a scan left running, and weighs what it finds', async () => {
    const config = gated('critical', '20s');
    const h = await harness(config, afterWait(critical));
    const deployment = await requestImage(h, config);
    expect(deployment.facts.scan).toEqual(running);
    expect(h.asked).toHaveLength(5);
    const refused = await h.service.approve(deployment.id, 'U0BOB').catch((e: unknown) => e);
    expect(refusalReason(refused as Refusal)).toContain('2 findings rated critical: approving it needs a reason');
    expect(h.asked).toHaveLength(6);
    expect((await h.store.getDeployment(deployment.id))?.facts.scan).toEqual(critical);
    // The card shows the counts and the gate the look found, although the click was refused.
    expect(h.notifier.last().view?.approvalPolicy?.scanGate).toEqual({ blockOn: 'critical', findings: 2 });
    // Finished now: no more looks.
    await h.service.approve(deployment.id, 'U0BOB', 'CVE-2026-1 is in a test dependency only');
    expect(h.asked).toHaveLength(6);
  });

  it('lets a scan that finished clean at approve time through with the usual approval', async () => {
    const config = gated('critical', '20s');
    const h = await harness(config, afterWait({ status: 'complete', counts: { high: 2 } }));
    const deployment = await requestImage(h, config);
    await h.service.approve(deployment.id, 'U0BOB');
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
    expect(h.asked).toHaveLength(6);
  });

  it('holds a scan still running at approve time: one more approver, each with a reason, one look per click', async () => {
    const config = gated('critical', '20s');
    const h = await harness(config, afterWait(running));
    const deployment = await requestImage(h, config);
    const refused = await h.service.approve(deployment.id, 'U0BOB').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Refusal);
    expect(refusalReason(refused as Refusal)).toContain(
      "The image's scan result is unknown (the scan is still running)",
    );
    expect(h.asked).toHaveLength(6);
    expect((await h.store.getDeployment(deployment.id))?.approvals).toEqual([]);
    await h.service.approve(deployment.id, 'U0BOB', 'base image unchanged since the last clean scan');
    expect(h.asked).toHaveLength(7);
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('awaiting_approval');
    await h.service.approve(deployment.id, 'U0CAROL', 'accepted, SEC-14');
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
    const reasons = await h.store.listAudit({ subject: deployment.id, action: 'deployment.approval_reason' });
    expect(reasons.map((r) => [r.actor, r.detail?.blockOn, r.detail?.unknown])).toEqual([
      ['U0CAROL', 'critical', 'in_progress'],
      ['U0BOB', 'critical', 'in_progress'],
    ]);
  });

  it('keeps "running" when the look at approve time cannot read the scan', async () => {
    const config = gated('critical', '20s');
    const h = await harness(config, afterWait(new Error('socket hang up')));
    const deployment = await requestImage(h, config);
    const refused = await h.service.approve(deployment.id, 'U0BOB').catch((e: unknown) => e);
    expect(refusalReason(refused as Refusal)).toContain('scan result is unknown (the scan is still running)');
    expect((await h.store.getDeployment(deployment.id))?.facts.scan).toEqual(running);
  });

  it('holds an unreadable, failed, unscannable or never scanned image without another look', async () => {
    const config = gated('high');
    const denied = new AwsError('reading the scan', Object.assign(new Error('no'), { name: 'AccessDeniedException' }));
    const cases: [ScanReading | Error, string][] = [
      [denied, 'the scan could not be read'],
      [{ status: 'failed', detail: 'The scan failed.' }, 'the scan failed'],
      [{ status: 'unsupported' }, 'ECR cannot scan this image'],
      [{ status: 'not_scanned' }, 'the image was never scanned'],
    ];
    for (const [look, words] of cases) {
      const h = await harness(config, [look]);
      const deployment = await requestImage(h, config);
      expect(h.notifier.last().view?.approvalPolicy).toMatchObject({ required: 2, scanGate: { blockOn: 'high' } });
      const refused = await h.service.approve(deployment.id, 'U0BOB').catch((e: unknown) => e);
      expect(refusalReason(refused as Refusal)).toContain(`scan result is unknown (${words})`);
      await h.service.approve(deployment.id, 'U0BOB', 'reviewed by hand');
      expect((await h.store.getDeployment(deployment.id))?.state).toBe('awaiting_approval');
      expect(h.asked).toHaveLength(1);
    }
  });

  it('makes no look at approve time without blockOn, and a running scan then needs only the usual approval', async () => {
    const config = gated(undefined, '20s');
    const h = await harness(config, afterWait(critical));
    const deployment = await requestImage(h, config);
    await h.service.approve(deployment.id, 'U0BOB');
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
    expect(h.asked).toHaveLength(5);
  });
});
