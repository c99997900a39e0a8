import type { RespondArguments, SlashCommand } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { withBoundary } from '../../commands/boundary.ts';
import { approveButton } from '../../commands/buttons/approve.ts';
import { deployCommand } from '../../commands/deploy.ts';
import { dockhandCommand } from '../../commands/dockhand.ts';
import { rollbackCommand } from '../../commands/rollback.ts';
import { scaleCommand } from '../../commands/scale.ts';
import { statusCommand } from '../../commands/status.ts';
import { configSchema } from '../../src/config/schema.ts';
import type { DeploymentView } from '../../src/core/deploy/view.ts';
import { Refusal } from '../../src/domain/policy.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Store } from '../../src/ports.ts';
import { refusalReason } from '../../src/slack/replies.ts';
import { deployHarness, FakeHost } from '../support/deploy-fakes.ts';
import { testRuntimes } from '../support/runtimes.ts';

/**
 * Freezes, windows and break-glass through the real boundary, commands and DeploymentService, a real SQLite store
 * and a fake clock (2026-11-21T12:00Z is a Saturday). `box` has an approval policy and weekday windows; `lab` has
 * neither. A asks, B and C approve box, M is nobody in particular.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const C = 'U0CAROL';
const M = 'U0MALLORY';

const config = (labRollback = true) =>
  configSchema.parse({
    defaults: { channel: '#deploys' },
    approvals: { prod: { approvers: [B, C], required: 1 } },
    services: {
      web: {
        source: { path: './web' },
        image: { repository: 'acme/web' },
        environments: {
          box: {
            target: { type: 'docker', host: 'unix:///var/run/docker.sock', container: 'web' },
            approval: 'prod',
            windows: { timeZone: 'Europe/Berlin', open: [{ days: 'mon-fri', hours: '09:00-17:00' }] },
          },
          lab: {
            target: { type: 'docker', host: 'unix:///var/run/docker.sock', container: 'web-lab' },
            rollbackDuringFreeze: labRollback,
          },
        },
      },
    },
  });

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const harness = async (labRollback = true) => {
  const host = new FakeHost();
  const h = await deployHarness({ config: config(labRollback), host });
  store = h.store;
  const deps = {
    ...h.deps,
    runtimes: testRuntimes({ host, store: h.store, clock: h.clock }),
    metrics: createMetrics(),
    logger: createLogger('silent'),
    deployments: h.service,
    renderDryRun: h.deps.render,
  };
  const handlers = {
    '/deploy': withBoundary('/deploy', deps, deployCommand(deps)),
    '/rollback': withBoundary('/rollback', deps, rollbackCommand(deps)),
    '/scale': withBoundary('/scale', deps, scaleCommand(deps)),
    '/dockhand': withBoundary('/dockhand', deps, dockhandCommand(deps)),
    '/status': withBoundary('/status', deps, statusCommand(deps)),
  };
  const run = async (name: keyof typeof handlers, text: string, user = A) => {
    const replies: RespondArguments[] = [];
    const push = (message: string | RespondArguments | undefined) => {
      if (message !== undefined) replies.push(typeof message === 'string' ? { text: message } : message);
    };
    const command = { text, user_id: user, channel_id: 'C0DEPLOYS', channel_name: 'deploys' } as SlashCommand;
    await handlers[name]({
      command,
      ack: async (response) => push(response),
      respond: async (message) => {
        push(message);
        return undefined as never;
      },
    });
    await h.settle();
    const text_ = replies.map((r) => JSON.stringify(r)).join('\n');
    return { replies, text: text_ };
  };
  const deployments = () => h.store.listDeployments({ service: 'web', limit: 20 });
  /** What the card of the last deployment shows now. */
  const lastView = (): DeploymentView | undefined => h.notifier.last().view;
  return { ...h, host, run, deployments, lastView, commandDeps: deps };
};

