/**
 * The pipeline's steps on an ECS service: plan (task definition diff), apply (register, UpdateService), what a look
 * at the rollout reads, restore after an abort, what a rollback goes back to, and what a restart finds of an
 * UpdateService in flight. Only on-target.ts calls these; the Runtime port will take their place.
 */
import { type DeploymentFacts, requiredFact } from '../../domain/deployment.ts';
import { AwsError, DockhandError, errorMessage } from '../../errors.ts';
import type { DeploymentRecord, EcsDeployTarget } from '../../ports.ts';
import type { ResolvedTarget } from '../targets.ts';
import { show } from './announce.ts';
import { buildAndPush } from './build-push.ts';
import { type DeployContext, liveOf, transition } from './context.ts';
import { follow, type RolloutProbe } from './follow.ts';
import { fail } from './outcome.ts';
import { addCommits, registryOf } from './plan.ts';

export const ecsTargetOf = (ctx: DeployContext, target: ResolvedTarget): EcsDeployTarget => {
  const t = target.envConfig.target;
  if (t.type !== 'ecs') {
    throw new DockhandError(
      'invalid',
      `\`${target.service}\` in \`${target.environment}\` runs on a Docker host, which this version of dockhand does not deploy to yet.`,
    );
  }
  return {
    cluster: t.cluster,
    service: t.service,
    container: t.container,
    region: t.region ?? ctx.deps.config.defaults.region,
  };
};

/** The plan of an ECS operation: the revision running now, and the task definition diff. */
export const planOnEcs = async (
  ctx: DeployContext,
  ecsTarget: EcsDeployTarget,
  deployment: DeploymentRecord,
  target: ResolvedTarget,
  image: string | undefined,
  facts: DeploymentFacts,
): Promise<DeploymentFacts> => {
  const newImage = deployment.kind === 'rollback' ? undefined : image;
  const plan = await ctx.deps.ecs.planImage(ecsTarget, newImage ?? '');
  const current = `${plan.current.family}:${plan.current.revision}`;
  facts.previousRevision = current;
  facts.previousTaskDefinitionArn = plan.current.arn;
  const live = liveOf(ctx, deployment.id);
  live.plan = {
    currentRevision: current,
    currentImage: plan.currentImage,
    newImage,
    changes: newImage ? plan.changes : [],
  };
  if (deployment.request.type === 'rollback') {
    live.plan.changes = [{ field: 'taskDefinition', from: current, to: deployment.request.revision }];
  }
  await addCommits(ctx, deployment, target, facts);
  return facts;
};

/** Build or check the image, register it, UpdateService, then follow the rollout ECS started. */
export const applyOnEcs = async (
  ctx: DeployContext,
  approved: DeploymentRecord,
  target: ResolvedTarget,
  ecsTarget: EcsDeployTarget,
): Promise<void> => {
  let deployment = approved;
  const { ecs, clock, store } = ctx.deps;
  try {
    let taskDefinitionArn: string | undefined;
    const { request } = deployment;
    if (request.type === 'git' || request.type === 'image') {
      let image: string;
      if (request.type === 'image') {
        const registry = registryOf(ctx, target);
        const digest = await registry.resolveTag(target.serviceConfig.image?.repository as string, request.imageTag);
        if (digest !== deployment.facts.digest) {
          throw new DockhandError(
            'conflict',
            `Tag \`${request.imageTag}\` now points at another image than the one approved; request the deployment again.`,
          );
        }
        image = requiredFact(deployment, 'image');
      } else {
        const built = await buildAndPush(ctx, deployment, target);
        if (!built) return;
        deployment = built;
        image = requiredFact(deployment, 'image');
      }
      const registering = await transition(ctx, deployment, 'registering', 'dockhand');
      if (!registering) return;
      deployment = registering;
      await show(ctx, deployment);
      const registered = await ecs.registerImage(ecsTarget, image);
      taskDefinitionArn = registered.taskDefinitionArn;
      deployment = await store.updateDeployment(
        deployment.id,
        {
          facts: {
            taskDefinitionArn,
            revision: registered.revision,
            previousTaskDefinitionArn: registered.previousTaskDefinitionArn,
          },
        },
        clock.now(),
      );
    } else if (request.type === 'rollback') {
      taskDefinitionArn = request.taskDefinitionArn;
      deployment = await store.updateDeployment(
        deployment.id,
        { facts: { taskDefinitionArn, revision: request.revision } },
        clock.now(),
      );
    }
    // When UpdateService was sent is stored first: a restart in the middle finds out whether ECS applied it.
    const started = clock.now();
    const rolling = await transition(
      ctx,
      deployment,
      'rolling_out',
      'dockhand',
      undefined,
      { updateServiceSentAt: started.toISOString() },
      ['approved', 'registering'],
    );
    if (!rolling) return;
    deployment = rolling;
    const deploymentId = await updateService(
      ctx,
      deployment,
      ecsTarget,
      request.type === 'scale'
        ? { desiredCount: request.desiredCount }
        : taskDefinitionArn
          ? { taskDefinitionArn }
          : { forceNewDeployment: true },
      started,
    );
    deployment = await store.updateDeployment(
      deployment.id,
      { facts: { ecsDeploymentId: deploymentId, rolloutStartedAt: started.toISOString() } },
      clock.now(),
    );
    await show(ctx, deployment);
    await follow(ctx, deployment);
  } catch (e) {
    await fail(ctx, deployment, e);
  }
};

