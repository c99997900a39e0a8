/**
 * Approvals (DESIGN.md §3.1): a request waits in awaiting_approval until its quorum of approvers approves it, one of
 * them or its requester rejects it, or it expires. Self-approval only where the policy allows it.
 */

import type { ApprovalPolicy } from '../../config/schema.ts';
import type { DeploymentFacts } from '../../domain/deployment.ts';
import {
  type EffectivePolicy,
  enforce,
  mayApprove,
  mayApproveWithReason,
  mayReject,
  quorumOf,
  Refusal,
} from '../../domain/policy.ts';
import type { DeploymentRecord } from '../../ports.ts';
import { parseDuration } from '../duration.ts';
import { askForApproval, show } from './announce.ts';
import { apply } from './apply.ts';
import { type DeployContext, expiryOf, liveOf, memberOf, policyOf, policyView, transition } from './context.ts';
import { finish } from './outcome.ts';
import { claim, disown } from './ownership.ts';
import { rescanForApproval } from './scan.ts';

/** The longest approval reason kept (what the reason dialog lets someone type). */
export const MAX_REASON = 1000;

/** Puts a planned request before its approvers; nobody works on it while it waits. */
export const awaitApproval = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  policy: ApprovalPolicy,
  facts: DeploymentFacts,
): Promise<void> => {
  const expiresAt = new Date(ctx.deps.clock.now().getTime() + (parseDuration(policy.expiresAfter) ?? 30 * 60_000));
  liveOf(ctx, deployment.id).approvalPolicy = policyView(policy);
  const moved = await transition(ctx, deployment, 'awaiting_approval', 'dockhand', undefined, {
    ...facts,
    expiresAt: expiresAt.toISOString(),
  });
  if (!moved) return;
  armExpiry(ctx, moved, expiresAt);
  // Nobody works on a request that waits: whichever replica receives the approval takes it on.
  await disown(ctx, moved.id);
  await askForApproval(ctx, moved);
};

/**
 * Counts `user`'s approval. An image the policy's blockOn holds (its scan reached it, or has no result) is approved
 * only with a `reason`, which the audit trail keeps (`deployment.approval_reason`) once the approval is recorded.
 */
export const approve = async (ctx: DeployContext, id: string, user: string, reason?: string): Promise<void> => {
  const { store, clock } = ctx.deps;
  let deployment = await pending(ctx, id);
  enforce(await mayApprove(policyOf(ctx, deployment), deployment, user, memberOf(ctx)));
  // Under blockOn, a scan the plan left running is looked at once more; the card shows what that look found.
  const rescanned = await rescanForApproval(ctx, deployment);
  if (rescanned !== deployment) {
    deployment = rescanned;
    const updated = policyOf(ctx, deployment);
    if (updated) liveOf(ctx, id).approvalPolicy = policyView(updated);
    await show(ctx, deployment);
  }
  const decision = await mayApprove(policyOf(ctx, deployment), deployment, user, memberOf(ctx));
  enforce(decision);
  const { policy } = decision;
  enforce(mayApproveWithReason(policy, reason));
  const outcome = await store.approve(id, user, quorumOf(policy.required), clock.now());
  if (outcome.result === 'duplicate') throw new Refusal('You have already approved this deployment.');
  if (outcome.result === 'not_pending')
    throw new Refusal(`This request is ${outcome.deployment.state.replace('_', ' ')}; nothing changed.`);
  // Kept once the approval counts: a second click or a lost race leaves no reason for an approval that did not.
  const given = reason?.trim();
  if (given) await keepReason(ctx, deployment, user, given, policy);
  liveOf(ctx, id).approvalPolicy = policyView(policy);
  if (outcome.result === 'recorded') {
    await show(ctx, outcome.deployment);
    return;
  }
  disarmExpiry(ctx, id);
  await claim(ctx, id);
  await show(ctx, outcome.deployment);
  void ctx.deps.track(apply(ctx, outcome.deployment));
};

