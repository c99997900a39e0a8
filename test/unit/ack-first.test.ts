import type { SlashCommand } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { withBoundary } from '../../commands/boundary.ts';
import { clickHandler } from '../../commands/buttons/index.ts';
import type { CommandDeps } from '../../commands/deps.ts';
import { statusCommand } from '../../commands/status.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { ACTIONS } from '../../src/slack/actions.ts';
import { aConfig, aSnapshot } from '../support/builders.ts';
import { FakeClock } from '../support/deploy-fakes.ts';
import { testRuntimes } from '../support/runtimes.ts';

/**
 * Under a burst of commands, the work a command does after its acknowledgement (AWS calls, rendering, the audit
 * write) must not run ahead of the requests already waiting in the event loop: their acks go out first.
 */
describe('work after an acknowledgement yields to the requests already waiting', () => {
  it('lets a request that was waiting when /status acked be handled before /status reads ECS', async () => {
    const order: string[] = [];
    const store = await openStore('sqlite::memory:');
    const deps: CommandDeps = {
      config: aConfig(),
      runtimes: testRuntimes({
        ecs: {
          describe: async (targets) => {
            order.push('status reads ECS');
            return targets.map((ref) => ({ ref, found: true as const, snapshot: aSnapshot() }));
          },
        },
      }),
      store,
      clock: new FakeClock(),
      logger: createLogger('silent'),
      metrics: createMetrics(),
      track: (work) => work,
    };
    const command = { text: 'api in production', user_id: 'U0DEV', channel_id: 'C0DEPLOYS' } as SlashCommand;
    await withBoundary(
      '/status',
      deps,
      statusCommand(deps),
    )({
      command,
      ack: async () => {
        order.push('status acked');
        // Another request that is already waiting for the event loop (its I/O callback is queued).
        setImmediate(() => order.push('waiting request handled'));
      },
      respond: async () => undefined as never,
    });
    await store.close();

    expect(order).toEqual(['status acked', 'waiting request handled', 'status reads ECS']);
  });

  it('lets a request that was waiting when a button click acked be handled before the click does its work', async () => {
    const order: string[] = [];
    const store = await openStore('sqlite::memory:');
    const deps: CommandDeps = {
      config: aConfig(),
      runtimes: testRuntimes({ ecs: { describe: async () => [] } }),
      store,
      clock: new FakeClock(),
      logger: createLogger('silent'),
      metrics: createMetrics(),
      track: (work) => work,
      acksSent: async () => {
        order.push('the other requests acked');
      },
    };
    const approve = {
      actionId: ACTIONS.approve,
      click: async () => {
        order.push('approval recorded');
      },
    };
    await clickHandler(
      deps,
      approve,
    )({
      ack: async () => {
        order.push('click acked');
        setImmediate(() => order.push('waiting request handled'));
      },
      body: { user: { id: 'U0BOB' } },
      action: { value: 'dep_1' },
      respond: async () => undefined as never,
    });
    await store.close();

    expect(order).toEqual(['click acked', 'waiting request handled', 'the other requests acked', 'approval recorded']);
  });

  it('holds the work after the ack until the other Slack requests received have been acknowledged', async () => {
    const order: string[] = [];
    const store = await openStore('sqlite::memory:');
    let acksSent: () => void = () => {};
    const deps: CommandDeps = {
      config: aConfig(),
      runtimes: testRuntimes({
        ecs: {
          describe: async (targets) => {
            order.push('status reads ECS');
            return targets.map((ref) => ({ ref, found: true as const, snapshot: aSnapshot() }));
          },
        },
      }),
      store,
      clock: new FakeClock(),
      logger: createLogger('silent'),
      metrics: createMetrics(),
      track: (work) => work,
      acksSent: () =>
        new Promise<void>((resolve) => {
          acksSent = () => {
            order.push('the other requests acked');
            resolve();
          };
        }),
    };
    const command = { text: 'api in production', user_id: 'U0DEV', channel_id: 'C0DEPLOYS' } as SlashCommand;
    const handled = withBoundary(
      '/status',
      deps,
      statusCommand(deps),
    )({
      command,
      ack: async () => {
        order.push('status acked');
      },
      respond: async () => undefined as never,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual(['status acked']);
    acksSent();
    await handled;
    await store.close();

    expect(order).toEqual(['status acked', 'the other requests acked', 'status reads ECS']);
  });
});
