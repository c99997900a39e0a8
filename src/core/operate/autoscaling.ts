/**
 * `/scale` where an auto scaler owns the count (ECS: Application Auto Scaling's scalable target of the service's
 * desired count), through the Runtime port's optional `autoScaling`; nothing here knows which runtime has one.
 *
 *   `/scale api 4`     auto scaled: refused, naming the bounds and count now and the bounds command to use
 *                      instead; not auto scaled (or a runtime without an auto scaler, or a role not allowed to
 *                      read it: warned in the log): a count, as always.
 *   `/scale api 2..8`  auto scaled: a `scaleBounds` request (same lock, card, approval and window rules as a count);
 *                      not auto scaled: refused (dockhand does not register a scalable target: that also needs
 *                      policies, which belong to the service's infrastructure code).
 *
 * AWS calls: one DescribeScalableTargets per /scale of an ECS service (plus one DescribeServices when it refuses a
 * count, for the count now); one DescribeScalableTargets (still there?) and one RegisterScalableTarget
 * per approved bounds change; none per watch tick.
 */
import type { ScaleBounds } from '../../domain/deployment.ts';
import { Refusal } from '../../domain/policy.ts';
import { AwsError, DockhandError, isAccessDenied, reasonForChannel } from '../../errors.ts';
import type { DeploymentRecord } from '../../ports.ts';
import { show } from '../deploy/announce.ts';
import { type DeployContext, runtimeOf, targetOf, transition } from '../deploy/context.ts';
import { fail, finish } from '../deploy/outcome.ts';
import { type AutoScalingDetail, describeTarget, type Runtime, type Runtimes, type ScalingBounds } from '../runtime.ts';
import type { ResolvedTarget } from '../targets.ts';
import { checkScaleCount, scaleBounds } from './scale.ts';

/** Scaling activities /status shows. */
export const STATUS_ACTIVITIES = 3;

/** Both bounds within the environment's `scale: { min, max }` (no AWS call when outside). */
export const checkBoundsRequest = (target: ResolvedTarget, bounds: ScalingBounds): ScalingBounds => {
  checkScaleCount(target, bounds.min);
  checkScaleCount(target, bounds.max);
  return bounds;
};

/**
 * The bounds command offered instead of a count: the asked count as the new minimum or maximum, whichever moves
 * (a count above the max raises the max, one below the min lowers the min; in between, it becomes the min), kept
 * within the environment's bounds.
 */
export const suggestedBounds = (target: ResolvedTarget, count: number, now: ScalingBounds): ScalingBounds => {
  const allowed = scaleBounds(target);
  const clamp = (n: number) => Math.min(allowed.max, Math.max(allowed.min, n));
  if (count > now.max) return { min: clamp(Math.min(now.min, count)), max: clamp(count) };
  return { min: clamp(count), max: clamp(Math.max(now.max, count)) };
};

/**
 * Before a count is requested: when an auto scaler owns the service's count, refuses it (a Refusal naming the bounds,
 * the count now and the bounds command to use). One read of the auto scaler, where the runtime has one.
 */
export const checkCountNotAutoScaled = async (
  runtimes: Runtimes,
  target: ResolvedTarget,
  count: number,
  onUnreadable: (error: AwsError) => void = () => {},
): Promise<void> => {
  const autoScaling = runtimes.for(target).autoScaling;
  if (!autoScaling) return;
  let bounds: ScalingBounds | undefined;
  try {
    bounds = await autoScaling.bounds(target);
  } catch (error) {
    // A role without the auto scaling permissions (granted before /scale read them) scales by count as it always
    // did, rather than losing /scale on upgrade; the permission is named in the warning. Other failures refuse.
    if (!(error instanceof AwsError && isAccessDenied(error.awsCode))) throw error;
    onUnreadable(error);
    return;
  }
  if (!bounds) return;
  const snapshot = await describeTarget(runtimes, target, { units: false, publicAddresses: false });
  throw new Refusal({
    kind: 'autoscaled',
    service: target.service,
    environment: target.environment,
    min: bounds.min,
    max: bounds.max,
    desired: snapshot.desired,
    count,
    suggested: suggestedBounds(target, count, bounds),
  });
};

/** The request of `/scale api 2..8`: refused where nothing auto scales the count. Reads the bounds now, once. */
export const boundsRequest = async (
  runtimes: Runtimes,
  target: ResolvedTarget,
  bounds: ScalingBounds,
): Promise<Omit<ScaleBounds, 'emergency' | 'emergencyCause'>> => {
  const runtime = runtimes.for(target);
  const refuse = (label?: string) =>
    new Refusal({
      kind: 'not_autoscaled',
      service: target.service,
      environment: target.environment,
      ...(label === undefined ? {} : { runtime: label }),
    });
  if (!runtime.autoScaling) throw refuse(runtime.label);
  const from = await runtime.autoScaling.bounds(target);
  if (!from) throw refuse();
  return { type: 'scaleBounds', min: bounds.min, max: bounds.max, from };
};

/** What /status shows of a service's auto scaling; undefined when nothing auto scales it (or nothing can). */
export type AutoScalingStatus = { detail: AutoScalingDetail } | { unreadable: string } | undefined;

/**
 * The auto scaling of a service for /status. A failed read (a role without the permission) does not fail /status:
 * it says why instead — for AWS, the error code and what to do only: /status is posted in the channel, and AWS's own
 * message names the account and the role (`User: arn:aws:sts::<account>:assumed-role/…`). The whole error goes to
 * `onUnreadable` (the log).
 */
