import { describe, expect, it } from 'vitest';
import { parseDeploy, parseRollback, parseScale } from '../../src/core/grammar.ts';
import { ACTIONS } from '../../src/slack/actions.ts';
import { approvalRefusal, type DeploymentView, deploymentCard, dryRunCard } from '../../src/slack/blocks/deploy.ts';
import type { KnownBlock } from '../../src/slack/blocks/types.ts';
import { aDeployment, at } from '../support/builders.ts';
import { aDeploymentView, aPlan, aRollout, IMAGE_NEW, rolloutFacts } from '../support/deploy-builders.ts';

const now = at('2026-11-20T10:05:00Z');
const approval = (u: string, iso: string) => ({ user: u, at: at(iso) });

type Element = {
  type: string;
  action_id?: string;
  value?: string;
  style?: string;
  confirm?: unknown;
  text?: { text: string };
};
const buttonsOf = (blocks: readonly KnownBlock[]): Element[] =>
  blocks.flatMap((b) => (b.type === 'actions' ? (b.elements as Element[]) : []));

const sectionTexts = (blocks: readonly KnownBlock[]): string[] =>
  blocks.flatMap((b) => {
    if (b.type !== 'section') return [];
    return [...(b.text ? [b.text.text] : []), ...(b.fields ?? []).map((f) => f.text)];
  });

const expectWithinLimits = (view: DeploymentView) => {
  const card = deploymentCard(view, now);
  expect(card.blocks.length).toBeLessThanOrEqual(50);
  for (const text of sectionTexts(card.blocks)) expect(text.length).toBeLessThanOrEqual(3000);
  expect(card.text.length).toBeLessThanOrEqual(4000);
  return card;
};

