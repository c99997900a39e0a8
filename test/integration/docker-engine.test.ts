// Proves the test infrastructure (DESIGN.md §4) with dockerode against a real engine and registry:
// build from a tar stream with RUN steps, tag, push to the insecure registry, check the manifest over the
// registry's HTTP API, run a container and read its logs — and that a failing RUN step is only visible as
// `errorDetail` inside the build stream.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type DockerStreamEvent,
  describeWithDocker,
  followStream,
  git,
  makeBusyboxContext,
  makeBusyboxGitRepo,
  packContext,
  randomTag,
  streamError,
} from '../support/docker.ts';

const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** Demultiplex a non-TTY container log buffer (8-byte frame headers: stream, 0,0,0, size uint32 BE). */
function demux(buf: Buffer): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i];
    const size = buf.readUInt32BE(i + 4);
    const chunk = buf.subarray(i + 8, i + 8 + size).toString('utf8');
    if (kind === 2) out.stderr += chunk;
    else out.stdout += chunk;
    i += 8 + size;
  }
  return out;
}

await describeWithDocker('docker engine + registry (infra smoke test)', ({ docker, registry }) => {
  const repo = `${registry}/dockhand-test/hello`;
  const tag = randomTag();
  const ref = `${repo}:${tag}`;
  const created = { images: [] as string[], containers: [] as Docker.Container[], dirs: [] as string[] };

  async function buildDir(dir: string, t?: string): Promise<DockerStreamEvent[]> {
    const stream = await docker.buildImage(packContext(dir), { ...(t ? { t } : {}), rm: true, forcerm: true });
    return followStream(docker, stream);
  }

  async function build(dockerfileExtra: string, t?: string): Promise<DockerStreamEvent[]> {
    const dir = await mkdtemp(join(tmpdir(), 'dockhand-ctx-'));
    created.dirs.push(dir);
    await makeBusyboxContext(dir, { dockerfileExtra, files: { 'hello.txt': 'hello from the context\n' } });
    return buildDir(dir, t);
  }

  let buildEvents: DockerStreamEvent[] = [];
  let builtId = '';

  beforeAll(async () => {
    buildEvents = await build(
      [
        'COPY hello.txt /hello.txt',
        'RUN echo "built at $(date)" > /built.txt && cat /hello.txt',
        'CMD ["echo", "hi"]',
      ].join('\n'),
      ref,
    );
    created.images.push(ref);
    builtId = buildEvents.find((e) => e.aux?.ID)?.aux?.ID ?? '';
  });

  afterAll(async () => {
    for (const c of created.containers) await c.remove({ force: true }).catch(() => {});
    for (const image of created.images)
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => {});
    for (const dir of created.dirs) await rm(dir, { recursive: true, force: true });
  });

  it('builds from a tar stream and reports every step in the JSON stream', async () => {
    expect(streamError(buildEvents)).toBeUndefined();
    const text = buildEvents.map((e) => e.stream ?? '').join('');
    expect(text).toMatch(/Step 1\/6 : FROM scratch/);
    expect(text).toMatch(/Step 2\/6 : COPY busybox \/bin\/busybox/);
    expect(text).toMatch(/Step 3\/6 : RUN \["\/bin\/busybox","--install","-s","\/bin"\]/);
    expect(text).toMatch(/Step 5\/6 : RUN echo "built at/);
    expect(text).toContain('hello from the context'); // output of the RUN step
    expect(text).toMatch(/Successfully tagged 127\.0\.0\.1:5000\/dockhand-test\/hello:/);
    expect(builtId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const info = await docker.getImage(ref).inspect();
    expect(info.Id).toBe(builtId);
    expect(info.RepoTags).toContain(ref);
  });

  it('pushes to the registry and the registry serves the same digest', async () => {
    const stream = await docker.getImage(repo).push({ tag, authconfig: { serveraddress: registry } });
    const events = await followStream(docker, stream);
    expect(streamError(events)).toBeUndefined();
    expect(events.some((e) => e.errorDetail)).toBe(false);
    const final = events.find((e) => e.aux?.Digest);
    expect(final?.aux?.Tag).toBe(tag);
    const digest = final?.aux?.Digest ?? '';
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(events.map((e) => e.status ?? '').join('\n')).toContain(`${tag}: digest: ${digest}`);

    const res = await fetch(`http://${registry}/v2/dockhand-test/hello/manifests/${tag}`, {
      headers: { Accept: MANIFEST_ACCEPT },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    const manifest = (await res.json()) as { schemaVersion: number; layers: unknown[] };
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.layers.length).toBeGreaterThanOrEqual(2); // busybox + the RUN/COPY layers

    const tags = (await (await fetch(`http://${registry}/v2/dockhand-test/hello/tags/list`)).json()) as {
      tags: string[];
    };
    expect(tags.tags).toContain(tag);

    // the local image now records the pushed digest as well
    const info = await docker.getImage(ref).inspect();
    expect(info.RepoDigests).toContain(`${repo}@${digest}`);
  });

  it('runs a container from the image and reads its logs', async () => {
    const container = await docker.createContainer({
      Image: ref,
      Cmd: ['busybox', 'sh', '-c', 'echo hi; cat /built.txt; echo oops >&2'],
      HostConfig: { NetworkMode: 'none' },
    });
    created.containers.push(container);
    await container.start();
    const result = (await container.wait()) as { StatusCode: number };
    expect(result.StatusCode).toBe(0);
    const logs = demux((await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer);
    expect(logs.stdout).toMatch(/^hi\nbuilt at /);
    expect(logs.stderr).toBe('oops\n');
  });

  it('reports a failing RUN step as errorDetail in the stream (dockerode does not reject)', async () => {
    const events = await build('RUN echo about to fail && exit 3');
    const error = streamError(events);
    expect(error).toMatch(/returned a non-zero code: 3/);
    const failed = events.find((e) => e.errorDetail);
    expect(failed?.errorDetail?.code).toBe(3);
    expect(events.map((e) => e.stream ?? '').join('')).toContain('about to fail');
    expect(events.some((e) => e.aux?.ID)).toBe(false);
  });

  it('builds from a clone of a fixture git repository', async () => {
    const fixture = await makeBusyboxGitRepo({
      subdir: 'app',
      dockerfileExtra: 'COPY VERSION /VERSION\nRUN cat /VERSION',
      files: { VERSION: '1.2.3\n' },
    });
    created.dirs.push(fixture.path);
    expect(fixture.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(fixture.branch).toBe('main');
    const clone = await mkdtemp(join(tmpdir(), 'dockhand-clone-'));
    created.dirs.push(clone);
    await git(clone, 'clone', '-q', '--branch', fixture.branch, fixture.path, '.');
    expect(await git(clone, 'rev-parse', 'HEAD')).toBe(fixture.sha);

    const events = await buildDir(join(clone, 'app'));
    expect(streamError(events)).toBeUndefined();
    expect(events.map((e) => e.stream ?? '').join('')).toContain('1.2.3');
    const id = events.find((e) => e.aux?.ID)?.aux?.ID;
    expect(id).toMatch(/^sha256:/);
    created.images.push(id!);
  });
});
