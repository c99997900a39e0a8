import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { previousEnvironment } from '../../src/core/deploy/promote.ts';
import type { Runtime, RuntimeSnapshot, Runtimes } from '../../src/core/runtime.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import type { DeploymentRecord, ImageCopier, ImageCopyRequest, ImageCopyResult } from '../../src/ports.ts';
import { deployHarness, FakeHost, fakeRegistry } from '../support/deploy-fakes.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const SHA = '3f2a1bc0000000000000000000000000000000aa';

/** staging (registry `stage`) then production (registry `prod`, an approval); the order /promote reads. */
const promoteConfig = (
  productionImage: Record<string, string> | undefined = { registry: 'prod', repository: 'acme/api' },
) =>
  configSchema.parse({
    defaults: { channel: '#deploys', region: 'us-east-1' },
    registries: {
      stage: { type: 'registry', address: '127.0.0.1:5000', insecure: true },
      prod: { type: 'registry', address: '127.0.0.1:5001', insecure: true },
    },
    approvals: { prod: { approvers: ['U0BOB'], required: 1, expiresAfter: '30m' } },
    services: {
      api: {
        source: { git: 'file:///tmp/api.git', ref: 'main' },
        image: { registry: 'stage', repository: 'acme/api' },
        environments: {
          staging: { target: { type: 'ecs', cluster: 'staging', service: 'api', container: 'app' } },
          production: {
            target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' },
            approval: 'prod',
            ...(productionImage ? { image: productionImage } : {}),
          },
        },
      },
    },
  });

/** What the source environment runs: units with these revisions (one image by default). */
const sourceSnapshot = (
  image: string | undefined,
  revisions: string[] = ['api:7', 'api:7'],
  rollouts: RuntimeSnapshot['rollouts'] = [],
): RuntimeSnapshot => ({
  service: 'api',
  environment: 'staging',
  revision: 'api:7',
  image,
  desired: revisions.length,
  running: revisions.length,
  units: revisions.map((revision, i) => ({ id: `t${i}`, state: 'RUNNING', health: 'HEALTHY', revision })),
  rollouts,
  detail: { kind: 'docker', host: { host: 'test', containers: [] }, replicas: revisions.length },
});

/** The real ECS runtime of the harness, with the source environment's snapshot scripted. */
const scriptedSource = (inner: Runtimes, snapshot: RuntimeSnapshot, reads: string[]): Runtimes => ({
  for: (target) => {
    const runtime = inner.for(target);
    const describe: Runtime['describe'] = async (targets) => {
      reads.push(...targets.map((t) => t.environment));
      return targets.map((t) => ({ target: t, found: true as const, snapshot }));
    };
    return new Proxy(runtime, {
      get: (obj, key) => {
        if (key === 'describe') return describe;
        const value: unknown = Reflect.get(obj, key);
        return typeof value === 'function' ? value.bind(obj) : value;
      },
    });
  },
});

class FakeCopier implements ImageCopier {
  readonly copies: ImageCopyRequest[] = [];
  result: Partial<ImageCopyResult> = {};
  labelsOf: Record<string, string> = {};
  async copy(request: ImageCopyRequest): Promise<ImageCopyResult> {
    this.copies.push(request);
    request.onProgress?.(500, 1000);
    request.onProgress?.(1000, 1000);
    return { digest: request.digest, method: 'copy', bytes: 1000, ...this.result };
  }
  async labels(): Promise<Record<string, string>> {
    return this.labelsOf;
  }
}

