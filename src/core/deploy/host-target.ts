/**
 * The pipeline's steps on a Docker host: plan (what its containers run now), apply (start the new containers beside
 * the old, wait until healthy, remove the old), what a rollback goes back to, and undoing a rollout a crash cut off.
 * Only on-target.ts calls these; the Runtime port will take their place.
 */
import { type DeploymentFacts, type Rollback, requiredFact } from '../../domain/deployment.ts';
import { DockhandError, HostDeployError } from '../../errors.ts';
import type { DeploymentRecord, DockerHostRuntime, DockerHostTarget } from '../../ports.ts';
import type { ResolvedTarget } from '../targets.ts';
import { show } from './announce.ts';
import { buildAndPush } from './build-push.ts';
import { type DeployContext, lastSucceeded, liveOf, transition } from './context.ts';
import { describeImage, hostChanges, publicEndpoints, rememberReplicas, runningImage, wantedReplicas } from './host.ts';
import { fail, succeed } from './outcome.ts';
import { optionalRegistry } from './plan.ts';

/** The plan of a Docker-host operation: what its containers run now and what would change. */
export const planOnHost = async (
  ctx: DeployContext,
  host: DockerHostRuntime,
  hostTarget: DockerHostTarget,
  deployment: DeploymentRecord,
  newImage: string | undefined,
  facts: DeploymentFacts,
): Promise<DeploymentFacts> => {
  const snapshot = await host.snapshot(hostTarget);
  const current = runningImage(snapshot);
  const image = deployment.request.type === 'rollback' ? deployment.request.image : newImage;
  const replicas = await hostReplicas(ctx, deployment, hostTarget);
  if (current) {
    facts.previousImage = current;
    facts.previousRevision = describeImage(current);
  }
  liveOf(ctx, deployment.id).plan = {
    currentRevision: current ? describeImage(current) : 'nothing running',
    currentImage: current ?? '—',
    newImage: image,
    changes: hostChanges(snapshot, hostTarget, { image, replicas }),
  };
  return facts;
};

/**
 * Build (and push when a registry is configured), then let the host runtime start the new containers beside the
 * old ones, wait until they are healthy and remove the old ones. It either finishes or throws, leaving the old
 * containers serving; there is no ECS deployment to watch.
 */
export const applyOnHost = async (
  ctx: DeployContext,
  approved: DeploymentRecord,
  target: ResolvedTarget,
  host: DockerHostRuntime,
  hostTarget: DockerHostTarget,
): Promise<void> => {
  let deployment = approved;
  const live = liveOf(ctx, deployment.id);
  const registry = optionalRegistry(ctx, target);
  try {
    let image: string | undefined;
    const { request } = deployment;
    if (request.type === 'git') {
      const built = await buildAndPush(ctx, deployment, target);
      if (!built) return;
      deployment = built;
    }
    if (request.type === 'git' || request.type === 'image') image = requiredFact(deployment, 'image');
    else if (request.type === 'rollback') image = request.image;
    else if (request.type === 'restart') image = deployment.facts.previousImage;
    const rolling = await transition(
      ctx,
      deployment,
      'rolling_out',
      'dockhand',
      undefined,
      {
        rolloutStartedAt: ctx.deps.clock.now().toISOString(),
        ...(image ? { image, revision: describeImage(image) } : {}),
      },
      ['approved', 'building', 'pushing'],
    );
    if (!rolling) return;
    deployment = rolling;
    await show(ctx, deployment);
    const onProgress = (phase: string, detail?: string) => {
      live.host = { phase, detail };
      void show(ctx, rolling);
    };
    let result: Awaited<ReturnType<typeof host.deploy>>;
    const replicas = await hostReplicas(ctx, deployment, hostTarget);
    if (deployment.kind === 'scale') {
      result = await host.scale(hostTarget, replicas, deployment.id);
    } else {
      if (!image) throw new DockhandError('not_found', `Nothing runs on ${hostTarget.host} to restart yet.`);
      result = await host.deploy({
        target: hostTarget,
        image,
        auth: registry?.auth ? await registry.auth() : undefined,
        pull: registry !== undefined,
        deploymentId: deployment.id,
        replicas,
        onProgress,
      });
    }
    await rememberReplicas(ctx.deps.store, hostTarget, replicas, ctx.deps.clock.now());
    const snapshot = await host.snapshot(hostTarget).catch(() => undefined);
    await succeed(ctx, deployment, {
      publicIps: publicEndpoints(hostTarget, snapshot?.publicAddress),
      runningCount: result.containers.filter((c) => c.state === 'running').length,
      containers: result.containers.map((c) => c.name),
      ...(result.previousImage && deployment.kind !== 'scale'
        ? { previousImage: result.previousImage, previousRevision: describeImage(result.previousImage) }
        : {}),
      ...(result.gap ? { gap: true } : {}),
    });
  } catch (e) {
    if (e instanceof HostDeployError) live.failure = { ...live.failure, logLines: [...e.logLines] };
    await fail(ctx, deployment, e);
  }
};

