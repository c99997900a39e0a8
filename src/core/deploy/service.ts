import { randomBytes } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import type { ApprovalPolicy, Config } from '../../config/schema.ts';
import {
  approvalPolicyFor,
  enforce,
  type Membership,
  mayAbort,
  mayApprove,
  mayReject,
  mayRequest,
  mayRollBack,
  quorumOf,
  Refusal,
} from '../../domain/policy.ts';
import { AwsError, DockhandError, errorMessage, HostDeployError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import {
  type Clock,
  type DeploymentRecord,
  type DeploymentState,
  type Directory,
  type DockerHostRuntime,
  type DockerHostTarget,
  type EcsDeployer,
  type EcsDeployTarget,
  type ImageBuilder,
  type ImageRegistry,
  isTerminal,
  type MessageRef,
  type Notifier,
  type OperationKind,
  type SourceFetcher,
  type Store,
} from '../../ports.ts';
import { safe } from '../../slack/mrkdwn.ts';
import { parseDuration } from '../duration.ts';
import { type ResolvedTarget, resolveTarget } from '../targets.ts';
import {
  describeImage,
  hostChanges,
  hostTargetOf,
  publicEndpoints,
  rememberReplicas,
  requireHostRuntime,
  runningImage,
  wantedReplicas,
} from './host.ts';
import type { DeploymentLive, DeploymentView, RenderDeployment } from './view.ts';

export interface DeployDeps {
  config: Config;
  /** Directory of the config file: `source.path` is relative to it. */
  configDir: string;
  store: Store;
  clock: Clock;
  logger: Logger;
  notifier: Notifier;
  directory: Directory;
  source: SourceFetcher;
  builder: ImageBuilder;
  registry: (name: string) => ImageRegistry;
  ecs: EcsDeployer;
  /** Docker-host targets (type: docker); undefined where none are configured. */
  host?: DockerHostRuntime | undefined;
  render: RenderDeployment;
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
  /** deploy: { ref } | { imageTag }; restart: {}; rollback: { taskDefinitionArn, revision, rule, undoes? } */
  request: Record<string, unknown>;
  dryRun?: boolean;
}

/** What a request led to; a request that is not allowed, or cannot be done now, throws a `Refusal` instead. */
export type RequestOutcome =
  | { result: 'started'; deployment: DeploymentRecord }
  | { result: 'dry_run'; view: DeploymentView };

const ACTIVE: readonly DeploymentState[] = [
  'requested',
  'awaiting_approval',
  'approved',
  'building',
  'pushing',
  'registering',
  'rolling_out',
];
const ABORT_LOCK_MS = 60 * 60_000;
/** How long a replica's claim on a deployment lasts without renewal (renewed every third of it). */
const OWNERSHIP_LEASE_MS = 45_000;
/** How often deployments whose owner went away are looked for. */
const OWNERSHIP_SWEEP_MS = 15_000;
const MAX_BACKOFF_MS = 32_000;
/** How long an approval request waits for Slack to take the card update before it is also posted in the thread. */
const APPROVAL_CARD_WAIT_MS = 3000;

export const newDeploymentId = (): string => `dep_${randomBytes(10).toString('hex')}`;

const shortSha = (sha: string): string => sha.slice(0, 7);

/** Consecutive failed looks at a rollout (other than throttling) before the deployment is failed. */
const MAX_POLL_FAILURES = 5;

/** Errors that another look will not cure: permissions, a service or cluster that does not exist, bad input. */
const isPermanent = (e: unknown): boolean =>
  e instanceof AwsError &&
  /AccessDenied|UnauthorizedOperation|NotFoundException|InvalidParameter|ClientException/.test(e.awsCode);

const isThrottle = (e: unknown): boolean =>
  e instanceof AwsError &&
  /Throttl|RequestLimitExceeded|TooManyRequests|Rate exceeded/i.test(`${e.awsCode} ${e.message}`);

/**
 * The deployment state machine (DESIGN.md §3.1): request → (approval) → build → push → register → roll out →
 * succeeded | failed, with exits rejected, expired, cancelled, aborted and rolled_back. Every transition is a
 * conditional write to the store before the card says so; the (service, environment) lock is taken when a
 * request is accepted and released in every terminal state.
 */
export class DeploymentService {
  readonly #deps: DeployDeps;
  readonly #live = new Map<string, DeploymentLive>();
  readonly #watchers = new Map<string, AbortController>();
  readonly #expiryTimers = new Map<string, NodeJS.Timeout>();
  /** Deployments this process is working on, each with the timer that renews its ownership lease. */
  readonly #owned = new Map<string, NodeJS.Timeout>();
  #sweep: NodeJS.Timeout | undefined;

  constructor(deps: DeployDeps) {
    this.#deps = deps;
  }

  /** The directory's answer the policy asks for (src/domain/policy.ts). */
  readonly #member: Membership = (principals, user) => this.#deps.directory.includes(principals, user);

  // -------------------------------------------------------------------------------------------------------------
  // Requests

  async request(input: OperationRequest): Promise<RequestOutcome> {
    const { store, clock } = this.#deps;
    const { target, user } = input;
    enforce(await mayRequest(input.kind, target, user, this.#member));
    const ecsTarget = hostTargetOf(target) ? undefined : this.#ecsTarget(target);
    if (!ecsTarget) requireHostRuntime(this.#deps.host);
    if (input.dryRun) return { result: 'dry_run', view: await this.#dryRun(input, ecsTarget) };

    const id = newDeploymentId();
    const now = clock.now();
    const lock = await store.acquireLock(
      {
        service: target.service,
        environment: target.environment,
        owner: id,
        instance: this.#deps.instance,
        holder: user,
        reason: `${input.kind} requested`,
      },
      now,
    );
    if (!lock.acquired) throw new Refusal(await this.#lockedMessage(target, lock.held));

    let deployment: DeploymentRecord;
    try {
      deployment = await store.createDeployment(
        {
          id,
          kind: input.kind,
          service: target.service,
          environment: target.environment,
          state: 'requested',
          requestedBy: user,
          request: input.request,
        },
        now,
      );
    } catch (e) {
      await store.releaseLock({ service: target.service, environment: target.environment }, id);
      throw e;
    }
    await this.#claim(id);
    // The card is posted before the request is answered: a card that cannot be posted (dockhand not in the
    // channel, a missing scope) fails the deployment and reaches the requester instead of vanishing into a log.
    try {
      deployment = await this.#postCard(deployment, target.channel);
    } catch (e) {
      await this.#fail(deployment, e).catch((err: unknown) =>
        this.#deps.logger.error({ err, deployment: id }, 'could not close a deployment whose card was not posted'),
      );
      throw e;
    }
    void this.#deps.track(this.#prepare(deployment, ecsTarget));
    return { result: 'started', deployment };
  }

  /** Plans, then asks for approval or runs at once. Runs after the command was acknowledged. */
  async #prepare(initial: DeploymentRecord, ecsTarget: EcsDeployTarget | undefined): Promise<void> {
    const deployment = initial;
    try {
      const facts = await this.#plan(deployment, ecsTarget);
      const policy = this.#policy(deployment);
      if (policy) {
        const expiresAt = new Date(
          this.#deps.clock.now().getTime() + (parseDuration(policy.expiresAfter) ?? 30 * 60_000),
        );
        this.#liveOf(deployment.id).approvalPolicy = { required: policy.required, approvers: [...policy.approvers] };
        const moved = await this.#transition(deployment, ['requested'], 'awaiting_approval', 'dockhand', undefined, {
          ...facts,
          expiresAt: expiresAt.toISOString(),
        });
        if (!moved) return;
        this.#armExpiry(moved, expiresAt);
        // Nobody works on a request that waits: whichever replica receives the approval takes it on.
        await this.#disown(moved.id);
        await this.#askForApproval(moved);
        return;
      }
      const approved = await this.#transition(
        deployment,
        ['requested'],
        'approved',
        'dockhand',
        'no approval needed',
        facts,
      );
      if (approved) await this.#execute(approved);
    } catch (e) {
      await this.#fail(deployment, e);
    }
  }

  /** What would happen: resolves the commit or image, reads what runs now, diffs the task definition. */
  async #plan(deployment: DeploymentRecord, ecsTarget: EcsDeployTarget | undefined): Promise<Record<string, unknown>> {
    const { ecs, source } = this.#deps;
    const target = this.#target(deployment);
    const facts: Record<string, unknown> = {};
    let newImage: string | undefined;
    if (deployment.kind === 'deploy') {
      const registry = this.#optionalRegistry(target);
      const repository = target.serviceConfig.image?.repository as string;
      const imageName = registry ? await registry.imageName(repository) : repository;
      if (typeof deployment.request.imageTag === 'string') {
        if (!registry) {
          throw new DockhandError('invalid', `\`${target.service}\` has no registry to look \`image:<tag>\` up in.`);
        }
        const tag = deployment.request.imageTag;
        const digest = await registry.resolveTag(repository, tag);
        if (!digest) throw new DockhandError('not_found', `Image tag \`${tag}\` does not exist in ${imageName}.`);
        newImage = `${imageName}@${digest}`;
        Object.assign(facts, { imageTag: tag, digest, image: newImage });
      } else {
        const src = this.#sourceSpec(target, deployment.request.ref as string | undefined);
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
    if (!ecsTarget) return this.#planOnHost(deployment, target, newImage, facts);
    if (deployment.kind === 'rollback') newImage = undefined;
    const plan = await ecs.planImage(ecsTarget, newImage ?? '');
    const current = `${plan.current.family}:${plan.current.revision}`;
    facts.previousRevision = current;
    facts.previousTaskDefinitionArn = plan.current.arn;
    const live = this.#liveOf(deployment.id);
    live.plan = {
      currentRevision: current,
      currentImage: plan.currentImage,
      newImage,
      changes: newImage ? plan.changes : [],
    };
    if (deployment.kind === 'rollback') {
      live.plan.changes = [{ field: 'taskDefinition', from: current, to: String(deployment.request.revision) }];
    }
    if (
      typeof facts.commitSha === 'string' &&
      target.serviceConfig.source &&
      'git' in target.serviceConfig.source &&
      source.commitsBetween
    ) {
      const previous = await this.#lastSucceeded(deployment.service, deployment.environment);
      const fromSha = previous?.facts.commitSha;
      if (typeof fromSha === 'string' && fromSha !== facts.commitSha) {
        live.plan.commits = await source
          .commitsBetween({ git: target.serviceConfig.source.git }, fromSha, facts.commitSha, 5)
          .catch(() => undefined);
      }
    }
    return facts;
  }

  /** The plan of a Docker-host operation: what its containers run now and what would change. */
  async #planOnHost(
    deployment: DeploymentRecord,
    target: ResolvedTarget,
    newImage: string | undefined,
    facts: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const host = requireHostRuntime(this.#deps.host);
    const hostTarget = hostTargetOf(target) as NonNullable<ReturnType<typeof hostTargetOf>>;
    const snapshot = await host.snapshot(hostTarget);
    const current = runningImage(snapshot);
    const image = deployment.kind === 'rollback' ? (deployment.request.image as string) : newImage;
    const replicas = await this.#hostReplicas(deployment, hostTarget);
    if (current) {
      facts.previousImage = current;
      facts.previousRevision = describeImage(current);
    }
    this.#liveOf(deployment.id).plan = {
      currentRevision: current ? describeImage(current) : 'nothing running',
      currentImage: current ?? '—',
      newImage: image,
      changes: hostChanges(snapshot, hostTarget, { image, replicas }),
    };
    return facts;
  }

  async #dryRun(input: OperationRequest, ecsTarget: EcsDeployTarget | undefined): Promise<DeploymentView> {
    const now = this.#deps.clock.now();
    const record: DeploymentRecord = {
      id: 'dry-run',
      seq: 0,
      kind: input.kind,
      service: input.target.service,
      environment: input.target.environment,
      state: 'requested',
      requestedBy: input.user,
      requestedAt: now,
      updatedAt: now,
      request: input.request,
      facts: {},
      approvals: [],
    };
    const facts = await this.#plan(record, ecsTarget);
    const live = this.#liveOf(record.id);
    this.#live.delete(record.id);
    const policy = this.#policy(record);
    return {
      ...record,
      facts,
      ...live,
      ...(policy ? { approvalPolicy: { required: policy.required, approvers: [...policy.approvers] } } : {}),
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Approvals

  async approve(id: string, user: string): Promise<void> {
    const { store, clock } = this.#deps;
    const deployment = await this.#pending(id);
    const decision = await mayApprove(this.#policy(deployment), deployment, user, this.#member);
    enforce(decision);
    const { policy } = decision;
    const outcome = await store.approve(id, user, quorumOf(policy.required), clock.now());
    if (outcome.result === 'duplicate') throw new Refusal('You have already approved this deployment.');
    if (outcome.result === 'not_pending')
      throw new Refusal(`This request is ${outcome.deployment.state.replace('_', ' ')}; nothing changed.`);
    this.#liveOf(id).approvalPolicy = { required: policy.required, approvers: [...policy.approvers] };
    if (outcome.result === 'recorded') {
      await this.#show(outcome.deployment);
      return;
    }
    this.#disarmExpiry(id);
    await this.#claim(id);
    await this.#show(outcome.deployment);
    void this.#deps.track(this.#execute(outcome.deployment));
  }

  async reject(id: string, user: string): Promise<void> {
    const deployment = await this.#pending(id);
    const decision = await mayReject(this.#policy(deployment), deployment, user, this.#member);
    enforce(decision);
    const withdrawn = decision.as === 'requester';
    const rejected = await this.#transition(
      deployment,
      ['awaiting_approval'],
      withdrawn ? 'cancelled' : 'rejected',
      user,
      withdrawn ? 'withdrawn by the requester' : undefined,
      withdrawn ? { cancelledBy: user } : { rejectedBy: user },
    );
    if (!rejected) throw new Refusal('This request was already decided; nothing changed.');
    this.#disarmExpiry(id);
    await this.#finish(rejected);
  }

  async #pending(id: string): Promise<DeploymentRecord> {
    const deployment = await this.#deps.store.getDeployment(id);
    if (!deployment) throw new Refusal('This deployment is unknown to dockhand.');
    if (deployment.state !== 'awaiting_approval') {
      throw new Refusal(`This request is already ${deployment.state.replace('_', ' ')}; nothing changed.`);
    }
    const expiresAt = expiryOf(deployment);
    if (expiresAt && expiresAt.getTime() <= this.#deps.clock.now().getTime()) {
      await this.#expire(id);
      throw new Refusal('This request has expired; nothing changed. Ask for it again.');
    }
    return deployment;
  }

  #armExpiry(deployment: DeploymentRecord, expiresAt: Date): void {
    this.#disarmExpiry(deployment.id);
    const delay = Math.max(0, expiresAt.getTime() - this.#deps.clock.now().getTime());
    const timer = setTimeout(() => void this.#deps.track(this.#expire(deployment.id)), Math.min(delay, 2 ** 31 - 1));
    timer.unref();
    this.#expiryTimers.set(deployment.id, timer);
  }

  #disarmExpiry(id: string): void {
    const timer = this.#expiryTimers.get(id);
    if (timer) clearTimeout(timer);
    this.#expiryTimers.delete(id);
  }

  async #expire(id: string): Promise<void> {
    const deployment = await this.#deps.store.getDeployment(id);
    if (deployment?.state !== 'awaiting_approval') return;
    // A timer waits at most 2^31-1 ms (24.8 days): one that fired before the expiry is set again.
    const expiresAt = expiryOf(deployment);
    if (expiresAt && expiresAt.getTime() > this.#deps.clock.now().getTime()) {
      this.#armExpiry(deployment, expiresAt);
      return;
    }
    const expired = await this.#transition(
      deployment,
      ['awaiting_approval'],
      'expired',
      'dockhand',
      'nobody approved it in time',
    );
    if (expired) await this.#finish(expired);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Execution

  async #execute(approved: DeploymentRecord): Promise<void> {
    let deployment = approved;
    const target = this.#target(deployment);
    if (hostTargetOf(target)) return this.#executeOnHost(approved, target);
    const ecsTarget = this.#ecsTarget(target);
    const { ecs, clock } = this.#deps;
    try {
      let taskDefinitionArn: string | undefined;
      if (deployment.kind === 'deploy') {
        let image: string;
        if (typeof deployment.request.imageTag === 'string') {
          const registry = this.#registry(target);
          const digest = await registry.resolveTag(
            target.serviceConfig.image?.repository as string,
            deployment.request.imageTag,
          );
          if (digest !== deployment.facts.digest) {
            throw new DockhandError(
              'conflict',
              `Tag \`${deployment.request.imageTag}\` now points at another image than the one approved; request the deployment again.`,
            );
          }
          image = deployment.facts.image as string;
        } else {
          const built = await this.#buildAndPush(deployment, target);
          if (!built) return;
          deployment = built;
          image = deployment.facts.image as string;
        }
        const registering = await this.#transition(deployment, ['approved', 'pushing'], 'registering', 'dockhand');
        if (!registering) return;
        deployment = registering;
        await this.#show(deployment);
        const registered = await ecs.registerImage(ecsTarget, image);
        taskDefinitionArn = registered.taskDefinitionArn;
        deployment = await this.#deps.store.updateDeployment(
          deployment.id,
          {
            facts: {
              taskDefinitionArn,
              revision: registered.revision,
              previousTaskDefinitionArn: registered.previousTaskDefinitionArn,
            },
          },
          clock.now(),
        );
      } else if (deployment.kind === 'rollback') {
        taskDefinitionArn = deployment.request.taskDefinitionArn as string;
        deployment = await this.#deps.store.updateDeployment(
          deployment.id,
          { facts: { taskDefinitionArn, revision: String(deployment.request.revision) } },
          clock.now(),
        );
      }
      // When UpdateService was sent is stored first: a restart in the middle finds out whether ECS applied it.
      const started = clock.now();
      const rolling = await this.#transition(
        deployment,
        ['approved', 'registering'],
        'rolling_out',
        'dockhand',
        undefined,
        { updateServiceSentAt: started.toISOString() },
      );
      if (!rolling) return;
      deployment = rolling;
      const deploymentId = await this.#updateService(
        deployment,
        ecsTarget,
        deployment.kind === 'scale'
          ? { desiredCount: deployment.request.desiredCount as number }
          : taskDefinitionArn
            ? { taskDefinitionArn }
            : { forceNewDeployment: true },
        started,
      );
      deployment = await this.#deps.store.updateDeployment(
        deployment.id,
        { facts: { ecsDeploymentId: deploymentId, rolloutStartedAt: started.toISOString() } },
        clock.now(),
      );
      await this.#show(deployment);
      await this.#watch(deployment);
    } catch (e) {
      await this.#fail(deployment, e);
    }
  }

  /**
   * UpdateService, resolving with the id of the ECS deployment it created. When it fails (after the SDK's retries)
   * ECS may still have applied it (a timeout): then that deployment is followed. Otherwise a revision this
   * deployment registered is deregistered, since nothing will run it, and the error is thrown on.
   */
  async #updateService(
    deployment: DeploymentRecord,
    target: EcsDeployTarget,
    change: { taskDefinitionArn?: string; forceNewDeployment?: boolean; desiredCount?: number },
    sentAt: Date,
  ): Promise<string> {
    const { ecs, logger } = this.#deps;
    try {
      return (await ecs.updateService(target, change)).deploymentId;
    } catch (e) {
      if (change.desiredCount !== undefined) throw e;
      const applied = await ecs
        .findRollout(target, { since: sentAt, taskDefinitionArn: change.taskDefinitionArn })
        .catch(() => 'unknown' as const);
      if (applied !== undefined && applied !== 'unknown') {
        logger.warn(
          { deployment: deployment.id, err: e, ecsDeploymentId: applied.deploymentId },
          'UpdateService failed, yet ECS applied it: following its rollout',
        );
        return applied.deploymentId;
      }
      if (applied === 'unknown') throw e;
      const deregistered = await this.#deregisterUnused(deployment, target);
      if (!deregistered) throw e;
      const message = `${errorMessage(e)} ${deregistered}`;
      throw e instanceof DockhandError
        ? new DockhandError(e.code, message, { cause: e, hint: e.hint })
        : new DockhandError('aws', message, { cause: e });
    }
  }

  /**
   * Deregisters the revision a deploy registered once ECS is known not to run it (its UpdateService failed, or was
   * cut short by a restart): nothing will use it. Resolves with a sentence for the card, or undefined if nothing
   * was deregistered (not a deploy, or DeregisterTaskDefinition failed: logged).
   */
  async #deregisterUnused(deployment: DeploymentRecord, target: EcsDeployTarget): Promise<string | undefined> {
    const { ecs, logger } = this.#deps;
    const arn = deployment.facts.taskDefinitionArn;
    if (deployment.kind !== 'deploy' || typeof arn !== 'string') return undefined;
    const revision = typeof deployment.facts.revision === 'string' ? deployment.facts.revision : arn;
    try {
      await ecs.deregisterRevision(target, arn);
    } catch (err) {
      logger.warn({ deployment: deployment.id, err }, 'could not deregister the unused task definition revision');
      return undefined;
    }
    logger.info({ deployment: deployment.id, revision }, 'deregistered a task definition revision nothing runs');
    return `The unused revision ${revision} was deregistered.`;
  }

  /**
   * Docker host: build (and push when a registry is configured), then let the host runtime start the new
   * containers beside the old ones, wait until they are healthy and remove the old ones. It either finishes or
   * throws, leaving the old containers serving; there is no ECS deployment to watch.
   */
  async #executeOnHost(approved: DeploymentRecord, target: ResolvedTarget): Promise<void> {
    let deployment = approved;
    const host = requireHostRuntime(this.#deps.host);
    const hostTarget = hostTargetOf(target) as NonNullable<ReturnType<typeof hostTargetOf>>;
    const live = this.#liveOf(deployment.id);
    const registry = this.#optionalRegistry(target);
    try {
      let image: string | undefined;
      if (deployment.kind === 'deploy' && typeof deployment.request.imageTag !== 'string') {
        const built = await this.#buildAndPush(deployment, target);
        if (!built) return;
        deployment = built;
      }
      if (deployment.kind === 'deploy') image = deployment.facts.image as string;
      else if (deployment.kind === 'rollback') image = deployment.request.image as string;
      else if (deployment.kind === 'restart') image = deployment.facts.previousImage as string | undefined;
      const rolling = await this.#transition(
        deployment,
        ['approved', 'building', 'pushing'],
        'rolling_out',
        'dockhand',
        undefined,
        {
          rolloutStartedAt: this.#deps.clock.now().toISOString(),
          ...(image ? { image, revision: describeImage(image) } : {}),
        },
      );
      if (!rolling) return;
      deployment = rolling;
      await this.#show(deployment);
      const onProgress = (phase: string, detail?: string) => {
        live.host = { phase, detail };
        void this.#show(rolling);
      };
      let result: Awaited<ReturnType<typeof host.deploy>>;
      const replicas = await this.#hostReplicas(deployment, hostTarget);
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
      await rememberReplicas(this.#deps.store, hostTarget, replicas, this.#deps.clock.now());
      const snapshot = await host.snapshot(hostTarget).catch(() => undefined);
      await this.#succeed(deployment, {
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
      await this.#fail(deployment, e);
    }
  }

  async #buildAndPush(deployment: DeploymentRecord, target: ResolvedTarget): Promise<DeploymentRecord | undefined> {
    const { source, builder, clock } = this.#deps;
    const building = await this.#transition(deployment, ['approved'], 'building', 'dockhand');
    if (!building) return undefined;
    await this.#show(building);
    const commitSha = building.facts.commitSha as string;
    const spec = this.#sourceSpec(target, commitSha);
    const checkout = await source.checkout('git' in spec ? { git: spec.git, ref: commitSha } : spec);
    const registry = this.#optionalRegistry(target);
    const repository = target.serviceConfig.image?.repository as string;
    const imageName = registry ? await registry.imageName(repository) : repository;
    const tag = `${imageName}:${shortSha(commitSha)}`;
    const live = this.#liveOf(deployment.id);
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
        onEvent: (event) => {
          if (event.type === 'step')
            live.build = { step: event.step, total: event.total, instruction: event.instruction, lastLines: [] };
          else if (live.build) live.build.lastLines = [...(live.build.lastLines ?? []).slice(-2), event.line];
          void this.#show(building);
        },
      });
    } finally {
      await checkout.cleanup();
    }
    // Without a registry the image stays on the engine that built it (a Docker host on that same engine).
    if (!registry) return this.#deps.store.updateDeployment(building.id, { facts: { image: tag, tag } }, clock.now());
    const pushing = await this.#transition(building, ['building'], 'pushing', 'dockhand');
    if (!pushing) return undefined;
    live.push = { percent: 0 };
    await this.#show(pushing);
    const { digest } = await registry.push({
      image: tag,
      onProgress: (percent) => {
        live.push = { percent };
        void this.#show(pushing);
      },
    });
    return this.#deps.store.updateDeployment(
      pushing.id,
      { facts: { digest, image: `${imageName}@${digest}`, tag } },
      clock.now(),
    );
  }

  /** Follows the ECS deployment this run created until COMPLETED, FAILED, aborted or timed out. */
  async #watch(deployment: DeploymentRecord): Promise<void> {
    const { ecs, clock, logger } = this.#deps;
    const target = this.#target(deployment);
    const ecsTarget = this.#ecsTarget(target);
    const deploymentId = deployment.facts.ecsDeploymentId as string;
    const startedAt = new Date((deployment.facts.rolloutStartedAt as string | undefined) ?? deployment.updatedAt);
    const timeoutMs = parseDuration(target.envConfig.rolloutTimeout) ?? 30 * 60_000;
    const controller = new AbortController();
    this.#watchers.set(deployment.id, controller);
    const live = this.#liveOf(deployment.id);
    let delay = this.#deps.pollMs;
    let failures = 0;
    try {
      for (;;) {
        if (controller.signal.aborted) return;
        try {
          const progress = await ecs.rolloutProgress(ecsTarget, deploymentId);
          delay = this.#deps.pollMs;
          failures = 0;
          live.rollout = progress;
          if (controller.signal.aborted) return;
          if (progress.outcome === 'completed') {
            await this.#succeed(deployment);
            return;
          }
          if (progress.outcome === 'failed') {
            const taskIds = progress.stoppedTasks.map((g) => g.exampleTaskId);
            const logLines = await ecs.recentLogLines(ecsTarget, taskIds, 20).catch(() => []);
            live.failure = { logLines };
            const reason = progress.reason ?? progress.stoppedTasks[0]?.reason ?? 'the ECS deployment failed';
            await this.#fail(deployment, new DockhandError('aws', `Rollout failed: ${reason}`));
            return;
          }
          await this.#show(deployment);
        } catch (e) {
          // Throttling and passing faults (network, 5xx, timeouts after the SDK's own retries) must not end a
          // rollout that ECS is still carrying out: back off and look again, a bounded number of times in a row.
          if (isPermanent(e) || (!isThrottle(e) && ++failures > MAX_POLL_FAILURES)) throw e;
          delay = Math.min(MAX_BACKOFF_MS, delay * 2) * (0.75 + Math.random() * 0.5);
          logger.warn(
            { deployment: deployment.id, delayMs: Math.round(delay), err: e },
            'rollout polling failed; backing off',
          );
        }
        if (clock.now().getTime() - startedAt.getTime() > timeoutMs) {
          await this.#fail(
            deployment,
            new DockhandError('timeout', `The rollout did not finish within ${target.envConfig.rolloutTimeout}.`),
          );
          return;
        }
        await clock.sleep(delay, controller.signal).catch(() => {});
      }
    } finally {
      this.#watchers.delete(deployment.id);
    }
  }

  async #succeed(deployment: DeploymentRecord, facts: Record<string, unknown> = {}): Promise<void> {
    const now = this.#deps.clock.now();
    const live = this.#liveOf(deployment.id);
    const tasks = live.rollout?.tasks ?? [];
    const publicIps = tasks.map((t) => t.publicIp).filter((ip): ip is string => ip !== undefined);
    const startedAt = new Date((deployment.facts.rolloutStartedAt as string | undefined) ?? deployment.requestedAt);
    const done = await this.#transition(deployment, ['rolling_out'], 'succeeded', 'dockhand', undefined, {
      publicIps,
      runningCount: live.rollout?.deployment?.running ?? tasks.length,
      durationMs: now.getTime() - deployment.requestedAt.getTime(),
      rolloutDurationMs: now.getTime() - startedAt.getTime(),
      ...facts,
    });
    if (!done) return;
    if (deployment.kind === 'rollback' && typeof deployment.request.undoes === 'string') {
      await this.#transition(
        (await this.#deps.store.getDeployment(deployment.request.undoes)) as DeploymentRecord,
        ['succeeded', 'failed'],
        'rolled_back',
        deployment.requestedBy,
        `rolled back by #${deployment.seq}`,
      ).then((undone) => (undone ? this.#show(undone, true) : undefined));
    }
    await this.#finish(done);
  }

  async #fail(deployment: DeploymentRecord, error: unknown): Promise<void> {
    const { store, logger } = this.#deps;
    const current = (await store.getDeployment(deployment.id).catch(() => undefined)) ?? deployment;
    if (isTerminal(current.state)) return;
    const live = this.#liveOf(deployment.id);
    if (error instanceof DockhandError && error.name === 'BuildFailedError') {
      const build = error as DockhandError & { step?: string; output?: readonly string[] };
      live.failure = { ...live.failure, step: build.step, output: [...(build.output ?? [])] };
    }
    if (error instanceof DockhandError && error.hint) live.failure = { ...live.failure, hint: error.hint };
    const message =
      error instanceof DockhandError ? error.message : 'dockhand failed unexpectedly; the details are in its log.';
    if (!(error instanceof DockhandError) || error.code === 'internal')
      logger.error({ err: error, deployment: deployment.id }, 'deployment failed');
    else logger.info({ deployment: deployment.id, reason: message }, 'deployment failed');
    const failed = await this.#transition(current, ACTIVE, 'failed', 'dockhand', message, { failedIn: current.state });
    if (failed) await this.#finish(failed);
  }

  /** Terminal state reached: card finished at once, lock released (an abort keeps it, with its reason). */
  async #finish(deployment: DeploymentRecord): Promise<void> {
    const { store } = this.#deps;
    if (deployment.state !== 'aborted') {
      await store.releaseLock({ service: deployment.service, environment: deployment.environment }, deployment.id);
    }
    await this.#show(deployment, true);
    this.#live.delete(deployment.id);
    await this.#disown(deployment.id);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Abort and rollback (buttons on the card)

  async abort(id: string, user: string): Promise<void> {
    const { store, clock, ecs } = this.#deps;
    const deployment = await store.getDeployment(id);
    if (deployment?.state !== 'rolling_out')
      throw new Refusal('Only a rollout in progress can be aborted; nothing changed.');
    if (hostTargetOf(this.#target(deployment)))
      throw new Refusal('A rollout on a Docker host is one step and cannot be aborted; nothing changed.');
    enforce(await mayAbort(this.#policy(deployment), deployment, user, this.#member));
    const previous = deployment.facts.previousTaskDefinitionArn as string | undefined;
    const aborted = await this.#transition(deployment, ['rolling_out'], 'aborted', user, undefined, {
      abortedBy: user,
    });
    if (!aborted) throw new Refusal('The rollout already ended; nothing changed.');
    this.#watchers.get(id)?.abort();
    await store.acquireLock(
      {
        service: deployment.service,
        environment: deployment.environment,
        owner: deployment.id,
        instance: this.#deps.instance,
        holder: user,
        reason: `rollout #${deployment.seq} aborted by ${user}; /dockhand unlock when the service is checked`,
        expiresAt: new Date(clock.now().getTime() + ABORT_LOCK_MS),
      },
      clock.now(),
    );
    let shown = aborted;
    if (previous) {
      const target = this.#ecsTarget(this.#target(deployment));
      const rollout = {
        deploymentId: (deployment.facts.ecsDeploymentId as string | undefined) ?? '',
        taskDefinitionArn: deployment.facts.taskDefinitionArn as string | undefined,
        previousTaskDefinitionArn: previous,
      };
      const restored = await ecs.abort(target, rollout).catch((e: unknown) => {
        this.#deps.logger.error({ err: e, deployment: id }, 'could not restore the previous revision after an abort');
        this.#liveOf(id).failure = { step: `Restoring ${previous} failed: ${errorMessage(e)}` };
      });
      if (restored) {
        this.#deps.logger.info(
          { deployment: id, method: restored.method, fallbackReason: restored.fallbackReason },
          'restored the previous revision after an abort',
        );
        shown = await store.updateDeployment(id, { facts: { abortMethod: restored.method } }, clock.now());
      }
    }
    await this.#show(shown, true);
  }

  /** The Rollback button of a failed or succeeded deployment: redeploys the revision it replaced. */
  async rollbackOf(id: string, user: string): Promise<RequestOutcome> {
    const deployment = await this.#deps.store.getDeployment(id);
    if (!deployment) throw new Refusal('This deployment is unknown to dockhand.');
    const previousImage = deployment.facts.previousImage;
    if (typeof previousImage === 'string' && hostTargetOf(this.#target(deployment))) {
      return this.request({
        kind: 'rollback',
        target: this.#target(deployment),
        user,
        request: {
          image: previousImage,
          revision: describeImage(previousImage),
          rule: `the image that ran before #${deployment.seq}`,
          undoes: deployment.id,
        },
      });
    }
    const previous = deployment.facts.previousTaskDefinitionArn;
    if (typeof previous !== 'string')
      throw new Refusal('dockhand does not know which revision ran before this deployment.');
    const target = resolveTarget(this.#deps.config, deployment.service, deployment.environment);
    return this.request({
      kind: 'rollback',
      target,
      user,
      request: {
        taskDefinitionArn: previous,
        revision: deployment.facts.previousRevision ?? previous,
        rule: `the revision before #${deployment.seq}`,
        undoes: deployment.id,
      },
    });
  }

  /**
   * `/rollback`: without a revision, the one that ran before the last successful dockhand deployment (which it then
   * marks rolled back), or, when dockhand has no such history, the previous ACTIVE revision of the family. With a
   * revision, that one, if it is an ACTIVE revision of the service's family.
   */
  async rollbackTo(
    target: ResolvedTarget,
    user: string,
    revision?: number,
    /** Merged into the request (break-glass: { emergency }). */
    extra: Record<string, unknown> = {},
  ): Promise<RequestOutcome> {
    const { ecs } = this.#deps;
    // Who may deploy is checked before anything is read from AWS (request() checks it again, cheaply).
    enforce(await mayRollBack(target, user, this.#member));
    if (hostTargetOf(target)) return this.#rollbackOnHost(target, user, revision, extra);
    const ecsTarget = this.#ecsTarget(target);
    const current = await ecs.currentTaskDefinition(ecsTarget);
    const running = `${current.family}:${current.revision}`;
    let request: Record<string, unknown> | undefined;
    if (revision !== undefined) {
      if (revision === current.revision) {
        throw new Refusal(`\`${target.service}\` in \`${target.environment}\` already runs \`${running}\`.`);
      }
      const found = (await ecs.listRevisions(ecsTarget, current.family, 2000)).find((r) => r.revision === revision);
      if (!found) {
        throw new Refusal(`revision ${revision} is not an ACTIVE revision of family ${current.family}.`);
      }
      request = {
        taskDefinitionArn: found.arn,
        revision: `${current.family}:${revision}`,
        rule: 'the revision asked for',
      };
    } else {
      const last = await this.#lastSucceeded(target.service, target.environment);
      const previous = last?.facts.previousTaskDefinitionArn;
      if (last && typeof previous === 'string' && previous !== current.arn) {
        request = {
          taskDefinitionArn: previous,
          revision: last.facts.previousRevision ?? previous,
          rule: `the revision that ran before deployment #${last.seq}`,
          undoes: last.id,
        };
      } else {
        const older = (await ecs.listRevisions(ecsTarget, current.family, 100)).find(
          (r) => r.revision < current.revision,
        );
        if (!older) {
          throw new Refusal(
            `dockhand has no deployment of \`${target.service}\` in \`${target.environment}\` to undo, and family ${current.family} has no ACTIVE revision before ${current.revision}.`,
          );
        }
        request = {
          taskDefinitionArn: older.arn,
          revision: `${current.family}:${older.revision}`,
          rule: `the previous ACTIVE revision of family ${current.family} (dockhand has no deployment to undo)`,
        };
      }
    }
    return this.request({ kind: 'rollback', target, user, request: { ...request, ...extra } });
  }

  /** Docker host: the image that ran before the last successful deployment (recorded by dockhand). */
  async #rollbackOnHost(
    target: ResolvedTarget,
    user: string,
    revision: number | undefined,
    extra: Record<string, unknown>,
  ): Promise<RequestOutcome> {
    if (revision !== undefined) {
      throw new Refusal(
        `\`${target.service}\` in \`${target.environment}\` runs on a Docker host, which has no revisions: \`/rollback ${target.service} in ${target.environment}\` restores the previous image.`,
      );
    }
    const last = await this.#lastSucceeded(target.service, target.environment);
    const previous = last?.facts.previousImage;
    if (!last || typeof previous !== 'string') {
      throw new Refusal(
        `dockhand has no earlier image of \`${target.service}\` in \`${target.environment}\` to go back to.`,
      );
    }
    return this.request({
      kind: 'rollback',
      target,
      user,
      request: {
        image: previous,
        revision: describeImage(previous),
        rule: `the image that ran before deployment #${last.seq}`,
        undoes: last.id,
        ...extra,
      },
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Restart recovery

  /**
   * On start-up, and then every minute: take on the deployments nobody works on any more (their owner's lease ran
   * out: a restart, a crash, a replica gone) — resume rollouts, close interrupted work — re-arm approval expiry, and
   * release locks of deployments that ended. Deployments another live replica works on are left alone.
   */
  async resume(): Promise<void> {
    await this.#recover(true);
    if (!this.#sweep) {
      this.#sweep = setInterval(() => void this.#deps.track(this.#recover(false)), OWNERSHIP_SWEEP_MS);
      this.#sweep.unref();
    }
  }

  async #recover(startup: boolean): Promise<void> {
    const { store, clock, logger } = this.#deps;
    const open = await store.listDeployments({ states: ACTIVE, limit: 1000 }).catch((err: unknown) => {
      logger.error({ err }, 'could not list open deployments');
      return [];
    });
    for (const deployment of open) {
      try {
        if (deployment.state === 'awaiting_approval') {
          const expiresAt = expiryOf(deployment);
          if (startup && expiresAt) this.#armExpiry(deployment, expiresAt);
          continue;
        }
        if (this.#owned.has(deployment.id) || !(await this.#claim(deployment.id))) continue;
        const adopted = await this.#adoptInterruptedUpdate(deployment);
        if (adopted) {
          const resumed = adopted === true ? deployment : adopted;
          logger.info({ deployment: deployment.id }, 'resuming the watch of an interrupted rollout');
          void this.#deps.track(this.#watch(resumed).catch((e: unknown) => this.#fail(resumed, e)));
        } else {
          const doing = deployment.state.replace('_', ' ');
          const deregistered =
            adopted === false
              ? await this.#deregisterUnused(deployment, this.#ecsTarget(this.#target(deployment)))
              : undefined;
          // A host out of reach must not keep the deployment (and its lock) open: it is closed as "may be partly
          // running", the next step left to whoever checks /status.
          const restored =
            adopted !== false && deployment.state === 'rolling_out'
              ? await this.#undoOnHost(deployment).catch((err: unknown) => {
                  logger.warn({ err, deployment: deployment.id }, 'could not undo an interrupted rollout on its host');
                  return undefined;
                })
              : undefined;
          const next =
            adopted === false
              ? `ECS did not start rolling it out (the service does not run this deployment's revision): nothing was rolled out; request it again.${deregistered ? ` ${deregistered}` : ''}`
              : restored
                ? restored
                : deployment.state === 'rolling_out'
                  ? `The new version may be partly running: check \`/status ${deployment.service} in ${deployment.environment}\`, then deploy again or roll back.`
                  : 'Nothing was rolled out; request it again.';
          await this.#fail(
            deployment,
            new DockhandError(
              'conflict',
              `Interrupted: dockhand restarted while this deployment was ${doing}. ${next}`,
            ),
          );
        }
      } catch (e) {
        logger.error({ err: e, deployment: deployment.id }, 'could not recover a deployment after a restart');
        // Given up, so the next sweep tries again: kept, it would be skipped as ours for good, its lock held.
        if (this.#owned.has(deployment.id)) await this.#disown(deployment.id);
      }
    }
    for (const lock of await store.listLocks(clock.now())) {
      if (!lock.owner.startsWith('dep_')) continue;
      const owner = await store.getDeployment(lock.owner);
      if (!owner || (isTerminal(owner.state) && owner.state !== 'aborted')) await store.releaseLock(lock, lock.owner);
    }
  }

  /**
   * A rollout found on restart: true when its ECS deployment is known (watch it); when UpdateService was in flight
   * (sent, no answer stored), the record completed with the ECS deployment if the service now runs this
   * deployment's revision, or false when it does not; undefined when nobody can tell (not an ECS rollout, or AWS
   * did not answer).
   */
  async #adoptInterruptedUpdate(deployment: DeploymentRecord): Promise<DeploymentRecord | boolean | undefined> {
    if (deployment.state !== 'rolling_out') return undefined;
    if (typeof deployment.facts.ecsDeploymentId === 'string') return true;
    const sentAt = deployment.facts.updateServiceSentAt;
    if (typeof sentAt !== 'string' || deployment.kind === 'scale') return undefined;
    let target: ResolvedTarget;
    try {
      target = this.#target(deployment);
    } catch {
      return undefined; // its service or environment has left dockhand.yml: nothing to read, it is closed
    }
    if (hostTargetOf(target)) return undefined;
    const { ecs, store, clock, logger } = this.#deps;
    const taskDefinitionArn =
      typeof deployment.facts.taskDefinitionArn === 'string' ? deployment.facts.taskDefinitionArn : undefined;
    let found: { deploymentId: string } | undefined;
    try {
      found = await ecs.findRollout(this.#ecsTarget(target), { since: new Date(sentAt), taskDefinitionArn });
    } catch (err) {
      logger.warn({ err, deployment: deployment.id }, 'could not read what the service runs after a restart');
      return undefined;
    }
    if (!found) return false;
    logger.info(
      { deployment: deployment.id, ecsDeploymentId: found.deploymentId },
      'ECS applied the UpdateService that was in flight when dockhand stopped',
    );
    return store.updateDeployment(
      deployment.id,
      { facts: { ecsDeploymentId: found.deploymentId, rolloutStartedAt: sentAt } },
      clock.now(),
    );
  }

  /**
   * A Docker-host rollout cut off by a crash: the host runtime removes the new containers that never took over and
   * starts the old ones it had stopped (a fixed host port); those that had already taken over stay. What runs now
   * and what to do next, for the card; undefined on ECS.
   */
  async #undoOnHost(deployment: DeploymentRecord): Promise<string | undefined> {
    const hostTarget = hostTargetOf(this.#target(deployment));
    if (!hostTarget || !this.#deps.host) return undefined;
    const since = new Date((deployment.facts.rolloutStartedAt as string | undefined) ?? deployment.updatedAt);
    const { restarted, tookOver } = await this.#deps.host.recover(hostTarget, { deploymentId: deployment.id, since });
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
  }

  /**
   * How many containers a Docker-host operation runs: a scale's own count, else the count of the last /scale, kept
   * across deploys (a scaled-to-0 service that is deployed runs again). The plan and the rollout ask the same.
   */
  async #hostReplicas(deployment: DeploymentRecord, hostTarget: DockerHostTarget): Promise<number> {
    return deployment.kind === 'scale'
      ? (deployment.request.desiredCount as number)
      : Math.max(1, await wantedReplicas(this.#deps.store, hostTarget));
  }

  /** Stops watchers and timers (shutdown); the store keeps their state for the next start. */
  stop(): void {
    for (const controller of this.#watchers.values()) controller.abort();
    for (const id of [...this.#expiryTimers.keys()]) this.#disarmExpiry(id);
    for (const timer of this.#owned.values()) clearInterval(timer);
    this.#owned.clear();
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  /**
   * Takes (or confirms) this process's ownership of a deployment: a lease in the store, renewed while the work
   * goes on, so that a restarting or second replica neither closes nor duplicates work that is alive elsewhere.
   */
  async #claim(id: string): Promise<boolean> {
    const { store, clock, instance, logger } = this.#deps;
    const won = await store.tryLease(`deployment:${id}`, instance, OWNERSHIP_LEASE_MS, clock.now());
    if (won && !this.#owned.has(id)) {
      const timer = setInterval(() => {
        store
          .tryLease(`deployment:${id}`, instance, OWNERSHIP_LEASE_MS, clock.now())
          .then((kept) => {
            if (!kept) logger.warn({ deployment: id }, 'lost the ownership lease of a deployment');
          })
          .catch((err: unknown) => logger.warn({ err, deployment: id }, 'could not renew a deployment lease'));
      }, OWNERSHIP_LEASE_MS / 3);
      timer.unref();
      this.#owned.set(id, timer);
    }
    return won;
  }

  /** Gives a deployment up (it ended, or it waits for someone): the lease runs out at once. */
  async #disown(id: string): Promise<void> {
    const timer = this.#owned.get(id);
    if (timer) clearInterval(timer);
    this.#owned.delete(id);
    await this.#deps.store
      .tryLease(`deployment:${id}`, this.#deps.instance, 0, this.#deps.clock.now())
      .catch((err: unknown) => this.#deps.logger.warn({ err, deployment: id }, 'could not give a deployment lease up'));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Helpers

  async #transition(
    deployment: DeploymentRecord,
    from: readonly DeploymentState[],
    to: DeploymentState,
    actor: string,
    reason?: string,
    facts?: Record<string, unknown>,
  ): Promise<DeploymentRecord | undefined> {
    return this.#deps.store.transition(
      deployment.id,
      { from, to, actor, ...(reason === undefined ? {} : { reason }), ...(facts === undefined ? {} : { facts }) },
      this.#deps.clock.now(),
    );
  }

  async #postCard(deployment: DeploymentRecord, channel: string): Promise<DeploymentRecord> {
    const ref = await this.#deps.notifier.post(
      channel,
      this.#deps.render(this.#view(deployment), this.#deps.clock.now()),
    );
    return this.#deps.store.updateDeployment(
      deployment.id,
      { channel: ref.channel, messageTs: ref.ts },
      this.#deps.clock.now(),
    );
  }

  /**
   * Shows the Approve buttons: an urgent card update, and when Slack has not taken it within a few seconds (a storm
   * of 429s pauses every chat.update), the same card as a reply in the card's thread, since posts never wait
   * behind card updates. Either message's buttons work; the reply then follows the card (#show).
   */
  async #askForApproval(deployment: DeploymentRecord): Promise<void> {
    const { notifier, store, clock, logger } = this.#deps;
    let written = false;
    try {
      const latest = (await store.getDeployment(deployment.id)) ?? deployment;
      if (!latest.channel || !latest.messageTs) return;
      const ref: MessageRef = { channel: latest.channel, ts: latest.messageTs };
      const update = notifier.updateNow(ref, this.#deps.render(this.#view(latest), clock.now())).then(
        () => {
          written = true;
        },
        (err: unknown) => logger.error({ err, deployment: deployment.id }, 'could not update the deployment card'),
      );
      await Promise.race([update, clock.sleep(APPROVAL_CARD_WAIT_MS)]);
      if (written) return;
      const current = await store.getDeployment(deployment.id);
      if (current?.state !== 'awaiting_approval') return; // decided meanwhile
      const reply = await notifier.post(ref.channel, this.#deps.render(this.#view(current), clock.now()), ref.ts);
      await store.updateDeployment(deployment.id, { facts: { approvalReplyTs: reply.ts } }, clock.now());
      logger.info(
        { deployment: deployment.id },
        'Slack is slow to update the card: approval request posted in its thread',
      );
    } catch (e) {
      logger.error({ err: e, deployment: deployment.id }, 'could not show the approval request');
    }
  }

  /**
   * Re-renders the card from the latest stored record plus live progress and hands it to the notifier, without
   * waiting for Slack (DESIGN.md §3.1: the pipeline advances on the store alone; the notifier coalesces and
   * re-sends until Slack accepts). Resolves once the content is queued, so cards are queued in pipeline order.
   * Never throws: a card that cannot be read or rendered is logged and must not stop (or crash) the pipeline.
   */
  async #show(deployment: DeploymentRecord, final = false): Promise<void> {
    const { notifier, logger } = this.#deps;
    try {
      const latest = (await this.#deps.store.getDeployment(deployment.id)) ?? deployment;
      if (!latest.channel || !latest.messageTs) return;
      const ref: MessageRef = { channel: latest.channel, ts: latest.messageTs };
      const message = this.#deps.render(this.#view(latest), this.#deps.clock.now());
      // Final states and approval requests go before other cards' progress (an approver is waiting for buttons).
      const urgent = final || isTerminal(latest.state) || latest.state === 'awaiting_approval';
      const refs = [ref];
      // The approval request posted in the thread (#askForApproval) shows the same state, so no stale buttons stay.
      const replyTs = latest.facts.approvalReplyTs;
      if (typeof replyTs === 'string') refs.push({ channel: latest.channel, ts: replyTs });
      for (const r of refs) {
        const written = urgent ? notifier.updateNow(r, message) : notifier.update(r, message);
        written.catch((err: unknown) =>
          logger.error({ err, deployment: deployment.id }, 'could not update the deployment card'),
        );
      }
    } catch (e) {
      logger.error({ err: e, deployment: deployment.id }, 'could not update the deployment card');
    }
  }

  #view(deployment: DeploymentRecord): DeploymentView {
    const live = this.#liveOf(deployment.id);
    if (
      this.#deps.config.services[deployment.service]?.environments[deployment.environment]?.target.type === 'docker'
    ) {
      live.canAbort = false;
      live.platform = 'docker';
    }
    if (!live.approvalPolicy) {
      const policy = this.#policy(deployment);
      if (policy) live.approvalPolicy = { required: policy.required, approvers: [...policy.approvers] };
    }
    return { ...deployment, ...live };
  }

  #liveOf(id: string): DeploymentLive {
    let live = this.#live.get(id);
    if (!live) {
      live = {};
      this.#live.set(id, live);
    }
    return live;
  }

  #target(deployment: DeploymentRecord): ResolvedTarget {
    return resolveTarget(this.#deps.config, deployment.service, deployment.environment);
  }

  #ecsTarget(target: ResolvedTarget): EcsDeployTarget {
    const t = target.envConfig.target;
    if (t.type !== 'ecs') {
      throw new DockhandError(
        'invalid',
        `\`${target.service}\` in \`${target.environment}\` runs on a Docker host, which this version of dockhand does not deploy to yet.`,
      );
    }
    return {
      cluster: t.cluster,
      service: t.service,
      container: t.container,
      region: t.region ?? this.#deps.config.defaults.region,
    };
  }

  /** The service's registry, or undefined when its image stays on the building engine (Docker host). */
  #optionalRegistry(target: ResolvedTarget): ImageRegistry | undefined {
    return target.serviceConfig.image?.registry ? this.#registry(target) : undefined;
  }

  #registry(target: ResolvedTarget): ImageRegistry {
    const image = target.serviceConfig.image;
    if (!image?.registry)
      throw new DockhandError(
        'invalid',
        `\`${target.service}\` has no image: { registry, repository } in dockhand.yml.`,
      );
    return this.#deps.registry(image.registry);
  }

  #sourceSpec(target: ResolvedTarget, ref: string | undefined): { git: string; ref: string } | { path: string } {
    const source = target.serviceConfig.source;
    if (!source)
      throw new DockhandError(
        'invalid',
        `\`${target.service}\` has no source to build; deploy an existing image with \`image:<tag>\`.`,
      );
    if ('git' in source) return { git: source.git, ref: ref ?? source.ref };
    return { path: isAbsolute(source.path) ? source.path : resolve(this.#deps.configDir, source.path) };
  }

  #policy(
    deployment: Pick<DeploymentRecord, 'service' | 'environment' | 'kind' | 'request'>,
  ): ApprovalPolicy | undefined {
    return approvalPolicyFor(this.#deps.config, deployment);
  }

  async #lastSucceeded(service: string, environment: string): Promise<DeploymentRecord | undefined> {
    const [last] = await this.#deps.store.listDeployments({
      service,
      environment,
      states: ['succeeded'],
      kinds: ['deploy'],
      limit: 1,
    });
    return last;
  }

  async #lockedMessage(
    target: ResolvedTarget,
    held: { owner: string; holder: string; reason?: string | undefined; acquiredAt: Date },
  ): Promise<string> {
    const owner = held.owner.startsWith('dep_') ? await this.#deps.store.getDeployment(held.owner) : undefined;
    // The reason is free text typed with /dockhand lock: shown as text, never as a link or a mention, and masked.
    const why = held.reason ? `: ${safe(held.reason, 500)}` : '';
    const what = owner
      ? `deployment #${owner.seq} (${owner.state.replace('_', ' ')}) requested by ${mention(owner.requestedBy)}`
      : `${mention(held.holder)}`;
    if (!owner && held.owner.startsWith('manual:')) {
      const since = held.acquiredAt
        .toISOString()
        .replace(/:\d\d\.\d+Z$/, ' UTC')
        .replace('T', ' ');
      return `\`${target.service}\` in \`${target.environment}\` is locked by ${what} since ${since}${why}. Nothing was changed; ask them, or an approver, to run \`/dockhand unlock ${target.service} in ${target.environment}\`.`;
    }
    return `\`${target.service}\` in \`${target.environment}\` is locked by ${what}${why}. Try again when it is done.`;
  }
}

/** When an approval request expires: set when it started waiting. */
const expiryOf = (deployment: DeploymentRecord): Date | undefined => {
  if (deployment.expiresAt) return deployment.expiresAt;
  return typeof deployment.facts.expiresAt === 'string' ? new Date(deployment.facts.expiresAt) : undefined;
};

const mention = (id: string): string => (id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`);
