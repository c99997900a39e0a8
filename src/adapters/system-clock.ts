import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock, Random, Timers } from '../ports.ts';

/** Wall-clock time; tests use a fake Clock instead. */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: async (ms, signal) => {
    await delay(ms, undefined, signal ? { signal } : undefined);
  },
};

/** The longest a Node timer waits (about 24.8 days); a longer wait fires then, and its caller sets it again. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;

/** Node's timers, unref'd so that none keeps the process alive. Looked up on each call (test fake timers apply). */
export const systemTimers: Timers = {
  after: (ms, run) => {
    const timer = setTimeout(run, Math.min(Math.max(0, ms), LONGEST_WAIT_MS));
    timer.unref();
    return () => clearTimeout(timer);
  },
  every: (ms, run) => {
    const timer = setInterval(run, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** Math.random for jitter, the crypto source for identifiers. */
export const systemRandom: Random = {
  fraction: () => Math.random(),
  hex: (bytes) => randomBytes(bytes).toString('hex'),
};