describe('deployment cards (golden)', () => {
  it('asks for approval with the plan, the commits, the changes, the approvals so far and the buttons', async () => {
    const view = aDeploymentView({
      plan: aPlan(),
      approvals: [approval('U0APPROVER', '2026-11-20T10:02:00Z')],
    });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-awaiting_approval.json');
  });

  it('replaces the buttons with who approved', async () => {
    const view = aDeploymentView({
      state: 'approved',
      plan: aPlan(),
      approvals: [approval('U0APPROVER', '2026-11-20T10:02:00Z'), approval('U0BOSS', '2026-11-20T10:03:00Z')],
    });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-approved.json');
  });

  it('says who rejected it and why', async () => {
    const view = aDeploymentView({
      state: 'rejected',
      plan: aPlan(),
      facts: { ...aDeploymentView().facts, rejectedBy: 'U0BOSS' },
      reason: 'Freeze until the incident review <!channel>',
    });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-rejected.json');
  });

  it('says when a request expired and how to ask again', async () => {
    const view = aDeploymentView({ state: 'expired', approvals: [approval('U0APPROVER', '2026-11-20T10:02:00Z')] });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-expired.json');
  });

  it('shows the build step as a progress bar with the last output line', async () => {
    const view = aDeploymentView({
      state: 'building',
      approvals: [approval('U0APPROVER', '2026-11-20T10:02:00Z')],
      build: { step: 4, total: 7, instruction: 'RUN npm ci', lastLines: ['added 812 packages in 14s', ''] },
    });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-building.json');
  });

  it('shows push progress', async () => {
    const view = aDeploymentView({ state: 'pushing', facts: rolloutFacts(), push: { percent: 42.4 } });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-pushing.json');
  });

  it('shows the task definition being registered', async () => {
    const view = aDeploymentView({ state: 'registering', facts: rolloutFacts(), plan: aPlan() });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-registering.json');
  });

  it('shows the rollout like copilot: deployments, failure events, stopped tasks, and Abort', async () => {
    const view = aDeploymentView({ state: 'rolling_out', facts: rolloutFacts(), rollout: aRollout() });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-rolling_out.json');
  });

  it('shows the result: revision, image, running count, public IPs and duration', async () => {
    const view = aDeploymentView({
      state: 'succeeded',
      facts: rolloutFacts({ durationMs: 192_000, runningCount: 4, publicIps: ['203.0.113.17', '198.51.100.9'] }),
      approvals: [approval('U0APPROVER', '2026-11-20T10:02:00Z')],
      finishedAt: at('2026-11-20T10:08:12Z'),
    });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-succeeded.json');
  });

  it('shows a failed build step with its last output lines, and no Rollback', async () => {
    const view = aDeploymentView({
      state: 'failed',
      reason: 'build failed at step 5/7',
      failure: {
        step: 'RUN npm test',
        output: [
          '> api@1.0.0 test',
          '> vitest run',
          ' FAIL  test/login.test.ts > redirects once',
          'AssertionError: expected 2 to be 1 ```',
        ],
      },
    });
    const card = deploymentCard(view, now);
    expect(buttonsOf(card.blocks)).toEqual([]);
    // Nothing of this deployment ran: there are no logs of it to read.
    expect(JSON.stringify(card)).not.toContain('/logs');
    await expect(card).toMatchFileSnapshot('golden/deploy-failed.json');
  });

  it("shows a failed push with the error's remedy as the next step instead of /logs", async () => {
    const view = aDeploymentView({
      state: 'failed',
      reason:
        'pushing 127.0.0.1:5001/acme/api:3f9c2a1 to registry "inhouse" (127.0.0.1:5001) failed: unauthorized: authentication required',
      failure: { hint: 'Check the credentials configured for 127.0.0.1:5001.' },
    });
    const card = deploymentCard(view, now);
    expect(buttonsOf(card.blocks)).toEqual([]);
    expect(JSON.stringify(card.blocks)).not.toContain('/logs');
    await expect(card).toMatchFileSnapshot('golden/deploy-failed-push.json');
  });

  it('shows a failed rollout with stopped tasks, log lines and Rollback', async () => {
    const view = aDeploymentView({
      state: 'failed',
      facts: rolloutFacts(),
      reason: 'ECS deployment circuit breaker: tasks failed to start',
      rollout: aRollout({
        outcome: 'failed',
        reason: 'ECS deployment circuit breaker: tasks failed to start.',
        deployment: undefined,
        deployments: [aDeployment({ rolloutState: 'COMPLETED', desired: 4, running: 4 })],
      }),
      failure: { logLines: ['Error: connect ECONNREFUSED 10.0.3.4:5432', 'password=hunter2 in DATABASE_URL'] },
    });
    const card = deploymentCard(view, now);
    expect(buttonsOf(card.blocks).map((b) => b.action_id)).toEqual([ACTIONS.rollback]);
    expect(JSON.stringify(card)).not.toContain('hunter2');
    expect(JSON.stringify(card)).toContain('Next: `/logs api in production since 15m`');
    await expect(card).toMatchFileSnapshot('golden/deploy-failed-rollout.json');
  });

  it('says a later rollback restored the previous revision', async () => {
    const view = aDeploymentView({
      state: 'rolled_back',
      facts: rolloutFacts(),
      reason: 'rolled back by #44',
    });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-rolled_back.json');
  });

  it('says who aborted the rollout', async () => {
    const view = aDeploymentView({
      state: 'aborted',
      facts: rolloutFacts({ abortedBy: 'U0ONCALL' }),
      reason: 'error rate climbing',
    });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-aborted.json');
  });

  it('says an abort could not return to the previous revision, with the permission it lacks', async () => {
    const view = aDeploymentView({
      state: 'aborted',
      facts: rolloutFacts({ abortedBy: 'U0ONCALL' }),
      failure: {
        restore: {
          revision: 'api:42',
          reason:
            'return service api in cluster prod to api:42: AccessDeniedException. ' +
            'dockhand’s IAM role lacks ecs:UpdateService: see “IAM policy” in the README.',
        },
      },
    });
    const card = deploymentCard(view, now);
    expect(JSON.stringify(card)).not.toContain('ECS returns the service to');
    await expect(card).toMatchFileSnapshot('golden/deploy-aborted-restore-failed.json');
  });

  it('says who cancelled it', async () => {
    const view = aDeploymentView({
      state: 'cancelled',
      facts: { ...aDeploymentView().facts, cancelledBy: 'U0REQUESTER' },
    });
    await expect(deploymentCard(view, now)).toMatchFileSnapshot('golden/deploy-cancelled.json');
  });

  it('renders a dry run: the plan and that nothing was changed', async () => {
    const view = aDeploymentView({ state: 'requested', plan: aPlan() });
    const card = dryRunCard(view);
    expect(buttonsOf(card.blocks)).toEqual([]);
    await expect(card).toMatchFileSnapshot('golden/deploy-dry-run.json');
  });

  it('renders a break-glass dry run with --emergency <reason> in the command to do it', async () => {
    const view = aDeploymentView({
      state: 'requested',
      plan: aPlan(),
      request: { type: 'git', ref: 'v1.4.2', emergency: 'checkout is down' },
    });
    const card = dryRunCard(view);
    expect(JSON.stringify(card)).toContain('`/deploy api v1.4.2 to production --emergency checkout is down`');
    await expect(card).toMatchFileSnapshot('golden/deploy-dry-run-emergency.json');
  });
});

