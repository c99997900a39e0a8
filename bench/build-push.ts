/**
 * Build + push overhead: dockhand's dockerode path (DockerImageBuilder + registry push, with its progress
 * parsing) beside the docker CLI (`docker build` + `docker push`) on the same context, engine and registry,
 * measured in the same run. Each round changes one file so both do real work for the last layers.
 *
 *   eval "$(bash scripts/test-services.sh env)" && npm run bench:build-push      (ROUNDS=5 to change)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DockerImageBuilder } from '../src/adapters/docker/image-builder.ts';
import { createImageRegistry } from '../src/adapters/docker/registries.ts';
import { systemClock } from '../src/adapters/system-clock.ts';
import { dockerFromEnv, makeBusyboxContext, testRegistry } from '../test/support/docker.ts';
import { reportFigure } from './figures.ts';

const run = promisify(execFile);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const docker = await dockerFromEnv();
if (!docker) {
  // A notice and no figure, so that `npm run bench` runs the other benches on a machine without an engine.
  console.log(
    'bench:build-push skipped: no Docker engine (start one with `bash scripts/test-services.sh start` and ' +
      '`eval "$(bash scripts/test-services.sh env)"`).',
  );
  process.exit(0);
}
const address = testRegistry();
const dir = await mkdtemp(join(tmpdir(), 'dockhand-bench-build-'));
await makeBusyboxContext(dir, {
  dockerfileExtra: 'COPY payload.bin /payload.bin\nRUN ["/bin/sh", "-c", "wc -c /payload.bin > /size.txt"]',
});
const builder = new DockerImageBuilder(docker);
const registry = createImageRegistry(
  'bench',
  { type: 'registry', address, insecure: true },
  { docker, clock: systemClock },
);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const ours: number[] = [];
const cli: number[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    // A new 4 MiB payload each round: the COPY and RUN layers are rebuilt and pushed by both.
    await writeFile(join(dir, 'payload.bin'), Buffer.alloc(4 * 1024 * 1024, `${round}-${Date.now()}`));
    const tagA = `${address}/bench/dockhand:r${round}-${Date.now()}`;
    let t = performance.now();
    await builder.build({ contextDir: dir, dockerfile: 'Dockerfile', buildArgs: {}, tags: [tagA] });
    await registry.push({ image: tagA });
    ours.push(performance.now() - t);

    await writeFile(join(dir, 'payload.bin'), Buffer.alloc(4 * 1024 * 1024, `${round}-cli-${Date.now()}`));
    const tagB = `${address}/bench/cli:r${round}-${Date.now()}`;
    t = performance.now();
    await run('docker', ['build', '-q', '-t', tagB, dir], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    await run('docker', ['push', '-q', tagB]);
    cli.push(performance.now() - t);
  }
  const a = median(ours);
  const b = median(cli);
  console.log(`build + push of a busybox context with a 4 MiB changing layer, ${ROUNDS} rounds (median)`);
  console.log(`  docker CLI (classic builder)  ${b.toFixed(0)} ms`);
  console.log(`  dockhand (dockerode)          ${a.toFixed(0)} ms`);
  console.log(`  ratio                         ×${(a / b).toFixed(2)}`);
  reportFigure({ figure: 'build_push_ms', value: a, unit: 'ms', baseline: b });
} finally {
  await rm(dir, { recursive: true, force: true });
}
