/**
 * What every unit of the deployment pipeline shares: its ports (DeployDeps) and the in-process state that is not
 * worth a store write (live card progress, rollout watchers, expiry timers, ownership leases). One explicit object,
 * passed to each unit's functions, instead of one class holding everything.
 */
import type { Config } from '../../config/schema.ts';
import {
  ACTIVE_STATES,
  type DeploymentFacts,
  type DeploymentRequest,
  type DeploymentState,
} from '../../domain/deployment.ts';
import { approvalPolicyFor, type EffectivePolicy, type Membership, type ScanGate } from '../../domain/policy.ts';
import type { Logger } from '../../logger.ts';
import type {
  Cancel,
  Clock,
  DeploymentRecord,
  Directory,
  ImageBuilder,
  ImageCopier,
  ImageRegistry,
  Notifier,
  OperationKind,
  Random,
  SourceFetcher,
  Store,
  Timers,
} from '../../ports.ts';
import type { Runtime, Runtimes } from '../runtime.ts';
import { type ResolvedTarget, resolveTarget } from '../targets.ts';
import type { DeploymentLive, DeploymentView, RenderDeployment, RenderRefusal } from './view.ts';

export interface DeployDeps {
  config: Config;
  /** Directory of the config file: `source.path` is relative to it. */
  configDir: string;
  store: Store;
  clock: Clock;
  /** Approval expiry, lease renewal and the recovery sweep. */
  timers: Timers;
  /** Backoff jitter and deployment ids. */
  random: Random;
  logger: Logger;
  notifier: Notifier;
  directory: Directory;
  source: SourceFetcher;
  builder: ImageBuilder;
  registry: (name: string) => ImageRegistry;
  /** Copies a promoted image between registries and reads its labels; absent: promotes within one location only. */
  copier?: ImageCopier | undefined;
  /** What runs each target (ECS, a Docker host): the pipeline asks `runtimes.for(target)`, never which it is. */
  runtimes: Runtimes;
  render: RenderDeployment;
  /** Words for the refusals that name people or show what users typed (the Slack layer provides it). */
  refusals: RenderRefusal;
  /** Names this process in locks. */
  instance: string;
  /** Rollout polling interval (copilot polls every 4 s). */
  pollMs: number;
  track: <T>(work: Promise<T>) => Promise<T>;
}

/** What someone asked for, already parsed and resolved. */
export interface OperationRequest {
  kind: OperationKind;
  target: ResolvedTarget;
  user: string;
  request: DeploymentRequest;
  dryRun?: boolean;
  /**
   * Requested by a signed hook (src/http/hooks.ts): the policy asks the environment's trigger about the request's
   * `trigger` (its source and branch) instead of the deployers' rule.
   */
  triggered?: boolean;
}

/** What a request led to; a request that is not allowed, or cannot be done now, throws a `Refusal` instead. */
export type RequestOutcome =
  | { result: 'started'; deployment: DeploymentRecord }
  | { result: 'dry_run'; view: DeploymentView };

/** The pipeline's shared state; each map is owned by the unit named beside it. */
export interface DeployContext {
  readonly deps: DeployDeps;
  /** Live card progress per deployment (announce; every unit writes its part). */
  readonly live: Map<string, DeploymentLive>;
  /** The rollout being followed per deployment, to stop it on abort or shutdown (follow). */
  readonly watchers: Map<string, AbortController>;
  /** Approval expiry per waiting deployment (approvals). */
  readonly expiryTimers: Map<string, Cancel>;
  /** Deployments this process works on, each with the renewal of its ownership lease (ownership). */
  readonly owned: Map<string, Cancel>;
  /** The periodic look for deployments nobody works on (recovery). */
  sweep: Cancel | undefined;
}

export const createContext = (deps: DeployDeps): DeployContext => ({
  deps,
  live: new Map(),
  watchers: new Map(),
  expiryTimers: new Map(),
  owned: new Map(),
  sweep: undefined,
});

export const ACTIVE = ACTIVE_STATES;

export const newDeploymentId = (random: Random): string => `dep_${random.hex(10)}`;

export const shortSha = (sha: string): string => sha.slice(0, 7);

export const liveOf = (ctx: DeployContext, id: string): DeploymentLive => {
  let live = ctx.live.get(id);
  if (!live) {
    live = {};
    ctx.live.set(id, live);
  }
  return live;
};

export const targetOf = (ctx: DeployContext, deployment: DeploymentRecord): ResolvedTarget =>
  resolveTarget(ctx.deps.config, deployment.service, deployment.environment);

/** The runtime of `target`; throws a DockhandError when this process has none for its type. */
export const runtimeOf = (ctx: DeployContext, target: ResolvedTarget): Runtime => ctx.deps.runtimes.for(target);

export const policyOf = (
  ctx: DeployContext,
  deployment: Pick<DeploymentRecord, 'service' | 'environment' | 'kind' | 'request'> & {
    facts?: DeploymentRecord['facts'];
  },
): EffectivePolicy | undefined => approvalPolicyFor(ctx.deps.config, deployment);

/** The directory's answer the policy asks for (src/domain/policy.ts). */
export const memberOf =
  (ctx: DeployContext): Membership =>
  (principals, user) =>
    ctx.deps.directory.includes(principals, user);

/** What a card shows of an approval policy. */
export const policyView = (
  policy: EffectivePolicy,
): { required: number; approvers: string[]; scanGate?: ScanGate | undefined } => ({
  required: policy.required,
  approvers: [...policy.approvers],
  ...(policy.scanGate ? { scanGate: { ...policy.scanGate } } : {}),
});

/** A conditional move to `to` from the states TRANSITIONS allows (narrowed to `onlyFrom`); undefined if not. */
export const transition = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  to: DeploymentState,
  actor: string,
  reason?: string,
  facts?: DeploymentFacts,
  onlyFrom?: readonly DeploymentState[],
): Promise<DeploymentRecord | undefined> =>
  ctx.deps.store.transition(
    deployment.id,
    {
      to,
      actor,
      ...(reason === undefined ? {} : { reason }),
      ...(facts === undefined ? {} : { facts }),
      ...(onlyFrom === undefined ? {} : { onlyFrom }),
    },
    ctx.deps.clock.now(),
  );

export const lastSucceeded = async (
  ctx: DeployContext,
  service: string,
  environment: string,
): Promise<DeploymentRecord | undefined> => {
  const [last] = await ctx.deps.store.listDeployments({
    service,
    environment,
    states: ['succeeded'],
    kinds: ['deploy'],
    limit: 1,
  });
  return last;
};

/** When an approval request expires: set when it started waiting. */
export const expiryOf = (deployment: DeploymentRecord): Date | undefined => {
  if (deployment.expiresAt) return deployment.expiresAt;
  return typeof deployment.facts.expiresAt === 'string' ? new Date(deployment.facts.expiresAt) : undefined;
};
