/**
 * The deployment state machine (DESIGN.md §3.1): request → (approval) → build → push → register → roll out →
 * succeeded | failed, with exits rejected, expired, cancelled, aborted and rolled_back. Every transition is a
 * conditional write to the store before the card says so; the (service, environment) lock is taken when a
 * request is accepted and released in every terminal state.
 *
 * This class is the pipeline's front door for commands and buttons; each step lives in its own unit:
 *   request.ts   requests, --dry-run          plan.ts        what a request would do
 *   approvals.ts quorum, self-approval, expiry build-push.ts  build and push an image
 *   apply.ts     carry it out on the runtime  revision-facts.ts where a record keeps the runtime's revisions
 *   follow.ts    the rollout polling loop     rollout-rule.ts when a rollout is done or failed (pure)
 *   outcome.ts   succeed, fail, finish        rollback.ts    abort, rollback
 * Every step on the service goes through its Runtime (src/core/runtime.ts, `deps.runtimes.for(target)`); none asks
 * whether ECS or a Docker host runs it.
 *   recovery.ts  restart recovery             ownership.ts   leases on deployments
 *   announce.ts  the card's view model        context.ts     the state the units share
 */
import type { BreakGlass } from '../../domain/deployment.ts';
import type { ResolvedTarget } from '../targets.ts';
import { approve, disarmAll, reject } from './approvals.ts';
import {
  createContext,
  type DeployContext,
  type DeployDeps,
  type OperationRequest,
  type RequestOutcome,
} from './context.ts';
import { stopAllFollowing } from './follow.ts';
import { stopRenewing } from './ownership.ts';
import { type PromoteInput, promote } from './promote.ts';
import { resume, stopSweeping } from './recovery.ts';
import { request } from './request.ts';
import { abort, rollbackOf, rollbackTo } from './rollback.ts';

export {
  type DeployDeps,
  newDeploymentId,
  type OperationRequest,
  type RequestOutcome,
} from './context.ts';

export class DeploymentService {
  readonly #ctx: DeployContext;

  constructor(deps: DeployDeps) {
    this.#ctx = createContext(deps);
  }

  request(input: OperationRequest): Promise<RequestOutcome> {
    return request(this.#ctx, input);
  }

  /** `reason`: required when the image's scan reached the policy's blockOn (the reason dialog). */
  approve(id: string, user: string, reason?: string): Promise<void> {
    return approve(this.#ctx, id, user, reason);
  }

  reject(id: string, user: string): Promise<void> {
    return reject(this.#ctx, id, user);
  }

  abort(id: string, user: string): Promise<void> {
    return abort(this.#ctx, id, user);
  }

  /** The Rollback button of a failed or succeeded deployment: redeploys what it replaced. */
  rollbackOf(id: string, user: string): Promise<RequestOutcome> {
    return rollbackOf(this.#ctx, id, user);
  }

  /** `/promote`: the digest `source` runs, deployed to `target`. */
  promote(input: PromoteInput): Promise<RequestOutcome> {
    return promote(this.#ctx, input);
  }

  /** `/rollback [revision]`. */
  rollbackTo(target: ResolvedTarget, user: string, revision?: number, extra?: BreakGlass): Promise<RequestOutcome> {
    return rollbackTo(this.#ctx, target, user, revision, extra);
  }

  /** Takes on deployments nobody works on any more, now and every sweep (see recovery.ts). */
  resume(): Promise<void> {
    return resume(this.#ctx);
  }

  /** Stops watchers and timers (shutdown); the store keeps their state for the next start. */
  stop(): void {
    stopAllFollowing(this.#ctx);
    disarmAll(this.#ctx);
    stopRenewing(this.#ctx);
    stopSweeping(this.#ctx);
  }
}
