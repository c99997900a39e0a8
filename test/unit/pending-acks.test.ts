import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PendingAcks } from '../../src/http/pending-acks.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { signSlackRequest, TEST_SIGNING_SECRET } from '../support/slack/index.ts';

/** Fake timers, PendingAcks with a 20 ms quiet window, a first request already acknowledged, and work waiting. */
const firstAckedWithWorkWaiting = () => {
  vi.useFakeTimers();
  const acks = new PendingAcks({ quietMs: 20 });
  acks.begin()();
  const work = { settled: false };
  void acks.settled().then(() => {
    work.settled = true;
  });
  return { acks, work };
};

describe('work after an ack waits until every Slack request received has been acknowledged', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('settles at once when no request waits, and when the last waiting one is answered', async () => {
    const acks = new PendingAcks();
    const order: string[] = [];
    await acks.settled().then(() => order.push('settled with none waiting'));
    const first = acks.begin();
    const second = acks.begin();
    const settled = acks.settled().then(() => order.push('settled'));
    first();
    first(); // answering twice counts once
    await Promise.resolve();
    order.push('first answered');
    second();
    await settled;

    expect(order).toEqual(['settled with none waiting', 'first answered', 'settled']);
    expect(acks.count).toBe(0);
  });

  it('holds the work while a burst is still arriving: the first ack alone does not let it run', async () => {
    // The first request of a burst arrives and is acknowledged before the second one has arrived.
    const { acks, work } = firstAckedWithWorkWaiting();
    await vi.advanceTimersByTimeAsync(5);
    expect(work.settled).toBe(false);
    const second = acks.begin();
    await vi.advanceTimersByTimeAsync(30);
    expect(work.settled).toBe(false); // quiet for 30 ms, but the second one still waits for its ack
    second();
    await vi.advanceTimersByTimeAsync(19);
    expect(work.settled).toBe(false); // its ack was the last activity: a third may still be on its way
    await vi.advanceTimersByTimeAsync(1);
    expect(work.settled).toBe(true);
  });

  it('does not let the work run at the ack of a request that took longer than quietMs to acknowledge', async () => {
    // bench:ack: the server takes a burst one request at a time, so none waits between two of them; one request
    // took 21 ms to acknowledge (its process descheduled) while the rest of the burst waited in the socket buffers.
    const { acks, work } = firstAckedWithWorkWaiting();
    const slow = acks.begin();
    await vi.advanceTimersByTimeAsync(21);
    slow();
    await vi.advanceTimersByTimeAsync(0);
    expect(work.settled).toBe(false);
    acks.begin()(); // the next request of the burst, taken right after
    await vi.advanceTimersByTimeAsync(19);
    expect(work.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(work.settled).toBe(true);
  });

  it('wakes the waiting work one per turn of the event loop: a request read in between holds the rest', async () => {
    vi.useFakeTimers();
    const acks = new PendingAcks({ quietMs: 20 });
    const answer = acks.begin();
    const woken: string[] = [];
    let late: (() => void) | undefined;
    void acks.settled().then(() => {
      woken.push('first');
      late = acks.begin(); // the loop read a new request before the second waiter's turn
    });
    void acks.settled().then(() => woken.push('second'));
    answer();
    await vi.advanceTimersByTimeAsync(20);
    expect(woken).toEqual(['first']);
    await vi.advanceTimersByTimeAsync(30);
    expect(woken).toEqual(['first']); // the new request still waits for its ack
    late?.();
    await vi.advanceTimersByTimeAsync(20);
    expect(woken).toEqual(['first', 'second']);
  });

  it('lets the work run once no request has arrived for quietMs', async () => {
    const { work } = firstAckedWithWorkWaiting();
    await vi.advanceTimersByTimeAsync(19);
    expect(work.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(work.settled).toBe(true);
  });

  it('stops waiting after maxWaitMs when a request is never answered', async () => {
    vi.useFakeTimers();
    const acks = new PendingAcks();
    acks.begin();
    let settled = false;
    void acks.settled(1000).then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
  });

  it('stops waiting after maxWaitMs even when the wall clock is stepped back meanwhile', async () => {
    vi.useFakeTimers();
    const acks = new PendingAcks();
    acks.begin(); // never answered
    let settled = false;
    void acks.settled(1000).then(() => {
      settled = true;
    });
    vi.setSystemTime(Date.now() - 60_000); // an NTP step of a minute back
    await vi.advanceTimersByTimeAsync(1000);
    expect(settled).toBe(true);
  });

  it('wakes each waiter at its own deadline, with one timer for all of them', async () => {
    vi.useFakeTimers();
    const acks = new PendingAcks();
    acks.begin(); // never answered
    const woken: string[] = [];
    for (const [name, ms] of [
      ['a', 500],
      ['b', 100],
      ['c', 1000],
      ['d', 100],
    ] as const) {
      void acks.settled(ms).then(() => woken.push(name));
    }
    for (let i = 0; i < 50; i++) void acks.settled(2000);
    // 54 waiters of a burst: one deadline timer (a timer each was 54 timers, each a cost before a later ack)
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(woken).toEqual(['b', 'd']);
    await vi.advanceTimersByTimeAsync(400);
    expect(woken).toEqual(['b', 'd', 'a']);
    await vi.advanceTimersByTimeAsync(500);
    expect(woken).toEqual(['b', 'd', 'a', 'c']);
  });

  it('arms the quiet timer once per quiet window under a burst, not once per request', async () => {
    const { acks, work } = firstAckedWithWorkWaiting();
    const timers = vi.spyOn(globalThis, 'setTimeout');
    // 100 requests, one a millisecond, each acknowledged before the next arrives (as the server takes a burst)
    for (let i = 0; i < 100; i++) {
      acks.begin()();
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(work.settled).toBe(false);
    expect(timers.mock.calls.length).toBeLessThanOrEqual(6);
    await vi.advanceTimersByTimeAsync(20);
    expect(work.settled).toBe(true);
  });

  it('counts a Slack request from its arrival at the HTTP server until its response head is written', async () => {
    const acks = new PendingAcks();
    const seen: number[] = [];
    const server = createHttpServer({
      metrics: createMetrics(),
      logger: createLogger('silent'),
      health: async () => ({ ok: true, checks: {} }),
      pendingAcks: acks,
      signingSecret: TEST_SIGNING_SECRET,
      slack: (req, res) => {
        req.resume();
        seen.push(acks.count); // inside the listener, before the ack
        res.writeHead(200).end();
        seen.push(acks.count); // after it
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = 'command=%2Fstatus';
      const response = await fetch(`http://127.0.0.1:${port}/slack/events`, {
        method: 'POST',
        headers: signSlackRequest(TEST_SIGNING_SECRET, body, Math.floor(Date.now() / 1000)),
        body,
      });
      expect(response.status).toBe(200);
      // a request refused before reaching Slack's listener (stale timestamp) is never counted
      const stale = await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', body: '' });
      expect(stale.status).toBe(401);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(seen).toEqual([1, 0]);
    expect(acks.count).toBe(0);
  });
});
