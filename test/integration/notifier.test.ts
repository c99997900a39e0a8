import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { type FetchFunction, LogLevel, WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { createLogger } from '../../src/logger.ts';
import type { Clock, MessageRef, OutgoingMessage } from '../../src/ports.ts';
import { SlackNotifier, type SlackNotifierOptions } from '../../src/slack/notifier.ts';
import { type FakeSlack, startTestSlack, TEST_BOT_TOKEN } from '../support/slack/index.ts';

/** A clock that moves only when the test says so; `sleep` resolves when time passes its deadline. */
class FakeClock implements Clock {
  private t: number;
  private timers: { at: number; resolve: () => void }[] = [];

  constructor(start: string) {
    this.t = Date.parse(start);
  }

  now(): Date {
    return new Date(this.t);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = { at: this.t + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((x) => x !== timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  get sleepers(): number {
    return this.timers.length;
  }

  /** Jumps to the earliest deadline and fires every timer due then. */
  fireNext(): void {
    const next = Math.min(...this.timers.map((x) => x.at));
    if (!Number.isFinite(next)) return;
    this.t = Math.max(this.t, next);
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.resolve();
  }

  tick(ms: number): void {
    this.t += ms;
  }

  elapsed(since: string): number {
    return this.t - Date.parse(since);
  }
}

const until = async (condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(2);
  }
};

const card = (n: number | string): OutgoingMessage => ({
  text: `api rolling out: ${n}`,
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*Rolling out* step ${n}` } }],
});

const START = '2026-11-20T10:00:00.000Z';

describe('SlackNotifier with a fake clock (the throttle, without waiting)', () => {
  let slack: FakeSlack;
  let clock: FakeClock;
  let inFlight = 0;
  /** chat.update requests as the client sent them, stamped with the fake clock. */
  let updates: { at: number; body: string }[] = [];
  /** chat.update requests that get no answer (as after a client timeout): counted down per request. */
  let unanswered = 0;
  const logLines: string[] = [];

  /** Counts requests on the wire and stamps chat.update with fake time, so the test knows when the notifier is idle. */
  const transport: FetchFunction = async (url, init) => {
    inFlight += 1;
    if (String(url).endsWith('chat.update')) updates.push({ at: clock.elapsed(START), body: String(init?.body) });
    try {
      if (String(url).endsWith('chat.update') && unanswered > 0) {
        unanswered -= 1;
        throw new Error('The operation was aborted due to timeout');
      }
      return await fetch(url, init);
    } finally {
      inFlight -= 1;
    }
  };

  const notifier = (options: Partial<SlackNotifierOptions> = {}) => {
    const client = new WebClient(TEST_BOT_TOKEN, {
      slackApiUrl: slack.apiUrl,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
      fetch: transport,
    });
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    return new SlackNotifier({ client, clock, logger: createLogger('debug', sink), ...options });
  };

  /** Nothing on the wire, and the notifier asleep (or finished): safe to move time. */
  const quiet = async (finished: () => boolean) => {
    for (;;) {
      await until(() => inFlight === 0 && (finished() || clock.sleepers > 0), 'the notifier to go quiet');
      await delay(15);
      if (inFlight === 0 && (finished() || clock.sleepers > 0)) return;
    }
  };

  /** Fires the notifier's timers one after another until `work` is done. */
  const drive = async (work: Promise<unknown>) => {
    let finished = false;
    void work.then(() => {
      finished = true;
    });
    for (;;) {
      await quiet(() => finished);
      if (finished) return;
      clock.fireNext();
    }
  };

  const postCard = async (n: SlackNotifier, channel = '#deploys'): Promise<MessageRef> => n.post(channel, card(0));

  beforeAll(async () => {
    slack = await startTestSlack();
  });
  afterEach(() => {
    slack.state.reset();
    updates = [];
    unanswered = 0;
    logLines.length = 0;
  });
  afterAll(() => slack.close());

  it('sends 20 updates made within 1 s as 2 calls, 2 s apart, the second with the newest content', async () => {
    clock = new FakeClock(START);
    const n = notifier();
    const ref = await postCard(n);
    const written: Promise<void>[] = [];
    for (let i = 1; i <= 20; i++) {
      written.push(n.update(ref, card(i)));
      clock.tick(50);
      await delay(1);
    }
    await drive(Promise.all(written));

    expect(updates.map((u) => u.at)).toEqual([0, 2000]);
    const calls = slack.state.calls('chat.update');
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args.text).toBe('api rolling out: 20');
    expect(slack.state.message(ref.channel, ref.ts)?.text).toBe('api rolling out: 20');
  });

  it('skips content identical to what the card already shows', async () => {
    clock = new FakeClock(START);
    const n = notifier();
    const ref = await postCard(n);
    await n.update(ref, card(0)); // what was posted
    await drive(n.update(ref, card(1)));
    clock.tick(10_000);
    await n.update(ref, card(1));
    await n.flush();
    expect(slack.state.calls('chat.update')).toHaveLength(1);
  });

  it('keeps to the global budget across cards: a burst, then one update every 1.5 s (40 a minute)', async () => {
    clock = new FakeClock(START);
    const n = notifier({ burst: 5, perMinute: 40 });
    const refs: MessageRef[] = [];
    for (let i = 0; i < 9; i++) refs.push(await postCard(n, `#svc-${i}`));
    await drive(Promise.all(refs.map((ref, i) => n.update(ref, card(`card ${i}`)))));

    expect(updates.map((u) => u.at)).toEqual([0, 0, 0, 0, 0, 1500, 3000, 4500, 6000]);
    // Oldest request first: the cards are served in the order they asked.
    expect(updates.map((u) => /card \d/.exec(decodeURIComponent(u.body))?.[0])).toEqual(
      refs.map((_, i) => `card ${i}`),
    );
  });

  it('lets updateNow skip the per-card interval and go before waiting progress', async () => {
    clock = new FakeClock(START);
    const n = notifier({ burst: 1, perMinute: 40 });
    const a = await postCard(n, '#a');
    const b = await postCard(n, '#b');
    await drive(n.update(a, card('a1'))); // t=0, spends the only token
    clock.tick(100);
    const progress = n.update(b, card('b progress'));
    const final = n.updateNow(a, card('a final'));
    await drive(Promise.all([progress, final]));
    expect(updates.map((u) => [u.at, /(a1|a final|b progress)/.exec(decodeURIComponent(u.body))?.[0]])).toEqual([
      [0, 'a1'],
      [1500, 'a final'], // the next token goes to the final state although it asked later
      [3000, 'b progress'],
    ]);
  });

  it('waits out a 429 on that card and then sends its newest content', async () => {
    clock = new FakeClock(START);
    const n = notifier();
    const ref = await postCard(n);
    slack.state.rateLimit('chat.update', { calls: 1, retryAfter: 3 });
    const first = n.updateNow(ref, card('final?'));
    await quiet(() => false);
    clock.tick(500);
    const newer = n.updateNow(ref, card('final!'));
    await drive(Promise.all([first, newer]));

    expect(slack.state.calls('chat.update').map((c) => [c.status, c.args.text])).toEqual([
      [429, 'api rolling out: final?'],
      [200, 'api rolling out: final!'],
    ]);
    expect(updates.map((u) => u.at)).toEqual([0, 3000]);
    expect(logLines.some((l) => l.includes('"level":"warn"') && l.includes('rate limited'))).toBe(true);
  });

  it('retries a transient failure with backoff, then logs it instead of throwing', async () => {
    clock = new FakeClock(START);
    const n = notifier({ retries: 2, backoffMs: 3000 });
    const ref = await postCard(n);
    slack.state.failNext('chat.update', 'internal_error', { calls: 5 });
    await drive(n.update(ref, card(1)));

    expect(updates.map((u) => u.at)).toEqual([0, 3000, 9000]); // backoff 3 s, then 6 s; then it gives up
    const error = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 'error');
    expect(error).toMatchObject({ error: 'internal_error', channel: ref.channel, ts: ref.ts });
  });

  it('re-sends the newest content for about two minutes by default, backing off up to 30 s, then gives up', async () => {
    clock = new FakeClock(START);
    const n = notifier();
    const ref = await postCard(n);
    slack.state.failNext('chat.update', 'service_unavailable', { calls: 50 });
    const first = n.update(ref, card('registering'));
    await quiet(() => false);
    const newest = n.updateNow(ref, card('succeeded'));
    await drive(Promise.all([first, newest]));

    // 'registering' fails at 0; 'succeeded' replaces it and gets the whole bound: 1 + 8 tries, backoff capped at 30 s.
    expect(updates.map((u) => u.at)).toEqual([0, 1000, 2000, 4000, 8000, 16000, 32000, 62000, 92000, 122000]);
    expect(
      slack.state
        .calls('chat.update')
        .slice(1)
        .every((c) => c.args.text === 'api rolling out: succeeded'),
    ).toBe(true);
    const errors = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toContain('giving up');
  });

  it('writes the newest content once more when an unanswered update could have landed; new content goes at once', async () => {
    clock = new FakeClock(START);
    const n = notifier({ lateLandingMs: 60_000 });
    const ref = await postCard(n);
    unanswered = 1;
    const first = n.update(ref, card('registering'));
    await quiet(() => false); // unanswered at 0: Slack may still apply it until 60 000
    const final = n.updateNow(ref, card('succeeded'));
    await drive(Promise.all([first, final]));
    clock.tick(4000);
    await drive(n.update(ref, card('rolled back')));
    await drive(n.flush());

    const sent = updates.map((u) => [
      u.at,
      /(registering|succeeded|rolled back)/.exec(decodeURIComponent(u.body))?.[0],
    ]);
    expect(sent).toEqual([
      [0, 'registering'], // no answer
      [1000, 'succeeded'], // the retry, with the newest content
      [5000, 'rolled back'], // new content does not wait for the late-landing window
      [60000, 'rolled back'], // written again once the unanswered update can no longer land
    ]);
    expect(slack.state.message(ref.channel, ref.ts)?.text).toBe('api rolling out: rolled back');
  });

  it('does not retry an update Slack will never accept', async () => {
    clock = new FakeClock(START);
    const n = notifier();
    await drive(n.update({ channel: 'C0NOPE', ts: '1795168800.000100' }, card(1)));
    expect(slack.state.calls('chat.update')).toHaveLength(1);
    expect(logLines.some((l) => l.includes('"level":"error"'))).toBe(true);
  });

  it('flush resolves once every scheduled update has been written', async () => {
    clock = new FakeClock(START);
    const n = notifier();
    const ref = await postCard(n);
    void n.update(ref, card(1));
    void n.update(ref, card(2));
    await drive(n.flush());
    expect(slack.state.message(ref.channel, ref.ts)?.text).toBe('api rolling out: 2');
    await n.flush(); // idle: resolves at once
  });
});

