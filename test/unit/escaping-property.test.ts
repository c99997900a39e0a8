import { afterAll, describe, expect, it } from 'vitest';
import { errorText } from '../../commands/boundary.ts';
import { helpText } from '../../commands/dockhand.ts';
import { ecsRuntimeSnapshot } from '../../src/adapters/aws/ecs-runtime.ts';
import { dockerRuntimeSnapshot } from '../../src/adapters/docker/docker-runtime.ts';
import { hostTargetOf } from '../../src/core/deploy/host.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { KIND_OF_REQUEST } from '../../src/domain/deployment.ts';
import { DockhandError, UsageError } from '../../src/errors.ts';
import type { DeploymentState, Lock, StoppedTaskGroup } from '../../src/ports.ts';
import {
  degradedCard,
  digestCard,
  hostDegradedCard,
  ipChangedByDeploymentCard,
  ipChangedCard,
  privateSubnetCard,
  recoveredCard,
  watchFailingCard,
  watchRecoveredCard,
} from '../../src/slack/blocks/alerts.ts';
import { approvalRefusal, type DeploymentView, deploymentCard, dryRunCard } from '../../src/slack/blocks/deploy.ts';
import {
  historyLine,
  historyMessage,
  ipsMessage,
  lockedMessage,
  lockLine,
  logsMessage,
  operationCard,
  unlockedMessage,
} from '../../src/slack/blocks/operate.ts';
import { hostStatusCard, overviewCard, serviceStatusCard } from '../../src/slack/blocks/status.ts';
import type { Card } from '../../src/slack/blocks/types.ts';
import { aConfig, aDeployment, aSnapshot, aTask, at } from '../support/builders.ts';
import { aDeploymentView } from '../support/deploy-builders.ts';
import { createPrng, type Prng } from '../support/fake-aws/prng.ts';

/**
 * A property test over every message builder: hostile strings (mentions, links, entities, formatting characters,
 * tokens, very long text, unicode) go into every data field, and no control sequence comes out unescaped in the
 * fallback `text` or any mrkdwn text, except the mentions and date tokens dockhand itself builds. Seeded, so a
 * failure names the seed and input that reproduce it.
 */

const SEED = 0x5eed_e5c4;
const RUNS_PER_BUILDER = 150;

/** Whatever Slack treats as markup, or what breaks code spans, or looks like a secret. */
const HOSTILE_ATOMS = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<@U123>',
  '<@W0FAKE|bob>',
  '<#C1>',
  '<#C1|general>',
  '<!subteam^S1>',
  '<!subteam^S1|@oncall>',
  '<https://evil.example|the runbook>',
  '<mailto:x@evil.example>',
  '<!date^1^{date}|x>',
  '&',
  '&amp;',
  '&lt;!channel&gt;',
  '>',
  '> quoted',
  '<',
  '`',
  '```',
  '*bold*',
  '_it_',
  '~s~',
  '\n',
  '|',
  ':',
  'é',
  '🚀',
  '\u202e',
  '\u0000',
  '\u001b[31m',
  'xoxb-1234567890-0987654321-HostileToken',
];
const TOKEN = 'xoxb-1234567890-0987654321-HostileToken';
const WORDS = ['api', 'deploy', 'failed', 'see', 'wake up', ' ', 'OutOfMemory', '10.0.0.1'];

/** Config names (services, environments) are validated identifiers that cannot hold a token, but are escaped. */
const NAME_ATOMS = HOSTILE_ATOMS.filter((a) => a !== TOKEN);

const hostile = (rng: Prng, atomsOf: readonly string[] = HOSTILE_ATOMS): string => {
  const parts: string[] = [];
  const n = 1 + rng.int(8);
  for (let i = 0; i < n; i++) {
    const atoms = rng.int(3) === 0 ? WORDS : atomsOf;
    parts.push(atoms[rng.int(atoms.length)] ?? '');
  }
  const text = parts.join(rng.int(2) === 0 ? ' ' : '');
  // Sometimes very long: past every Slack limit.
  return rng.int(10) === 0 ? text.repeat(Math.ceil(5000 / Math.max(1, text.length))) : text;
};

