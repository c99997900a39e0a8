/**
 * What the config asks to watch, and when. Every distinct cron expression becomes one node-cron task; whichever
 * fires first in a minute runs one tick for everything due in that minute (so health and IP watches due together
 * share one ECS snapshot).
 */
import cron, { type ScheduledTask, type TaskFn } from 'node-cron';
import type { Config } from '../config/schema.ts';
import { allTargets, ecsRef, type ResolvedTarget } from '../core/targets.ts';
import type { EcsServiceRef } from '../ports.ts';

export const JOB_NAMES = ['health', 'public-ips', 'digest'] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** A service/environment with at least one watch. */
export interface WatchedTarget {
  target: ResolvedTarget;
  ref: EcsServiceRef;
  /** Cron expressions; undefined = not watched that way. */
  health?: string | undefined;
  publicIps?: string | undefined;
}

export interface WatchPlan {
  watched: WatchedTarget[];
  /** Every ECS service/environment (the digest covers all of them, watched or not). */
  ecs: { target: ResolvedTarget; ref: EcsServiceRef }[];
  /** Watched services whose target is not ECS: nothing to watch (logged once at start). */
  unsupported: ResolvedTarget[];
  digest?: { channel: string; schedule: string } | undefined;
}

export const planWatches = (config: Config): WatchPlan => {
  const watched: WatchedTarget[] = [];
  const ecs: WatchPlan['ecs'] = [];
  const unsupported: ResolvedTarget[] = [];
  for (const target of allTargets(config)) {
    const ref = ecsRef(config, target);
    const watch = target.serviceConfig.watch;
    const wants = watch?.health !== undefined || watch?.publicIps !== undefined;
    if (!ref) {
      if (wants) unsupported.push(target);
      continue;
    }
    ecs.push({ target, ref });
    if (wants) watched.push({ target, ref, health: watch?.health, publicIps: watch?.publicIps });
  }
  return { watched, ecs, unsupported, digest: config.digest };
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