describe('deployment cards of a Docker host (golden)', () => {
  const onHost = {
    platform: 'docker' as const,
    kind: 'scale' as const,
    service: 'web',
    environment: 'box',
    request: { type: 'scale' as const, desiredCount: 2 },
  };

  it('asks to scale to containers, with the container changes', async () => {
    const view = aDeploymentView({
      ...onHost,
      plan: {
        currentRevision: 'sha256:4f2a9c1e5d6b',
        currentImage: 'acme/web@sha256:4f2a9c1e5d6b',
        changes: [{ field: 'containers', from: '1', to: '2' }],
      },
    });
    const card = deploymentCard(view, now);
    const texts = JSON.stringify(card);
    expect(texts).toContain('Container changes');
    expect(texts).toContain('2 containers');
    expect(texts).not.toMatch(/task/i);
    await expect(card).toMatchFileSnapshot('golden/deploy-docker-scale-awaiting_approval.json');
  });

  it('says where the scaled service is reached, in containers', async () => {
    const view = aDeploymentView({
      ...onHost,
      state: 'succeeded',
      facts: { publicIps: ['203.0.113.10:80'], runningCount: 2, containers: ['web-1', 'web-2'] },
    });
    const card = deploymentCard(view, now);
    expect(JSON.stringify(card)).not.toMatch(/task|Public IPs/i);
    await expect(card).toMatchFileSnapshot('golden/deploy-docker-scale-succeeded.json');
  });
});

describe('deployment card details', () => {
  it('puts the deployment id and the action ids on Approve and Reject, both with a confirm dialog', () => {
    const card = deploymentCard(aDeploymentView({ plan: aPlan() }), now);
    const [approve, reject] = buttonsOf(card.blocks);
    expect(approve).toMatchObject({
      action_id: ACTIONS.approve,
      value: 'dep_01JD4S6Q8Z3XK2M5N7P9R1T3V5',
      style: 'primary',
    });
    expect(reject).toMatchObject({
      action_id: ACTIONS.reject,
      value: 'dep_01JD4S6Q8Z3XK2M5N7P9R1T3V5',
      style: 'danger',
    });
    expect(approve?.confirm).toBeDefined();
    expect(reject?.confirm).toBeDefined();
  });

  it('offers Abort with a confirm dialog while rolling out', () => {
    const card = deploymentCard(
      aDeploymentView({ state: 'rolling_out', facts: rolloutFacts(), rollout: aRollout() }),
      now,
    );
    expect(buttonsOf(card.blocks)).toEqual([
      expect.objectContaining({ action_id: ACTIONS.abort, style: 'danger', confirm: expect.anything() }),
    ]);
  });

  it('shows an approval request past its expiry as expired, without buttons', () => {
    const card = deploymentCard(aDeploymentView(), at('2026-11-20T10:30:00Z'));
    expect(buttonsOf(card.blocks)).toEqual([]);
    expect(card.text).toContain('expired');
  });

  it('renders the same view to the same card, so unchanged progress is never sent twice', () => {
    const view = aDeploymentView({ state: 'rolling_out', facts: rolloutFacts(), rollout: aRollout() });
    expect(deploymentCard(view, now)).toEqual(deploymentCard(view, at('2026-11-20T10:06:00Z')));
  });

  it.each([
    [{ kind: 'deploy' as const }, 'Deploy api → production #42'],
    [{ kind: 'restart' as const, request: { type: 'restart' as const } }, 'Restart api → production #42'],
    [
      {
        kind: 'rollback' as const,
        request: { type: 'rollback' as const, revision: '41', rule: 'the revision asked for', taskDefinitionArn: 'td' },
      },
      'Rollback api → production #42',
    ],
    [
      { kind: 'scale' as const, request: { type: 'scale' as const, desiredCount: 4 } },
      'Scale api → production to 4 #42',
    ],
  ])('titles a %o card "%s"', (overrides, title) => {
    const card = deploymentCard(aDeploymentView({ ...overrides, state: 'succeeded' }), now);
    expect(card.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: title, emoji: true } });
    expect(card.text.startsWith(title)).toBe(true);
  });

  it('describes the request by image tag when no build is involved', () => {
    const card = deploymentCard(aDeploymentView({ request: { type: 'image', imageTag: '1.4.2' }, facts: {} }), now);
    expect(sectionTexts(card.blocks)[0]).toContain('image `1.4.2`');
  });

  it('escapes commit subjects and event text so they cannot mention or link', () => {
    const json = JSON.stringify(deploymentCard(aDeploymentView({ plan: aPlan() }), now));
    expect(json).not.toContain('<@here>');
    expect(json).toContain('&lt;@here&gt;');
  });

  it('masks a token someone typed as the ref, in the card and in the command to ask again', () => {
    const token = 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp';
    for (const state of ['awaiting_approval', 'expired', 'building', 'succeeded'] as const) {
      const view = aDeploymentView({ state, request: { type: 'git', ref: token }, facts: {} });
      const json = JSON.stringify(deploymentCard(view, now));
      expect(json, state).not.toContain('xoxb-1234567890');
      expect(json, state).toContain('[REDACTED]');
    }
    const json = JSON.stringify(dryRunCard(aDeploymentView({ request: { type: 'git', ref: token }, facts: {} })));
    expect(json).not.toContain('xoxb-1234567890');
  });
});

