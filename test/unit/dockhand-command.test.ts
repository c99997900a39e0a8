import type { RespondArguments, SlashCommand } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { withBoundary } from '../../commands/boundary.ts';
import { type DockhandCommandDeps, dockhandCommand } from '../../commands/dockhand.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Store } from '../../src/ports.ts';
import { deployConfig, FakeClock, fakeDirectory } from '../support/deploy-fakes.ts';
import { testRuntimes } from '../support/runtimes.ts';

/** `/dockhand lock | unlock` through the real boundary and a real SQLite store: who may, and what the others see. */
let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const harness = async () => {
  store = await openStore('sqlite::memory:');
  const deps: DockhandCommandDeps = {
    config: deployConfig(),
    runtimes: testRuntimes({ ecs: { describe: async () => [] } }),
    store,
    clock: new FakeClock(),
    logger: createLogger('silent'),
    metrics: createMetrics(),
    track: (work) => work,
    directory: fakeDirectory({ S0PLATFORM: ['U0CAROL'] }),
    instance: 'test',
  };
  const handler = withBoundary('/dockhand', deps, dockhandCommand(deps));
  const run = async (text: string, user: string) => {
    const replies: RespondArguments[] = [];
    const command = { text, user_id: user, channel_id: 'C0DEPLOYS', channel_name: 'deploys' } as SlashCommand;
    await handler({
      command,
      ack: async () => {},
      respond: async (message) => {
        replies.push(typeof message === 'string' ? { text: message } : message);
        return undefined as never;
      },
    });
    return replies;
  };
  const outcomes = async () =>
    (await deps.store.listAudit({ action: 'command', limit: 20 })).map((e) => [e.actor, e.subject, e.outcome]);
  return { run, outcomes, store };
};

describe('/dockhand lock and unlock', () => {
  it('refuses a second lock to the requester alone, naming who holds it, and audits it refused', async () => {
    const h = await harness();
    const [announced] = await h.run('lock api in production db migration', 'U0ALICE');
    expect(announced?.response_type).toBe('in_channel');

    const [refused] = await h.run('lock api in production', 'U0DAVE');
    expect(refused?.response_type).toBe('ephemeral');
    expect(refused?.text).toMatch(/^:no_entry: It is already locked\. /);
    expect(refused?.text).toContain('<@U0ALICE>');
    expect(refused?.text).toContain('db migration');
    expect(await h.outcomes()).toEqual(
      expect.arrayContaining([
        ['U0ALICE', '/dockhand lock api in production db migration', 'ok'],
        ['U0DAVE', '/dockhand lock api in production', 'refused'],
      ]),
    );
  });

  it('refuses an unlock by someone who neither locked it nor approves, and lets an approver’s group member unlock', async () => {
    const h = await harness();
    await h.run('lock api in production', 'U0ALICE');

    const [refused] = await h.run('unlock api in production', 'U0DAVE');
    expect(refused?.response_type).toBe('ephemeral');
    expect(refused?.text).toMatch(
      /^:no_entry: You cannot unlock `api` in `production`: only the person who locked it or an approver of `production` can unlock it\. /,
    );
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, new Date())).toBeDefined();

    const [unlocked] = await h.run('unlock api in production', 'U0CAROL');
    expect(unlocked).toMatchObject({ response_type: 'in_channel' });
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, new Date())).toBeUndefined();
    expect((await h.outcomes()).map(([user, , outcome]) => [user, outcome])).toEqual(
      expect.arrayContaining([
        ['U0DAVE', 'refused'],
        ['U0CAROL', 'ok'],
      ]),
    );
  });
});