/**
 * The audit of an approval's reason. The approval is recorded already and must go on to apply: a store that fails
 * here is logged (the reason with it), not thrown.
 */
const keepReason = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  user: string,
  given: string,
  policy: EffectivePolicy,
): Promise<void> => {
  const { store, clock, logger } = ctx.deps;
  const id = deployment.id;
  try {
    await store.appendAudit({
      at: clock.now(),
      actor: user,
      action: 'deployment.approval_reason',
      service: deployment.service,
      environment: deployment.environment,
      subject: id,
      outcome: 'given',
      detail: {
        reason: given.slice(0, MAX_REASON),
        ...(policy.scanGate ? { ...policy.scanGate } : {}),
        ...(deployment.facts.scan ? { scan: deployment.facts.scan } : {}),
        ...(deployment.facts.digest ? { digest: deployment.facts.digest } : {}),
      },
    });
  } catch (e) {
    logger.error(
      { err: e, deployment: id, actor: user, reason: given.slice(0, MAX_REASON) },
      'could not keep the approval reason in the audit trail',
    );
  }
};

export const reject = async (ctx: DeployContext, id: string, user: string): Promise<void> => {
  const deployment = await pending(ctx, id);
  const decision = await mayReject(policyOf(ctx, deployment), deployment, user, memberOf(ctx));
  enforce(decision);
  const withdrawn = decision.as === 'requester';
  const rejected = await transition(
    ctx,
    deployment,
    withdrawn ? 'cancelled' : 'rejected',
    user,
    withdrawn ? 'withdrawn by the requester' : undefined,
    withdrawn ? { cancelledBy: user } : { rejectedBy: user },
  );
  if (!rejected) throw new Refusal('This request was already decided; nothing changed.');
  disarmExpiry(ctx, id);
  await finish(ctx, rejected);
};

const pending = async (ctx: DeployContext, id: string): Promise<DeploymentRecord> => {
  const deployment = await ctx.deps.store.getDeployment(id);
  if (!deployment) throw new Refusal('This deployment is unknown to dockhand.');
  if (deployment.state !== 'awaiting_approval') {
    throw new Refusal(`This request is already ${deployment.state.replace('_', ' ')}; nothing changed.`);
  }
  const expiresAt = expiryOf(deployment);
  if (expiresAt && expiresAt.getTime() <= ctx.deps.clock.now().getTime()) {
    await expire(ctx, id);
    throw new Refusal('This request has expired; nothing changed. Ask for it again.');
  }
  return deployment;
};

export const armExpiry = (ctx: DeployContext, deployment: DeploymentRecord, expiresAt: Date): void => {
  disarmExpiry(ctx, deployment.id);
  const delay = Math.max(0, expiresAt.getTime() - ctx.deps.clock.now().getTime());
  const cancel = ctx.deps.timers.after(delay, () => void ctx.deps.track(expire(ctx, deployment.id)));
  ctx.expiryTimers.set(deployment.id, cancel);
};

export const disarmExpiry = (ctx: DeployContext, id: string): void => {
  ctx.expiryTimers.get(id)?.();
  ctx.expiryTimers.delete(id);
};

/** Stops every expiry timer (shutdown); the store keeps each expiry for the next start. */
export const disarmAll = (ctx: DeployContext): void => {
  for (const id of [...ctx.expiryTimers.keys()]) disarmExpiry(ctx, id);
};

const expire = async (ctx: DeployContext, id: string): Promise<void> => {
  const deployment = await ctx.deps.store.getDeployment(id);
  if (deployment?.state !== 'awaiting_approval') return;
  // A timer waits at most 2^31-1 ms (24.8 days): one that fired before the expiry is set again.
  const expiresAt = expiryOf(deployment);
  if (expiresAt && expiresAt.getTime() > ctx.deps.clock.now().getTime()) {
    armExpiry(ctx, deployment, expiresAt);
    return;
  }
  const expired = await transition(ctx, deployment, 'expired', 'dockhand', 'nobody approved it in time');
  if (expired) await finish(ctx, expired);
};
