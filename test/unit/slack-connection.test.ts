import { createServer } from 'node:net';
import { WebClient } from '@slack/web-api';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { connectToSlack, SlackTokenError, withToken } from '../../src/slack/connection.ts';
import { startTestSlack } from '../support/slack/index.ts';

/** A Clock whose sleeps are recorded and return at once. */
const recordingClock = () => {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(0),
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
  };
};

const silent = pino({ level: 'silent' });

/** A port on 127.0.0.1 nothing listens on (it was free a moment ago). */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe('first contact with Slack', () => {
  it('turns a token Slack refuses into a SlackTokenError naming the variable, without retrying', async () => {
    const slack = await startTestSlack();
    try {
      const client = new WebClient('xoxb-wrong', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
      const clock = recordingClock();
      const error = await connectToSlack({
        attempt: async () => {
          await withToken('SLACK_BOT_TOKEN', () => client.auth.test());
        },
        clock,
        logger: silent,
        onStatus: () => {},
      }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(SlackTokenError);
      expect((error as SlackTokenError).message).toMatch(/^Slack refused SLACK_BOT_TOKEN \(invalid_auth\): /);
      expect(clock.sleeps).toEqual([]);
    } finally {
      await slack.close();
    }
  });

  it('retries an unreachable Slack with doubling waits on the injected clock, capped, reporting why', async () => {
    const client = new WebClient('xoxb-test-token', {
      slackApiUrl: `http://127.0.0.1:${await closedPort()}/api/`,
      retryConfig: { retries: 0 },
    });
    const clock = recordingClock();
    const statuses: (string | undefined)[] = [];
    let tries = 0;
    await connectToSlack({
      attempt: async () => {
        tries += 1;
        if (tries <= 6) await client.auth.test();
      },
      clock,
      logger: silent,
      onStatus: (s) => statuses.push(s),
      maxDelayMs: 8_000,
    });

    expect(tries).toBe(7);
    const nominal = [1_000, 2_000, 4_000, 8_000, 8_000, 8_000];
    expect(clock.sleeps).toHaveLength(nominal.length);
    clock.sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual((nominal[i] as number) * 0.8);
      expect(ms).toBeLessThanOrEqual((nominal[i] as number) * 1.2);
    });
    expect(statuses.at(0)).toMatch(/^cannot reach Slack: .*ECONNREFUSED/);
    expect(statuses.at(-1)).toBeUndefined();
  });
});