const setUp = async (
  options: {
    image?: string | undefined;
    revisions?: string[];
    rollouts?: RuntimeSnapshot['rollouts'];
    missingInProd?: boolean;
    productionImage?: Record<string, string>;
    host?: FakeHost;
  } = {},
) => {
  const config = promoteConfig(options.productionImage);
  const h = await deployHarness({ config, ...(options.host ? { host: options.host } : {}) });
  const copier = new FakeCopier();
  const reads: string[] = [];
  // The target registry serves the promoted digest once copied (a digest resolves as a tag does).
  const registries = { stage: fakeRegistry(), prod: fakeRegistry(options.missingInProd ? {} : { [DIGEST]: DIGEST }) };
  registries.prod.imageName = async (repository) => `127.0.0.1:5001/${repository}`;
  const { DeploymentService } = await import('../../src/core/deploy/service.ts');
  const snapshot = sourceSnapshot(
    'image' in options ? options.image : `127.0.0.1:5000/acme/api@${DIGEST}`,
    options.revisions,
    options.rollouts,
  );
  const service = new DeploymentService({
    ...h.deps,
    copier,
    registry: (name) => (name === 'prod' ? registries.prod : registries.stage),
    runtimes: scriptedSource(h.deps.runtimes, snapshot, reads),
  });
  return {
    ...h,
    service,
    copier,
    reads,
    staging: resolveTarget(config, 'api', 'staging'),
    production: resolveTarget(config, 'api', 'production'),
  };
};

const started = (outcome: { result: string; deployment?: DeploymentRecord }): DeploymentRecord => {
  if (outcome.result !== 'started' || !outcome.deployment) throw new Error(`not started: ${JSON.stringify(outcome)}`);
  return outcome.deployment;
};

