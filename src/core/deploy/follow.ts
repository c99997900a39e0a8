/**
 * Following a rollout to its outcome: look every `pollMs`, let the rollout rule decide (completed, failed, in
 * progress), back off with jitter when throttled or when a look fails for a passing reason, and give up after the
 * environment's rolloutTimeout. Each look is the runtime's `progress`; its verdict is the core's rule
 * (rollout-rule.ts `assessRollout`) over what the runtime observed.
 */
import { requiredFact } from '../../domain/deployment.ts';
import { DockhandError } from '../../errors.ts';
import type { DeploymentRecord, RolloutProgress } from '../../ports.ts';
import { formatDuration, parseDuration } from '../duration.ts';
import type { ResolvedTarget } from '../targets.ts';
import { show } from './announce.ts';
import { type DeployContext, liveOf, targetOf } from './context.ts';
import { fail, succeed } from './outcome.ts';
import { describeUnhealthyTargets } from './rollout-rule.ts';

const MAX_BACKOFF_MS = 32_000;

/**
 * When following gives up: `rolloutTimeout` after the rollout started, plus the bake time while a staged rollout that
 * bakes (ECS blue/green, up to 1440 minutes) is in progress. The runtime bakes on its own clock: a timeout mid-bake
 * would fail a rollout and release the lock while it still goes on.
 */
export const rolloutDeadline = (
  startedAt: Date,
  timeoutMs: number,
  rollout: RolloutProgress | undefined,
): { at: Date; bakeMinutes: number } => {
  const staged = rollout?.staged;
  const bakeMinutes = staged?.status === 'in_progress' ? Math.max(0, staged.bakeMinutes ?? 0) : 0;
  return { at: new Date(startedAt.getTime() + timeoutMs + bakeMinutes * 60_000), bakeMinutes };
};

/** Consecutive failed looks at a rollout (other than throttling) before the deployment is failed. */
const MAX_POLL_FAILURES = 5;

/** What following a rollout needs from its runtime. */
interface RolloutProbe {
  /** One look: the rollout rule's verdict and the card's progress. */
  look(): Promise<RolloutProgress>;
  /** The last log lines of these stopped tasks, for a failed rollout's card. */
  logLines(taskIds: string[], limit: number): Promise<string[]>;
  /** Whether a failed look is worth repeating: permanent (give up), throttled (back off), passing (a few times). */
  classify(error: unknown): 'permanent' | 'throttled' | 'passing';
  /** The failure reason when the target gives none. */
  failedWithoutReason: string;
}

/** A look at the rollout `deployment` started, through its target's runtime. */
const rolloutProbe = (ctx: DeployContext, target: ResolvedTarget, deployment: DeploymentRecord): RolloutProbe => {
  const runtime = ctx.deps.runtimes.for(target);
  const applied = {
    rolloutId: requiredFact(deployment, 'ecsDeploymentId'),
    done: false,
    countOnly: deployment.request.type === 'scale',
  };
  return {
    look: () => runtime.progress(target, applied),
    logLines: (unitIds, limit) => runtime.recentLines(target, unitIds, limit),
    classify: (e) => runtime.classify(e),
    failedWithoutReason: runtime.unexplainedFailure,
  };
};

/** Follows the rollout this run started until it completed, failed, was aborted or timed out. */
export const follow = async (ctx: DeployContext, deployment: DeploymentRecord): Promise<void> => {
  const { clock, logger, random, pollMs } = ctx.deps;
  const target = targetOf(ctx, deployment);
  const probe = rolloutProbe(ctx, target, deployment);
  const startedAt = new Date(deployment.facts.rolloutStartedAt ?? deployment.updatedAt);
  const timeoutMs = parseDuration(target.envConfig.rolloutTimeout) ?? 30 * 60_000;
  const controller = new AbortController();
  ctx.watchers.set(deployment.id, controller);
  const live = liveOf(ctx, deployment.id);
  let delay = pollMs;
  let failures = 0;
  try {
    for (;;) {
      if (controller.signal.aborted) return;
      try {
        const progress = await probe.look();
        delay = pollMs;
        failures = 0;
        const deadline = rolloutDeadline(startedAt, timeoutMs, progress);
        live.rollout =
          deadline.bakeMinutes > 0
            ? {
                ...progress,
                timeoutExtended: {
                  until: deadline.at,
                  timeout: target.envConfig.rolloutTimeout,
                  bakeMinutes: deadline.bakeMinutes,
                },
              }
            : progress;
        if (controller.signal.aborted) return;
        if (progress.outcome === 'completed') {
          await succeed(ctx, deployment);
          return;
        }
        if (progress.outcome === 'failed') {
          const taskIds = progress.stoppedTasks.map((g) => g.exampleTaskId);
          const logLines = await probe.logLines(taskIds, 20).catch(() => []);
          live.failure = { logLines };
          const reason = progress.reason ?? progress.stoppedTasks[0]?.reason ?? probe.failedWithoutReason;
          await fail(ctx, deployment, new DockhandError('aws', `Rollout failed: ${reason}`));
          return;
        }
        await show(ctx, deployment);
      } catch (e) {
        // Throttling and passing faults (network, 5xx, timeouts after the SDK's own retries) must not end a
        // rollout that the target is still carrying out: back off and look again, a bounded number of times in a row.
        const fault = probe.classify(e);
        if (fault === 'permanent' || (fault !== 'throttled' && ++failures > MAX_POLL_FAILURES)) throw e;
        delay = Math.min(MAX_BACKOFF_MS, delay * 2) * (0.75 + random.fraction() * 0.5);
        logger.warn(
          { deployment: deployment.id, delayMs: Math.round(delay), err: e },
          'rollout polling failed; backing off',
        );
      }
      const deadline = rolloutDeadline(startedAt, timeoutMs, live.rollout);
      if (clock.now().getTime() > deadline.at.getTime()) {
        // Behind a load balancer, a rollout ECS completed may time out waiting for healthy targets: say which.
        const waiting = live.rollout?.outcome === 'in_progress' ? (live.rollout.unhealthyTargets ?? []) : [];
        const why = waiting.length > 0 ? `: ${describeUnhealthyTargets(waiting)}` : '';
        const bake =
          deadline.bakeMinutes > 0 ? ` and its ${formatDuration(deadline.bakeMinutes * 60_000)} bake time` : '';
        await fail(
          ctx,
          deployment,
          new DockhandError(
            'timeout',
            `The rollout did not finish within ${target.envConfig.rolloutTimeout}${bake}${why}.`,
          ),
        );
        return;
      }
      await clock.sleep(delay, controller.signal).catch(() => {});
    }
  } finally {
    ctx.watchers.delete(deployment.id);
  }
};

/** Stops following one rollout (abort). */
export const stopFollowing = (ctx: DeployContext, id: string): void => ctx.watchers.get(id)?.abort();

/** Stops following every rollout (shutdown); the store keeps them for the next start. */
export const stopAllFollowing = (ctx: DeployContext): void => {
  for (const controller of ctx.watchers.values()) controller.abort();
};
