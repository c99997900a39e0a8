/**
 * Scheduled watches and the daily digest (DESIGN.md §3.3).
 *
 * Wiring (src/app.ts):
 *
 *   const scheduler = createScheduler({ config, runtimes, dns, store, notifier, clock, logger, metrics, instance });
 *   scheduler.start();          // after the HTTP server is up
 *   …
 *   await scheduler.stop();     // on shutdown, before notifier.flush() and store.close()
 *
 * `runtimes` is the app's runtime factory, the one /status reads through (its ECS runtime reads through the app's
 * SharedSnapshots): a tick's snapshot of the services it read last (SharedSnapshots keeps the 100 most recently read)
 * answers /status and /dockhand ips for DOCKHAND_SNAPSHOT_MAX_AGE_MS, and a tick right after a /status reuses its
 * read; a tick reads a few clusters at a time and evaluates them before reading more (fetch.ts); a Docker-host service's health watch reads one snapshot of its containers
 * per tick; a target whose runtime this process lacks is not watched (logged at start). `instance` names this
 * replica in the per-tick leases (the store's instance, "<hostname>:<pid>").
 * `dns` is the app's Route 53 (DnsRecords), for `watch.publicIps.dns` (src/jobs/dns.ts).
 *
 * Schedules come from dockhand.yml: services.<name>.watch.health / .publicIps and digest.schedule (cron). Each
 * distinct expression is one node-cron task (noOverlap); whichever fires first in a minute runs ONE tick for all
 * that is due in that minute, so the health and IP watches due together share one snapshot.
 *
 * Replicas: one lease per tick for every job due in it, so one replica runs the whole tick. Two leases:
 *   `watch:running`        held while a tick runs, short (RUNNING_LEASE_TTL_MS) and renewed every third of it: no
 *                          two ticks ever overlap, on any replica, and one whose holder died frees up within it;
 *   `watch:tick:<minute>`  taken after it, kept LEASE_TTL_MS: a minute runs once, even on a replica whose clock is
 *                          a little behind.
 * A replica that finds a tick running skips its own (as a single process skips a tick while the previous one runs).
 * `runNow(job)` runs one job at once for all its services, whatever the schedule (no lease: someone asked).
 */
import type { Logger } from '../logger.ts';
import { ChannelPacer } from './pacer.ts';
import { CronTable, expressionsOf, floorToMinute, type JobName, minuteKey, planWatches } from './schedule.ts';
import { runTick, type TickReport, type TickWork, type WatchDeps } from './watcher.ts';

export { stateKey } from './fetch.ts';
export type { TargetState } from './outbox.ts';
export type { JobName } from './schedule.ts';
export { JOB_NAMES } from './schedule.ts';
export type { TickReport, WatchDeps } from './watcher.ts';

export interface Scheduler {
  /** Starts the cron tasks. */
  start(): void;
  /** Stops the cron tasks and waits for a tick in progress and its posts. */
  stop(): Promise<void>;
  /** Runs one job now for every service it covers, whatever its schedule. */
  runNow(job: JobName): Promise<void>;
  /** Runs what is due in the minute of `at` (default: now), as the cron tasks do; tests drive time through this. */
  tick(at?: Date): Promise<TickReport | undefined>;
}

/** A tick's lease outlives its minute, so a replica whose clock is a little behind cannot run it again. */
export const LEASE_TTL_MS = 5 * 60_000;
/** How long a tick in progress holds off the other replicas without renewing: a dead holder's tick frees up after it. */
export const RUNNING_LEASE_TTL_MS = 30_000;
export const RUNNING_LEASE = 'watch:running';