describe('/promote', () => {
  it('deploys the digest the source runs to the target, copied to its registry and verified, after its approval', async () => {
    const h = await setUp();
    // An earlier deploy of ours built that digest: its commit is the promote's.
    await h.store.createDeployment(
      {
        id: 'dep_built',
        kind: 'deploy',
        service: 'api',
        environment: 'staging',
        state: 'requested',
        requestedBy: 'U0ALICE',
        request: { type: 'git' },
      },
      h.clock.now(),
    );
    await h.store.updateDeployment(
      'dep_built',
      { facts: { digest: DIGEST, commitSha: SHA, commitSubject: 'Fix login' } },
      h.clock.now(),
    );
    const deployment = started(await h.service.promote({ target: h.production, source: h.staging, user: 'U0ALICE' }));
    await h.settle();
    expect(h.reads).toEqual(['staging']);
    const waiting = await h.store.getDeployment(deployment.id);
    expect(waiting?.state).toBe('awaiting_approval'); // production's policy, not staging's
    expect(waiting?.request).toEqual({ type: 'promote', from: 'staging', digest: DIGEST });
    expect(waiting?.facts).toMatchObject({
      digest: DIGEST,
      image: `127.0.0.1:5001/acme/api@${DIGEST}`,
      sourceImage: `127.0.0.1:5000/acme/api@${DIGEST}`,
      commitSha: SHA,
      commitSubject: 'Fix login',
      commitFrom: 'record',
    });
    expect(h.copier.copies).toEqual([]); // nothing copied before the approval

    await h.service.approve(deployment.id, 'U0BOB');
    await h.settle();
    const done = await h.store.getDeployment(deployment.id);
    expect(done?.state).toBe('succeeded');
    expect(h.copier.copies.map((c) => ({ digest: c.digest, from: c.from, to: c.to }))).toEqual([
      {
        digest: DIGEST,
        from: { registry: 'stage', repository: 'acme/api' },
        to: { registry: 'prod', repository: 'acme/api' },
      },
    ]);
    expect(done?.facts).toMatchObject({ copyMethod: 'copy', copyBytes: 1000 });
    expect(h.ecs.registered).toEqual([`127.0.0.1:5001/acme/api@${DIGEST}`]);
    const events = (await h.store.listAudit({ subject: deployment.id })).reverse();
    const trail = events.map((e) => e.action);
    expect(trail).toContain('deployment.pushing');
    expect(trail.indexOf('deployment.pushing')).toBeLessThan(trail.indexOf('image.copied'));
    expect(trail.indexOf('image.copied')).toBeLessThan(trail.indexOf('deployment.registering'));
    expect(events.find((e) => e.action === 'image.copied')).toMatchObject({
      actor: 'dockhand',
      service: 'api',
      environment: 'production',
      outcome: 'copy',
      detail: {
        digest: DIGEST,
        from: { registry: 'stage', repository: 'acme/api' },
        to: { registry: 'prod', repository: 'acme/api' },
        bytes: 1000,
      },
    });
  });

  it("shows the scan of the promoted digest, where it is now, to the target's approvers", async () => {
    const h = await setUp();
    const asked: string[] = [];
    const stage = h.deps.registry('stage');
    // The source registry scans (as ECR would); the target's is never asked: the copy comes after the approval.
    const service = new (await import('../../src/core/deploy/service.ts')).DeploymentService({
      ...h.deps,
      copier: h.copier,
      registry: (name) =>
        name === 'stage'
          ? {
              ...stage,
              imageName: async (repository: string) => `127.0.0.1:5000/${repository}`,
              scanFindings: async (repository: string, digest: string) => {
                asked.push(`${name} ${repository}@${digest}`);
                return { status: 'complete' as const, counts: { critical: 1, high: 2 } };
              },
            }
          : { ...fakeRegistry({ [DIGEST]: DIGEST }), imageName: async (r: string) => `127.0.0.1:5001/${r}` },
      runtimes: scriptedSource(h.deps.runtimes, sourceSnapshot(`127.0.0.1:5000/acme/api@${DIGEST}`), []),
    });
    const deployment = started(await service.promote({ target: h.production, source: h.staging, user: 'U0ALICE' }));
    await h.settle();
    expect(asked).toEqual([`stage acme/api@${DIGEST}`]);
    expect((await h.store.getDeployment(deployment.id))?.facts.scan).toEqual({
      status: 'complete',
      counts: { critical: 1, high: 2 },
    });
  });

  it('under blockOn, looks once more at approve time at a scan left running, where the promoted digest is now', async () => {
    const h = await setUp();
    const prod = h.deps.config.approvals.prod;
    if (!prod) throw new Error('expected the prod approval');
    const config = {
      ...h.deps.config,
      approvals: { prod: { ...prod, approvers: ['U0BOB', 'U0CAROL'], blockOn: 'critical' as const } },
    };
    const asked: string[] = [];
    let finished = false;
    const stage = h.deps.registry('stage');
    const { DeploymentService } = await import('../../src/core/deploy/service.ts');
    const service = new DeploymentService({
      ...h.deps,
      config,
      copier: h.copier,
      registry: (name) =>
        name === 'stage'
          ? {
              ...stage,
              imageName: async (repository: string) => `127.0.0.1:5000/${repository}`,
              scanFindings: async (repository: string, digest: string) => {
                asked.push(`${name} ${repository}@${digest}`);
                return finished
                  ? { status: 'complete' as const, counts: { critical: 1 } }
                  : { status: 'in_progress' as const };
              },
            }
          : { ...fakeRegistry({ [DIGEST]: DIGEST }), imageName: async (r: string) => `127.0.0.1:5001/${r}` },
      runtimes: scriptedSource(h.deps.runtimes, sourceSnapshot(`127.0.0.1:5000/acme/api@${DIGEST}`), []),
    });
    const deployment = started(await service.promote({ target: h.production, source: h.staging, user: 'U0ALICE' }));
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.facts.scan).toEqual({ status: 'in_progress' });
    const looks = asked.length;
    finished = true;
    const refused = await service.approve(deployment.id, 'U0BOB').catch((e: unknown) => e);
    expect((refused as { denial?: unknown }).denial).toEqual({
      kind: 'reason_required',
      blockOn: 'critical',
      findings: 1,
    });
    expect(asked.slice(looks)).toEqual([`stage acme/api@${DIGEST}`]);
    expect((await h.store.getDeployment(deployment.id))?.facts.scan).toEqual({
      status: 'complete',
      counts: { critical: 1 },
    });
  });

  it('lists the commits between what the target runs and the promoted commit', async () => {
    const h = await setUp();
    const OLD = '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b';
    const record = async (id: string, environment: string, state: 'succeeded' | 'requested', facts: object) => {
      await h.store.createDeployment(
        { id, kind: 'deploy', service: 'api', environment, state, requestedBy: 'U0ALICE', request: { type: 'git' } },
        h.clock.now(),
      );
      await h.store.updateDeployment(id, { facts }, h.clock.now());
    };
    await record('dep_prod', 'production', 'succeeded', { commitSha: OLD, digest: OTHER });
    await record('dep_stage', 'staging', 'requested', { commitSha: SHA, digest: DIGEST });
    const asked: unknown[] = [];
    const { DeploymentService } = await import('../../src/core/deploy/service.ts');
    const service = new DeploymentService({
      ...h.deps,
      copier: h.copier,
      registry: h.deps.registry,
      runtimes: scriptedSource(h.deps.runtimes, sourceSnapshot(`127.0.0.1:5000/acme/api@${DIGEST}`), []),
      source: {
        ...h.deps.source,
        commitsBetween: async (_source, from, to, limit) => {
          asked.push({ from, to, limit });
          return { commits: [{ sha: SHA, subject: 'Fix login', author: 'Ada' }], total: 1 };
        },
      },
    });
    await service.promote({ target: h.production, source: h.staging, user: 'U0ALICE' });
    await h.settle();
    expect(asked).toEqual([{ from: OLD, to: SHA, limit: 5 }]);
    expect(h.notifier.last().view?.plan?.commits).toEqual({
      commits: [{ sha: SHA, subject: 'Fix login', author: 'Ada' }],
      total: 1,
    });
  });

  it('fails without deploying when the copy has another digest', async () => {
    const h = await setUp({ productionImage: { registry: 'prod', repository: 'acme/api' } });
    h.copier.result = { digest: OTHER };
    const deployment = started(await h.service.promote({ target: h.production, source: h.staging, user: 'U0ALICE' }));
    await h.settle();
    await h.service.approve(deployment.id, 'U0BOB');
    await h.settle();
    const failed = await h.store.getDeployment(deployment.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.facts.failedIn).toBe('pushing');
    expect(h.ecs.registered).toEqual([]);
    expect(h.ecs.updates).toEqual([]);
    expect((await h.store.listAudit({ subject: deployment.id })).map((e) => e.action)).not.toContain('image.copied');
  });

  it('fails without deploying when the target registry does not serve the copied digest', async () => {
    const h = await setUp({ missingInProd: true });
    const deployment = started(await h.service.promote({ target: h.production, source: h.staging, user: 'U0ALICE' }));
    await h.settle();
    await h.service.approve(deployment.id, 'U0BOB');
    await h.settle();
    const failed = await h.store.getDeployment(deployment.id);
    expect(failed?.state).toBe('failed');
    expect(h.copier.copies).toHaveLength(1);
    expect(h.ecs.registered).toEqual([]);
  });

  it('reads the commit from the image label when no record of ours names the digest', async () => {
    const h = await setUp();
    h.copier.labelsOf = { 'org.opencontainers.image.revision': SHA };
    const deployment = started(await h.service.promote({ target: h.production, source: h.staging, user: 'U0ALICE' }));
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.facts).toMatchObject({ commitSha: SHA, commitFrom: 'label' });
  });

  it('copies nothing when both environments keep their images in the same place', async () => {
    const h = await setUp({ productionImage: { registry: 'stage', repository: 'acme/api' } });
    const deployment = started(await h.service.promote({ target: h.production, source: h.staging, user: 'U0ALICE' }));
    await h.settle();
    await h.service.approve(deployment.id, 'U0BOB');
    await h.settle();
    const done = await h.store.getDeployment(deployment.id);
    expect(done?.state).toBe('succeeded');
    expect(h.copier.copies).toEqual([]);
    expect(done?.facts.copyMethod).toBeUndefined();
    expect(h.ecs.registered).toEqual([`127.0.0.1:5000/acme/api@${DIGEST}`]);
  });

  it.each([
    [
      'runs more than one image',
      { revisions: ['api:7', 'api:8'] },
      /runs more than one image now \(`api:7`, `api:8`\)/,
    ],
    [
      'is between two revisions (an ECS rollout)',
      {
        rollouts: [
          {
            id: 'd2',
            revision: 'api:8',
            primary: true,
            outcome: 'in_progress',
            desired: 2,
            running: 0,
            pending: 2,
            failed: 0,
          },
          {
            id: 'd1',
            revision: 'api:7',
            primary: false,
            outcome: 'completed',
            desired: 2,
            running: 2,
            pending: 0,
            failed: 0,
          },
        ] satisfies RuntimeSnapshot['rollouts'],
      },
      /runs more than one image now \(`api:8`, `api:7`\)/,
    ],
    ['runs nothing', { image: undefined, revisions: [] }, /Nothing of `api` in `staging` is running/],
    [
      'runs a tag whose running digest its runtime does not report',
      { image: '127.0.0.1:5000/acme/api:gone' },
      /runs the tag `127\.0\.0\.1:5000\/acme\/api:gone`, and its runtime does not say which digest/,
    ],
  ])('refuses, recording nothing, when the source %s', async (_, options, message) => {
    const h = await setUp(options);
    await expect(h.service.promote({ target: h.production, source: h.staging, user: 'U0ALICE' })).rejects.toThrow(
      message,
    );
    expect(await h.store.listDeployments({})).toEqual([]);
    expect(
      await h.store.acquireLock(
        { service: 'api', environment: 'production', owner: 'x', instance: 'i', holder: 'U0X' },
        h.clock.now(),
      ),
    ).toMatchObject({ acquired: true });
  });

  it('refuses, privately and recording nothing, when one side has no registry', async () => {
    const h = await setUp();
    const base = promoteConfig();
    const api = structuredClone(base.services.api);
    // staging keeps its image on the engine that built it (a Docker host): there is no registry to promote from.
    const config = configSchema.parse({
      ...structuredClone(base),
      services: {
        api: {
          ...api,
          environments: {
            ...api?.environments,
            staging: {
              target: { type: 'docker', host: 'unix:///var/run/docker.sock', container: 'api' },
              image: { repository: 'acme/api' },
            },
          },
        },
      },
    });
    const { DeploymentService } = await import('../../src/core/deploy/service.ts');
    const service = new DeploymentService({
      ...h.deps,
      config,
      copier: h.copier,
      runtimes: scriptedSource(h.deps.runtimes, sourceSnapshot(`127.0.0.1:5000/acme/api@${DIGEST}`), h.reads),
    });
    const staging = resolveTarget(config, 'api', 'staging');
    const production = resolveTarget(config, 'api', 'production');
    // To it: refused before the source is read, the lock taken or a card posted.
    await expect(service.promote({ target: staging, source: production, user: 'U0ALICE' })).rejects.toThrow(
      /`api` in `staging` has no registry/,
    );
    // From it: refused before its runtime is asked what it runs.
    await expect(service.promote({ target: production, source: staging, user: 'U0ALICE' })).rejects.toThrow(
      /`api` in `staging` has no registry/,
    );
    expect(h.reads).toEqual([]);
    expect(await h.store.listDeployments({})).toEqual([]);
    for (const environment of ['staging', 'production'])
      expect(
        await h.store.acquireLock(
          { service: 'api', environment, owner: 'x', instance: 'i', holder: 'U0X' },
          h.clock.now(),
        ),
      ).toMatchObject({ acquired: true });
  });

  it('promotes the digest the units of a running tag were started from, not what the tag points to now', async () => {
    const h = await setUp();
    // The tag has moved on in the registry since the units started: OTHER is not what runs.
    const stage = fakeRegistry({ '3f2a1bc': OTHER });
    const running = sourceSnapshot('127.0.0.1:5000/acme/api:3f2a1bc');
    running.units = running.units.map((u) => ({ ...u, imageDigest: DIGEST }));
    const { DeploymentService } = await import('../../src/core/deploy/service.ts');
    const service = new DeploymentService({
      ...h.deps,
      copier: h.copier,
      registry: () => stage,
      runtimes: scriptedSource(h.deps.runtimes, running, []),
    });
    const deployment = started(await service.promote({ target: h.production, source: h.staging, user: 'U0ALICE' }));
    expect(deployment.request).toMatchObject({ digest: DIGEST });
    await h.settle();
  });

  it('refuses a running tag whose units were started from different digests, recording nothing', async () => {
    const h = await setUp();
    const running = sourceSnapshot('127.0.0.1:5000/acme/api:3f2a1bc');
    running.units = running.units.map((u, i) => ({ ...u, imageDigest: i === 0 ? DIGEST : OTHER }));
    const { DeploymentService } = await import('../../src/core/deploy/service.ts');
    const service = new DeploymentService({
      ...h.deps,
      copier: h.copier,
      registry: () => fakeRegistry({ '3f2a1bc': DIGEST }),
      runtimes: scriptedSource(h.deps.runtimes, running, []),
    });
    await expect(service.promote({ target: h.production, source: h.staging, user: 'U0ALICE' })).rejects.toThrow(
      /its units were started from different images \(`aaaaaaaaaaaa`, `bbbbbbbbbbbb`\)/,
    );
    expect(await h.store.listDeployments({})).toEqual([]);
  });

  it('refuses someone who may not deploy to the target before reading the source', async () => {
    const config = promoteConfig();
    const locked = configSchema.parse({
      ...structuredClone(config),
      services: { api: { ...structuredClone(config.services.api), deployers: ['U0BOB'] } },
    });
    const h = await setUp();
    const { DeploymentService } = await import('../../src/core/deploy/service.ts');
    const service = new DeploymentService({
      ...h.deps,
      config: locked,
      runtimes: scriptedSource(h.deps.runtimes, sourceSnapshot(undefined), h.reads),
    });
    await expect(
      service.promote({
        target: resolveTarget(locked, 'api', 'production'),
        source: resolveTarget(locked, 'api', 'staging'),
        user: 'U0ALICE',
      }),
    ).rejects.toThrow();
    expect(h.reads).toEqual([]);
  });
});

