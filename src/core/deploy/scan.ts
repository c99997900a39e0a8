/**
 * The image scan a plan records (issue 13, item 6): one look at the registry's scan of the digest a deploy runs, and
 * while the scan is pending or in progress, more looks with backoff for at most the registry's `scanWait`. Never
 * throws and never fails a deploy: a scan that cannot be read is recorded as unreadable and the request goes on.
 */
import type { ScanFindings } from '../../domain/scan.ts';
import { AwsError, errorName } from '../../errors.ts';
import type { DeploymentRecord, ImageRegistry } from '../../ports.ts';
import { parseDuration } from '../duration.ts';
import { type ResolvedTarget, resolveTarget } from '../targets.ts';
import { show } from './announce.ts';
import { type DeployContext, liveOf, policyOf } from './context.ts';

/** How long a plan waits for a scan in progress unless the registry says otherwise (`scanWait`). */
export const DEFAULT_SCAN_WAIT_MS = 60_000;

/** Between looks at a scan in progress: 2 s, 4 s, 8 s, then every 16 s (each cut to the time left). */
export const SCAN_BACKOFF_MS: readonly number[] = [2_000, 4_000, 8_000, 16_000];

/** How long plans wait for scans of the registry `name` (its `scanWait`, or the default). */
export const scanWaitOf = (ctx: DeployContext, name: string): number => {
  const registry = ctx.deps.config.registries[name];
  const wait = registry && 'scanWait' in registry ? registry.scanWait : undefined;
  return (wait === undefined ? undefined : parseDuration(wait)) ?? DEFAULT_SCAN_WAIT_MS;
};

/**
 * The scan of `repository@digest`, read when someone will see it: the request waits for approval (the approval card
 * shows it, and the policy may weigh it). Undefined where the registry does not scan. A dry run looks once.
 */
export const scanForPlan = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  target: ResolvedTarget,
  registry: ImageRegistry,
  /** `registry`: its name in dockhand.yml, for its scanWait (default: the target's registry). */
  image: { repository: string; digest: string; registry?: string | undefined },
): Promise<ScanFindings | undefined> => {
  if (!registry.scanFindings || !policyOf(ctx, deployment)) return undefined;
  // A dry run (request.ts, record id "dry-run") answers at once: one look, whatever the scan's state.
  const registryName = image.registry ?? target.serviceConfig.image?.registry ?? '';
  const wait = deployment.id === DRY_RUN ? 0 : scanWaitOf(ctx, registryName);
  // While it waits for a scan in progress, the card says so (not just "starting").
  const onWait = () => {
    liveOf(ctx, deployment.id).scanWait = { waitMs: wait };
    void show(ctx, deployment);
  };
  try {
    return await readScan(ctx, registry, image, wait, onWait);
  } finally {
    delete liveOf(ctx, deployment.id).scanWait;
  }
};

/** The id of the record a dry run plans (src/core/deploy/request.ts). */
const DRY_RUN = 'dry-run';

/** One look, then more with backoff while the scan is in progress and `waitMs` allows. */
export const readScan = async (
  ctx: DeployContext,
  registry: ImageRegistry,
  image: { repository: string; digest: string },
  waitMs: number,
  /** Called once, before the first wait for a scan in progress. */
  onWait?: () => void,
): Promise<ScanFindings | undefined> => {
  const { clock, logger } = ctx.deps;
  if (!registry.scanFindings) return undefined;
  const started = clock.now().getTime();
  for (let look = 0; ; look++) {
    let findings: ScanFindings;
    try {
      findings = await registry.scanFindings(image.repository, image.digest);
    } catch (e) {
      // Logged in full for the operator; the card gets the error's code only (no ARN, no account id).
      logger.info({ err: e, repository: image.repository, digest: image.digest }, 'could not read the image scan');
      return { status: 'unreadable', detail: e instanceof AwsError ? e.awsCode : errorName(e) };
    }
    if (findings.status !== 'in_progress') return findings;
    const left = waitMs - (clock.now().getTime() - started);
    if (left <= 0) return findings;
    if (look === 0) onWait?.();
    const backoff = SCAN_BACKOFF_MS[Math.min(look, SCAN_BACKOFF_MS.length - 1)] ?? 16_000;
    await clock.sleep(Math.min(backoff, left));
  }
};

/**
 * At approve time, under the policy's blockOn, a scan the plan left in progress (its scanWait ran out) is looked at
 * once more (one call, no wait): a finished one, or one that failed or turned out unscannable, is stored and weighed
 * instead. Answers the record as it now is: the same object when nothing changed (no blockOn, no scan in progress,
 * still in progress, or not readable this time).
 */
export const rescanForApproval = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
): Promise<DeploymentRecord> => {
  if (deployment.facts.scan?.status !== 'in_progress' || !policyOf(ctx, deployment)?.blockOn) return deployment;
  const source = scannedImageOf(ctx, deployment);
  if (!source) return deployment;
  const scan = await readScan(ctx, source.registry, source.image, 0);
  if (!scan || scan.status === 'in_progress' || scan.status === 'unreadable') return deployment;
  return ctx.deps.store.updateDeployment(deployment.id, { facts: { scan } }, ctx.deps.clock.now());
};

/**
 * Where the plan read a deployment's scan: the digest in the target's registry for an image deploy, in the source
 * environment's for a promote (the copy comes after approval). Undefined for anything else.
 */
const scannedImageOf = (
  ctx: DeployContext,
  deployment: DeploymentRecord,
): { registry: ImageRegistry; image: { repository: string; digest: string } } | undefined => {
  const { request, facts } = deployment;
  const environment =
    request.type === 'promote' ? request.from : request.type === 'image' ? deployment.environment : undefined;
  if (environment === undefined || facts.digest === undefined) return undefined;
  let image: ResolvedTarget['serviceConfig']['image'];
  try {
    image = resolveTarget(ctx.deps.config, deployment.service, environment).serviceConfig.image;
  } catch {
    return undefined; // The environment left dockhand.yml since the plan: nothing to look at.
  }
  if (!image?.registry) return undefined;
  return { registry: ctx.deps.registry(image.registry), image: { repository: image.repository, digest: facts.digest } };
};
