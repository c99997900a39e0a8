import { describe, expect, it } from 'vitest';
import { DeploymentService } from '../../src/core/deploy/service.ts';
import type { AppliedChange, RevisionRef, Runtime, RuntimeChange } from '../../src/core/runtime.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import type { DeploymentRecord, RolloutProgress } from '../../src/ports.ts';
import { deployHarness } from '../support/deploy-fakes.ts';

/**
 * The pipeline asks the Runtime port, never which technology runs a service: a runtime with a combination neither
 * ECS nor a Docker host has (images as revisions, yet a rollout to follow and to abort, nothing registered) is
 * deployed to, followed and aborted from what it reports alone.
 */
class ImageRolloutRuntime implements Runtime {
  readonly label = 'a test platform';
  readonly platform = 'docker';
  readonly revisionKind = 'image';
  readonly registers = false;
  readonly unexplainedFailure = 'the test rollout failed';
  readonly applied: RuntimeChange[] = [];
  readonly aborted: { applied: AppliedChange; previous: RevisionRef }[] = [];
  readonly looks: RolloutProgress['outcome'][] = ['in_progress', 'completed'];
  pulled = 0;

  classify(): 'passing' {
    return 'passing';
  }
  async describe(): Promise<never> {
    throw new Error('not used');
  }
  async plan() {
    const current = { revision: 'v1', ref: 'registry.test/acme/api:v1' };
    return { current, currentImage: current.ref, changes: [] };
  }
  async apply(_target: unknown, change: RuntimeChange, context: Parameters<Runtime['apply']>[2]) {
    this.applied.push(change);
    if (context.pull) {
      await context.pull.auth();
      this.pulled += 1;
    }
    const revision = change.kind === 'image' ? { revision: 'v2', ref: change.image } : undefined;
    await context.beforeSend?.({ revision });
    return { rolloutId: 'rollout-1', revision, done: false };
  }
  async progress(): Promise<RolloutProgress> {
    const outcome = this.looks.shift() ?? 'in_progress';
    return { outcome, deployments: [], failureEvents: [], stoppedTasks: [], tasks: [] };
  }
  async abort(_target: unknown, applied: AppliedChange, previous: RevisionRef) {
    this.aborted.push({ applied, previous });
    return { method: 'test_rollback' };
  }
  async revisions(): Promise<never> {
    throw new Error('not used');
  }
  async discard(): Promise<void> {}
  async recover(): Promise<never> {
    throw new Error('not used');
  }
  async stoppedUnits() {
    return [];
  }
  async logs(): Promise<never> {
    throw new Error('not used');
  }
  async recentLines() {
    return [];
  }
}

const started = (outcome: { result: string; deployment?: DeploymentRecord }): DeploymentRecord => {
  if (outcome.result !== 'started' || !outcome.deployment) throw new Error(`not started: ${JSON.stringify(outcome)}`);
  return outcome.deployment;
};

const harnessWith = async (runtime: Runtime) => {
  const h = await deployHarness();
  const service = new DeploymentService({ ...h.deps, runtimes: { for: () => runtime } });
  return { ...h, service, staging: resolveTarget(h.deps.config, 'api', 'staging') };
};

describe('the pipeline on any runtime', () => {
  it('records what the runtime reports and follows its rollout to the end', async () => {
    const runtime = new ImageRolloutRuntime();
    const h = await harnessWith(runtime);
    const deployment = started(
      await h.service.request({ kind: 'deploy', target: h.staging, user: 'U0ALICE', request: { type: 'git' } }),
    );
    await h.settle();
    const done = await h.store.getDeployment(deployment.id);
    expect(done?.state).toBe('succeeded');
    const image = done?.facts.image;
    expect(image).toMatch(/^127\.0\.0\.1:5000\/acme\/api@sha256:/); // built, pushed, pinned to its digest
    expect(runtime.applied).toEqual([{ kind: 'image', image }]);
    // Revisions are images: the plan's "before" and the sent revision are kept as image facts.
    expect(done?.facts).toMatchObject({
      previousImage: 'registry.test/acme/api:v1',
      previousRevision: 'v1',
      revision: 'v2',
      ecsDeploymentId: 'rollout-1',
    });
    expect(done?.facts.previousTaskDefinitionArn).toBeUndefined();
    expect(typeof done?.facts.updateServiceSentAt).toBe('string');
    // Nothing registered: no registering step.
    const trail = (await h.store.listAudit({ subject: deployment.id })).map((e) => e.action).reverse();
    expect(trail).not.toContain('deployment.registering');
    expect(trail.at(-1)).toBe('deployment.succeeded');
    // The card speaks the runtime's words, and offers Abort since the runtime can abort.
    expect(h.notifier.last().view?.platform).toBe('docker');
    expect(h.notifier.last().view?.canAbort).toBeUndefined();
  });

  it('aborts through the runtime, back to the image the record names', async () => {
    const runtime = new ImageRolloutRuntime();
    runtime.looks.length = 0; // the rollout never ends by itself
    const h = await harnessWith(runtime);
    const deployment = started(
      await h.service.request({ kind: 'deploy', target: h.staging, user: 'U0ALICE', request: { type: 'git' } }),
    );
    for (let i = 0; i < 50 && (await h.store.getDeployment(deployment.id))?.facts.ecsDeploymentId === undefined; i++)
      await new Promise((r) => setTimeout(r, 10));
    await h.service.abort(deployment.id, 'U0ALICE');
    await h.settle();
    expect(runtime.aborted).toEqual([
      {
        applied: {
          rolloutId: 'rollout-1',
          revision: { ref: expect.stringMatching(/acme\/api@sha256:/), revision: 'v2' },
          done: false,
        },
        previous: { ref: 'registry.test/acme/api:v1', revision: 'v1' },
      },
    ]);
    const aborted = await h.store.getDeployment(deployment.id);
    expect(aborted?.state).toBe('aborted');
    expect(aborted?.facts.abortMethod).toBe('test_rollback');
  });
});
