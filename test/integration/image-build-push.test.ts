// DockerImageBuilder and the `type: registry` ImageRegistry against the real engine and registry (DESIGN.md §4):
// step events in order, .dockerignore honoured, a failing RUN step as BuildFailedError with its output, push
// progress to 100 % and the registry's own digest, tag look-ups, and a registry where nothing listens.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { DockerImageBuilder } from '../../src/adapters/docker/image-builder.ts';
import { createImageRegistry } from '../../src/adapters/docker/registries.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { BuildFailedError, DockhandError } from '../../src/errors.ts';
import type { BuildEvent } from '../../src/ports.ts';
import { describeWithDocker, makeBusyboxContext, randomTag } from '../support/docker.ts';

const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

await describeWithDocker('DockerImageBuilder + registry (real engine)', ({ docker, registry }) => {
  const builder = new DockerImageBuilder(docker);
  const repository = 'dockhand-test/build-push';
  const created = { images: [] as string[], dirs: [] as string[] };

  const context = async (options: Parameters<typeof makeBusyboxContext>[1]): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'dockhand-ctx-'));
    created.dirs.push(dir);
    return makeBusyboxContext(dir, options);
  };

  afterAll(async () => {
    for (const image of created.images.reverse())
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => {});
    for (const dir of created.dirs) await rm(dir, { recursive: true, force: true });
  });

  const tag = randomTag('bp');
  const ref = `${registry}/${repository}:${tag}`;
  const extraRef = `${registry}/${repository}:${tag}-extra`;
  let imageId = '';
  let buildMs = 0;

  it('builds: step events in order, output lines, every tag, .dockerignore honoured', async () => {
    const dir = await context({
      dockerfileExtra: [
        'ARG GREETING',
        'COPY . /ctx',
        'RUN test ! -e /ctx/ignored.txt && test ! -e /ctx/logs/app.log && test -e /ctx/logs/keep.log',
        'RUN echo "hello from $GREETING" && cat /ctx/kept.txt',
      ].join('\n'),
      files: {
        'kept.txt': 'kept file\n',
        'ignored.txt': 'must not be sent\n',
        'logs/app.log': 'no\n',
        'logs/keep.log': 'yes\n',
        '.dockerignore': 'ignored.txt\nlogs/*.log\n!logs/keep.log\nDockerfile\n.dockerignore\n',
      },
    });
    const events: BuildEvent[] = [];
    const started = performance.now();
    const result = await builder.build({
      contextDir: dir,
      dockerfile: 'Dockerfile',
      buildArgs: { GREETING: 'dockhand' },
      tags: [ref, extraRef],
      onEvent: (e) => events.push(e),
    });
    buildMs = performance.now() - started;
    created.images.push(ref, extraRef);
    imageId = result.imageId;
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);

    const steps = events.filter((e) => e.type === 'step');
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(steps.every((s) => s.total === 7)).toBe(true);
    expect(steps[0]).toEqual({ type: 'step', step: 1, total: 7, instruction: 'FROM scratch' });
    expect(steps[5]?.instruction).toMatch(/^RUN test ! -e \/ctx\/ignored.txt/);
    const lines = events.flatMap((e) => (e.type === 'output' ? [e.line] : []));
    expect(lines).toContain('hello from dockhand');
    expect(lines).toContain('kept file');
    expect(lines.some((l) => l.startsWith(' ---> '))).toBe(false);

    const info = await docker.getImage(ref).inspect();
    expect(info.Id).toBe(imageId);
    expect(info.RepoTags).toEqual(expect.arrayContaining([ref, extraRef]));
  });

  it('fails a RUN step with BuildFailedError naming the step and carrying its output', async () => {
    const dir = await context({
      dockerfileExtra: 'RUN echo preparing\nRUN echo boom; echo token=abc123secret; exit 3',
    });
    const events: BuildEvent[] = [];
    const error = await builder
      .build({ contextDir: dir, dockerfile: 'Dockerfile', buildArgs: {}, tags: [], onEvent: (e) => events.push(e) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildFailedError);
    const failed = error as BuildFailedError;
    expect(failed.step).toBe('RUN echo boom; echo token=[REDACTED]; exit 3'); // the step text is masked too
    expect(failed.message).toMatch(/^step 5\/5 failed: RUN echo boom; .*: .*returned a non-zero code: 3$/);
    expect(failed.output).toContain('boom');
    expect(failed.output).not.toContain('preparing'); // only the failing step's output
    expect(failed.output.join('\n')).not.toContain('abc123secret');
    expect(failed.output.join('\n')).toContain('token=[REDACTED]');
    expect(events.filter((e) => e.type === 'step').length).toBe(5);
  });

  it('masks secret build args in output and errors', async () => {
    const dir = await context({ dockerfileExtra: 'ARG NPM_TOKEN\nRUN echo "using $NPM_TOKEN" && exit 1' });
    const error = (await builder
      .build({ contextDir: dir, dockerfile: 'Dockerfile', buildArgs: { NPM_TOKEN: 'npm_s3cr3tvalue' }, tags: [] })
      .catch((e: unknown) => e)) as BuildFailedError;
    expect(error).toBeInstanceOf(BuildFailedError);
    expect(error.output).toContain('using [REDACTED]');
    expect(JSON.stringify([error.message, error.output, error.step])).not.toContain('npm_s3cr3tvalue');
  });

  it('stops a build when its signal aborts', async () => {
    const dir = await context({ dockerfileExtra: 'RUN echo started && sleep 30' });
    const controller = new AbortController();
    const started = performance.now();
    const error = await builder
      .build({
        contextDir: dir,
        dockerfile: 'Dockerfile',
        buildArgs: {},
        tags: [],
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'output' && e.line === 'started') controller.abort(new Error('cancelled by test'));
        },
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('cancelled by test');
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('names the base image and the build argument that sets it when the FROM pull fails (the hello example)', async () => {
    const missing = `${registry}/dockhand-test/no-such-base:${randomTag('base')}`;
    const error = await builder
      .build({
        contextDir: new URL('../../examples/hello', import.meta.url).pathname,
        dockerfile: 'Dockerfile',
        buildArgs: { HELLO_BASE_IMAGE: missing },
        tags: [`dockhand-test/hello:${randomTag('base')}`],
      })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BuildFailedError);
    const failure = error as BuildFailedError;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own text
    expect(failure.step).toBe('FROM ${HELLO_BASE_IMAGE}');
    expect(failure.message).toMatch(
      new RegExp(
        `^step 2/\\d+ failed: could not pull the base image ${missing.replace(/[.]/g, '\\.')} \\(set the build argument HELLO_BASE_IMAGE to an image this Docker engine can pull or already has\\): .*not found`,
      ),
    );
    expect(failure.hint).toContain('HELLO_BASE_IMAGE');
  });

  it('reports a Dockerfile that does not parse', async () => {
    const dir = await context({ dockerfileExtra: 'FLY away' });
    const error = await builder
      .build({ contextDir: dir, dockerfile: 'Dockerfile', buildArgs: {}, tags: [] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockhandError);
    expect((error as Error).message).toMatch(/unknown instruction: FLY/i);
  });

  it('pushes with progress up to 100 and returns the digest the registry serves; resolves tags', async () => {
    const images = createImageRegistry(
      'inhouse',
      { type: 'registry', address: registry, insecure: true },
      { docker, clock: systemClock },
    );
    expect(await images.imageName(repository)).toBe(`${registry}/${repository}`);
    const progress: number[] = [];
    const started = performance.now();
    const { digest } = await images.push({ image: ref, onProgress: (p) => progress.push(p) });
    const pushMs = performance.now() - started;
    console.info(`build ${Math.round(buildMs)} ms, push ${Math.round(pushMs)} ms, progress ${progress.join(' ')}`);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(progress.at(-1)).toBe(100);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(new Set(progress).size).toBe(progress.length); // only on change

    const res = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
      headers: { Accept: MANIFEST_ACCEPT },
    });
    expect(res.headers.get('docker-content-digest')).toBe(digest);

    expect(await images.resolveTag(repository, tag)).toBe(digest);
    // A digest (what a CI deploy hook names) resolves to itself when the registry has it.
    expect(await images.resolveTag(repository, digest)).toBe(digest);
    expect(await images.resolveTag(repository, `sha256:${'0'.repeat(64)}`)).toBeUndefined();
    expect(await images.resolveTag(repository, 'no-such-tag')).toBeUndefined();
    expect(await images.resolveTag('dockhand-test/never-pushed', 'x')).toBeUndefined();

    // pushing again: every layer already exists, still a digest and 100 %
    const again: number[] = [];
    expect((await images.push({ image: ref, onProgress: (p) => again.push(p) })).digest).toBe(digest);
    expect(again.at(-1)).toBe(100);
  });

  it('fails a push to an address where nothing listens with a registry error', async () => {
    const dead = '127.0.0.1:5999';
    const deadRef = `${dead}/${repository}:${tag}`;
    await docker.getImage(ref).tag({ repo: `${dead}/${repository}`, tag });
    created.images.push(deadRef);
    const images = createImageRegistry(
      'dead',
      { type: 'registry', address: dead, insecure: true, username: 'u', password: 'hunter22' },
      { docker, clock: systemClock },
    );
    const error = (await images.push({ image: deadRef }).catch((e: unknown) => e)) as DockhandError;
    expect(error).toBeInstanceOf(DockhandError);
    expect(error.code).toBe('registry');
    expect(error.message).toContain(`pushing ${deadRef} to registry "dead" (${dead}) failed:`);
    expect(error.message).toMatch(/connection refused/);
    expect(error.message).not.toContain('hunter22');
    expect(error.hint).toMatch(/running and reachable/);

    const lookup = (await images.resolveTag(repository, tag).catch((e: unknown) => e)) as DockhandError;
    expect(lookup).toBeInstanceOf(DockhandError);
    expect(lookup.code).toBe('registry');
    expect(lookup.message).toContain(`cannot reach registry "dead" (${dead})`);
    expect(lookup.message).not.toContain('hunter22');
  });

  it('fails a push of an image that does not exist locally', async () => {
    const images = createImageRegistry(
      'inhouse',
      { type: 'registry', address: registry, insecure: true },
      { docker, clock: systemClock },
    );
    const error = (await images
      .push({ image: `${registry}/${repository}:never-built` })
      .catch((e: unknown) => e)) as DockhandError;
    expect(error).toBeInstanceOf(DockhandError);
    expect(error.message).toMatch(/does not exist|no such image|An image does not exist/i);
  });
});