export const createScheduler = (deps: WatchDeps): Scheduler => {
  const { clock, metrics, store } = deps;
  const logger: Logger = deps.logger.child({ component: 'watch' });
  const plan = planWatches(deps.config, deps.runtimes);
  const pacer = new ChannelPacer(deps.notifier, clock);
  const running = new Set<JobName>();
  const inFlight = new Set<Promise<unknown>>();
  let lastMinute: string | undefined;
  let stopped = false;

  const fire = (date: Date): Promise<unknown> => {
    const p = tick(date).catch((error: unknown) => logger.error({ err: error }, 'watch tick failed'));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return p;
  };
  const cron = new CronTable(expressionsOf(plan), (ctx) => fire(ctx.date), deps.timezone);

  /**
   * Takes the tick's leases: true when this replica runs the tick. On true, the running lease is held and must be
   * given back with `releaseTick`.
   */
  const leaseTick = async (minute: string, at: Date, wanted: readonly JobName[]): Promise<boolean> => {
    const { instance } = deps;
    try {
      if (!(await store.tryLease(RUNNING_LEASE, instance, RUNNING_LEASE_TTL_MS, at))) {
        logger.info({ jobs: wanted, minute }, 'watch: another replica is running a tick; skipping this one');
        return false;
      }
      if (await store.tryLease(`watch:tick:${minute}`, instance, LEASE_TTL_MS, at)) return true;
      logger.debug({ jobs: wanted, minute }, 'watch: another replica ran this tick');
      await releaseTick();
      return false;
    } catch (error) {
      logger.error({ err: error, jobs: wanted }, 'watch: could not take the tick lease');
      for (const job of wanted) metrics.jobTicks.inc({ job, outcome: 'error' });
      await releaseTick();
      return false;
    }
  };
  /** Expires the running lease now (a zero TTL), so the next tick may run anywhere at once. */
  const releaseTick = async (): Promise<void> => {
    await store
      .tryLease(RUNNING_LEASE, deps.instance, 0, clock.now())
      .catch((error: unknown) => logger.warn({ err: error }, 'watch: could not release the tick lease'));
  };
  /** Renews the running lease every third of its TTL while `work` runs. */
  const heartbeat = (): (() => void) => {
    const timer = setInterval(() => {
      store
        .tryLease(RUNNING_LEASE, deps.instance, RUNNING_LEASE_TTL_MS, clock.now())
        .then((held) => {
          if (!held) logger.warn('watch: lost the tick lease while running a tick (a pause longer than its TTL?)');
        })
        .catch((error: unknown) => logger.warn({ err: error }, 'watch: could not renew the tick lease'));
    }, RUNNING_LEASE_TTL_MS / 3);
    timer.unref();
    return () => clearInterval(timer);
  };

  const execute = async (work: TickWork, leaseKey: string | undefined): Promise<TickReport | undefined> => {
    const wanted: JobName[] = [];
    if (work.health.length > 0) wanted.push('health');
    if (work.publicIps.length > 0) wanted.push('public-ips');
    if (work.digest) wanted.push('digest');
    if (wanted.length === 0) return undefined;
    const jobs = new Set<JobName>();
    if (leaseKey !== undefined) {
      // A scheduled tick runs whole or not at all: never beside another tick, here or on another replica.
      if (running.size > 0) {
        logger.warn({ jobs: wanted, running: [...running] }, 'watch: previous tick still running, skipping this one');
        for (const job of wanted) metrics.jobTicks.inc({ job, outcome: 'skipped' });
        return undefined;
      }
      if (!(await leaseTick(leaseKey, work.at, wanted))) return undefined;
      for (const job of wanted) jobs.add(job);
    } else {
      for (const job of wanted) {
        if (running.has(job)) {
          logger.warn({ job }, 'watch: previous tick still running, skipping this one');
          metrics.jobTicks.inc({ job, outcome: 'skipped' });
        } else jobs.add(job);
      }
      if (jobs.size === 0) return undefined;
    }
    const granted: TickWork = {
      at: work.at,
      health: jobs.has('health') ? work.health : [],
      publicIps: jobs.has('public-ips') ? work.publicIps : [],
      digest: jobs.has('digest'),
    };
    for (const job of jobs) running.add(job);
    const stopHeartbeat = leaseKey === undefined ? () => {} : heartbeat();
    const started = performance.now();
    try {
      const report = await runTick(deps, plan, pacer, granted, logger);
      for (const [job, outcome] of Object.entries(report.outcomes)) metrics.jobTicks.inc({ job, outcome });
      logger.info(
        {
          jobs: [...jobs],
          outcomes: report.outcomes,
          posted: report.posted,
          ms: Math.round(performance.now() - started),
        },
        'watch tick done',
      );
      return report;
    } catch (error) {
      for (const job of jobs) metrics.jobTicks.inc({ job, outcome: 'error' });
      logger.error({ err: error, jobs: [...jobs] }, 'watch tick failed');
      return { outcomes: Object.fromEntries([...jobs].map((j) => [j, 'error'])), posted: 0 };
    } finally {
      for (const job of jobs) running.delete(job);
      if (leaseKey !== undefined) {
        stopHeartbeat();
        await releaseTick();
      }
    }
  };

  const tick = async (at: Date = clock.now()): Promise<TickReport | undefined> => {
    const key = minuteKey(at);
    // Several expressions due in one minute fire together: the first runs everything due, the others stop here.
    if (key === lastMinute) return undefined;
    lastMinute = key;
    const minute = floorToMinute(at);
    // Services share a handful of expressions: each is matched once a tick (60 node-cron matches, ~3.5 KiB of
    // allocation), not once per service and watch (~7 MiB a tick for 1,000 services).
    const due = new Map<string, boolean>();
    const isDue = (expression: string | undefined): boolean => {
      if (expression === undefined) return false;
      let answer = due.get(expression);
      if (answer === undefined) {
        answer = cron.dueInMinute(expression, minute);
        due.set(expression, answer);
      }
      return answer;
    };
    const work: TickWork = {
      at,
      health: plan.watched.filter((w) => isDue(w.health)),
      publicIps: plan.watched.filter((w) => isDue(w.publicIps)),
      digest: isDue(plan.digest?.schedule),
    };
    return execute(work, key);
  };

  return {
    start() {
      if (stopped) throw new Error('a stopped scheduler cannot be started again; create a new one');
      for (const { target, reason } of plan.unsupported) {
        logger.warn(
          { service: target.service, environment: target.environment, reason },
          'watch: this process cannot read the runtime of this service; ignoring its health watch',
        );
      }
      if (plan.fixedAddress.length > 0) {
        logger.info(
          { services: plan.fixedAddress.map((t) => `${t.service}/${t.environment}`) },
          'watch: these services run at a fixed address; their public IPs are not watched',
        );
      }
      cron.start();
      logger.info(
        {
          services: plan.watched.length,
          health: plan.watched.filter((w) => w.health).length,
          publicIps: plan.watched.filter((w) => w.publicIps).length,
          digest: plan.digest?.schedule,
        },
        'watches scheduled',
      );
    },
    async stop() {
      stopped = true;
      cron.destroy();
      await Promise.allSettled([...inFlight]);
      await pacer.idle();
    },
    async runNow(job) {
      const at = clock.now();
      await execute(
        {
          at,
          health: job === 'health' ? plan.watched.filter((w) => w.health !== undefined) : [],
          publicIps: job === 'public-ips' ? plan.watched.filter((w) => w.publicIps !== undefined) : [],
          digest: job === 'digest' && plan.digest !== undefined,
        },
        undefined,
      );
    },
    tick,
  };
};
