import { describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/local/console/render.js';
import { type DeploymentView, deploymentCard, dryRunCard } from '../../src/slack/blocks/deploy.ts';
import { at } from '../support/builders.ts';
import { aDeploymentView, aPlan, rolloutFacts } from '../support/deploy-builders.ts';

// The local console shows what Slack would: every promote card (waiting, copying, succeeded with its copy, dry run)
// is rendered with no block or element the console does not know, its Approve button clickable.
const now = at('2026-11-20T10:05:00Z');
const DIGEST = 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const SOURCE = `127.0.0.1:5000/acme/api@${DIGEST}`;
const TARGET = `127.0.0.1:5001/acme/api@${DIGEST}`;
const ctx = { users: { U0ALICE: 'dev', U0APPROVER: 'lead' } };

const aPromoteView = (overrides: Partial<DeploymentView> = {}): DeploymentView =>
  aDeploymentView({
    requestedBy: 'U0ALICE',
    request: { type: 'promote', from: 'staging', digest: DIGEST },
    facts: {
      digest: DIGEST,
      image: TARGET,
      sourceImage: SOURCE,
      commitSha: 'c0ffee0000000000000000000000000000000042',
      commitFrom: 'label',
    },
    plan: aPlan({ newImage: TARGET }),
    ...overrides,
  });

const shown = (blocks: unknown[]): string => {
  const html = renderBlocks(blocks, ctx);
  expect(html).not.toContain('bk-unknown');
  return html;
};

describe('the local console shows promote cards', () => {
  it('waiting for approval: the digest, where it comes from, the copy to come and an Approve button', () => {
    const html = shown(deploymentCard(aPromoteView(), now).blocks);
    expect(html).toContain('<div class="bk-header">Promote api staging → production #');
    expect(html).toContain('<strong>staging</strong>');
    expect(html).toContain('<code>c0ffee0</code> (the image’s label)');
    expect(html).toContain('<strong>Copy</strong><br>by digest to <code>127.0.0.1:5001/acme/api</code>');
    expect(html).toMatch(/data-action="approval.approve"/);
  });

  it('copying, then succeeded with the bytes moved', () => {
    const copying = shown(
      deploymentCard(
        aPromoteView({ state: 'pushing', copy: { copied: 2_000_000, total: 4_000_000 }, approvals: [] }),
        now,
      ).blocks,
    );
    expect(copying).toContain('📦 <strong>Copying</strong>');
    expect(copying).toContain('2.0 MB of 4.0 MB');
    const done = shown(
      deploymentCard(
        aPromoteView({
          state: 'succeeded',
          facts: {
            ...aPromoteView().facts,
            ...rolloutFacts({ durationMs: 30_000, runningCount: 1 }),
            copyMethod: 'copy',
            copyBytes: 4_000_000,
          },
          approvals: [{ user: 'U0APPROVER', at: at('2026-11-20T10:02:00Z') }],
          finishedAt: at('2026-11-20T10:04:00Z'),
        }),
        now,
      ).blocks,
    );
    expect(done).toContain('<strong>Copy</strong><br>pulled and pushed, 4.0 MB, digest verified');
  });

  it('a dry run, with the command that promotes for real', () => {
    const html = shown(dryRunCard(aPromoteView({ id: 'dry-run', seq: 0, state: 'requested' })).blocks);
    expect(html).toContain('/promote api from staging to production');
  });
});
