import type { RespondArguments, SlashCommand } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { withBoundary } from '../../commands/boundary.ts';
import { type Button, clickHandler } from '../../commands/buttons/index.ts';
import type { CommandDeps } from '../../commands/deps.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { Refusal } from '../../src/domain/policy.ts';
import { DockhandError } from '../../src/errors.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Store } from '../../src/ports.ts';
import { ACTIONS } from '../../src/slack/actions.ts';
import { aConfig } from '../support/builders.ts';
import { FakeClock } from '../support/deploy-fakes.ts';
import { testRuntimes } from '../support/runtimes.ts';

/** One boundary for slash commands and button clicks: ack, reply, log, count, audit, the same way for both. */
let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const harness = async () => {
  store = await openStore('sqlite::memory:');
  const logs: Record<string, unknown>[] = [];
  const events: string[] = [];
  const metrics = createMetrics();
  const deps: CommandDeps = {
    config: aConfig(),
    runtimes: testRuntimes({ ecs: { describe: async () => [] } }),
    store,
    clock: new FakeClock(),
    logger: createLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line)) }),
    metrics,
    track: (work) => work,
  };
  const replies: RespondArguments[] = [];
  const slack = {
    ack: async (response?: string | RespondArguments) => {
      events.push('ack');
      if (response !== undefined) replies.push(typeof response === 'string' ? { text: response } : response);
    },
    respond: async (message: string | RespondArguments) => {
      replies.push(typeof message === 'string' ? { text: message } : message);
      return undefined as never;
    },
  };
  const counted = async (counter: 'commands' | 'actions') =>
    (await metrics[counter].get()).values.map((v) => ({ ...v.labels, n: v.value }));
  const audit = async () => (await deps.store.listAudit({ limit: 10 })).map((e) => [e.action, e.subject, e.outcome]);
  return { deps, logs, events, replies, slack, counted, audit };
};

const command = (text: string) =>
  ({ text, user_id: 'U0ALICE', channel_id: 'C0DEPLOYS', channel_name: 'deploys' }) as SlashCommand;

const click = (value: string) => ({ body: { user: { id: 'U0BOB' } }, action: { value } });

const button = (click: Button<CommandDeps>['click']): Button<CommandDeps> => ({ actionId: ACTIONS.approve, click });

describe('a slash command at the boundary', () => {
  it('answers a refusal thrown after the ack to the requester alone, mentions intact, and audits it refused', async () => {
    const h = await harness();
    const handler = withBoundary('/deploy', h.deps, async ({ ack }) => {
      await ack();
      throw new Refusal('You may not deploy `api`: its deployers are <@U0CAROL>.');
    });
    await handler({ command: command('api'), ...h.slack });

    expect(h.replies).toEqual([
      {
        response_type: 'ephemeral',
        replace_original: false,
        text: ':no_entry: You may not deploy `api`: its deployers are <@U0CAROL>.',
      },
    ]);
    expect(await h.counted('commands')).toEqual([{ command: '/deploy', outcome: 'refused', n: 1 }]);
    expect(await h.audit()).toEqual([['command', '/deploy api', 'refused']]);
    expect(h.logs.filter((l) => l.msg === 'command refused')).toHaveLength(1);
  });

  it('makes no child logger for a command that goes through: nothing to log, and the ack need not wait for it', async () => {
    const h = await harness();
    const children: unknown[] = [];
    const child = h.deps.logger.child.bind(h.deps.logger);
    h.deps.logger.child = ((bindings: Record<string, unknown>) => {
      children.push(bindings);
      return child(bindings);
    }) as typeof h.deps.logger.child;
    await withBoundary('/status', h.deps, async ({ ack }) => ack())({ command: command('api'), ...h.slack });
    expect(h.events).toEqual(['ack']);
    expect(children).toEqual([]);

    await withBoundary('/status', h.deps, async () => {
      throw new DockhandError('aws', 'describe services: ThrottlingException');
    })({ command: command('api'), ...h.slack });
    expect(children).toEqual([{ command: '/status', user: 'U0ALICE', channel: 'C0DEPLOYS' }]);
  });

  it('answers an error before the ack in the ack itself, as a warning with its remedy, and audits it failed', async () => {
    const h = await harness();
    const handler = withBoundary('/status', h.deps, async () => {
      throw new DockhandError('aws', 'describe services: ThrottlingException', { hint: 'try again in a minute.' });
    });
    await handler({ command: command(''), ...h.slack });

    expect(h.events).toEqual(['ack']);
    expect(h.replies).toEqual([
      { response_type: 'ephemeral', text: ':warning: describe services: ThrottlingException\ntry again in a minute.' },
    ]);
    expect(await h.counted('commands')).toEqual([{ command: '/status', outcome: 'error', n: 1 }]);
    expect(await h.audit()).toEqual([['command', '/status', 'error']]);
  });
});

describe('a button click at the boundary', () => {
  it('acknowledges before the button does anything, and audits the click ok', async () => {
    const h = await harness();
    await clickHandler(
      h.deps,
      button(async (_deps, id, user) => {
        h.events.push(`approve ${id} by ${user}`);
      }),
    )({ ...h.slack, ...click('dep_1') });

    expect(h.events).toEqual(['ack', 'approve dep_1 by U0BOB']);
    expect(h.replies).toEqual([]);
    expect(await h.counted('actions')).toEqual([{ action: 'approval.approve', outcome: 'ok', n: 1 }]);
    expect(await h.audit()).toEqual([['click.approval.approve', 'dep_1', 'ok']]);
  });

  it('shows a refusal to the clicker alone, counts and audits it refused', async () => {
    const h = await harness();
    await clickHandler(
      h.deps,
      button(async () => {
        throw new Refusal('Only approvers can approve this: <@U0CAROL>.');
      }),
    )({ ...h.slack, ...click('dep_1') });

    expect(h.replies).toEqual([
      {
        response_type: 'ephemeral',
        replace_original: false,
        text: ':no_entry: Only approvers can approve this: <@U0CAROL>.',
      },
    ]);
    expect(await h.counted('actions')).toEqual([{ action: 'approval.approve', outcome: 'refused', n: 1 }]);
    expect(await h.audit()).toEqual([['click.approval.approve', 'dep_1', 'refused']]);
    expect(h.logs.filter((l) => l.msg === 'button click refused')).toHaveLength(1);
  });

  it('shows an unexpected failure as a plain message without its details, and audits it failed', async () => {
    const h = await harness();
    await clickHandler(
      h.deps,
      button(async () => {
        throw new Error('connect ECONNREFUSED 10.0.0.1:5432 password=hunter2');
      }),
    )({ ...h.slack, ...click('dep_1') });

    expect(h.replies).toEqual([
      {
        response_type: 'ephemeral',
        replace_original: false,
        text: ':warning: Something went wrong inside dockhand; the details are in its log.',
      },
    ]);
    expect(await h.counted('actions')).toEqual([{ action: 'approval.approve', outcome: 'error', n: 1 }]);
    expect(await h.audit()).toEqual([['click.approval.approve', 'dep_1', 'error']]);
    expect(h.logs.filter((l) => l.msg === 'button action failed')).toHaveLength(1);
  });
});
