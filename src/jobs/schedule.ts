/**
 * What the config asks to watch, and when. Every distinct cron expression becomes one node-cron task; whichever
 * fires first in a minute runs one tick for everything due in that minute (so health and IP watches due together
 * share one ECS snapshot). Docker-host services have a health watch only: their public address is fixed.
 */
import cron, { type ScheduledTask, type TaskFn } from 'node-cron';
import type { Config } from '../config/schema.ts';
import { hostTargetOf } from '../core/deploy/host.ts';
import { allTargets, ecsRef, type ResolvedTarget } from '../core/targets.ts';
import { publicIpsSchedule } from '../core/watch/dns.ts';
import type { DockerHostTarget, EcsServiceRef } from '../ports.ts';

export const JOB_NAMES = ['health', 'public-ips', 'digest'] as const;
export type JobName = (typeof JOB_NAMES)[number];

interface Watches {
  target: ResolvedTarget;
  /** Cron expressions; undefined = not watched that way. */
  health?: string | undefined;
  publicIps?: string | undefined;
}

/** A service/environment with at least one watch: on ECS, or on a Docker host (health only). */
export type WatchedTarget =
  | (Watches & { kind: 'ecs'; ref: EcsServiceRef })
  | (Watches & { kind: 'docker'; host: DockerHostTarget; publicIps?: undefined });

export interface WatchPlan {
  watched: WatchedTarget[];
  /** Every ECS service/environment (the digest covers all of them, watched or not). */
  ecs: { target: ResolvedTarget; ref: EcsServiceRef }[];
  /** Every Docker-host service/environment (in the digest too), when this process can reach Docker hosts. */
  hosts: { target: ResolvedTarget; host: DockerHostTarget }[];
  /** Docker-host services with a health watch this process cannot run (no Docker-host runtime; logged at start). */
  unsupported: ResolvedTarget[];
  /** Docker-host services with a public-IP watch: their address is fixed, nothing to watch (said once at start). */
  fixedAddress: ResolvedTarget[];
  digest?: { channel: string; schedule: string } | undefined;
}

/** `dockerHosts`: whether this process has a Docker-host runtime to watch Docker-host targets with. */
export const planWatches = (config: Config, options: { dockerHosts: boolean } = { dockerHosts: true }): WatchPlan => {
  const plan: WatchPlan = { watched: [], ecs: [], hosts: [], unsupported: [], fixedAddress: [], digest: config.digest };
  for (const target of allTargets(config)) {
    const watch = target.serviceConfig.watch;
    const ref = ecsRef(config, target);
    if (ref) {
      plan.ecs.push({ target, ref });
      if (watch?.health !== undefined || watch?.publicIps !== undefined)
        plan.watched.push({ kind: 'ecs', target, ref, health: watch?.health, publicIps: publicIpsSchedule(watch) });
      continue;
    }
    const host = hostTargetOf(target);
    if (!host) continue;
    if (watch?.publicIps !== undefined) plan.fixedAddress.push(target);
    if (!options.dockerHosts) {
      if (watch?.health !== undefined) plan.unsupported.push(target);
      continue;
    }
    plan.hosts.push({ target, host });
    if (watch?.health !== undefined) plan.watched.push({ kind: 'docker', target, host, health: watch.health });
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
