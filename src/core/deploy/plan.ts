/**
 * What a request would do: the commit or image it deploys (resolved now, so an approval approves exactly that) and,
 * from the target, what runs now and what would change. Also where a service's source and registry are.
 */

import { isAbsolute, resolve } from 'node:path';
import type { DeploymentFacts, DeploymentRequest } from '../../domain/deployment.ts';
import { DockhandError } from '../../errors.ts';
import type { DeploymentRecord, ImageRegistry } from '../../ports.ts';
import type { Runtime, RuntimeChange } from '../runtime.ts';
import type { ResolvedTarget } from '../targets.ts';
import { type DeployContext, lastSucceeded, liveOf, shortSha, targetOf } from './context.ts';
import { planPromotion } from './promote.ts';
import { previousFacts, rollbackRef } from './revision-facts.ts';
import { scanForPlan } from './scan.ts';

/** Resolves the commit or image, reads what runs now, diffs it with what would run. */
export const plan = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  runtime: Runtime,
): Promise<DeploymentFacts> => {
  const { source } = ctx.deps;
  const target = targetOf(ctx, deployment);
  const facts: DeploymentFacts = {};
  let newImage: string | undefined;
  const { request } = deployment;
  // New auto scaling bounds change no revision: the request names the old and new bounds, read when it was asked.
  if (request.type === 'scaleBounds') return facts;
  if (request.type === 'promote') {
    const promoted = await planPromotion(ctx, deployment, target, request);
    newImage = promoted.image;
    Object.assign(facts, promoted.facts);
  } else if (request.type === 'git' || request.type === 'image') {
    const registry = optionalRegistry(ctx, target);
    const repository = target.serviceConfig.image?.repository as string;
    const imageName = registry ? await registry.imageName(repository) : repository;
    if (request.type === 'image') {
      if (!registry) {
        throw new DockhandError('invalid', `\`${target.service}\` has no registry to look \`image:<tag>\` up in.`);
      }
      const tag = request.imageTag;
      const digest = await registry.resolveTag(repository, tag);
      if (!digest) throw new DockhandError('not_found', `Image tag \`${tag}\` does not exist in ${imageName}.`);
      newImage = `${imageName}@${digest}`;
      Object.assign(facts, { imageTag: tag, digest, image: newImage });
      const scan = await scanForPlan(ctx, deployment, target, registry, { repository, digest });
      if (scan) facts.scan = scan;
    } else {
      const src = sourceSpec(ctx, target, request.ref);
      const checkout = await source.checkout(src);
      await checkout.cleanup();
      newImage = `${imageName}:${shortSha(checkout.commitSha)}`;
      Object.assign(facts, {
        commitSha: checkout.commitSha,
        commitSubject: checkout.subject,
        ref: 'git' in src ? src.ref : '(local)',
        image: newImage,
      });
    }
  }
  return planOn(ctx, runtime, deployment, target, newImage, facts);
};

/** What an operation asks the runtime to change (`image`: the image a deploy runs, once resolved or built). */
export const changeOf = (request: DeploymentRequest, image: string | undefined): RuntimeChange => {
  switch (request.type) {
    case 'rollback':
      return { kind: 'revision', to: rollbackRef(request) };
    case 'restart':
      return { kind: 'restart' };
    case 'scale':
      return { kind: 'scale', count: request.desiredCount };
    case 'scaleBounds':
      throw new DockhandError('internal', 'Auto scaling bounds are set by the auto scaler, not as a runtime change.');
    default:
      if (image === undefined) throw new DockhandError('internal', 'A deploy without an image to run.');
      return { kind: 'image', image };
  }
};

/** The target's part of a plan: what runs now and what would change (on the live plan); the facts learned. */
const planOn = async (
  ctx: DeployContext,
  runtime: Runtime,
  deployment: DeploymentRecord,
  target: ResolvedTarget,
  newImage: string | undefined,
  facts: DeploymentFacts,
): Promise<DeploymentFacts> => {
  const plan = await runtime.plan(target, changeOf(deployment.request, newImage));
  if (plan.current) Object.assign(facts, previousFacts(runtime, plan.current));
  liveOf(ctx, deployment.id).plan = {
    currentRevision: plan.current?.revision ?? 'nothing running',
    currentImage: plan.currentImage,
    newImage: plan.newImage,
    changes: plan.changes,
    ...(plan.alarms ? { alarms: plan.alarms } : {}),
  };
  await addCommits(ctx, deployment, target, facts);
  return facts;
};

/** The commits a git deploy adds since the last successful deployment, on the plan (at most 5 shown). */
export const addCommits = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  target: ResolvedTarget,
  facts: DeploymentFacts,
): Promise<void> => {
  const { source } = ctx.deps;
  const live = liveOf(ctx, deployment.id);
  if (
    live.plan &&
    typeof facts.commitSha === 'string' &&
    target.serviceConfig.source &&
    'git' in target.serviceConfig.source &&
    source.commitsBetween
  ) {
    const previous = await lastSucceeded(ctx, deployment.service, deployment.environment);
    const fromSha = previous?.facts.commitSha;
    if (typeof fromSha === 'string' && fromSha !== facts.commitSha) {
      live.plan.commits = await source
        .commitsBetween({ git: target.serviceConfig.source.git }, fromSha, facts.commitSha, 5)
        .catch(() => undefined);
    }
  }
};

/** The service's registry, or undefined when its image stays on the building engine (Docker host). */
export const optionalRegistry = (ctx: DeployContext, target: ResolvedTarget): ImageRegistry | undefined =>
  target.serviceConfig.image?.registry ? registryOf(ctx, target) : undefined;

export const registryOf = (ctx: DeployContext, target: ResolvedTarget): ImageRegistry => {
  const image = target.serviceConfig.image;
  if (!image?.registry)
    throw new DockhandError('invalid', `\`${target.service}\` has no image: { registry, repository } in dockhand.yml.`);
  return ctx.deps.registry(image.registry);
};

export const sourceSpec = (
  ctx: DeployContext,
  target: ResolvedTarget,
  ref: string | undefined,
): { git: string; ref: string } | { path: string } => {
  const source = target.serviceConfig.source;
  if (!source)
    throw new DockhandError(
      'invalid',
      `\`${target.service}\` has no source to build; deploy an existing image with \`image:<tag>\`.`,
    );
  if ('git' in source) return { git: source.git, ref: ref ?? source.ref };
  return { path: isAbsolute(source.path) ? source.path : resolve(ctx.deps.configDir, source.path) };
};
