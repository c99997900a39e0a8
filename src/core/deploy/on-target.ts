/**
 * Every step that depends on where a service runs (an ECS service or a Docker host) goes through here: plan, apply,
 * look at a rollout, abort, what a rollback goes back to, and what a restart does with interrupted work. This is the
 * only module of the pipeline that asks which kind of target it has; the other units call it without knowing.
 * When the Runtime port (src/core/runtime.ts) lands, it replaces the two branches of each function below.
 */
import type { DeploymentFacts, Rollback } from '../../domain/deployment.ts';
import type { DeploymentRecord, DockerHostRuntime, DockerHostTarget, EcsDeployTarget } from '../../ports.ts';
import type { ResolvedTarget } from '../targets.ts';
import { type DeployContext, targetOf } from './context.ts';
import { ecsRollbackOf, ecsRollbackRequest, restoreOnEcs } from './ecs-rollback.ts';
import { adoptOnEcs, applyOnEcs, deregisterUnused, ecsProbe, ecsTargetOf, planOnEcs } from './ecs-target.ts';
import type { RolloutProbe } from './follow.ts';
import { hostTargetOf, requireHostRuntime } from './host.ts';
import { applyOnHost, hostRollbackOf, hostRollbackRequest, planOnHost, undoOnHost } from './host-target.ts';
import type { DeploymentLive } from './view.ts';

/** Where a request's target runs, resolved once when it is accepted. */
export type Placement =
  | { on: 'ecs'; ecs: EcsDeployTarget }
  | { on: 'docker'; host: DockerHostRuntime; target: DockerHostTarget };

/** Where `target` runs; throws when this process cannot deploy there (no Docker-host runtime configured). */
export const placementOf = (ctx: DeployContext, target: ResolvedTarget): Placement => {
  const hostTarget = hostTargetOf(target);
  if (!hostTarget) return { on: 'ecs', ecs: ecsTargetOf(ctx, target) };
  return { on: 'docker', host: requireHostRuntime(ctx.deps.host), target: hostTarget };
};

/** The target's part of a plan: what runs now and what would change (on the live plan); the facts learned. */
export const planOn = (
  ctx: DeployContext,
  placement: Placement,
  deployment: DeploymentRecord,
  target: ResolvedTarget,
  newImage: string | undefined,
  facts: DeploymentFacts,
): Promise<DeploymentFacts> =>
  placement.on === 'docker'
    ? planOnHost(ctx, placement.host, placement.target, deployment, newImage, facts)
    : planOnEcs(ctx, placement.ecs, deployment, target, newImage, facts);

/** Carries an approved operation out to its end (succeeded or failed), building first when it needs an image. */
export const apply = async (ctx: DeployContext, approved: DeploymentRecord): Promise<void> => {
  const target = targetOf(ctx, approved);
  const hostTarget = hostTargetOf(target);
  if (hostTarget) return applyOnHost(ctx, approved, target, requireHostRuntime(ctx.deps.host), hostTarget);
  return applyOnEcs(ctx, approved, target, ecsTargetOf(ctx, target));
};

/** What a look at a started rollout reads (only ECS rollouts are followed: a Docker-host rollout is one step). */
export const rolloutProbe = (ctx: DeployContext, target: ResolvedTarget, deployment: DeploymentRecord): RolloutProbe =>
  ecsProbe(ctx, ecsTargetOf(ctx, target), deployment);

/** Why a rollout on this target cannot be aborted, if it cannot. */
export const abortRefusal = (ctx: DeployContext, deployment: DeploymentRecord): string | undefined =>
  hostTargetOf(targetOf(ctx, deployment))
    ? 'A rollout on a Docker host is one step and cannot be aborted; nothing changed.'
    : undefined;

/**
 * After an abort, returns the service to the revision it ran before the rollout (as the record knows it, read before
 * the abort was written); the record with how, or undefined when nothing was known or it could not be done.
 */
export const restoreAfterAbort = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
): Promise<DeploymentRecord | undefined> => {
  const previous = deployment.facts.previousTaskDefinitionArn;
  if (!previous) return undefined;
  return restoreOnEcs(ctx, deployment, ecsTargetOf(ctx, targetOf(ctx, deployment)), previous);
};

/** The Rollback button: what undoing deployment `of` redeploys, and where; undefined when dockhand does not know. */
export const rollbackOfRequest = (
  ctx: DeployContext,
  of: DeploymentRecord,
): { target: ResolvedTarget; request: Rollback } | undefined => {
  const previousImage = of.facts.previousImage;
  if (typeof previousImage === 'string' && hostTargetOf(targetOf(ctx, of))) {
    return { target: targetOf(ctx, of), request: hostRollbackOf(of, previousImage) };
  }
  const request = ecsRollbackOf(of);
  return request ? { target: targetOf(ctx, of), request } : undefined;
};

/** `/rollback [revision]`: what to go back to on this target, or why not. */
export const rollbackRequest = (
  ctx: DeployContext,
  target: ResolvedTarget,
  revision: number | undefined,
): Promise<{ request: Rollback } | { refused: string }> =>
  hostTargetOf(target)
    ? hostRollbackRequest(ctx, target, revision)
    : ecsRollbackRequest(ctx, target, ecsTargetOf(ctx, target), revision);

/**
 * A rollout found on restart: true when its ECS deployment is known (follow it); when UpdateService was in flight
 * (sent, no answer stored), the record completed with the ECS deployment if the service now runs this
 * deployment's revision, or false when it does not; undefined when nobody can tell (not an ECS rollout, or AWS
 * did not answer).
 */
export const adoptInterrupted = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
): Promise<DeploymentRecord | boolean | undefined> => {
  if (deployment.state !== 'rolling_out') return undefined;
  if (typeof deployment.facts.ecsDeploymentId === 'string') return true;
  const sentAt = deployment.facts.updateServiceSentAt;
  if (typeof sentAt !== 'string' || deployment.kind === 'scale') return undefined;
  let target: ResolvedTarget;
  try {
    target = targetOf(ctx, deployment);
  } catch {
    return undefined; // its service or environment has left dockhand.yml: nothing to read, it is closed
  }
  if (hostTargetOf(target)) return undefined;
  return adoptOnEcs(ctx, deployment, ecsTargetOf(ctx, target), sentAt);
};

/** A revision registered for a rollout ECS never started, deregistered; a sentence for the card, if it was. */
export const deregisterUnstarted = (ctx: DeployContext, deployment: DeploymentRecord): Promise<string | undefined> =>
  deregisterUnused(ctx, deployment, ecsTargetOf(ctx, targetOf(ctx, deployment)));

/** A Docker-host rollout a crash cut off, undone as far as it can be: what runs now, for the card; undefined on ECS. */
export const undoInterrupted = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
): Promise<string | undefined> => {
  const hostTarget = hostTargetOf(targetOf(ctx, deployment));
  if (!hostTarget || !ctx.deps.host) return undefined;
  return undoOnHost(ctx.deps.host, hostTarget, deployment);
};

/** Cards speak of containers on a Docker host (and offer no Abort there), of tasks and revisions on ECS. */
export const markPlatform = (ctx: DeployContext, deployment: DeploymentRecord, live: DeploymentLive): void => {
  if (ctx.deps.config.services[deployment.service]?.environments[deployment.environment]?.target.type === 'docker') {
    live.canAbort = false;
    live.platform = 'docker';
  }
};