describe('a promote to an environment whose image stays on its engine', () => {
  it('is refused before the source is read, recording nothing', async () => {
    const config = promoteConfig();
    const local = configSchema.parse({
      ...structuredClone(config),
      services: {
        api: {
          ...structuredClone(config.services.api),
          environments: {
            ...structuredClone(config.services.api?.environments),
            production: {
              target: { type: 'docker', host: 'unix:///var/run/docker.sock', container: 'api' },
              image: { repository: 'acme/api' },
            },
          },
        },
      },
    });
    const h = await setUp({ host: new FakeHost() });
    const { DeploymentService } = await import('../../src/core/deploy/service.ts');
    const service = new DeploymentService({
      ...h.deps,
      config: local,
      runtimes: scriptedSource(h.deps.runtimes, sourceSnapshot(`127.0.0.1:5000/acme/api@${DIGEST}`), h.reads),
    });
    await expect(
      service.promote({
        target: resolveTarget(local, 'api', 'production'),
        source: resolveTarget(local, 'api', 'staging'),
        user: 'U0ALICE',
      }),
    ).rejects.toThrow('`api` in `production` has no registry');
    expect(h.reads).toEqual([]);
    expect(await h.store.listDeployments({ service: 'api' })).toEqual([]);
    expect(h.copier.copies).toEqual([]);
  });
});

