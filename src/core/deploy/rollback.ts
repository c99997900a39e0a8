/**
 * The Abort and Rollback buttons of a card, and `/rollback`: undoing a rollout (the runtime's `abort`), or redeploying
 * what ran before (`revisions`, and the deployment history where the runtime keeps none).
 */

import type { BreakGlass, Rollback } from '../../domain/deployment.ts';
import { enforce, mayAbort, mayRollBack, Refusal } from '../../domain/policy.ts';
import { failureLineForChannel } from '../../errors.ts';
import type { DeploymentRecord } from '../../ports.ts';
import type { ResolvedTarget } from '../targets.ts';
import { show } from './announce.ts';
import {
  type DeployContext,
  lastSucceeded,
  liveOf,
  memberOf,
  policyOf,
  type RequestOutcome,
  runtimeOf,
  targetOf,
  transition,
} from './context.ts';
import { stopFollowing } from './follow.ts';
import { request } from './request.ts';
import { previousOf, refFields, rollbackTo as rollbackRequestTo } from './revision-facts.ts';

const ABORT_LOCK_MS = 60 * 60_000;

/** Stops a rollout and returns the service to what it ran before; the lock stays until someone checked it. */
export const abort = async (ctx: DeployContext, id: string, user: string): Promise<void> => {
  const { store, clock } = ctx.deps;
  const deployment = await store.getDeployment(id);
  if (deployment?.state !== 'rolling_out')
    throw new Refusal('Only a rollout in progress can be aborted; nothing changed.');
  const runtime = runtimeOf(ctx, targetOf(ctx, deployment));
  if (!runtime.abort)
    throw new Refusal(`A rollout on ${runtime.label} is one step and cannot be aborted; nothing changed.`);
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
  const target = targetOf(ctx, deployment);
  const runtime = runtimeOf(ctx, target);
  const previous = previousOf(runtime, deployment);
  if (!previous) throw new Refusal('dockhand does not know which revision ran before this deployment.');
  const rule = `the ${refFields(runtime).noun === 'image' ? 'image that ran' : 'revision'} before #${deployment.seq}`;
  const undo = rollbackRequestTo(runtime, previous, rule, deployment.id);
  return request(ctx, { kind: 'rollback', target, user, request: undo });
};

/**
 * `/rollback`: without a revision, what ran before the last successful dockhand deployment (which it then marks
 * rolled back), or what the runtime knows ran before; with a revision, that one (see rollbackRequest).
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

/**
 * After an abort, returns the service to the revision it ran before the rollout (as the record knows it, read before
 * the abort was written: the runtime's own rollback, else a change back). The record with how it was done, or
 * undefined when nothing was known or it could not be done (logged, and shown on the card).
 */
const restoreAfterAbort = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
): Promise<DeploymentRecord | undefined> => {
  const { logger, store, clock } = ctx.deps;
  const id = deployment.id;
  const target = targetOf(ctx, deployment);
  const runtime = runtimeOf(ctx, target);
  const previous = previousOf(runtime, deployment);
  if (!previous || !runtime.abort) return undefined;
  const current = deployment.facts[refFields(runtime).ref];
  const applied = {
    rolloutId: deployment.facts.ecsDeploymentId,
    ...(typeof current === 'string'
      ? { revision: { ref: current, revision: deployment.facts.revision ?? current } }
      : {}),
    done: false,
  };
  const restored = await runtime.abort(target, applied, previous).catch((e: unknown) => {
    logger.error({ err: e, deployment: id }, 'could not restore the previous revision after an abort');
    liveOf(ctx, id).failure = { restore: { revision: previous.revision, reason: failureLineForChannel(e) } };
  });
  if (!restored) return undefined;
  logger.info(
    { deployment: id, method: restored.method, fallbackReason: restored.fallbackReason },
    'restored the previous revision after an abort',
  );
  return store.updateDeployment(id, { facts: { abortMethod: restored.method } }, clock.now());
};

/**
 * `/rollback`: what to go back to on this target, or why not. Without a revision, what ran before the last
 * successful dockhand deployment (if it is not what runs now), else, where the runtime keeps revisions, the newest
 * older one; with a revision, that one, if the runtime keeps it.
 */
const rollbackRequest = async (
  ctx: DeployContext,
  target: ResolvedTarget,
  revision: number | undefined,
): Promise<{ request: Rollback } | { refused: string }> => {
  const runtime = runtimeOf(ctx, target);
  const where = `\`${target.service}\` in \`${target.environment}\``;
  // Revisions that are images have no numbers and are not kept: the deployment history is all there is.
  const numbered = refFields(runtime).noun === 'revision';
  if (revision !== undefined) {
    if (!numbered) {
      return {
        refused: `${where} runs on ${runtime.label}, which has no revisions: \`/rollback ${target.service} in ${target.environment}\` restores the previous image.`,
      };
    }
    const list = await runtime.revisions(target, 2000);
    const current = list.current;
    if (current?.number === revision) return { refused: `${where} already runs \`${current.revision}\`.` };
    const found = list.others?.find((r) => r.number === revision);
    if (!found) return { refused: `revision ${revision} is not an ACTIVE revision of family ${list.series}.` };
    return { request: rollbackRequestTo(runtime, found, 'the revision asked for') };
  }
  const last = await lastSucceeded(ctx, target.service, target.environment);
  const previous = last ? previousOf(runtime, last) : undefined;
  if (!numbered) {
    if (!last || !previous) return { refused: `dockhand has no earlier image of ${where} to go back to.` };
    return {
      request: rollbackRequestTo(runtime, previous, `the image that ran before deployment #${last.seq}`, last.id),
    };
  }
  // The other revisions are read only when the history does not answer (as few calls as before the port).
  let list = await runtime.revisions(target, last && previous ? 0 : 100);
  if (last && previous) {
    if (previous.ref !== list.current?.ref) {
      return {
        request: rollbackRequestTo(runtime, previous, `the revision that ran before deployment #${last.seq}`, last.id),
      };
    }
    list = await runtime.revisions(target, 100);
  }
  const currentNumber = list.current?.number ?? 0;
  const older = list.others?.find((r) => (r.number ?? 0) < currentNumber);
  if (!older) {
    return {
      refused: `dockhand has no deployment of ${where} to undo, and family ${list.series} has no ACTIVE revision before ${currentNumber}.`,
    };
  }
  return {
    request: rollbackRequestTo(
      runtime,
      older,
      `the previous ACTIVE revision of family ${list.series} (dockhand has no deployment to undo)`,
    ),
  };
};
