/**
 * What the config asks to watch, and when. Every distinct cron expression becomes one node-cron task; whichever
 * fires first in a minute runs one tick for everything due in that minute (so health and IP watches due together
 * share one snapshot). A target whose runtime reaches it at a fixed address (a Docker host) has a health watch
 * only: there are no public IPs that change.
 */
import cron, { type ScheduledTask, type TaskFn } from 'node-cron';
import type { Config } from '../config/schema.ts';
import type { Runtime, Runtimes } from '../core/runtime.ts';
import { allTargets, type ResolvedTarget } from '../core/targets.ts';
import { publicIpsSchedule } from '../core/watch/dns.ts';

export const JOB_NAMES = ['health', 'public-ips', 'digest'] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** A service/environment with at least one watch. */
export interface WatchedTarget {
  target: ResolvedTarget;
  /** Cron expressions; undefined = not watched that way. */
  health?: string | undefined;
  publicIps?: string | undefined;
}

export interface WatchPlan {
  watched: WatchedTarget[];
  /** Every service/environment (the digest covers all of them, watched or not; those no runtime here reads too). */
  read: ResolvedTarget[];
  /** Services with a health watch whose runtime this process lacks (logged at start), and why. */
  unsupported: { target: ResolvedTarget; reason: string }[];
  /** Services with a public-IP watch on a runtime with a fixed address: nothing to watch (said once at start). */
  fixedAddress: ResolvedTarget[];
  digest?: { channel: string; schedule: string } | undefined;
}

const runtimeOf = (runtimes: Runtimes, target: ResolvedTarget): Runtime | { reason: string } => {
  try {
    return runtimes.for(target);
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
};

export const planWatches = (config: Config, runtimes: Runtimes): WatchPlan => {
  const plan: WatchPlan = { watched: [], read: [], unsupported: [], fixedAddress: [], digest: config.digest };
  for (const target of allTargets(config)) {
    const watch = target.serviceConfig.watch;
    const runtime = runtimeOf(runtimes, target);
    plan.read.push(target);
    const fixedAddress = 'reason' in runtime ? false : runtime.fixedAddress === true;
    if (fixedAddress && publicIpsSchedule(watch) !== undefined) plan.fixedAddress.push(target);
    if ('reason' in runtime) {
      if (watch?.health !== undefined) plan.unsupported.push({ target, reason: runtime.reason });
      continue;
    }
    const publicIps = fixedAddress ? undefined : publicIpsSchedule(watch);
    if (watch?.health !== undefined || publicIps !== undefined)
      plan.watched.push({ target, health: watch?.health, publicIps });
  }
  return plan;
};

export const expressionsOf = (plan: WatchPlan): string[] => [
  ...new Set([
    ...plan.watched.flatMap((w) => [w.health, w.publicIps].filter((e): e is string => e !== undefined)),
    ...(plan.digest ? [plan.digest.schedule] : []),
  ]),
];

export const floorToMinute = (at: Date): Date => new Date(Math.floor(at.getTime() / 60_000) * 60_000);

/** "2026-11-21T12:05": names the tick (and its leases). */
export const minuteKey = (at: Date): string => floorToMinute(at).toISOString().slice(0, 16);

/** node-cron tasks, one per expression: started by the scheduler, and asked which expressions are due in a minute. */
export class CronTable {
  readonly #tasks = new Map<string, ScheduledTask>();

  constructor(expressions: readonly string[], fire: TaskFn, timezone?: string) {
    for (const expression of expressions) {
      this.#tasks.set(
        expression,
        cron.createTask(expression, fire, {
          name: `dockhand-watch ${expression}`,
          noOverlap: true,
          ...(timezone === undefined ? {} : { timezone }),
        }),
      );
    }
  }

  /** True when `expression` fires at some second of the minute of `at`. */
  dueInMinute(expression: string, at: Date): boolean {
    const task = this.#tasks.get(expression);
    if (!task) return false;
    const start = floorToMinute(at).getTime();
    for (let second = 0; second < 60; second++) if (task.match(new Date(start + second * 1000))) return true;
    return false;
  }

  start(): void {
    for (const task of this.#tasks.values()) void task.start();
  }

  destroy(): void {
    for (const task of this.#tasks.values()) void task.destroy();
    this.#tasks.clear();
  }
}
