import type { Config } from '../../config/schema.ts';
import { isTerminal } from '../../domain/deployment.ts';
import { type DenialReason, environmentApprovers, mayUnlock, membershipOf } from '../../domain/policy.ts';
import type { Clock, DeploymentRecord, Directory, Lock, Store } from '../../ports.ts';
import type { ResolvedTarget } from '../targets.ts';

export interface LockDeps {
  config: Config;
  store: Store;
  clock: Clock;
  directory: Directory;
  /** Names this process in locks. */
  instance: string;
}

export const MANUAL_PREFIX = 'manual:';

export type LockOutcome =
  | { result: 'locked'; lock: Lock }
  /** Someone (or a deployment) already holds it. */
  | { result: 'held'; held: Lock; deployment?: DeploymentRecord | undefined };

export type UnlockOutcome =
  | { result: 'unlocked'; lock: Lock; deployment?: DeploymentRecord | undefined }
  | { result: 'not_locked' }
  | { result: 'refused'; lock: Lock; reason: string | DenialReason; deployment?: DeploymentRecord | undefined };

/** Everyone who may approve anything in the target's environment (its approval and scaleApproval policies). */
export const approversOf = (config: Config, target: ResolvedTarget): string[] => environmentApprovers(config, target);

/**
 * `/dockhand lock`: a manual lock (owner `manual:<user>`, no expiry) that blocks deploys, rollbacks and scaling of
 * the service in that environment until it is unlocked.
 */
export const lockService = async (
  deps: LockDeps,
  target: ResolvedTarget,
  user: string,
  reason: string | undefined,
): Promise<LockOutcome> => {
  const { store, clock } = deps;
  const now = clock.now();
  const outcome = await store.acquireLock(
    {
      service: target.service,
      environment: target.environment,
      owner: `${MANUAL_PREFIX}${user}`,
      instance: deps.instance,
      holder: user,
      reason: reason ?? 'locked by hand',
    },
    now,
  );
  if (!outcome.acquired) {
    return { result: 'held', held: outcome.held, deployment: await deploymentOf(store, outcome.held) };
  }
  await store.appendAudit({
    at: now,
    actor: user,
    action: 'lock.acquired',
    service: target.service,
    environment: target.environment,
    subject: outcome.lock.owner,
    outcome: 'ok',
    ...(reason ? { detail: { reason } } : {}),
  });
  return { result: 'locked', lock: outcome.lock };
};

/**
 * `/dockhand unlock`: a manual lock may be released by whoever took it or an approver of the environment; a
 * deployment's leftover lock (after an Abort) by its requester or an approver, once the deployment has ended.
 */
export const unlockService = async (deps: LockDeps, target: ResolvedTarget, user: string): Promise<UnlockOutcome> => {
  const { store, clock, directory } = deps;
  const key = { service: target.service, environment: target.environment };
  const lock = await store.getLock(key, clock.now());
  if (!lock) return { result: 'not_locked' };
  const approvers = approversOf(deps.config, target);
  const deployment = await deploymentOf(store, lock);
  if (deployment && !isTerminal(deployment.state)) {
    return {
      result: 'refused',
      lock,
      deployment,
      reason: `deployment #${deployment.seq} is still ${deployment.state.replace('_', ' ')}; it releases the lock when it ends.`,
    };
  }
  const manualOwner = lock.owner.startsWith(MANUAL_PREFIX) ? lock.owner.slice(MANUAL_PREFIX.length) : undefined;
  const decision = await mayUnlock({ target, approvers, manualOwner, deployment }, user, membershipOf(directory));
  if (!decision.allowed) return { result: 'refused', lock, deployment, reason: decision.reason };
  const released = await store.releaseLock(key, lock.owner);
  if (!released) return { result: 'not_locked' };
  await store.appendAudit({
    at: clock.now(),
    actor: user,
    action: 'lock.released',
    service: target.service,
    environment: target.environment,
    subject: lock.owner,
    outcome: 'ok',
  });
  return { result: 'unlocked', lock, deployment };
};

const deploymentOf = async (store: Store, lock: Lock): Promise<DeploymentRecord | undefined> =>
  lock.owner.startsWith('dep_') ? store.getDeployment(lock.owner) : undefined;