describe('the environment a promote comes from', () => {
  it('is the one listed just before the target', () => {
    expect(previousEnvironment(resolveTarget(promoteConfig(), 'api', 'production'))).toBe('staging');
  });

  it('does not exist for the first environment', () => {
    expect(() => previousEnvironment(resolveTarget(promoteConfig(), 'api', 'staging'))).toThrow(
      /`staging` is the first environment of `api`/,
    );
  });
});

describe('an environment’s own image location', () => {
  it('is what the resolved target builds and pushes to', () => {
    const config = promoteConfig();
    expect(resolveTarget(config, 'api', 'production').serviceConfig.image).toEqual({
      registry: 'prod',
      repository: 'acme/api',
    });
    expect(resolveTarget(config, 'api', 'staging').serviceConfig.image).toEqual({
      registry: 'stage',
      repository: 'acme/api',
    });
  });

  it('must name a known registry, reported at its path', () => {
    const result = configSchema.safeParse({
      defaults: { channel: '#deploys' },
      registries: { stage: { type: 'registry', address: '127.0.0.1:5000' } },
      services: {
        api: {
          image: { registry: 'stage', repository: 'acme/api' },
          environments: {
            production: {
              target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' },
              image: { registry: 'nope', repository: 'acme/api' },
            },
          },
        },
      },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toContainEqual([
      'services.api.environments.production.image.registry',
      'unknown registry "nope" (defined: stage)',
    ]);
  });
});