export const autoScalingDetail = async (
  runtimes: Runtimes,
  target: ResolvedTarget,
  onUnreadable: (error: unknown) => void = () => {},
): Promise<AutoScalingStatus> => {
  const autoScaling = runtimes.for(target).autoScaling;
  if (!autoScaling) return undefined;
  try {
    const detail = await autoScaling.detail(target, STATUS_ACTIVITIES);
    return detail ? { detail } : undefined;
  } catch (error) {
    onUnreadable(error);
    return { unreadable: reasonForChannel(error) };
  }
};

/**
 * Carries an approved bounds change out (called by the pipeline's apply, inside its error handling): rolling_out,
 * one DescribeScalableTargets (the target must still exist), one RegisterScalableTarget, an audit event with the old and new bounds, succeeded. A change in one step: nothing
 * to follow or abort; the auto scaler moves the count inside the new bounds by itself.
 */
export const applyBounds = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  runtime: Runtime,
  target: ResolvedTarget,
  request: ScaleBounds,
): Promise<void> => {
  const { clock } = ctx.deps;
  const where = `${target.service} in ${target.environment}`;
  // Plain errors, not Refusals: a rule's refusal is for the requester before any work, this is the card's last word.
  if (!runtime.autoScaling) {
    throw new DockhandError(
      'conflict',
      `${where} runs on ${runtime.label}, which has no auto scaling: nothing was changed.`,
    );
  }
  const startedAt = clock.now();
  const rolling = await transition(
    ctx,
    deployment,
    'rolling_out',
    'dockhand',
    undefined,
    {
      rolloutStartedAt: startedAt.toISOString(),
    },
    ['approved'],
  );
  if (!rolling) return;
  await show(ctx, rolling);
  const autoScaling = runtime.autoScaling;
  // The card is in the channel: an AWS failure is said by its code and hint there, AWS's message (which names the
  // account and the role) is logged.
  const inChannel = async <T>(work: () => Promise<T>): Promise<T> =>
    work().catch((error: unknown) => {
      if (!(error instanceof AwsError)) throw error;
      ctx.deps.logger.warn({ err: error, deployment: deployment.id }, 'auto scaling bounds change failed');
      throw new DockhandError('aws', `Could not change the auto scaling bounds of ${where}: ${error.awsCode}.`, {
        cause: error,
        ...(error.hint === undefined ? {} : { hint: error.hint }),
      });
    });
  // Read again: RegisterScalableTarget would create a scalable target with no policies if the one read at request
  // time has been deregistered since, and dockhand does not create scalable targets.
  if (!(await inChannel(() => autoScaling.bounds(target)))) {
    throw new DockhandError(
      'conflict',
      `${where} has no auto scaling any more (its scalable target was removed after this was requested): nothing was changed.`,
      {
        hint: 'A scalable target and its policies belong to the service’s infrastructure code; dockhand only changes the bounds of one.',
      },
    );
  }
  await inChannel(() => autoScaling.setBounds(target, { min: request.min, max: request.max }));
  await boundsSet(ctx, rolling, request, startedAt);
};

/** The bounds are set: an audit event with the old and new bounds, succeeded. */
const boundsSet = async (
  ctx: DeployContext,
  rolling: DeploymentRecord,
  request: ScaleBounds,
  startedAt: Date,
): Promise<void> => {
  const now = ctx.deps.clock.now();
  await ctx.deps.store.appendAudit({
    at: now,
    actor: rolling.requestedBy,
    action: 'autoscaling.bounds',
    service: rolling.service,
    environment: rolling.environment,
    subject: rolling.id,
    outcome: 'ok',
    detail: { from: request.from, to: { min: request.min, max: request.max } },
  });
  const done = await transition(ctx, rolling, 'succeeded', 'dockhand', undefined, {
    durationMs: now.getTime() - rolling.requestedAt.getTime(),
    rolloutDurationMs: now.getTime() - startedAt.getTime(),
  });
  if (done) await finish(ctx, done);
};

/**
 * A bounds change a restart cut off in rolling_out (its RegisterScalableTarget sent or not, nobody knows): one
 * DescribeScalableTargets tells. The requested bounds in place: succeeded; otherwise failed, saying the change may
 * not have been applied and how to ask again (never "the new version may be partly running": nothing was deployed).
 */
export const recoverBounds = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  request: ScaleBounds,
): Promise<void> => {
  const { logger } = ctx.deps;
  let now: ScalingBounds | undefined;
  let read = false;
  try {
    const target = targetOf(ctx, deployment);
    now = await runtimeOf(ctx, target).autoScaling?.bounds(target);
    read = true;
  } catch (err) {
    logger.warn({ err, deployment: deployment.id }, 'could not read the auto scaling bounds after a restart');
  }
  if (now && now.min === request.min && now.max === request.max) {
    logger.info({ deployment: deployment.id }, 'the bounds change in flight when dockhand stopped was applied');
    await boundsSet(ctx, deployment, request, new Date(deployment.facts.rolloutStartedAt ?? deployment.updatedAt));
    return;
  }
  const where = `${deployment.service} in ${deployment.environment}`;
  const again = `\`/scale ${deployment.service} ${request.min}..${request.max} in ${deployment.environment}\``;
  const next = !read
    ? `The bounds change may not have been applied (the auto scaling of ${where} could not be read): check \`/status ${deployment.service} in ${deployment.environment}\`, then run ${again} again.`
    : now
      ? `The bounds are ${now.min}..${now.max}, not ${request.min}..${request.max}: the bounds change may not have been applied; run ${again} again.`
      : `${where} has no auto scaling any more: the bounds change was not applied.`;
  await fail(
    ctx,
    deployment,
    new DockhandError('conflict', `Interrupted: dockhand restarted while this change was rolling out. ${next}`),
  );
};