/** What a rollback of deployment `of` redeploys on a Docker host: the image it replaced (`previousImage`). */
export const hostRollbackOf = (of: DeploymentRecord, previousImage: string): Rollback => ({
  type: 'rollback',
  image: previousImage,
  revision: describeImage(previousImage),
  rule: `the image that ran before #${of.seq}`,
  undoes: of.id,
});

/** `/rollback` on a Docker host: the image that ran before the last successful deployment (recorded by dockhand). */
export const hostRollbackRequest = async (
  ctx: DeployContext,
  target: ResolvedTarget,
  revision: number | undefined,
): Promise<{ request: Rollback } | { refused: string }> => {
  if (revision !== undefined) {
    return {
      refused: `\`${target.service}\` in \`${target.environment}\` runs on a Docker host, which has no revisions: \`/rollback ${target.service} in ${target.environment}\` restores the previous image.`,
    };
  }
  const last = await lastSucceeded(ctx, target.service, target.environment);
  const previous = last?.facts.previousImage;
  if (!last || typeof previous !== 'string') {
    return {
      refused: `dockhand has no earlier image of \`${target.service}\` in \`${target.environment}\` to go back to.`,
    };
  }
  return {
    request: {
      type: 'rollback',
      image: previous,
      revision: describeImage(previous),
      rule: `the image that ran before deployment #${last.seq}`,
      undoes: last.id,
    },
  };
};

/**
 * A Docker-host rollout cut off by a crash: the host runtime removes the new containers that never took over and
 * starts the old ones it had stopped (a fixed host port); those that had already taken over stay. What runs now
 * and what to do next, for the card.
 */
export const undoOnHost = async (
  host: DockerHostRuntime,
  hostTarget: DockerHostTarget,
  deployment: DeploymentRecord,
): Promise<string> => {
  const since = new Date(deployment.facts.rolloutStartedAt ?? deployment.updatedAt);
  const { restarted, tookOver } = await host.recover(hostTarget, { deploymentId: deployment.id, since });
  if (tookOver.length > 0) {
    // No /rollback hint: it restores what ran before the last *successful* deployment, one version too far.
    const status = `check \`/status ${deployment.service} in ${deployment.environment}\``;
    return deployment.kind === 'scale'
      ? `The containers it had added keep running (${tookOver.join(', ')}): ${status}.`
      : `The new version had already taken over and keeps running (${tookOver.join(', ')}): ${status}.`;
  }
  return restarted.length > 0
    ? `The previous container was started again (${restarted.join(', ')}). Deploy again when ready.`
    : 'The previous containers keep running; the new ones were removed. Deploy again when ready.';
};

/**
 * How many containers a Docker-host operation runs: a scale's own count, else the count of the last /scale, kept
 * across deploys (a scaled-to-0 service that is deployed runs again). The plan and the rollout ask the same.
 */
const hostReplicas = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  hostTarget: DockerHostTarget,
): Promise<number> =>
  deployment.request.type === 'scale'
    ? deployment.request.desiredCount
    : Math.max(1, await wantedReplicas(ctx.deps.store, hostTarget));
