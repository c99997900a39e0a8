/**
 * `/promote api from staging to production`: the exact image digest running in the source environment (read from its
 * runtime, not from our records), deployed to the target with no build. The plan names the commit it was built from
 * (our record of that digest, else the image's `org.opencontainers.image.revision` label); where the two
 * environments keep their images in different places, execute copies the image by digest (ImageCopier) before the
 * runtime is asked to run it, and checks that the copy has the promoted digest.
 */
import type { DeploymentFacts, Promote } from '../../domain/deployment.ts';
import { enforce, mayRequest, Refusal } from '../../domain/policy.ts';
import { DockhandError } from '../../errors.ts';
import type { DeploymentRecord, ImageLocation } from '../../ports.ts';
import { describeTarget, type RuntimeSnapshot } from '../runtime.ts';
import { type ResolvedTarget, resolveTarget } from '../targets.ts';
import { show } from './announce.ts';
import { REVISION_LABEL } from './build-push.ts';
import {
  type DeployContext,
  liveOf,
  memberOf,
  type OperationRequest,
  type RequestOutcome,
  transition,
} from './context.ts';
import { request } from './request.ts';
import { scanForPlan } from './scan.ts';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface PromoteInput {
  /** The environment promoted to. */
  target: ResolvedTarget;
  /** The environment promoted from. */
  source: ResolvedTarget;
  user: string;
  dryRun?: boolean;
  extra?: Pick<Promote, 'emergency' | 'emergencyCause'>;
}

/**
 * Authorizes, reads the digest the source runs (refusing when it runs nothing or more than one image), then requests
 * a deploy of that digest to the target (lock, card, the target's approval policy). A refusal records nothing.
 */
export const promote = async (ctx: DeployContext, input: PromoteInput): Promise<RequestOutcome> => {
  const { target, source, user } = input;
  if (source.environment === target.environment)
    throw new DockhandError('invalid', `\`${target.environment}\` is both the source and the target of the promote.`);
  enforce(await mayRequest('deploy', target, user, memberOf(ctx)));
  // The image moves through a registry on both sides: without one, refuse now rather than fail the recorded plan.
  locationOf(source);
  locationOf(target);
  const { digest } = await runningDigest(ctx, source);
  const operation: OperationRequest = {
    kind: 'deploy',
    target,
    user,
    request: { type: 'promote', from: source.environment, digest, ...input.extra },
    ...(input.dryRun ? { dryRun: true } : {}),
  };
  return request(ctx, operation);
};

/** The environment `/promote <service> to <env>` promotes from: the one listed just before `to` in dockhand.yml. */
export const previousEnvironment = (target: ResolvedTarget): string => {
  // The parsed config keeps the environments in the order dockhand.yml lists them.
  const names = Object.keys(target.serviceConfig.environments);
  const index = names.indexOf(target.environment);
  const before = index > 0 ? names[index - 1] : undefined;
  if (before === undefined)
    throw new DockhandError(
      'invalid',
      `\`${target.environment}\` is the first environment of \`${target.service}\` in dockhand.yml: there is none before it to promote from.`,
      { hint: `Name the source: \`/promote ${target.service} from <env> to ${target.environment}\`.` },
    );
  return before;
};

/** The one image digest the source environment runs, read from its runtime. */
export const runningDigest = async (
  ctx: DeployContext,
  source: ResolvedTarget,
): Promise<{ digest: string; image: string }> => {
  // Without units: an ECS service's deployments say whether more than one revision runs (one DescribeServices, no
  // task reads); a Docker host lists its containers in any case.
  const snapshot = await describeTarget(ctx.deps.runtimes, source, { units: false, publicAddresses: false });
  const where = `\`${source.service}\` in \`${source.environment}\``;
  const image = snapshot.image;
  if (snapshot.running === 0 || image === undefined)
    throw new Refusal(`Nothing of ${where} is running: there is no image to promote.`);
  const running = runningRevisions(snapshot);
  if (running.length > 1)
    throw new Refusal(
      `${where} runs more than one image now (${running.map((r) => `\`${r}\``).join(', ')}): promote once its rollout is over.`,
    );
  const named = image.split('@')[1];
  if (named !== undefined && DIGEST.test(named)) return { digest: named, image };
  // A tag: what it points to now may not be what runs. The digest the running units were started from, instead.
  const withUnits =
    snapshot.units.length > 0
      ? snapshot
      : await describeTarget(ctx.deps.runtimes, source, { units: true, publicAddresses: false });
  const digests = [
    ...new Set(
      withUnits.units.filter((u) => u.state.toLowerCase() === 'running').map((u) => u.imageDigest ?? 'unknown'),
    ),
  ];
  const [digest] = digests;
  if (digests.length === 1 && digest !== undefined && DIGEST.test(digest)) return { digest, image };
  if (digests.length > 1 && !digests.includes('unknown'))
    throw new Refusal(
      `${where} runs \`${image}\`, but its units were started from different images (${digests.map((d) => `\`${d.slice(7, 19)}\``).join(', ')}): the tag moved between them. Deploy one digest there first, then promote.`,
    );
  throw new Refusal(
    `${where} runs the tag \`${image}\`, and its runtime does not say which digest it was started from: the tag may point elsewhere now, so there is no digest to promote. Deploy it there by digest first, then promote.`,
  );
};

/**
 * The revisions the service runs: those of its rollouts that have units running or are under way (a new one may have
 * none running yet), else those of its running units. More than one: it is between two images.
 */
const runningRevisions = (snapshot: RuntimeSnapshot): string[] => {
  const live = snapshot.rollouts.filter((r) => r.running > 0 || r.outcome === 'in_progress');
  if (live.length > 0) return [...new Set(live.map((r) => r.revision))];
  return [...new Set(snapshot.units.filter((u) => u.state.toLowerCase() === 'running').map((u) => u.revision))];
};

