// `dockhand local clean` (npm run local:clean): removes what the local console's example left on the engine for
// this checkout, and nothing of a neighbour's. The removal test uses its own copy of the example's shape under a
// service name unique to the run, so it never meets a real `hello` of anyone else on the shared engine.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/adapters/docker/connect.ts';
import { EngineHostRuntime, LABELS } from '../../src/adapters/docker/host-runtime.ts';
import { DockerImageBuilder } from '../../src/adapters/docker/image-builder.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { cleanExample, exampleFootprint } from '../../src/local/example.ts';
import { describeWithDocker, makeBusyboxContext, randomTag } from '../support/docker.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** `node bin/dockhand.ts local clean` with exactly this environment. */
const cli = (env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/dockhand.ts'), 'local', 'clean'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    child.on('error', reject).on('exit', (code) => resolve({ code, out, err }));
  });

await describeWithDocker('dockhand local clean (real engine)', ({ docker }) => {
  const run = randomTag('lc').toLowerCase();
  const mine = { DOCKER_HOST: process.env.DOCKER_HOST ?? '', DOCKHAND_LOCAL_ID: `${run}-me` };
  const neighbour = { ...mine, DOCKHAND_LOCAL_ID: `${run}-nb` };
  const runtime = new EngineHostRuntime({ clock: systemClock, pollMs: 250, runningGraceMs: 500 });
  let dir = '';
  let configPath = '';

  /** Deploys the example (as `npm start` would, with the given id) and returns its container id and image. */
  const deployExample = async (env: Record<string, string>, built: string) => {
    const [f] = await exampleFootprint(env, { configPath });
    if (!f?.repository) throw new Error('the test config has no Docker-host target that keeps its image');
    const image = `${f.repository}:v1`;
    const [repo = '', tag = ''] = image.split(':');
    await docker.getImage(built).tag({ repo, tag });
    const result = await runtime.deploy({
      target: { ...f, ports: [], env: {}, volumes: [], replicas: 1 },
      image,
      pull: false,
      deploymentId: `dep_${env.DOCKHAND_LOCAL_ID?.slice(-2)}00001`,
    });
    return { id: result.containers[0]?.id ?? '', image, service: f.service };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dockhand-lc-'));
    await makeBusyboxContext(dir, { dockerfileExtra: 'STOPSIGNAL SIGKILL\nCMD ["sleep", "3600"]' });
    configPath = join(dir, 'dockhand.local.yml');
    await writeFile(
      configPath,
      [
        'defaults: { channel: "#deploys" }',
        'services:',
        `  ${run}-hello:`,
        '    source: { path: . }',
        `    image: { repository: "dockhand-local/${run}-hello-\${DOCKHAND_LOCAL_ID}" }`,
        '    environments:',
        '      local:',
        `        target: { type: docker, host: "\${DOCKER_HOST}", container: "${run}-hello-\${DOCKHAND_LOCAL_ID}" }`,
        '',
      ].join('\n'),
    );
    await new DockerImageBuilder(docker).build({
      contextDir: dir,
      dockerfile: 'Dockerfile',
      buildArgs: {},
      tags: [`dockhand-test/local-clean:${run}`],
    });
  }, 120_000);

  afterAll(async () => {
    const made = await docker.listContainers({ all: true, filters: { label: [`${LABELS.service}=${run}-hello`] } });
    for (const c of made)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    for (const ref of [
      `dockhand-test/local-clean:${run}`,
      ...[mine, neighbour].map((e) => `dockhand-local/${run}-hello-${e.DOCKHAND_LOCAL_ID}:v1`),
    ])
      await docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it("removes this checkout's example container and image, and leaves the neighbour's running", async () => {
    const built = `dockhand-test/local-clean:${run}`;
    const theirs = await deployExample(neighbour, built);
    const ours = await deployExample(mine, built);

    const report = await cleanExample(mine, (host) => connectDocker(host), { configPath });
    expect(report).toEqual({
      id: mine.DOCKHAND_LOCAL_ID,
      containers: [`${run}-hello-${mine.DOCKHAND_LOCAL_ID}`],
      images: [ours.image],
    });
    await expect(docker.getContainer(ours.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(docker.getImage(ours.image).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await docker.getContainer(theirs.id).inspect()).State.Running).toBe(true);
    expect((await docker.getImage(theirs.image).inspect()).RepoTags).toContain(theirs.image);
    // The image they were built from is still there: only the example's own names were removed.
    expect((await docker.getImage(built).inspect()).RepoTags).toContain(built);

    expect(await cleanExample(mine, (host) => connectDocker(host), { configPath })).toEqual({
      id: mine.DOCKHAND_LOCAL_ID,
      containers: [],
      images: [],
    });
  }, 120_000);

  it('says so when the bundled example left nothing for this checkout', async () => {
    const result = await cli(mine);
    expect(result.err).toBe('');
    expect(result.out).toBe(
      `✓ nothing to clean: the example left nothing on ${mine.DOCKER_HOST} for this checkout (id ${mine.DOCKHAND_LOCAL_ID})\n`,
    );
    expect(result.code).toBe(0);
  }, 30_000);
});

describe('dockhand local clean: mistakes get one clear line, no stack trace', () => {
  it('names the engine it could not reach and how to choose another', async () => {
    const result = await cli({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', DOCKHAND_LOCAL_ID: 'nobody' });
    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    expect(result.err).toMatch(
      /^✗ could not clean up the local example on unix:\/\/\/nonexistent\/docker\.sock: .*\n {2}Is the engine running\? DOCKER_HOST chooses it/,
    );
    expect(result.err).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('refuses a DOCKHAND_LOCAL_ID that cannot name a container', async () => {
    const result = await cli({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', DOCKHAND_LOCAL_ID: '../Up' });
    expect(result.code).toBe(1);
    expect(result.err).toContain('DOCKHAND_LOCAL_ID: "../Up" cannot name a container or an image');
    expect(result.err).not.toMatch(/\n\s+at /);
  }, 30_000);
});
