import { describe, expect, it } from 'vitest';
import { ciRequester, githubRequester } from '../../src/core/trigger.ts';
import { deploymentCard } from '../../src/slack/blocks/deploy.ts';
import { at } from '../support/builders.ts';
import { aDeploymentView, aPlan } from '../support/deploy-builders.ts';

const now = at('2026-11-20T10:05:00Z');
const DIGEST = `sha256:${'7'.repeat(64)}`;

describe('cards of deployments a deploy hook requested (golden)', () => {
  it('asks for approval of a CI image, naming the CI run with its build link as the requester', async () => {
    const view = aDeploymentView({
      requestedBy: ciRequester('https://ci.example.com/acme/api/builds/41?a=1&b=<2>'),
      request: {
        type: 'image',
        imageTag: DIGEST,
        trigger: { source: 'ci', commit: 'a'.repeat(40), branch: 'main', url: 'https://ci.example.com/1' },
      },
      facts: {
        imageTag: DIGEST,
        digest: DIGEST,
        image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api@${DIGEST}`,
      },
      plan: aPlan({ commits: undefined }),
    });
    const card = deploymentCard(view, now);
    const text = JSON.stringify(card.blocks);
    // The requester is text: escaped, never a mention or a link Slack would have to parse from our markup.
    expect(text).toContain('CI (https://ci.example.com/acme/api/builds/41?a=1&amp;b=&lt;2&gt;) asks to deploy');
    expect(text).not.toContain('<@CI');
    await expect(card).toMatchFileSnapshot('golden/deploy-hook-ci-awaiting_approval.json');
  });

  it('names a GitHub push as the requester of a build it started', async () => {
    const view = aDeploymentView({
      state: 'building',
      requestedBy: githubRequester(`https://github.com/acme/api/commit/${'b'.repeat(40)}`),
      request: { type: 'git', ref: 'b'.repeat(40) },
      facts: { commitSha: 'b'.repeat(40), commitSubject: 'Fix login' },
      plan: aPlan({ commits: undefined }),
    });
    const card = deploymentCard(view, now);
    expect(JSON.stringify(card.blocks)).toContain(
      `Requested by GitHub push (https://github.com/acme/api/commit/${'b'.repeat(40)})`,
    );
    await expect(card).toMatchFileSnapshot('golden/deploy-hook-github-building.json');
  });
});