describe('deploy windows', () => {
  it('refuses a deploy outside the windows privately, saying when the next opens, and starts nothing', async () => {
    const h = await harness();
    const { replies, text } = await h.run('/deploy', 'web to box');
    expect(replies.map((r) => r.response_type)).toEqual(['ephemeral']);
    expect(text).toContain('`box` is outside its deploy windows (mon–fri 09:00–17:00 (Europe/Berlin))');
    expect(text).toContain('The next window opens Mon 2026-11-23 09:00 Europe/Berlin.');
    expect(text).toContain('--emergency &lt;reason&gt;');
    expect(await h.deployments()).toEqual([]);
    expect(h.host.deploys).toEqual([]);
  });

  it('lets a deploy through inside the windows', async () => {
    const h = await harness();
    h.clock.advance(2 * 86_400_000 - 3 * 3_600_000 + 60_000); // Monday 09:01 Berlin
    await h.run('/deploy', 'web to box');
    expect((await h.deployments()).map((d) => d.state)).toEqual(['awaiting_approval']);
  });

  it('breaks the glass with --emergency: one more approval, marked on the card and in the audit', async () => {
    const h = await harness();
    await h.run('/deploy', 'web to box --emergency checkout is down');
    const [deployment] = await h.deployments();
    expect(deployment?.state).toBe('awaiting_approval');
    expect(deployment?.request).toMatchObject({ emergency: 'checkout is down', emergencyCause: 'window' });
    expect(JSON.stringify(h.lastView())).toContain('checkout is down');
    expect(h.lastView()?.approvalPolicy).toEqual({ required: 2, approvers: [B, C] });
    const audit = await h.store.listAudit({ action: 'deployment.emergency' });
    expect(audit).toEqual([
      expect.objectContaining({
        actor: A,
        subject: deployment?.id,
        detail: { kind: 'deploy', reason: 'checkout is down', cause: 'window' },
      }),
    ]);

    await h.service.approve(deployment?.id ?? '', B);
    expect((await h.deployments())[0]?.state).toBe('awaiting_approval');
    await h.service.approve(deployment?.id ?? '', C);
    await h.settle();
    expect((await h.deployments())[0]?.state).toBe('succeeded');
    expect(h.host.deploys).toHaveLength(1);
  });

  it('never stops a dry run, which shows the approvals an emergency would need', async () => {
    const h = await harness();
    const plain = await h.run('/deploy', 'web to box --dry-run');
    expect(plain.text).not.toContain('outside its deploy windows');
    const emergency = await h.run('/deploy', 'web to box --dry-run --emergency checkout is down');
    expect(emergency.text).toContain('"required":2');
    expect(await h.deployments()).toEqual([]);
  });

  it('refuses --emergency when nothing is closed, so that the audit’s emergencies are real', async () => {
    const h = await harness();
    const { text } = await h.run('/deploy', 'web to lab --emergency just because');
    expect(text).toContain('`lab` is neither frozen nor outside its windows');
    expect(await h.deployments()).toEqual([]);
  });
});

