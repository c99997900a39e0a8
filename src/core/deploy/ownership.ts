/**
 * Which replica works on a deployment: a lease in the store, renewed while the work goes on, so that a restarting or
 * second replica neither closes nor duplicates work that is alive elsewhere.
 */
import type { DeployContext } from './context.ts';

/** How long a replica's claim on a deployment lasts without renewal (renewed every third of it). */
export const OWNERSHIP_LEASE_MS = 45_000;

const leaseName = (id: string): string => `deployment:${id}`;

/** Takes (or confirms) this process's ownership of a deployment. */
export const claim = async (ctx: DeployContext, id: string): Promise<boolean> => {
  const { store, clock, instance, logger, timers } = ctx.deps;
  const won = await store.tryLease(leaseName(id), instance, OWNERSHIP_LEASE_MS, clock.now());
  if (won && !ctx.owned.has(id)) {
    const cancel = timers.every(OWNERSHIP_LEASE_MS / 3, () => {
      store
        .tryLease(leaseName(id), instance, OWNERSHIP_LEASE_MS, clock.now())
        .then((kept) => {
          if (!kept) logger.warn({ deployment: id }, 'lost the ownership lease of a deployment');
        })
        .catch((err: unknown) => logger.warn({ err, deployment: id }, 'could not renew a deployment lease'));
    });
    ctx.owned.set(id, cancel);
  }
  return won;
};

/** Gives a deployment up (it ended, or it waits for someone): the lease runs out at once. */
export const disown = async (ctx: DeployContext, id: string): Promise<void> => {
  ctx.owned.get(id)?.();
  ctx.owned.delete(id);
  await ctx.deps.store
    .tryLease(leaseName(id), ctx.deps.instance, 0, ctx.deps.clock.now())
    .catch((err: unknown) => ctx.deps.logger.warn({ err, deployment: id }, 'could not give a deployment lease up'));
};

/** Stops renewing every lease (shutdown); they run out by themselves. */
export const stopRenewing = (ctx: DeployContext): void => {
  for (const cancel of ctx.owned.values()) cancel();
  ctx.owned.clear();
};
