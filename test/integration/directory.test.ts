import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/ports.ts';
import { SlackDirectory } from '../../src/slack/directory.ts';
import { type FakeSlack, startTestSlack, TEST_BOT_TOKEN } from '../support/slack/index.ts';

/** Time stands still until the test moves it. */
const stillClock = (start: string) => {
  let t = Date.parse(start);
  const clock: Clock = { now: () => new Date(t), sleep: async () => {} };
  return { clock, advance: (ms: number) => (t += ms) };
};

describe('SlackDirectory against the Slack emulator', () => {
  let slack: FakeSlack;
  let client: WebClient;

  beforeAll(async () => {
    slack = await startTestSlack();
    client = new WebClient(TEST_BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  });
  afterEach(() => slack.state.reset());
  afterAll(() => slack.close());

  const listCalls = () => slack.state.calls('usergroups.users.list').length;

  it('lists the members of a user group and caches them for 60 s', async () => {
    slack.state.addUsergroup('S0PLATFORM', ['U0ALICE', 'U0BOB']);
    const { clock, advance } = stillClock('2026-11-20T10:00:00Z');
    const directory = new SlackDirectory({ client, clock });

    expect(await directory.membersOf('S0PLATFORM')).toEqual(['U0ALICE', 'U0BOB']);
    advance(59_000);
    await directory.membersOf('S0PLATFORM');
    expect(listCalls()).toBe(1);

    slack.state.addUsergroup('S0PLATFORM', ['U0ALICE', 'U0BOB', 'U0CAROL']);
    advance(2_000);
    expect(await directory.membersOf('S0PLATFORM')).toContain('U0CAROL');
    expect(listCalls()).toBe(2);
  });

  it('shares one request between concurrent lookups of the same group', async () => {
    slack.state.addUsergroup('S0PLATFORM', ['U0ALICE']);
    const directory = new SlackDirectory({ client, clock: stillClock('2026-11-20T10:00:00Z').clock });
    const results = await Promise.all([
      directory.membersOf('S0PLATFORM'),
      directory.membersOf('S0PLATFORM'),
      directory.includes(['S0PLATFORM'], 'U0ALICE'),
    ]);
    expect(results).toEqual([['U0ALICE'], ['U0ALICE'], true]);
    expect(listCalls()).toBe(1);
  });

  it('matches user ids directly and group ids by membership', async () => {
    slack.state.addUsergroup('S0PLATFORM', ['U0ALICE']);
    slack.state.addUsergroup('S0DEVS', ['U0BOB']);
    const directory = new SlackDirectory({ client, clock: stillClock('2026-11-20T10:00:00Z').clock });

    expect(await directory.includes(['U0CAROL', 'S0PLATFORM'], 'U0CAROL')).toBe(true);
    expect(listCalls()).toBe(0); // a direct match asks Slack nothing
    expect(await directory.includes(['U0CAROL', 'S0PLATFORM', 'S0DEVS'], 'U0BOB')).toBe(true);
    expect(await directory.includes(['U0CAROL', 'S0PLATFORM'], 'U0BOB')).toBe(false);
    expect(await directory.includes([], 'U0BOB')).toBe(false);
  });

  it('says which group it could not read, and does not cache the failure', async () => {
    const directory = new SlackDirectory({ client, clock: stillClock('2026-11-20T10:00:00Z').clock });
    await expect(directory.includes(['S0GONE'], 'U0BOB')).rejects.toMatchObject({
      code: 'slack',
      message: 'list the members of user group S0GONE: no_such_subteam',
      hint: expect.stringContaining('S0GONE'),
    });
    slack.state.addUsergroup('S0GONE', ['U0BOB']);
    expect(await directory.includes(['S0GONE'], 'U0BOB')).toBe(true);
  });
});
