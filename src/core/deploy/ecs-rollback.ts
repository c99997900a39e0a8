/**
 * Going back on an ECS service: restoring the previous revision after an abort, and which revision a rollback
 * redeploys. Only on-target.ts calls these; the Runtime port will take their place.
 */
import type { Rollback } from '../../domain/deployment.ts';
import { errorMessage } from '../../errors.ts';
import type { DeploymentRecord, EcsDeployTarget } from '../../ports.ts';
import type { ResolvedTarget } from '../targets.ts';
import { type DeployContext, lastSucceeded, liveOf } from './context.ts';

/**
 * After an abort: returns the service to the revision it ran before (ECS's own rollback, else UpdateService). The
 * record with how it was done, or undefined when it could not be (logged, and shown on the card).
 */
export const restoreOnEcs = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  ecsTarget: EcsDeployTarget,
  previous: string,
): Promise<DeploymentRecord | undefined> => {
  const { ecs, logger, store, clock } = ctx.deps;
  const id = deployment.id;
  const rollout = {
    deploymentId: deployment.facts.ecsDeploymentId ?? '',
    taskDefinitionArn: deployment.facts.taskDefinitionArn,
    previousTaskDefinitionArn: previous,
  };
  const restored = await ecs.abort(ecsTarget, rollout).catch((e: unknown) => {
    logger.error({ err: e, deployment: id }, 'could not restore the previous revision after an abort');
    liveOf(ctx, id).failure = { step: `Restoring ${previous} failed: ${errorMessage(e)}` };
  });
  if (!restored) return undefined;
  logger.info(
    { deployment: id, method: restored.method, fallbackReason: restored.fallbackReason },
    'restored the previous revision after an abort',
  );
  return store.updateDeployment(id, { facts: { abortMethod: restored.method } }, clock.now());
};

/** What a rollback of deployment `of` redeploys on ECS: the revision it replaced; undefined when nobody knows it. */
export const ecsRollbackOf = (of: DeploymentRecord): Rollback | undefined => {
  const previous = of.facts.previousTaskDefinitionArn;
  if (typeof previous !== 'string') return undefined;
  return {
    type: 'rollback',
    taskDefinitionArn: previous,
    revision: of.facts.previousRevision ?? previous,
    rule: `the revision before #${of.seq}`,
    undoes: of.id,
  };
};

/**
 * `/rollback` on ECS: without a revision, the one that ran before the last successful dockhand deployment (which it
 * then marks rolled back), or, when dockhand has no such history, the previous ACTIVE revision of the family. With a
 * revision, that one, if it is an ACTIVE revision of the service's family.
 */
export const ecsRollbackRequest = async (
  ctx: DeployContext,
  target: ResolvedTarget,
  ecsTarget: EcsDeployTarget,
  revision: number | undefined,
): Promise<{ request: Rollback } | { refused: string }> => {
  const { ecs } = ctx.deps;
  const current = await ecs.currentTaskDefinition(ecsTarget);
  const running = `${current.family}:${current.revision}`;
  if (revision !== undefined) {
    if (revision === current.revision) {
      return { refused: `\`${target.service}\` in \`${target.environment}\` already runs \`${running}\`.` };
    }
    const found = (await ecs.listRevisions(ecsTarget, current.family, 2000)).find((r) => r.revision === revision);
    if (!found) return { refused: `revision ${revision} is not an ACTIVE revision of family ${current.family}.` };
    return {
      request: {
        type: 'rollback',
        taskDefinitionArn: found.arn,
        revision: `${current.family}:${revision}`,
        rule: 'the revision asked for',
      },
    };
  }
  const last = await lastSucceeded(ctx, target.service, target.environment);
  const previous = last?.facts.previousTaskDefinitionArn;
  if (last && typeof previous === 'string' && previous !== current.arn) {
    return {
      request: {
        type: 'rollback',
        taskDefinitionArn: previous,
        revision: last.facts.previousRevision ?? previous,
        rule: `the revision that ran before deployment #${last.seq}`,
        undoes: last.id,
      },
    };
  }
  const older = (await ecs.listRevisions(ecsTarget, current.family, 100)).find((r) => r.revision < current.revision);
  if (!older) {
    return {
      refused: `dockhand has no deployment of \`${target.service}\` in \`${target.environment}\` to undo, and family ${current.family} has no ACTIVE revision before ${current.revision}.`,
    };
  }
  return {
    request: {
      type: 'rollback',
      taskDefinitionArn: older.arn,
      revision: `${current.family}:${older.revision}`,
      rule: `the previous ACTIVE revision of family ${current.family} (dockhand has no deployment to undo)`,
    },
  };
};
