/**
 * Restart recovery (DESIGN.md §3.1): on start-up, and then every sweep, the deployments nobody works on any more
 * (their owner's lease ran out: a restart, a crash, a replica gone) are taken on — rollouts followed again,
 * interrupted work closed — approval expiry re-armed, and locks of deployments that ended released.
 */
import { DockhandError } from '../../errors.ts';
import { isTerminal } from '../../ports.ts';
import { armExpiry } from './approvals.ts';
import { ACTIVE, type DeployContext, expiryOf } from './context.ts';
import { follow } from './follow.ts';
import { adoptInterrupted, deregisterUnstarted, undoInterrupted } from './on-target.ts';
import { fail } from './outcome.ts';
import { claim, disown } from './ownership.ts';

/** How often deployments whose owner went away are looked for. */
const OWNERSHIP_SWEEP_MS = 15_000;

/** Recovers now, then keeps looking every sweep. Deployments another live replica works on are left alone. */
export const resume = async (ctx: DeployContext): Promise<void> => {
  await recover(ctx, true);
  if (!ctx.sweep) ctx.sweep = ctx.deps.timers.every(OWNERSHIP_SWEEP_MS, () => void ctx.deps.track(recover(ctx, false)));
};

/** Stops the sweep (shutdown). */
export const stopSweeping = (ctx: DeployContext): void => {
  ctx.sweep?.();
  ctx.sweep = undefined;
};

const recover = async (ctx: DeployContext, startup: boolean): Promise<void> => {
  const { store, clock, logger } = ctx.deps;
  const open = await store.listDeployments({ states: ACTIVE, limit: 1000 }).catch((err: unknown) => {
    logger.error({ err }, 'could not list open deployments');
    return [];
  });
  for (const deployment of open) {
    try {
      if (deployment.state === 'awaiting_approval') {
        const expiresAt = expiryOf(deployment);
        if (startup && expiresAt) armExpiry(ctx, deployment, expiresAt);
        continue;
      }
      if (ctx.owned.has(deployment.id) || !(await claim(ctx, deployment.id))) continue;
      const adopted = await adoptInterrupted(ctx, deployment);
      if (adopted) {
        const resumed = adopted === true ? deployment : adopted;
        logger.info({ deployment: deployment.id }, 'resuming the watch of an interrupted rollout');
        void ctx.deps.track(follow(ctx, resumed).catch((e: unknown) => fail(ctx, resumed, e)));
      } else {
        const doing = deployment.state.replace('_', ' ');
        const deregistered = adopted === false ? await deregisterUnstarted(ctx, deployment) : undefined;
        // A host out of reach must not keep the deployment (and its lock) open: it is closed as "may be partly
        // running", the next step left to whoever checks /status.
        const restored =
          adopted !== false && deployment.state === 'rolling_out'
            ? await undoInterrupted(ctx, deployment).catch((err: unknown) => {
                logger.warn({ err, deployment: deployment.id }, 'could not undo an interrupted rollout on its host');
                return undefined;
              })
            : undefined;
        const next =
          adopted === false
            ? `ECS did not start rolling it out (the service does not run this deployment's revision): nothing was rolled out; request it again.${deregistered ? ` ${deregistered}` : ''}`
            : restored
              ? restored
              : deployment.state === 'rolling_out'
                ? `The new version may be partly running: check \`/status ${deployment.service} in ${deployment.environment}\`, then deploy again or roll back.`
                : 'Nothing was rolled out; request it again.';
        await fail(
          ctx,
          deployment,
          new DockhandError('conflict', `Interrupted: dockhand restarted while this deployment was ${doing}. ${next}`),
        );
      }
    } catch (e) {
      logger.error({ err: e, deployment: deployment.id }, 'could not recover a deployment after a restart');
      // Given up, so the next sweep tries again: kept, it would be skipped as ours for good, its lock held.
      if (ctx.owned.has(deployment.id)) await disown(ctx, deployment.id);
    }
  }
  for (const lock of await store.listLocks(clock.now())) {
    if (!lock.owner.startsWith('dep_')) continue;
    const owner = await store.getDeployment(lock.owner);
    if (!owner || (isTerminal(owner.state) && owner.state !== 'aborted')) await store.releaseLock(lock, lock.owner);
  }
};
