/** How a deployment ends: succeeded, failed, or any terminal state reached (card finished, lock released). */
import { type DeploymentFacts, isTerminal } from '../../domain/deployment.ts';
import { DockhandError, messageForChannel } from '../../errors.ts';
import type { DeploymentRecord } from '../../ports.ts';
import { show } from './announce.ts';
import { type DeployContext, liveOf, transition } from './context.ts';
import { disown } from './ownership.ts';

export const succeed = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  facts: DeploymentFacts = {},
): Promise<void> => {
  const now = ctx.deps.clock.now();
  const live = liveOf(ctx, deployment.id);
  const tasks = live.rollout?.tasks ?? [];
  const publicIps = tasks.map((t) => t.publicIp).filter((ip): ip is string => ip !== undefined);
  const startedAt = new Date(deployment.facts.rolloutStartedAt ?? deployment.requestedAt);
  const done = await transition(ctx, deployment, 'succeeded', 'dockhand', undefined, {
    publicIps,
    runningCount: live.rollout?.deployment?.running ?? tasks.length,
    durationMs: now.getTime() - deployment.requestedAt.getTime(),
    rolloutDurationMs: now.getTime() - startedAt.getTime(),
    ...facts,
  });
  if (!done) return;
  const undone =
    deployment.request.type === 'rollback' && deployment.request.undoes !== undefined
      ? await ctx.deps.store.getDeployment(deployment.request.undoes)
      : undefined;
  if (undone) {
    await transition(ctx, undone, 'rolled_back', deployment.requestedBy, `rolled back by #${deployment.seq}`).then(
      (moved) => (moved ? show(ctx, moved, true) : undefined),
    );
  }
  await finish(ctx, done);
};

export const fail = async (ctx: DeployContext, deployment: DeploymentRecord, error: unknown): Promise<void> => {
  const { store, logger } = ctx.deps;
  const current = (await store.getDeployment(deployment.id).catch(() => undefined)) ?? deployment;
  if (isTerminal(current.state)) return;
  const live = liveOf(ctx, deployment.id);
  if (error instanceof DockhandError && error.name === 'BuildFailedError') {
    const build = error as DockhandError & { step?: string; output?: readonly string[] };
    live.failure = { ...live.failure, step: build.step, output: [...(build.output ?? [])] };
  }
  if (error instanceof DockhandError && error.hint) live.failure = { ...live.failure, hint: error.hint };
  // The card's reason: an AWS error's action and code, not AWS's message (it can name the account and the role).
  const message =
    error instanceof DockhandError
      ? messageForChannel(error)
      : 'dockhand failed unexpectedly; the details are in its log.';
  if (!(error instanceof DockhandError) || error.code === 'internal')
    logger.error({ err: error, deployment: deployment.id }, 'deployment failed');
  else logger.info({ deployment: deployment.id, reason: error.message }, 'deployment failed');
  const failed = await transition(ctx, current, 'failed', 'dockhand', message, { failedIn: current.state });
  if (failed) await finish(ctx, failed);
};

/** Terminal state reached: card finished at once, lock released (an abort keeps it, with its reason). */
export const finish = async (ctx: DeployContext, deployment: DeploymentRecord): Promise<void> => {
  const { store } = ctx.deps;
  if (deployment.state !== 'aborted') {
    await store.releaseLock({ service: deployment.service, environment: deployment.environment }, deployment.id);
  }
  await show(ctx, deployment, true);
  ctx.live.delete(deployment.id);
  await disown(ctx, deployment.id);
};