/** Mentions dockhand means: the ids the test passes as people (never a hostile atom's id). */
const REQUESTER = 'U0REQUESTER';
const APPROVER = 'U0APPROVER';
const OWN_MARKUP = [/<@U0[A-Z]+>/g, /<!subteam\^S0[A-Z]+>/g, /<!date\^\d+\^[^|<>]*\|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ>/g];

/** The fallback text and every mrkdwn text of a card (plain_text is not parsed for markup). */
const mrkdwnTexts = (card: Card | string): string[] => {
  if (typeof card === 'string') return [card];
  const out = [card.text];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) for (const v of value) walk(v);
    else if (value && typeof value === 'object') {
      const o = value as Record<string, unknown>;
      if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
      for (const v of Object.values(o)) walk(v);
    }
  };
  walk(card.blocks);
  return out;
};

/** Why a text is unsafe, or undefined. */
const problemOf = (text: string): string | undefined => {
  let rest = text;
  for (const own of OWN_MARKUP) rest = rest.replace(own, '');
  const control = /[<>]/.exec(rest);
  if (control)
    return `unescaped "${control[0]}" near ${JSON.stringify(rest.slice(Math.max(0, control.index - 40), control.index + 40))}`;
  const amp = /&(?!amp;|lt;|gt;)/.exec(rest);
  if (amp) return `unescaped "&" near ${JSON.stringify(rest.slice(Math.max(0, amp.index - 40), amp.index + 40))}`;
  return undefined;
};

/** Slack's limits, which a very long input must not break. */
const limitProblemOf = (card: Card | string): string | undefined => {
  if (typeof card === 'string') return undefined;
  if (card.text.length > 4000) return `fallback text of ${card.text.length} characters`;
  if (card.blocks.length > 50) return `${card.blocks.length} blocks`;
  for (const block of card.blocks) {
    if (block.type === 'section') {
      if (block.text && block.text.text.length > 3000) return `section of ${block.text.text.length} characters`;
      for (const f of block.fields ?? []) if (f.text.length > 2000) return `field of ${f.text.length} characters`;
    }
    if (block.type === 'header' && block.text.text.length > 150) return `header of ${block.text.text.length}`;
  }
  return undefined;
};

const config = aConfig();
const production = resolveTarget(config, 'api', 'production');
const box = resolveTarget(config, 'web', 'box');
const boxHost =
  hostTargetOf(box) ??
  (() => {
    throw new Error('expected a Docker-host target');
  })();
const now = at('2026-11-20T10:05:00Z');

const STATES: DeploymentState[] = [
  'requested',
  'awaiting_approval',
  'approved',
  'building',
  'pushing',
  'registering',
  'rolling_out',
  'succeeded',
  'failed',
  'rejected',
  'expired',
  'cancelled',
  'aborted',
  'rolled_back',
];

const stopped = (h: () => string): StoppedTaskGroup[] => [
  { reason: h(), count: 3, exampleTaskId: h(), exitCodes: [137] },
];

