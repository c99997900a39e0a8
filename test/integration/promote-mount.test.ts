// /promote between two environments that keep their images in one registry, in different repositories: the
// DeploymentService with the real image copier and the real registry adapter against the plain test registry
// (:5000), the image built and pushed by the real engine. The copy is a cross-repository mount (no blob bytes move),
// the target repository then serves the promoted digest, and the target runs it. The source's runtime is scripted
// (what staging runs); the target is the harness's ECS runtime over the fake deployer.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DockerImageBuilder } from '../../src/adapters/docker/image-builder.ts';
import { createImageRegistry } from '../../src/adapters/docker/registries.ts';
import { createImageCopier } from '../../src/adapters/registry/index.ts';
import { MANIFEST_ACCEPT } from '../../src/adapters/registry/media-types.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { configSchema, type RegistryConfig } from '../../src/config/schema.ts';
import { DeploymentService } from '../../src/core/deploy/service.ts';
import type { Runtime, RuntimeSnapshot, Runtimes } from '../../src/core/runtime.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { deployHarness } from '../support/deploy-fakes.ts';
import { describeWithDocker, makeBusyboxContext, randomTag } from '../support/docker.ts';

const SHA = 'c0ffee0000000000000000000000000000000042';

await describeWithDocker(
  '/promote within one registry: a cross-repository mount (real registry)',
  ({ docker, registry }) => {
    const tag = randomTag('promote-mount');
    const source = `dockhand-test/promote-mount-src-${tag}`;
    const target = `dockhand-test/promote-mount-dst-${tag}`;
    const ref = `${registry}/${source}:${tag}`;
    let dir = '';
    let digest = '';

    const plainConfig: RegistryConfig = { type: 'registry', address: registry, insecure: true };
    const config = configSchema.parse({
      defaults: { channel: '#deploys', region: 'us-east-1' },
      registries: { plain: plainConfig },
      approvals: { prod: { approvers: ['U0BOB'], required: 1, expiresAfter: '30m' } },
      services: {
        api: {
          source: { git: 'file:///tmp/api.git', ref: 'main' },
          image: { registry: 'plain', repository: source },
          environments: {
            staging: { target: { type: 'ecs', cluster: 'staging', service: 'api', container: 'app' } },
            production: {
              target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' },
              approval: 'prod',
              image: { registry: 'plain', repository: target },
            },
          },
        },
      },
    });
    const plain = createImageRegistry('plain', plainConfig, { docker, clock: systemClock });

    /** The digest the registry serves for repository@reference, or null. */
    const served = async (repository: string, reference: string) => {
      const res = await fetch(`http://${registry}/v2/${repository}/manifests/${reference}`, {
        method: 'HEAD',
        headers: { Accept: MANIFEST_ACCEPT },
      });
      return res.status === 200 ? res.headers.get('docker-content-digest') : null;
    };

    /** staging runs `image` (one unit); every other environment is the harness's own runtime. */
    const stagingRuns = (inner: Runtimes, image: string): Runtimes => ({
      for: (t) => {
        const runtime = inner.for(t);
        if (t.environment !== 'staging') return runtime;
        const snapshot: RuntimeSnapshot = {
          service: 'api',
          environment: 'staging',
          revision: 'api:7',
          image,
          desired: 1,
          running: 1,
          units: [{ id: 't0', state: 'RUNNING', health: 'HEALTHY', revision: 'api:7' }],
          rollouts: [],
          detail: { kind: 'docker', host: { host: 'test', containers: [] }, replicas: 1 },
        };
        const describe: Runtime['describe'] = async (targets) =>
          targets.map((x) => ({ target: x, found: true as const, snapshot }));
        return new Proxy(runtime, {
          get: (obj, key) => {
            if (key === 'describe') return describe;
            const value: unknown = Reflect.get(obj, key);
            return typeof value === 'function' ? value.bind(obj) : value;
          },
        });
      },
    });

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'dockhand-promote-mount-'));
      await makeBusyboxContext(dir, {
        dockerfileExtra: `RUN head -c 200000 /dev/urandom > /noise.bin\nLABEL org.opencontainers.image.revision=${SHA}`,
      });
      await new DockerImageBuilder(docker).build({
        contextDir: dir,
        dockerfile: 'Dockerfile',
        buildArgs: {},
        tags: [ref],
      });
      digest = (await plain.push({ image: ref })).digest;
    }, 120_000);

    afterAll(async () => {
      await docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => {});
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('mounts the digest into the target repository, verifies it there and deploys it after approval', async () => {
      const h = await deployHarness({ config });
      const service = new DeploymentService({
        ...h.deps,
        registry: () => plain,
        copier: createImageCopier(config.registries, { clock: systemClock }),
        runtimes: stagingRuns(h.deps.runtimes, `${registry}/${source}@${digest}`),
      });
      expect(await served(target, digest)).toBeNull();

      const outcome = await service.promote({
        target: resolveTarget(config, 'api', 'production'),
        source: resolveTarget(config, 'api', 'staging'),
        user: 'U0ALICE',
      });
      if (outcome.result !== 'started' || !outcome.deployment) throw new Error(`not started: ${outcome.result}`);
      const id = outcome.deployment.id;
      await h.settle();
      const waiting = await h.store.getDeployment(id);
      expect(waiting?.state).toBe('awaiting_approval');
      // The commit comes from the image's revision label, read over the registry API.
      expect(waiting?.facts).toMatchObject({
        digest,
        image: `${registry}/${target}@${digest}`,
        sourceImage: `${registry}/${source}@${digest}`,
        commitSha: SHA,
        commitFrom: 'label',
      });
      expect(await served(target, digest)).toBeNull(); // nothing copied before the approval

      await service.approve(id, 'U0BOB');
      await h.settle();
      const done = await h.store.getDeployment(id);
      expect(done?.state).toBe('succeeded');
      expect(done?.facts).toMatchObject({ copyMethod: 'mount', copyBytes: 0 });
      expect(await served(target, digest)).toBe(digest);
      expect(h.ecs.registered).toEqual([`${registry}/${target}@${digest}`]);
    }, 60_000);
  },
);
