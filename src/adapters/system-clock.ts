import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../ports.ts';

/** Wall-clock time; tests use a fake Clock instead. */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: async (ms, signal) => {
    await delay(ms, undefined, signal ? { signal } : undefined);
  },
};