describe('SlackNotifier against the Slack emulator in real time', () => {
  let slack: FakeSlack;
  let n: SlackNotifier;

  beforeAll(async () => {
    slack = await startTestSlack();
    const client = new WebClient(TEST_BOT_TOKEN, {
      slackApiUrl: slack.apiUrl,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 1, minTimeout: 50, maxTimeout: 100 },
      timeout: 5000,
    });
    n = new SlackNotifier({ client, clock: systemClock, logger: createLogger('silent') });
  });
  afterEach(() => slack.state.reset());
  afterAll(() => slack.close());

  it('turns 20 rapid updates to one card within 1 s into at most 2 chat.update calls ending with the last', async () => {
    const ref = await n.post('#deploys', card(0));
    const started = Date.now();
    const written: Promise<void>[] = [];
    for (let i = 1; i <= 20; i++) {
      written.push(n.update(ref, card(i)));
      await delay(45);
    }
    expect(Date.now() - started).toBeLessThan(1500);
    await Promise.all(written);

    const calls = slack.state.calls('chat.update');
    expect(calls.length).toBeLessThanOrEqual(2);
    expect(calls.at(-1)?.args.text).toBe('api rolling out: 20');
    expect(slack.state.message(ref.channel, ref.ts)?.text).toBe('api rolling out: 20');
  });

  it('delays a rate-limited card by Retry-After while a post to another channel goes through at once', async () => {
    const ref = await n.post('#deploys', card(0));
    slack.state.rateLimit('chat.update', { calls: 1, retryAfter: 1 });
    const written = n.update(ref, card('after the 429'));
    await slack.state.waitFor((s) => s.calls('chat.update').find((c) => c.status === 429), 2000, 'the 429');

    const before = Date.now();
    const other = await n.post('#alerts', { text: 'api is degraded' });
    expect(Date.now() - before).toBeLessThan(300);
    expect(other.channel).not.toBe(ref.channel);

    await written;
    const [limited, ok] = slack.state.calls('chat.update');
    expect(ok?.status).toBe(200);
    expect(ok?.args.text).toBe('api rolling out: after the 429');
    expect((ok?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    const post = slack.state.calls('chat.postMessage').find((c) => c.args.text === 'api is degraded');
    expect(post?.at).toBeLessThan(ok?.at ?? 0);
  });

  it('posts ephemerals and uploads files (in a thread) without going through the update queue', async () => {
    const ref = await n.post('#deploys', card(0));
    await n.ephemeral(ref.channel, 'U0CLICKER', {
      text: 'You requested this deployment; someone else must approve it.',
    });
    await n.upload(ref.channel, { filename: 'api-logs.txt', content: 'line 1\nline 2\n', title: 'api logs' }, ref.ts);
    expect(slack.state.calls('chat.postEphemeral')[0]?.args).toMatchObject({ user: 'U0CLICKER' });
    expect(slack.state.calls('files.completeUploadExternal')[0]?.args).toMatchObject({
      channel_id: ref.channel,
      thread_ts: ref.ts,
    });
  });

  it('explains a post that Slack refuses', async () => {
    slack.state.failNext('chat.postMessage', 'not_in_channel');
    await expect(n.post('#private', { text: 'hi' })).rejects.toMatchObject({
      code: 'slack',
      message: 'post to #private: not_in_channel',
      hint: expect.stringContaining('/invite'),
    });
  });
});

describe('SlackNotifier when chat.update outlives the client timeout (real time, bounded)', () => {
  let slack: FakeSlack;
  let n: SlackNotifier;
  const logLines: string[] = [];

  beforeAll(async () => {
    slack = await startTestSlack();
    const client = new WebClient(TEST_BOT_TOKEN, {
      slackApiUrl: slack.apiUrl,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
      timeout: 300,
      logLevel: LogLevel.ERROR,
    });
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    n = new SlackNotifier({
      client,
      clock: systemClock,
      logger: createLogger('debug', sink),
      backoffMs: 100,
      lateLandingMs: 2500,
    });
  });
  afterEach(() => {
    slack.state.reset();
    logLines.length = 0;
  });
  afterAll(() => slack.close());

  it('ends with the newest content although an update it gave up on lands after it', async () => {
    const ref = await n.post('#deploys', card('requested'));
    // Slack is slow for the first update: dockhand gives up after 300 ms, Slack applies it 2 s later anyway.
    slack.state.slowNext('chat.update', 2000, 1);
    void n.update(ref, card('registering the task definition'));
    await until(() => logLines.some((l) => l.includes('chat.update failed')), 'dockhand to give up on it');
    await n.updateNow(ref, card('succeeded'));
    expect(slack.state.message(ref.channel, ref.ts)?.text).toBe('api rolling out: succeeded');

    // The late landing of the stale update: without a re-send it would be the card's last word.
    await slack.state.waitFor(
      (s) => s.calls('chat.update').find((c) => c.args.text === 'api rolling out: registering the task definition'),
      5000,
      'the stale update to land',
    );
    await n.flush();
    expect(slack.state.message(ref.channel, ref.ts)?.text).toBe('api rolling out: succeeded');
    const texts = slack.state.calls('chat.update').map((c) => c.args.text);
    expect(texts.at(-1)).toBe('api rolling out: succeeded');
    expect(texts.length).toBeLessThanOrEqual(4); // bounded: the newest, then one re-send after the late landing
  });
});
