/**
 * Restart recovery (DESIGN.md §3.1): on start-up, and then every sweep, the deployments nobody works on any more
 * (their owner's lease ran out: a restart, a crash, a replica gone) are taken on — rollouts followed again,
 * interrupted work closed — approval expiry re-armed, and locks of deployments that ended released.
 */
import { isTerminal } from '../../domain/deployment.ts';
import { DockhandError } from '../../errors.ts';
import type { DeploymentRecord } from '../../ports.ts';
import { recoverBounds } from '../operate/autoscaling.ts';
import { isOneStep, type Recovery, type Runtime } from '../runtime.ts';
import type { ResolvedTarget } from '../targets.ts';
import { armExpiry } from './approvals.ts';
import { ACTIVE, type DeployContext, expiryOf, targetOf } from './context.ts';
import { follow } from './follow.ts';
import { fail } from './outcome.ts';
import { claim, disown } from './ownership.ts';
import { refFields } from './revision-facts.ts';

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
      if (deployment.state === 'rolling_out' && deployment.request.type === 'scaleBounds') {
        await recoverBounds(ctx, deployment, deployment.request); // nothing was deployed: the bounds tell
        continue;
      }
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

/**
 * A rollout found on restart: true when the rollout the runtime started is known (follow it); when the change was in
 * flight (sent, no answer stored), the record completed with the rollout if the runtime applied it, or false when it
 * did not; undefined when nobody can tell (AWS did not answer), or when the runtime finishes changes in one step
 * (see undoInterrupted).
 */
const adoptInterrupted = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
): Promise<DeploymentRecord | boolean | undefined> => {
  if (deployment.state !== 'rolling_out') return undefined;
  if (typeof deployment.facts.ecsDeploymentId === 'string') return true;
  const sentAt = deployment.facts.updateServiceSentAt;
  if (typeof sentAt !== 'string' || deployment.kind === 'scale') return undefined;
  const where = placeOf(ctx, deployment);
  if (!where || isOneStep(where.runtime)) return undefined;
  const { store, clock, logger } = ctx.deps;
  const ref = deployment.facts[refFields(where.runtime).ref];
  let found: Recovery;
  try {
    found = await where.runtime.recover(where.target, {
      operationId: deployment.id,
      sentAt: new Date(sentAt),
      ...(typeof ref === 'string' ? { revision: { ref, revision: deployment.facts.revision ?? ref } } : {}),
    });
  } catch (err) {
    logger.warn({ err, deployment: deployment.id }, 'could not read what the service runs after a restart');
    return undefined;
  }
  if (found.result !== 'resume') return false;
  logger.info(
    { deployment: deployment.id, ecsDeploymentId: found.rolloutId },
    'ECS applied the UpdateService that was in flight when dockhand stopped',
  );
  return store.updateDeployment(
    deployment.id,
    { facts: { ecsDeploymentId: found.rolloutId, rolloutStartedAt: sentAt } },
    clock.now(),
  );
};

/** The target and runtime of a deployment; undefined when its service left dockhand.yml or nothing here runs it. */
const placeOf = (
  ctx: DeployContext,
  deployment: DeploymentRecord,
): { target: ResolvedTarget; runtime: Runtime } | undefined => {
  try {
    const target = targetOf(ctx, deployment);
    return { target, runtime: ctx.deps.runtimes.for(target) };
  } catch {
    return undefined; // nothing to read: it is closed
  }
};

/**
 * A revision registered for a rollout the runtime never started, dropped (nothing will run it); a sentence for the
 * card, if it was (a DeregisterTaskDefinition that failed is logged).
 */
const deregisterUnstarted = async (ctx: DeployContext, deployment: DeploymentRecord): Promise<string | undefined> => {
  const { logger } = ctx.deps;
  const where = placeOf(ctx, deployment);
  if (!where) return undefined;
  const ref = deployment.facts[refFields(where.runtime).ref];
  if (deployment.kind !== 'deploy' || typeof ref !== 'string') return undefined;
  const revision = deployment.facts.revision ?? ref;
  try {
    await where.runtime.discard(where.target, { ref, revision });
  } catch (err) {
    logger.warn({ deployment: deployment.id, err }, 'could not deregister the unused task definition revision');
    return undefined;
  }
  logger.info({ deployment: deployment.id, revision }, 'deregistered a task definition revision nothing runs');
  return `The unused revision ${revision} was deregistered.`;
};

/**
 * A one-step rollout (a Docker host) a crash cut off, undone as far as the runtime can: the new units that never
 * took over removed, the old ones it had stopped started again; those that had already taken over stay. What runs
 * now and what to do next, for the card; undefined where changes are followed rollouts (they are adopted instead).
 */
const undoInterrupted = async (ctx: DeployContext, deployment: DeploymentRecord): Promise<string | undefined> => {
  const where = placeOf(ctx, deployment);
  if (!where || !isOneStep(where.runtime)) return undefined;
  const since = new Date(deployment.facts.rolloutStartedAt ?? deployment.updatedAt);
  const recovery = await where.runtime.recover(where.target, { operationId: deployment.id, sentAt: since });
  if (recovery.result !== 'undone') return undefined;
  const { restarted, tookOver } = recovery;
  if (tookOver.length > 0) {
    // No /rollback hint: it restores what ran before the last *successful* deployment, one version too far.
    const status = `check \`/status ${deployment.service} in ${deployment.environment}\``;
    return deployment.kind === 'scale'
      ? `The containers it had added keep running (${tookOver.join(', ')}): ${status}.`
      : `The new version had already taken over and keeps running (${tookOver.join(', ')}): ${status}.`;
  }
  return restarted.length > 0
    ? `The previous container was started again (${restarted.join(', ')}). Deploy again when ready.`
    : 'The previous containers keep running; the new ones were removed. Deploy again when ready.';
};