describe('the command to ask again', () => {
  const digest = `sha256:${'7'.repeat(64)}`;
  /** The `code` of the expired card's "To ask again", as the user would paste it. */
  const askAgain = (view: DeploymentView): string => {
    const json = JSON.stringify(deploymentCard(view, now));
    const found = /To ask again: `([^`]*)`/.exec(json)?.[1];
    if (found === undefined) throw new Error(`no command in ${json}`);
    return found;
  };

  it('names a digest as the image and keeps --emergency <reason>, and the command parses to the same request', () => {
    const view = aDeploymentView({
      state: 'expired',
      request: { type: 'image', imageTag: digest, emergency: 'checkout\nis   down', emergencyCause: 'freeze' },
    });
    const command = askAgain(view);
    expect(command).toBe(`/deploy api image:${digest} to production --emergency checkout is down`);
    expect(parseDeploy(command.replace(/^\/deploy /, ''))).toMatchObject({
      service: 'api',
      imageTag: digest,
      env: 'production',
      emergency: 'checkout is down',
    });
  });

  it('adds --emergency <reason> to a rollback and a scale, and nothing when the request had none', () => {
    const rollback = askAgain(
      aDeploymentView({
        state: 'expired',
        kind: 'rollback',
        request: { type: 'rollback', revision: 'api:41', rule: 'previous', emergency: 'bad release' },
      }),
    );
    expect(rollback).toBe('/rollback api to production 41 --emergency bad release');
    expect(parseRollback(rollback.replace(/^\/rollback /, ''))).toMatchObject({
      revision: 41,
      emergency: 'bad release',
    });
    const scale = askAgain(
      aDeploymentView({
        state: 'expired',
        kind: 'scale',
        request: { type: 'scale', desiredCount: 6, emergency: 'spike' },
      }),
    );
    expect(scale).toBe('/scale api 6 in production --emergency spike');
    expect(parseScale(scale.replace(/^\/scale /, ''))).toMatchObject({ count: 6, emergency: 'spike' });
    expect(askAgain(aDeploymentView({ state: 'expired', request: { type: 'image', imageTag: digest } }))).toBe(
      `/deploy api image:${digest} to production`,
    );
  });
});

describe('deployment card limits', () => {
  const hostile = (i: number) => `<!channel> line ${i} \`\`\` xoxb-123456789012-abcdefghijkl ${'x'.repeat(180)}`;

  it('stays within 50 blocks and 3000 characters per section with 200 failure events and 500 output lines', () => {
    const many = Array.from({ length: 200 }, (_, i) => `event ${i % 150}: ${hostile(i)}`);
    const output = Array.from({ length: 500 }, (_, i) => hostile(i));
    const stopped = Array.from({ length: 200 }, (_, i) => ({
      reason: `reason ${i} ${hostile(i)}`,
      count: i + 1,
      exampleTaskId: `${i}`.padStart(32, '0'),
      exitCodes: [1, 137],
    }));
    const deployments = Array.from({ length: 30 }, (_, i) => aDeployment({ id: `ecs-svc/${i}`, revision: `api:${i}` }));
    const views: DeploymentView[] = [
      aDeploymentView({
        state: 'failed',
        facts: rolloutFacts(),
        reason: hostile(0).repeat(40),
        rollout: aRollout({ failureEvents: many, stoppedTasks: stopped, deployments, outcome: 'failed' }),
        failure: { step: 'RUN make', output, logLines: output },
      }),
      aDeploymentView({
        state: 'rolling_out',
        facts: rolloutFacts(),
        rollout: aRollout({ failureEvents: many, stoppedTasks: stopped, deployments }),
      }),
      aDeploymentView({
        state: 'building',
        build: { step: 1, total: 2, instruction: hostile(1).repeat(10), lastLines: output },
      }),
      aDeploymentView({
        plan: aPlan({
          changes: Array.from({ length: 300 }, (_, i) => ({ field: `f${i}`, from: hostile(i), to: hostile(i + 1) })),
          commits: {
            commits: Array.from({ length: 300 }, (_, i) => ({
              sha: `${i}`.padStart(40, 'a'),
              subject: hostile(i),
              author: 'x',
            })),
            total: 1000,
          },
        }),
      }),
      aDeploymentView({
        state: 'succeeded',
        facts: rolloutFacts({ publicIps: Array.from({ length: 500 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) }),
      }),
    ];
    for (const view of views) {
      const card = expectWithinLimits(view);
      const json = JSON.stringify(card);
      expect(json).not.toContain('<!channel>');
      expect(json).not.toContain('xoxb-123456789012');
    }
  });

  it('shows at most the 5 newest distinct failure events', () => {
    const events = ['a', 'a', 'b', 'c', 'b', 'd', 'e', 'f', 'g'].map((e) => `event ${e}`);
    const card = deploymentCard(
      aDeploymentView({ state: 'rolling_out', facts: rolloutFacts(), rollout: aRollout({ failureEvents: events }) }),
      now,
    );
    const text = sectionTexts(card.blocks).find((t) => t.startsWith('*Latest failure events*')) ?? '';
    expect(text.split('\n').slice(1)).toEqual(['• event a', '• event b', '• event c', '• event d', '• event e']);
  });

  it('keeps the newest output lines in a code block without breaking out of it', () => {
    const output = Array.from({ length: 500 }, (_, i) => `line ${i} \`\`\` end`);
    const card = deploymentCard(aDeploymentView({ state: 'failed', failure: { step: 'RUN make', output } }), now);
    const block = sectionTexts(card.blocks).find((t) => t.includes('```')) ?? '';
    expect(block).toContain('line 499');
    expect(block).not.toContain('line 0 ');
    expect(block).toMatch(/… \d+ earlier lines/);
    expect(block.match(/```/g)).toHaveLength(2);
  });

  it('does not use the new image in the fallback text of a failed build', () => {
    const card = deploymentCard(aDeploymentView({ state: 'failed', reason: 'build failed' }), now);
    expect(card.text).toBe('Deploy api → production #42: failed: build failed');
    expect(card.text).not.toContain(IMAGE_NEW);
  });
});

describe('approval refusals', () => {
  it('names the approvers of the policy', () => {
    expect(approvalRefusal({ reason: 'not_approver', policy: 'prod', approvers: ['U0APPROVER', 'S0PLATFORM'] })).toBe(
      'Only approvers of prod can approve: <@U0APPROVER>, <!subteam^S0PLATFORM>.',
    );
  });

  it('refuses self-approval', () => {
    expect(approvalRefusal({ reason: 'self_approval' })).toBe(
      'You requested this deployment; someone else must approve it.',
    );
  });

  it('says when the request expired', () => {
    expect(approvalRefusal({ reason: 'expired', expiresAt: at('2026-11-20T10:30:00Z') })).toMatch(
      /^This request expired at <!date\^1795170600\^.*\|2026-11-20T10:30:00Z>\./,
    );
  });

  it('says what happened instead when there is nothing to decide', () => {
    expect(approvalRefusal({ reason: 'not_pending', state: 'rejected' })).toBe(
      'Nothing to decide: this request was rejected.',
    );
  });
});