/** Where an environment keeps its images; promote needs a registry on both sides. */
const locationOf = (target: ResolvedTarget): ImageLocation => {
  const image = target.serviceConfig.image;
  if (!image?.registry)
    throw new DockhandError(
      'invalid',
      `\`${target.service}\` in \`${target.environment}\` has no registry (image: { registry, repository }): a promoted image moves through one.`,
    );
  return { registry: image.registry, repository: image.repository };
};

const sameLocation = (a: ImageLocation, b: ImageLocation): boolean =>
  a.registry === b.registry && a.repository === b.repository;

/**
 * The plan's part of a promote: the image the target will run (its own registry, the promoted digest), where it runs
 * in the source, and the commit it was built from.
 */
export const planPromotion = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  target: ResolvedTarget,
  promotion: Promote,
): Promise<{ image: string; facts: DeploymentFacts }> => {
  const source = resolveTarget(ctx.deps.config, deployment.service, promotion.from);
  const from = locationOf(source);
  const to = locationOf(target);
  const { digest } = promotion;
  const sourceName = await ctx.deps.registry(from.registry).imageName(from.repository);
  const targetName = sameLocation(from, to)
    ? sourceName
    : await ctx.deps.registry(to.registry).imageName(to.repository);
  const image = `${targetName}@${digest}`;
  const facts: DeploymentFacts = { digest, image, sourceImage: `${sourceName}@${digest}` };
  Object.assign(facts, await commitOf(ctx, deployment.service, from, digest));
  // The scan of the promoted bytes, where they are now (the copy comes after approval): the target's approvers see
  // it, and its policy's blockOn weighs it, as for an image deploy.
  const scan = await scanForPlan(ctx, deployment, target, ctx.deps.registry(from.registry), {
    repository: from.repository,
    digest,
    registry: from.registry,
  });
  if (scan) facts.scan = scan;
  return { image, facts };
};

/** The commit a digest was built from: a deployment of ours that pushed it, else the image's revision label. */
const commitOf = async (
  ctx: DeployContext,
  service: string,
  from: ImageLocation,
  digest: string,
): Promise<DeploymentFacts> => {
  const records = await ctx.deps.store.listDeployments({ service, kinds: ['deploy'], limit: 200 });
  const built = records.find((r) => r.facts.digest === digest && r.facts.commitSha !== undefined);
  if (built?.facts.commitSha !== undefined)
    return {
      commitSha: built.facts.commitSha,
      ...(built.facts.commitSubject === undefined ? {} : { commitSubject: built.facts.commitSubject }),
      commitFrom: 'record',
    };
  const copier = ctx.deps.copier;
  if (!copier) return {};
  const labels = await copier.labels(from, digest).catch((err: unknown) => {
    ctx.deps.logger.warn({ err, service }, 'could not read the labels of a promoted image');
    return {} as Record<string, string>;
  });
  const sha = labels[REVISION_LABEL];
  return sha !== undefined && /^[0-9a-f]{7,64}$/.test(sha) ? { commitSha: sha, commitFrom: 'label' } : {};
};

/**
 * Copies an approved promote's image into the target environment's registry when it keeps its images elsewhere,
 * verifying the digest there. The record afterwards (in `pushing` when it copied), or undefined when another writer
 * moved it meanwhile.
 */
export const copyPromoted = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  target: ResolvedTarget,
  promotion: Promote,
): Promise<DeploymentRecord | undefined> => {
  const source = resolveTarget(ctx.deps.config, deployment.service, promotion.from);
  const from = locationOf(source);
  const to = locationOf(target);
  if (sameLocation(from, to)) return deployment;
  const copier = ctx.deps.copier;
  if (!copier)
    throw new DockhandError(
      'registry',
      `This dockhand cannot copy images between registries, and \`${promotion.from}\` and \`${target.environment}\` keep theirs in different places.`,
    );
  const pushing = await transition(ctx, deployment, 'pushing', 'dockhand');
  if (!pushing) return undefined;
  const live = liveOf(ctx, deployment.id);
  live.copy = { copied: 0, total: 0 };
  await show(ctx, pushing);
  const result = await copier.copy({
    digest: promotion.digest,
    from,
    to,
    onProgress: (copied, total) => {
      live.copy = { copied, total };
      void show(ctx, pushing);
    },
  });
  // The copier's word, then the target registry's own: the manifest it serves under the promoted digest.
  const there =
    result.digest === promotion.digest
      ? await ctx.deps.registry(to.registry).resolveTag(to.repository, promotion.digest)
      : result.digest;
  if (there !== promotion.digest)
    throw new DockhandError(
      'registry',
      `The copy in ${to.registry}/${to.repository} ${there ? `has the digest ${there}` : 'is not there'}, not the promoted ${promotion.digest}: nothing was deployed.`,
    );
  live.copy = { copied: result.bytes, total: result.bytes };
  // The audit keeps what moved where after the card is gone: registries by their dockhand.yml names, no credentials.
  await ctx.deps.store.appendAudit({
    at: ctx.deps.clock.now(),
    actor: 'dockhand',
    action: 'image.copied',
    service: deployment.service,
    environment: deployment.environment,
    subject: deployment.id,
    outcome: result.method,
    detail: { digest: promotion.digest, from, to, bytes: result.bytes },
  });
  return ctx.deps.store.updateDeployment(
    pushing.id,
    { facts: { copyMethod: result.method, copyBytes: result.bytes } },
    ctx.deps.clock.now(),
  );
};