const aHostileView = (rng: Prng, h: () => string, n: () => string): DeploymentView => {
  const state = STATES[rng.int(STATES.length)] ?? 'failed';
  const requests: DeploymentView['request'][] = [
    { type: 'git', ref: h() },
    { type: 'image', imageTag: h() },
    { type: 'restart' },
    { type: 'rollback', revision: h(), rule: h(), taskDefinitionArn: h() },
    { type: 'scale', desiredCount: rng.int(10) },
  ];
  const request = requests[rng.int(requests.length)] ?? { type: 'restart' };
  return aDeploymentView({
    state,
    kind: KIND_OF_REQUEST[request.type],
    service: n(),
    environment: n(),
    requestedBy: rng.int(4) === 0 ? h() : REQUESTER,
    reason: h(),
    request,
    facts: {
      commitSha: h(),
      commitSubject: h(),
      image: h(),
      digest: h(),
      revision: h(),
      previousRevision: h(),
      rejectedBy: h(),
      cancelledBy: APPROVER,
      abortedBy: h(),
      publicIps: [h(), h()],
      runningCount: 2,
    },
    approvals: [
      { user: APPROVER, at: now },
      { user: h(), at: now },
    ],
    approvalPolicy: { required: 2, approvers: [APPROVER, 'S0PLATFORM', h()] },
    plan: {
      currentRevision: h(),
      currentImage: h(),
      newImage: h(),
      changes: [{ field: h(), from: h(), to: h() }],
      commits: { commits: [{ sha: h(), subject: h(), author: h() }], total: 3 },
      health: h(),
    },
    build: { step: 2, total: 5, instruction: h(), lastLines: [h(), h()] },
    push: { percent: 40 },
    rollout: {
      deployment: aDeployment({ id: h(), status: h(), revision: h(), rolloutState: 'IN_PROGRESS' }),
      deployments: [aDeployment({ status: h(), revision: h() })],
      outcome: 'failed',
      reason: h(),
      failureEvents: [h(), h()],
      stoppedTasks: stopped(h),
      tasks: [],
    },
    failure: { step: h(), output: [h(), h()], logLines: [h()] },
    host: { phase: h(), detail: h() },
  });
};

const aLock = (h: () => string, holder: string, n: () => string = h): Lock => ({
  service: n(),
  environment: n(),
  owner: `manual:${holder}`,
  instance: 'test',
  holder,
  reason: h(),
  acquiredAt: now,
});

