/**
 * The Runtime contract on a Docker host: DockerRuntime over EngineHostRuntime against the real engine and registry
 * (DESIGN.md §4). Skips with a notice without an engine; fails instead under DOCKHAND_REQUIRE_DOCKER=1.
 *
 * The test engine runs with --bridge=none: containers join a user-defined bridge network made here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DockerRuntime } from '../../src/adapters/docker/docker-runtime.ts';
import { EngineHostRuntime, LABELS } from '../../src/adapters/docker/host-runtime.ts';
import { DockerImageBuilder } from '../../src/adapters/docker/image-builder.ts';
import { createImageRegistry } from '../../src/adapters/docker/registries.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { configSchema } from '../../src/config/schema.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { describeWithDocker, makeBusyboxContext, randomTag } from '../support/docker.ts';
import { runtimeContract } from './runtime.contract.ts';

const START_SCRIPT = [
  '#!/bin/sh',
  'echo "starting $VERSION"',
  'echo "warming up on stderr" >&2',
  'exec httpd -f -p 80 -h /www',
  '',
].join('\n');

const dockerfile = (run: string): string =>
  [
    `LABEL dockhand.test-run=${run}`,
    'ARG VERSION=v0',
    'ENV VERSION=$VERSION',
    'COPY start.sh /start.sh',
    'RUN mkdir -p /www && echo "$VERSION" > /www/index.html',
    'STOPSIGNAL SIGKILL',
    'HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["/bin/sh","-c","wget -q -O /dev/null http://127.0.0.1:80/ || exit 1"]',
    'CMD ["/bin/sh","/start.sh"]',
  ].join('\n');

/** In-memory stand-in for the store's small JSON state (the replica count a /scale set). */
const memoryState = () => {
  const state = new Map<string, unknown>();
  return {
    async getState<T>(key: string): Promise<T | undefined> {
      return structuredClone(state.get(key)) as T | undefined;
    },
    async putState(key: string, value: unknown): Promise<void> {
      state.set(key, structuredClone(value));
    },
  };
};

await describeWithDocker('DockerRuntime (real engine)', ({ docker, registry }) => {
  const run = randomTag('rc').toLowerCase();
  const network = `dockhand-${run}`;
  const repository = 'dockhand-test/runtime-contract';
  const images = createImageRegistry(
    'inhouse',
    { type: 'registry', address: registry, insecure: true },
    {
      docker,
      clock: systemClock,
    },
  );
  const host = new EngineHostRuntime({
    clock: systemClock,
    networkMode: network,
    pollMs: 250,
    runningGraceMs: 1_000,
    healthTimeoutMs: 30_000,
  });
  const runtime = new DockerRuntime({ host, store: memoryState(), clock: systemClock });
  const built = { v1: '', v2: '' };
  const tags: string[] = [];
  const dirs: string[] = [];
  let services = 0;

  const targetOf = (name: string, engine = process.env.DOCKER_HOST ?? '') =>
    resolveTarget(
      configSchema.parse({
        defaults: { channel: '#deploys' },
        services: {
          [name]: {
            source: { path: './web' },
            image: { repository: 'acme/web' },
            environments: { box: { target: { type: 'docker', host: engine, container: `${name}-web` } } },
          },
        },
      }),
      name,
      'box',
    );

  const build = async (version: keyof typeof built) => {
    const dir = await mkdtemp(join(tmpdir(), 'dockhand-rc-'));
    dirs.push(dir);
    await makeBusyboxContext(dir, { dockerfileExtra: dockerfile(run), files: { 'start.sh': START_SCRIPT } });
    const tag = `${registry}/${repository}:${run}-${version}`;
    await new DockerImageBuilder(docker).build({
      contextDir: dir,
      dockerfile: 'Dockerfile',
      buildArgs: { VERSION: version },
      tags: [tag],
    });
    tags.push(tag);
    const { digest } = await images.push({ image: tag });
    built[version] = `${registry}/${repository}@${digest}`;
  };

  beforeAll(async () => {
    await docker.createNetwork({ Name: network, Driver: 'bridge', Labels: { 'dockhand.test': run } });
    await build('v1');
    await build('v2');
  }, 120_000);

  afterAll(async () => {
    const leftovers = await docker.listContainers({ all: true, filters: { label: [LABELS.service] } });
    for (const c of leftovers.filter((c) => c.Labels[LABELS.service]?.startsWith(run)))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => {});
    for (const image of [...tags, ...Object.values(built)])
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => {});
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  runtimeContract(() => ({
    runtime,
    kind: 'docker',
    nextImage: built.v2,
    applyContext: { pull: { auth: async () => undefined } },
    pollMs: 100,
    async start() {
      services += 1;
      const target = targetOf(`${run}-s${services}`);
      await runtime.apply(
        target,
        { kind: 'image', image: built.v1 },
        { operationId: `dep_start${services}`, pull: { auth: async () => undefined } },
      );
      return target;
    },
    missing: () => targetOf(`${run}-missing`, 'unix:///tmp/dockhand-test/no-engine-here.sock'),
    async logged() {
      return { grep: 'starting', matching: 'starting v1', other: 'warming up' };
    },
  }));

  it('reports the digest each container was started from', { timeout: 60_000 }, async () => {
    services += 1;
    const target = targetOf(`${run}-s${services}`);
    await runtime.apply(
      target,
      { kind: 'image', image: built.v1 },
      { operationId: `dep_digest${services}`, pull: { auth: async () => undefined } },
    );
    const [lookup] = await runtime.describe([target]);
    if (!lookup?.found) throw new Error('not found');
    expect(lookup.snapshot.units.map((u) => u.imageDigest)).toEqual([built.v1.split('@')[1]]);
  });
});
