/**
 * Carrying an approved operation out on the service's runtime (src/core/runtime.ts), whatever runs it: build or check
 * the image, record what is about to be sent, `apply`, then follow the rollout the runtime started, or close a change
 * it finished in one step. Differences between runtimes are what the runtime reports (`registers`, `revisionKind`,
 * one step).
 */
import { type DeploymentFacts, requiredFact } from '../../domain/deployment.ts';
import { DockhandError, HostDeployError } from '../../errors.ts';
import type { DeploymentRecord } from '../../ports.ts';
import { applyBounds } from '../operate/autoscaling.ts';
import { type AppliedChange, isOneStep, type Runtime } from '../runtime.ts';
import { show } from './announce.ts';
import { buildAndPush } from './build-push.ts';
import { type DeployContext, liveOf, runtimeOf, targetOf, transition } from './context.ts';
import { follow } from './follow.ts';
import { fail, succeed } from './outcome.ts';
import { changeOf, optionalRegistry, registryOf } from './plan.ts';
import { copyPromoted } from './promote.ts';
import { previousFacts, refFields } from './revision-facts.ts';

/** Carries an approved operation out to its end (succeeded or failed), building first when it needs an image. */
export const apply = async (ctx: DeployContext, approved: DeploymentRecord): Promise<void> => {
  let deployment = approved;
  const { clock, store } = ctx.deps;
  const live = liveOf(ctx, deployment.id);
  try {
    const target = targetOf(ctx, deployment);
    const runtime = runtimeOf(ctx, target);
    const { request } = deployment;
    if (request.type === 'scaleBounds') {
      await applyBounds(ctx, deployment, runtime, target, request);
      return;
    }
    let image: string | undefined;
    if (request.type === 'image') {
      const digest = await registryOf(ctx, target).resolveTag(
        target.serviceConfig.image?.repository as string,
        request.imageTag,
      );
      if (digest !== deployment.facts.digest) {
        throw new DockhandError(
          'conflict',
          `Tag \`${request.imageTag}\` now points at another image than the one approved; request the deployment again.`,
        );
      }
      image = requiredFact(deployment, 'image');
    } else if (request.type === 'promote') {
      const copied = await copyPromoted(ctx, deployment, target, request);
      if (!copied) return;
      deployment = copied;
      image = requiredFact(deployment, 'image');
    } else if (request.type === 'git') {
      const built = await buildAndPush(ctx, deployment, target);
      if (!built) return;
      deployment = built;
      image = requiredFact(deployment, 'image');
    }
    if (image !== undefined && runtime.registers) {
      const registering = await transition(ctx, deployment, 'registering', 'dockhand');
      if (!registering) return;
      deployment = registering;
      await show(ctx, deployment);
    }
    const oneStep = isOneStep(runtime);
    const fields = refFields(runtime);
    const registry = optionalRegistry(ctx, target);
    let sentAt: Date | undefined;
    const applied = await runtime.apply(target, changeOf(request, image), {
      operationId: deployment.id,
      pull: registry ? { auth: async () => (registry.auth ? registry.auth() : undefined) } : undefined,
      // What is about to be sent is stored first: a restart in the middle finds out whether the runtime applied it.
      beforeSend: async ({ revision, previous }) => {
        sentAt = clock.now();
        const revisionFacts: DeploymentFacts = revision
          ? { [fields.ref]: revision.ref, revision: revision.revision }
          : {};
        if (!oneStep && revision) {
          // What the runtime says ran before the revision it registered replaces what the plan saw.
          const known: DeploymentFacts = image !== undefined && previous ? { [fields.previous]: previous.ref } : {};
          deployment = await store.updateDeployment(deployment.id, { facts: { ...revisionFacts, ...known } }, sentAt);
        }
        const rolling = await transition(
          ctx,
          deployment,
          'rolling_out',
          'dockhand',
          undefined,
          oneStep
            ? { rolloutStartedAt: sentAt.toISOString(), ...revisionFacts }
            : { updateServiceSentAt: sentAt.toISOString() },
          ['approved', 'building', 'pushing', 'registering'],
        );
        if (!rolling) throw new StopApplying();
        deployment = rolling;
        if (oneStep) await show(ctx, deployment);
      },
      onProgress: (phase, detail) => {
        live.host = { phase, detail };
        void show(ctx, deployment);
      },
    });
    if (applied.done) {
      await succeed(ctx, deployment, doneFacts(runtime, deployment, applied));
      return;
    }
    deployment = await store.updateDeployment(
      deployment.id,
      {
        facts: {
          ecsDeploymentId: applied.rolloutId,
          rolloutStartedAt: (sentAt ?? clock.now()).toISOString(),
        },
      },
      clock.now(),
    );
    await show(ctx, deployment);
    await follow(ctx, deployment);
  } catch (e) {
    if (e instanceof StopApplying) return;
    if (e instanceof HostDeployError) live.failure = { ...live.failure, logLines: [...e.logLines] };
    await fail(ctx, deployment, e);
  }
};

/** Thrown from `beforeSend` when the record moved on meanwhile (aborted, failed): nothing is sent. */
class StopApplying extends Error {}

/** What a change the runtime finished in one step leaves on the record. */
const doneFacts = (runtime: Runtime, deployment: DeploymentRecord, applied: AppliedChange): DeploymentFacts => ({
  publicIps: applied.settled?.addresses ?? [],
  runningCount: applied.settled?.running ?? 0,
  containers: applied.settled?.units ?? [],
  ...(applied.previous && deployment.kind !== 'scale' ? previousFacts(runtime, applied.previous) : {}),
  ...(applied.gap ? { gap: true } : {}),
});
