/** The Abort and Rollback buttons of a card, and `/rollback`: undoing a rollout, or redeploying what ran before. */

import type { BreakGlass } from '../../domain/deployment.ts';
import { enforce, mayAbort, mayRollBack, Refusal } from '../../domain/policy.ts';
import type { ResolvedTarget } from '../targets.ts';
import { show } from './announce.ts';
import { type DeployContext, memberOf, policyOf, type RequestOutcome, transition } from './context.ts';
import { stopFollowing } from './follow.ts';
import { abortRefusal, restoreAfterAbort, rollbackOfRequest, rollbackRequest } from './on-target.ts';
import { request } from './request.ts';

const ABORT_LOCK_MS = 60 * 60_000;

/** Stops a rollout and returns the service to what it ran before; the lock stays until someone checked it. */
export const abort = async (ctx: DeployContext, id: string, user: string): Promise<void> => {
  const { store, clock } = ctx.deps;
  const deployment = await store.getDeployment(id);
  if (deployment?.state !== 'rolling_out')
    throw new Refusal('Only a rollout in progress can be aborted; nothing changed.');
  const cannot = abortRefusal(ctx, deployment);
  if (cannot) throw new Refusal(cannot);
  enforce(await mayAbort(policyOf(ctx, deployment), deployment, user, memberOf(ctx)));
  const aborted = await transition(ctx, deployment, 'aborted', user, undefined, { abortedBy: user });
  if (!aborted) throw new Refusal('The rollout already ended; nothing changed.');
  stopFollowing(ctx, id);
  await store.acquireLock(
    {
      service: deployment.service,
      environment: deployment.environment,
      owner: deployment.id,
      instance: ctx.deps.instance,
      holder: user,
      reason: `rollout #${deployment.seq} aborted by ${user}; /dockhand unlock when the service is checked`,
      expiresAt: new Date(clock.now().getTime() + ABORT_LOCK_MS),
    },
    clock.now(),
  );
  const restored = await restoreAfterAbort(ctx, deployment);
  await show(ctx, restored ?? aborted, true);
};

/** The Rollback button of a failed or succeeded deployment: redeploys what it replaced. */
export const rollbackOf = async (ctx: DeployContext, id: string, user: string): Promise<RequestOutcome> => {
  const deployment = await ctx.deps.store.getDeployment(id);
  if (!deployment) throw new Refusal('This deployment is unknown to dockhand.');
  const undo = rollbackOfRequest(ctx, deployment);
  if (!undo) throw new Refusal('dockhand does not know which revision ran before this deployment.');
  return request(ctx, { kind: 'rollback', target: undo.target, user, request: undo.request });
};

/**
 * `/rollback`: without a revision, what ran before the last successful dockhand deployment (which it then marks
 * rolled back), or what the target knows ran before; with a revision, that one (see on-target.ts).
 */
export const rollbackTo = async (
  ctx: DeployContext,
  target: ResolvedTarget,
  user: string,
  revision?: number,
  /** Merged into the request: break-glass (`--emergency`) when it was asked during a freeze or a closed window. */
  extra: BreakGlass = {},
): Promise<RequestOutcome> => {
  // Who may deploy is checked before anything is read from AWS (request() checks it again, cheaply).
  enforce(await mayRollBack(target, user, memberOf(ctx)));
  const found = await rollbackRequest(ctx, target, revision);
  if ('refused' in found) throw new Refusal(found.refused);
  return request(ctx, { kind: 'rollback', target, user, request: { ...found.request, ...extra } });
};