/** Every builder of a Slack message, fed hostile data in every field it shows. */
const BUILDERS: Record<string, (rng: Prng, h: () => string, n: () => string) => Card | string> = {
  degradedCard: (_rng, h, n) =>
    degradedCard({
      service: n(),
      environment: n(),
      reasons: [h(), h()],
      stoppedTasks: stopped(h),
      desired: 2,
      running: 1,
      pending: 0,
      revision: h(),
      at: now,
    }),
  hostDegradedCard: (_rng, h, n) =>
    hostDegradedCard({
      service: n(),
      environment: n(),
      reasons: [h()],
      running: 0,
      replicas: 1,
      imageTag: h(),
      host: h(),
      at: now,
    }),
  recoveredCard: (_rng, h, n) =>
    recoveredCard({
      service: n(),
      environment: n(),
      since: at('2026-11-20T09:00:00Z'),
      at: now,
      reasons: [h()],
      desired: 2,
      running: 2,
    }),
  ipChangedCard: (rng, h, n) =>
    ipChangedCard({
      service: n(),
      environment: n(),
      before: [h()],
      after: [h()],
      added: [h()],
      removed: [h()],
      replacements: [{ fromTaskId: h(), fromIp: h(), toTaskId: h(), toIp: h() }],
      cause:
        rng.int(2) === 0
          ? { kind: 'ecs', deploymentId: h(), revision: h() }
          : { kind: 'dockhand', seq: 4, operation: h(), requestedBy: rng.int(2) === 0 ? REQUESTER : h() },
      at: now,
    }),
  ipChangedByDeploymentCard: (_rng, h, n) =>
    ipChangedByDeploymentCard({
      service: n(),
      environment: n(),
      before: [h()],
      after: [h()],
      added: [h()],
      removed: [h()],
      replacements: [],
      cause: { kind: 'ecs', deploymentId: h(), revision: h() },
      since: at('2026-11-20T09:00:00Z'),
      at: now,
      stillInProgress: false,
    }),
  privateSubnetCard: (_rng, h, n) => privateSubnetCard({ service: n(), environment: n(), taskIds: [h(), h()] }),
  watchFailingCard: (_rng, h, n) =>
    watchFailingCard({
      service: n(),
      environment: n(),
      reason: h(),
      failedTicks: 3,
      since: at('2026-11-20T09:00:00Z'),
    }),
  watchRecoveredCard: (_rng, _h, n) =>
    watchRecoveredCard({ service: n(), environment: n(), failedTicks: 3, since: at('2026-11-20T09:00:00Z'), at: now }),
  digestCard: (_rng, h, n) => {
    const alert = degradedCard({
      service: 'api',
      environment: 'production',
      reasons: [h()],
      stoppedTasks: [],
      desired: 2,
      running: 1,
      pending: 0,
      revision: h(),
      at: now,
    });
    return digestCard({
      since: at('2026-11-19T10:05:00Z'),
      at: now,
      rows: [
        {
          service: n(),
          environment: n(),
          kind: 'found',
          revision: h(),
          imageTag: h(),
          reasons: [h()],
          health: 'degraded',
        },
        { service: n(), environment: n(), kind: 'found', host: h(), imageTag: h() },
        { service: n(), environment: n(), kind: 'missing', note: h() },
      ],
      deployments: [
        { service: n(), environment: n(), seq: 3, operation: h(), state: h(), requestedBy: REQUESTER, at: now },
      ],
      // As the watch stores them: the posted fallback text, and a raw one from before it was escaped.
      alerts: [
        { service: 'api', environment: 'production', at: now, kind: 'degraded', text: alert.text },
        { service: n(), environment: n(), at: now, kind: h(), text: h() },
      ],
      error: h(),
    });
  },
  serviceStatusCard: (_rng, h, n) =>
    serviceStatusCard(
      { ...production, service: n(), environment: n() },
      aSnapshot({
        status: h(),
        taskDefinition: { arn: h(), family: h(), revision: 4, containers: [{ name: h(), image: h() }] },
        deployments: [aDeployment({ status: h(), revision: h(), rolloutState: 'FAILED', rolloutStateReason: h() })],
        events: [{ id: 'e', at: now, message: h() }],
        tasks: [aTask({ id: h(), lastStatus: h(), revision: h(), publicIp: h(), privateIp: h() })],
      }),
      now,
    ),
  overviewCard: (_rng, h, n) =>
    overviewCard(
      [
        {
          target: { ...production, service: n(), environment: n() },
          kind: 'found',
          snapshot: ecsRuntimeSnapshot(production, aSnapshot()),
        },
        { target: { ...production, service: n(), environment: n() }, kind: 'missing', reason: h() },
        { target: { ...box, service: n() }, kind: 'unsupported', reason: h() },
        {
          target: box,
          kind: 'found',
          snapshot: dockerRuntimeSnapshot(box, boxHost, { host: h(), containers: [hostContainer(h)] }, 2),
        },
      ],
      now,
    ),
  hostStatusCard: (_rng, h, n) =>
    hostStatusCard(
      { ...box, service: n(), environment: n() },
      { host: h(), publicAddress: h(), containers: [hostContainer(h)] },
      now,
    ),
  logsMessage: (rng, h, n) =>
    rng.int(4) === 0
      ? logsMessage({ found: false, service: n(), environment: n(), container: h(), logDriver: h() })
      : logsMessage({
          found: true,
          service: n(),
          environment: n(),
          group: h(),
          sinceMs: 300_000,
          grep: h(),
          lines: [
            { at: now, taskId: h(), message: h() },
            { at: now, taskId: undefined, message: h() },
          ],
          matched: 2,
          cut: false,
          more: false,
        }),
  historyMessage: (rng, h, n) =>
    historyMessage({
      service: n(),
      environment: n(),
      entries: [
        {
          seq: 1,
          kind: rng.int(2) === 0 ? 'scale' : 'deploy',
          state: 'failed',
          requestedBy: REQUESTER,
          requestedAt: now,
          approvedBy: [APPROVER, h()],
          what: h(),
          previousRevision: h(),
          durationMs: 1000,
          reason: h(),
        },
      ],
      lock: aLock(h, REQUESTER, n),
    }),
  historyLine: (_rng, h) =>
    historyLine({
      seq: 1,
      kind: 'rollback',
      state: 'rejected',
      requestedBy: h(),
      requestedAt: now,
      approvedBy: [],
      what: h(),
      previousRevision: h(),
      durationMs: undefined,
      reason: h(),
    }),
  ipsMessage: (rng, h, n) =>
    ipsMessage({
      service: n(),
      environment: n(),
      platform: rng.int(2) === 0 ? 'ecs' : 'docker',
      tasks: [{ id: h(), revision: h(), lastStatus: h(), privateIp: h(), publicIp: h(), startedAt: now }],
    }),
  lockedMessage: (_rng, h, n) => lockedMessage(n(), n(), aLock(h, REQUESTER, n)),
  unlockedMessage: (_rng, h, n) => unlockedMessage(n(), n(), APPROVER, aLock(h, REQUESTER, n)),
  lockLine: (_rng, h, n) => lockLine(aLock(h, h(), n)),
  deploymentCard: (rng, h, n) => deploymentCard(aHostileView(rng, h, n), now),
  operationCard: (rng, h, n) => operationCard({ ...aHostileView(rng, h, n), kind: 'rollback' }, now),
  dryRunCard: (rng, h, n) => dryRunCard(aHostileView(rng, h, n)),
  approvalRefusal: (rng, h, n) =>
    approvalRefusal(
      rng.int(2) === 0
        ? { reason: 'not_approver', policy: n(), approvers: [APPROVER, h()] }
        : { reason: 'not_pending', state: 'failed' },
    ),
  errorText: (rng, h) =>
    errorText(rng.int(2) === 0 ? new UsageError(h(), h()) : new DockhandError('aws', h(), { hint: h() })),
  helpText: () => helpText(),
};

