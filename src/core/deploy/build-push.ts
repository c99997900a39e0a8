/** Build the approved commit into an image and push it to the service's registry (when it has one). */

import { resolve } from 'node:path';
import { requiredFact } from '../../domain/deployment.ts';
import { DockhandError } from '../../errors.ts';
import type { DeploymentRecord } from '../../ports.ts';
import type { ResolvedTarget } from '../targets.ts';
import { show } from './announce.ts';
import { type DeployContext, liveOf, shortSha, transition } from './context.ts';
import { optionalRegistry, sourceSpec } from './plan.ts';

/** The OCI annotation (as an image label) naming the commit an image was built from. */
export const REVISION_LABEL = 'org.opencontainers.image.revision';

/** The record with the built (and pushed) image in its facts; undefined when another writer moved it meanwhile. */
export const buildAndPush = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  target: ResolvedTarget,
): Promise<DeploymentRecord | undefined> => {
  const { source, builder, clock, store } = ctx.deps;
  const building = await transition(ctx, deployment, 'building', 'dockhand');
  if (!building) return undefined;
  await show(ctx, building);
  const commitSha = requiredFact(building, 'commitSha');
  const spec = sourceSpec(ctx, target, commitSha);
  const checkout = await source.checkout('git' in spec ? { git: spec.git, ref: commitSha } : spec);
  const registry = optionalRegistry(ctx, target);
  const repository = target.serviceConfig.image?.repository as string;
  const imageName = registry ? await registry.imageName(repository) : repository;
  const tag = `${imageName}:${shortSha(commitSha)}`;
  const live = liveOf(ctx, deployment.id);
  try {
    if (checkout.commitSha !== commitSha && 'git' in spec) {
      throw new DockhandError(
        'conflict',
        `The checkout is at ${shortSha(checkout.commitSha)}, not the approved ${shortSha(commitSha)}.`,
      );
    }
    const buildConfig = target.serviceConfig.source as NonNullable<typeof target.serviceConfig.source>;
    const contextDir = resolve(checkout.dir, buildConfig.context);
    await builder.build({
      contextDir,
      dockerfile: buildConfig.dockerfile,
      buildArgs: buildConfig.buildArgs,
      tags: [tag],
      // The commit the image comes from travels with it: /promote reads it back where no record of ours names it.
      labels: { [REVISION_LABEL]: commitSha },
      onEvent: (event) => {
        if (event.type === 'step')
          live.build = { step: event.step, total: event.total, instruction: event.instruction, lastLines: [] };
        else if (live.build) live.build.lastLines = [...(live.build.lastLines ?? []).slice(-2), event.line];
        void show(ctx, building);
      },
    });
  } finally {
    await checkout.cleanup();
  }
  // Without a registry the image stays on the engine that built it (a Docker host on that same engine).
  if (!registry) return store.updateDeployment(building.id, { facts: { image: tag, tag } }, clock.now());
  const pushing = await transition(ctx, building, 'pushing', 'dockhand');
  if (!pushing) return undefined;
  live.push = { percent: 0 };
  await show(ctx, pushing);
  const { digest } = await registry.push({
    image: tag,
    onProgress: (percent) => {
      live.push = { percent };
      void show(ctx, pushing);
    },
  });
  return store.updateDeployment(pushing.id, { facts: { digest, image: `${imageName}@${digest}`, tag } }, clock.now());
};