describe('freezes', () => {
  it('are set by anyone where the environment has no approvers, refuse deploys and scaling, and end by themselves', async () => {
    const h = await harness();
    const frozen = await h.run('/dockhand', 'freeze lab for 2h release party', M);
    expect(frozen.replies[0]?.response_type).toBe('in_channel');
    expect(frozen.text).toContain('froze *lab*');
    expect(frozen.text).toContain('release party');

    const deploy = await h.run('/deploy', 'web to lab');
    expect(deploy.text).toContain('`lab` is frozen (release party) by <@U0MALLORY> until Sat 2026-11-21 14:00 UTC.');
    const scale = await h.run('/scale', 'web 2 in lab');
    expect(scale.text).toContain('`lab` is frozen');
    expect(await h.deployments()).toEqual([]);

    const listed = await h.run('/dockhand', 'freeze');
    expect(listed.replies[0]?.response_type).toBe('ephemeral');
    expect(listed.text).toContain('*lab* frozen by <@U0MALLORY>');
    expect(listed.text).toContain('*box* deploys mon–fri 09:00–17:00 (Europe/Berlin)');

    h.clock.advance(2 * 3_600_000);
    expect((await h.run('/dockhand', 'freeze')).text).toContain('No environment is frozen.');
    await h.run('/deploy', 'web to lab');
    expect((await h.deployments()).map((d) => d.state)).toEqual(['succeeded']);
  });

  it('may be set and lifted only by the environment’s approvers where it has some', async () => {
    const h = await harness();
    const refused = await h.run('/dockhand', 'freeze box', M);
    expect(refused.replies.map((r) => r.response_type)).toEqual(['ephemeral']);
    expect(refused.text).toContain('Only the approvers of `box` may freeze or unfreeze it');
    expect(await h.store.getState('freeze:box')).toBeUndefined();

    expect((await h.run('/dockhand', 'freeze box until 2026-12-24 18:00', B)).text).toContain(
      'Thu 2026-12-24 18:00 Europe/Berlin',
    );
    expect((await h.run('/dockhand', 'unfreeze box', M)).text).toContain('Only the approvers of `box`');
    const lifted = await h.run('/dockhand', 'unfreeze box', C);
    expect(lifted.replies[0]?.response_type).toBe('in_channel');
    expect(lifted.text).toContain('unfroze *box*');
    expect((await h.run('/dockhand', 'unfreeze box', C)).text).toContain('`box` is not frozen; nothing changed.');
    const audit = await h.store.listAudit({ environment: 'box' });
    expect(audit.map((e) => e.action)).toEqual(['freeze.ended', 'freeze.started']);
  });

  it('refuses an environment nobody has, and a time that has passed, changing nothing', async () => {
    const h = await harness();
    expect((await h.run('/dockhand', 'freeze prod')).text).toContain('No service has an environment `prod`.');
    expect((await h.run('/dockhand', 'freeze lab until 2026-11-20')).text).toContain('has already passed');
    expect((await h.run('/dockhand', 'freeze lab until someday')).text).toContain('“someday” is not a time');
    expect(await h.store.getState('freeze:lab')).toBeUndefined();
    expect(await h.store.getState('freeze:prod')).toBeUndefined();
  });

  it('let a break-glass deploy through an environment with no approval with one approver, not the requester', async () => {
    const h = await harness();
    await h.run('/dockhand', 'freeze lab', M);
    await h.run('/deploy', 'web to lab --emergency hotfix');
    const [deployment] = await h.deployments();
    expect(deployment?.state).toBe('awaiting_approval');
    expect(h.lastView()?.approvalPolicy).toEqual({ required: 1, approvers: ['*'] });
    await expect(h.service.approve(deployment?.id ?? '', A)).rejects.toMatchObject({ denial: { kind: 'own_request' } });
    await h.service.approve(deployment?.id ?? '', M);
    await h.settle();
    expect((await h.deployments())[0]?.state).toBe('succeeded');
  });

  it('let rollbacks through unless rollbackDuringFreeze is false', async () => {
    const allowed = await harness();
    await allowed.run('/dockhand', 'freeze lab');
    // Allowed by the freeze rule: the refusal is the rollback's own (nothing to go back to), not the freeze's.
    expect((await allowed.run('/rollback', 'web in lab')).text).toContain('no earlier image');
    expect((await allowed.run('/rollback', 'web in lab --emergency bad')).text).toContain(
      'Rollbacks in `lab` go ahead during a freeze and outside its windows: no emergency needed',
    );
    await store?.close();

    const forbidden = await harness(false);
    await forbidden.run('/dockhand', 'freeze lab');
    expect((await forbidden.run('/rollback', 'web in lab')).text).toContain('`lab` is frozen');
  });

  it('let a break-glass rollback through when rollbackDuringFreeze is false, recorded on its request', async () => {
    const h = await harness(false);
    await h.run('/deploy', 'web to lab');
    await h.run('/deploy', 'web to lab');
    expect((await h.deployments()).map((d) => d.state)).toEqual(['succeeded', 'succeeded']);
    await h.run('/dockhand', 'freeze lab', M);
    await h.run('/rollback', 'web in lab --emergency bad release');
    const [rollback, last] = await h.deployments();
    expect(rollback?.kind).toBe('rollback');
    expect(rollback?.state).toBe('awaiting_approval');
    expect(rollback?.request).toMatchObject({
      type: 'rollback',
      undoes: last?.id,
      emergency: 'bad release',
      emergencyCause: 'freeze',
    });
    expect(h.lastView()?.approvalPolicy).toEqual({ required: 1, approvers: ['*'] });
    await h.service.approve(rollback?.id ?? '', M);
    await h.settle();
    expect((await h.deployments()).map((d) => d.state)).toEqual(['succeeded', 'rolled_back', 'succeeded']);
  });

  it('stop an approval of a request that did not break the glass, until they end', async () => {
    const h = await harness();
    h.clock.advance(2 * 86_400_000 - 3 * 3_600_000 + 60_000); // Monday 09:01 Berlin: the window is open
    await h.run('/deploy', 'web to box');
    const [waiting] = await h.deployments();
    await h.run('/dockhand', 'freeze box for 1h', B);
    const refused = await approveButton.click(h.commandDeps, waiting?.id ?? '', C).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused instanceof Refusal ? refusalReason(refused) : refused).toContain(
      'This request did not break the glass, so it cannot be approved now',
    );
    expect((await h.deployments())[0]?.state).toBe('awaiting_approval');
    expect((await h.deployments())[0]?.approvals).toEqual([]);

    await h.run('/dockhand', 'unfreeze box', B);
    await approveButton.click(h.commandDeps, waiting?.id ?? '', C);
    await h.settle();
    expect((await h.deployments())[0]?.state).toBe('succeeded');
  });

  it('show in /status, for the environment asked about and in the overview', async () => {
    const h = await harness();
    expect((await h.run('/status', 'web in lab')).text).not.toContain('frozen');
    await h.run('/dockhand', 'freeze lab until 18:00 launch', M);
    const one = await h.run('/status', 'web in lab');
    expect(one.replies[0]?.response_type).toBe('in_channel');
    expect(one.text).toContain(':snowflake: *lab* is frozen until');
    expect(one.text).toContain('launch');
    expect((await h.run('/status', 'web in box')).text).not.toContain('frozen');
    expect((await h.run('/status', '')).text).toContain(':snowflake: *lab* is frozen');
  });
});
