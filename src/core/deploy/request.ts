/**
 * A request (/deploy, /restart, /scale, /rollback): who may ask, the (service, environment) lock, the record and its
 * card, then — after the command was acknowledged — the plan, and approval or execution. `--dry-run` plans only.
 */

import { triggerOf } from '../../domain/deployment.ts';
import { enforce, mayRequest, Refusal } from '../../domain/policy.ts';
import type { DeploymentRecord } from '../../ports.ts';
import type { Runtime } from '../runtime.ts';
import type { ResolvedTarget } from '../targets.ts';
import { postCard } from './announce.ts';
import { apply } from './apply.ts';
import { awaitApproval } from './approvals.ts';
import {
  type DeployContext,
  liveOf,
  memberOf,
  newDeploymentId,
  type OperationRequest,
  policyOf,
  policyView,
  type RequestOutcome,
  runtimeOf,
  transition,
} from './context.ts';
import { fail } from './outcome.ts';
import { claim } from './ownership.ts';
import { plan } from './plan.ts';
import type { DeploymentView } from './view.ts';

export const request = async (ctx: DeployContext, input: OperationRequest): Promise<RequestOutcome> => {
  const { store, clock, random } = ctx.deps;
  const { target, user } = input;
  enforce(await mayRequest(input.kind, target, user, memberOf(ctx), via(input)));
  const runtime = runtimeOf(ctx, target);
  if (input.dryRun) return { result: 'dry_run', view: await dryRun(ctx, input, runtime) };

  const id = newDeploymentId(random);
  const now = clock.now();
  const lock = await store.acquireLock(
    {
      service: target.service,
      environment: target.environment,
      owner: id,
      instance: ctx.deps.instance,
      holder: user,
      reason: `${input.kind} requested`,
    },
    now,
  );
  if (!lock.acquired) throw new Refusal(await lockedMessage(ctx, target, lock.held));

  let deployment: DeploymentRecord;
  try {
    deployment = await store.createDeployment(
      {
        id,
        kind: input.kind,
        service: target.service,
        environment: target.environment,
        state: 'requested',
        requestedBy: user,
        request: input.request,
      },
      now,
    );
  } catch (e) {
    await store.releaseLock({ service: target.service, environment: target.environment }, id);
    throw e;
  }
  await claim(ctx, id);
  // The card is posted before the request is answered: a card that cannot be posted (dockhand not in the
  // channel, a missing scope) fails the deployment and reaches the requester instead of vanishing into a log.
  try {
    deployment = await postCard(ctx, deployment, target.channel);
  } catch (e) {
    await fail(ctx, deployment, e).catch((err: unknown) =>
      ctx.deps.logger.error({ err, deployment: id }, 'could not close a deployment whose card was not posted'),
    );
    throw e;
  }
  void ctx.deps.track(prepare(ctx, deployment, runtime));
  return { result: 'started', deployment };
};

/** A hook's request: its source and branch, for the policy. A hook's request that names no trigger is refused. */
const via = (input: OperationRequest): { source: 'ci' | 'github'; branch: string } | undefined => {
  if (!input.triggered) return undefined;
  const trigger = triggerOf(input.request);
  if (!trigger) throw new Refusal('A hook’s request must say which delivery asked for it.');
  return { source: trigger.source, branch: trigger.branch };
};

/** Plans, then asks for approval or runs at once. Runs after the command was acknowledged. */
const prepare = async (ctx: DeployContext, deployment: DeploymentRecord, runtime: Runtime): Promise<void> => {
  try {
    const facts = await plan(ctx, deployment, runtime);
    // The plan's facts may weigh on the policy (an image scan at or above blockOn adds an approval).
    const policy = policyOf(ctx, { ...deployment, facts });
    if (policy) {
      await awaitApproval(ctx, deployment, policy, facts);
      return;
    }
    const approved = await transition(
      ctx,
      deployment,
      'approved',
      'dockhand',
      'no approval needed',
      facts,
      // Approvals move awaiting_approval → approved through the store's count; this one only skips the wait.
      ['requested'],
    );
    if (approved) await apply(ctx, approved);
  } catch (e) {
    await fail(ctx, deployment, e);
  }
};

const dryRun = async (ctx: DeployContext, input: OperationRequest, runtime: Runtime): Promise<DeploymentView> => {
  const now = ctx.deps.clock.now();
  const record: DeploymentRecord = {
    id: 'dry-run',
    seq: 0,
    kind: input.kind,
    service: input.target.service,
    environment: input.target.environment,
    state: 'requested',
    requestedBy: input.user,
    requestedAt: now,
    updatedAt: now,
    request: input.request,
    facts: {},
    approvals: [],
  };
  const facts = await plan(ctx, record, runtime);
  const live = liveOf(ctx, record.id);
  ctx.live.delete(record.id);
  const policy = policyOf(ctx, { ...record, facts });
  return { ...record, facts, ...live, ...(policy ? { approvalPolicy: policyView(policy) } : {}) };
};

/** Who holds the lock a request was refused on, for the refusal's words. */
const lockedMessage = async (
  ctx: DeployContext,
  target: ResolvedTarget,
  held: { owner: string; holder: string; reason?: string | undefined; acquiredAt: Date },
): Promise<string> => {
  const owner = held.owner.startsWith('dep_') ? await ctx.deps.store.getDeployment(held.owner) : undefined;
  return ctx.deps.refusals({
    kind: 'locked',
    service: target.service,
    environment: target.environment,
    holder: held.holder,
    reason: held.reason,
    acquiredAt: held.acquiredAt,
    manual: !owner && held.owner.startsWith('manual:'),
    deployment: owner ? { seq: owner.seq, state: owner.state, requestedBy: owner.requestedBy } : undefined,
  });
};