function hostContainer(h: () => string) {
  return {
    id: h(),
    name: h(),
    image: h(),
    digest: h(),
    state: h(),
    health: 'UNHEALTHY' as const,
    startedAt: at('2026-11-20T09:00:00Z'),
    restartCount: 2,
    labels: {},
    ports: [h()],
  };
}

describe('every message builder escapes data and keeps only its own mentions (property test)', () => {
  let tried = 0;
  afterAll(() => {
    console.log(
      `escaping property test: ${tried} hostile inputs across ${Object.keys(BUILDERS).length} builders (seed ${SEED})`,
    );
  });

  it.each(Object.keys(BUILDERS))('%s', (name) => {
    const build = BUILDERS[name];
    if (!build) throw new Error(name);
    const rng = createPrng(SEED ^ name.length);
    for (let run = 0; run < RUNS_PER_BUILDER; run++) {
      const inputs: string[] = [];
      const h = () => {
        const s = hostile(rng);
        inputs.push(s);
        return s;
      };
      const n = () => {
        const s = hostile(rng, NAME_ATOMS);
        inputs.push(s);
        return s;
      };
      const card = build(rng, h, n);
      tried += inputs.length;
      const where = `${name}, run ${run}, inputs ${JSON.stringify(inputs.map((i) => i.slice(0, 80)))}`;
      for (const text of mrkdwnTexts(card)) {
        expect(problemOf(text), where).toBeUndefined();
        expect(text, where).not.toContain(TOKEN);
      }
      expect(limitProblemOf(card), where).toBeUndefined();
    }
  });

  it('keeps the mentions dockhand means in the fallback text (lock and unlock notify the people named)', () => {
    const lock = aLock(() => 'api', REQUESTER);
    expect(lockedMessage('api', 'production', lock).text).toContain(`<@${REQUESTER}>`);
    expect(unlockedMessage('api', 'production', APPROVER, lock).text).toContain(`<@${APPROVER}>`);
  });

  it('escapes the task stop reason of the issue in the health alert’s fallback text', () => {
    const reason = '<!channel> wake up <@U123> see <https://evil.example|the runbook>';
    const card = degradedCard({
      service: 'api',
      environment: 'production',
      reasons: [reason],
      stoppedTasks: [],
      desired: 2,
      running: 1,
      pending: 0,
      revision: 'api:4',
      at: now,
    });
    expect(card.text).toBe(
      'api · production is degraded: &lt;!channel&gt; wake up &lt;@U123&gt; see &lt;https://evil.example|the runbook&gt;',
    );
  });
});
