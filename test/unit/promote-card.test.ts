import { describe, expect, it } from 'vitest';
import { type DeploymentView, deploymentCard, dryRunCard } from '../../src/slack/blocks/deploy.ts';
import { formatBytes } from '../../src/slack/blocks/promote.ts';
import type { KnownBlock } from '../../src/slack/blocks/types.ts';
import { at } from '../support/builders.ts';
import { aDeploymentView, aPlan, rolloutFacts } from '../support/deploy-builders.ts';

const now = at('2026-11-20T10:05:00Z');
const DIGEST = 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const SOURCE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api@${DIGEST}`;
const TARGET = `210987654321.dkr.ecr.us-east-1.amazonaws.com/acme/api@${DIGEST}`;

/** A promote of staging's digest to production, whose images are in another account's ECR. */
const aPromoteView = (overrides: Partial<DeploymentView> = {}): DeploymentView =>
  aDeploymentView({
    request: { type: 'promote', from: 'staging', digest: DIGEST },
    facts: {
      digest: DIGEST,
      image: TARGET,
      sourceImage: SOURCE,
      commitSha: '3f2a1bc9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3',
      commitSubject: 'Fix login redirect loop',
      commitFrom: 'record',
    },
    plan: aPlan({ newImage: TARGET }),
    ...overrides,
  });

const texts = (blocks: readonly KnownBlock[]): string =>
  JSON.stringify(
    blocks.flatMap((b) => (b.type === 'section' ? [b.text?.text, ...(b.fields ?? []).map((f) => f.text)] : [])),
  );

describe('promote cards (golden)', () => {
  it('asks for approval naming the digest, where it runs, the commit, the copy and the commits between', async () => {
    const card = deploymentCard(aPromoteView(), now);
    expect(texts(card.blocks)).toContain('from *staging*');
    expect(texts(card.blocks)).toContain('*Copy*');
    await expect(card).toMatchFileSnapshot('golden/promote-awaiting_approval.json');
  });

  it('shows the copy to the target registry, with bytes moved', async () => {
    const card = deploymentCard(
      aPromoteView({ state: 'pushing', copy: { copied: 12_400_000, total: 31_000_000 }, approvals: [] }),
      now,
    );
    expect(texts(card.blocks)).toContain('12.4 MB of 31.0 MB');
    await expect(card).toMatchFileSnapshot('golden/promote-copying.json');
  });

  it('says how the image was copied once it succeeded', async () => {
    const view = aPromoteView({
      state: 'succeeded',
      facts: {
        ...aPromoteView().facts,
        ...rolloutFacts({ durationMs: 95_000, runningCount: 2 }),
        image: TARGET,
        copyMethod: 'copy',
        copyBytes: 31_000_000,
      },
      approvals: [{ user: 'U0APPROVER', at: at('2026-11-20T10:02:00Z') }],
      finishedAt: at('2026-11-20T10:06:35Z'),
    });
    const card = deploymentCard(view, now);
    expect(texts(card.blocks)).toContain('pulled and pushed, 31.0 MB, digest verified');
    await expect(card).toMatchFileSnapshot('golden/promote-succeeded.json');
  });

  it('renders a dry run with the command that promotes for real', async () => {
    const card = dryRunCard(aPromoteView({ id: 'dry-run', seq: 0, state: 'requested' }));
    expect(JSON.stringify(card)).toContain('/promote api from staging to production');
    await expect(card).toMatchFileSnapshot('golden/promote-dry-run.json');
  });
});

describe('bytes on a card', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [12_400_000, '12.4 MB'],
    [250_000_000, '250 MB'],
    [3_200_000_000, '3.2 GB'],
  ])('%d is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