/**
 * UpdateService, resolving with the id of the ECS deployment it created. When it fails (after the SDK's retries)
 * ECS may still have applied it (a timeout): then that deployment is followed. Otherwise a revision this
 * deployment registered is deregistered, since nothing will run it, and the error is thrown on.
 */
const updateService = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  target: EcsDeployTarget,
  change: { taskDefinitionArn?: string; forceNewDeployment?: boolean; desiredCount?: number },
  sentAt: Date,
): Promise<string> => {
  const { ecs, logger } = ctx.deps;
  try {
    return (await ecs.updateService(target, change)).deploymentId;
  } catch (e) {
    if (change.desiredCount !== undefined) throw e;
    const applied = await ecs
      .findRollout(target, { since: sentAt, taskDefinitionArn: change.taskDefinitionArn })
      .catch(() => 'unknown' as const);
    if (applied !== undefined && applied !== 'unknown') {
      logger.warn(
        { deployment: deployment.id, err: e, ecsDeploymentId: applied.deploymentId },
        'UpdateService failed, yet ECS applied it: following its rollout',
      );
      return applied.deploymentId;
    }
    if (applied === 'unknown') throw e;
    const deregistered = await deregisterUnused(ctx, deployment, target);
    if (!deregistered) throw e;
    const message = `${errorMessage(e)} ${deregistered}`;
    throw e instanceof DockhandError
      ? new DockhandError(e.code, message, { cause: e, hint: e.hint })
      : new DockhandError('aws', message, { cause: e });
  }
};

/**
 * Deregisters the revision a deploy registered once ECS is known not to run it (its UpdateService failed, or was
 * cut short by a restart): nothing will use it. Resolves with a sentence for the card, or undefined if nothing
 * was deregistered (not a deploy, or DeregisterTaskDefinition failed: logged).
 */
export const deregisterUnused = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  target: EcsDeployTarget,
): Promise<string | undefined> => {
  const { ecs, logger } = ctx.deps;
  const arn = deployment.facts.taskDefinitionArn;
  if (deployment.kind !== 'deploy' || typeof arn !== 'string') return undefined;
  const revision = typeof deployment.facts.revision === 'string' ? deployment.facts.revision : arn;
  try {
    await ecs.deregisterRevision(target, arn);
  } catch (err) {
    logger.warn({ deployment: deployment.id, err }, 'could not deregister the unused task definition revision');
    return undefined;
  }
  logger.info({ deployment: deployment.id, revision }, 'deregistered a task definition revision nothing runs');
  return `The unused revision ${revision} was deregistered.`;
};

/** Errors that another look will not cure: permissions, a service or cluster that does not exist, bad input. */
const isPermanent = (e: unknown): boolean =>
  e instanceof AwsError &&
  /AccessDenied|UnauthorizedOperation|NotFoundException|InvalidParameter|ClientException/.test(e.awsCode);

const isThrottle = (e: unknown): boolean =>
  e instanceof AwsError &&
  /Throttl|RequestLimitExceeded|TooManyRequests|Rate exceeded/i.test(`${e.awsCode} ${e.message}`);

/** What a look at an ECS rollout reads: the ECS deployment this run created, and its stopped tasks' logs. */
export const ecsProbe = (
  ctx: DeployContext,
  ecsTarget: EcsDeployTarget,
  deployment: DeploymentRecord,
): RolloutProbe => {
  const deploymentId = requiredFact(deployment, 'ecsDeploymentId');
  return {
    look: () => ctx.deps.ecs.rolloutProgress(ecsTarget, deploymentId),
    logLines: (taskIds, limit) => ctx.deps.ecs.recentLogLines(ecsTarget, taskIds, limit),
    classify: (e) => (isPermanent(e) ? 'permanent' : isThrottle(e) ? 'throttled' : 'passing'),
    failedWithoutReason: 'the ECS deployment failed',
  };
};

/**
 * An UpdateService in flight when dockhand stopped (sent, no answer stored): the record completed with the ECS
 * deployment if the service now runs this deployment's revision, false when it does not, undefined when AWS did not
 * answer.
 */
export const adoptOnEcs = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  ecsTarget: EcsDeployTarget,
  sentAt: string,
): Promise<DeploymentRecord | false | undefined> => {
  const { ecs, store, clock, logger } = ctx.deps;
  const taskDefinitionArn =
    typeof deployment.facts.taskDefinitionArn === 'string' ? deployment.facts.taskDefinitionArn : undefined;
  let found: { deploymentId: string } | undefined;
  try {
    found = await ecs.findRollout(ecsTarget, { since: new Date(sentAt), taskDefinitionArn });
  } catch (err) {
    logger.warn({ err, deployment: deployment.id }, 'could not read what the service runs after a restart');
    return undefined;
  }
  if (!found) return false;
  logger.info(
    { deployment: deployment.id, ecsDeploymentId: found.deploymentId },
    'ECS applied the UpdateService that was in flight when dockhand stopped',
  );
  return store.updateDeployment(
    deployment.id,
    { facts: { ecsDeploymentId: found.deploymentId, rolloutStartedAt: sentAt } },
    clock.now(),
  );
};
