// dockhand's own image, as operators run it: the repository's Dockerfile built on the test engine, started, and
// stopped the way ECS and `docker stop` stop it.
//
// Nothing can be pulled here, so the Dockerfile's base (`NODE_IMAGE`, node:24-bookworm-slim for users) is a local
// stand-in that scripts/test-base-image.sh makes and names in DOCKHAND_TEST_BASE_IMAGE. The build uses host
// networking (the engine has no bridge) so the Dockerfile's `npm ci` and `apt-get` reach their registries, and the
// container runs with host networking in local mode (no SLACK_BOT_TOKEN), which binds 127.0.0.1 only.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packBuildContext } from '../../src/adapters/docker/image-builder.ts';
import {
  type DockerStreamEvent,
  describeWithDocker,
  dockerRequired,
  followStream,
  packContext,
  randomTag,
  streamError,
} from '../support/docker.ts';
import { freePort } from '../support/net.ts';

const NAME = 'the dockhand image built from the Dockerfile';
const ROOT = new URL('../../', import.meta.url).pathname;
const BASE_IMAGE = process.env.DOCKHAND_TEST_BASE_IMAGE?.trim();
const HOW_TO_MAKE_BASE =
  'make one with: eval "$(bash scripts/test-services.sh env)" && export DOCKHAND_TEST_BASE_IMAGE=$(bash scripts/test-base-image.sh ensure)';
/** How long dockhand lets in-flight work finish after SIGTERM (src/main.ts), and so the most a stop may take. */
const DRAIN_MS = 10_000;
const BUILD_TIMEOUT_MS = 15 * 60_000;

/** The text of a non-TTY container stream (8-byte frame headers: stream type, 3 zero bytes, big-endian length). */
const demux = (buffer: Buffer): string => {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(at + 4);
    parts.push(buffer.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
};

const exec = async (
  container: Docker.Container,
  cmd: string[],
): Promise<{ exitCode: number | null; output: string }> => {
  const run = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await run.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const info = await run.inspect();
  return { exitCode: info.ExitCode, output: demux(Buffer.concat(chunks)).trim() };
};

const containerLogs = async (container: Docker.Container): Promise<string> =>
  demux((await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer);

/** The image ids a (possibly failed) build created, newest last: its layers, for cleanup. */
const builtLayers = (events: DockerStreamEvent[]): string[] =>
  events.flatMap((e) => /^ ---> ([0-9a-f]{12})\s*$/.exec(e.stream ?? '')?.[1] ?? []);

if (!BASE_IMAGE) {
  if (dockerRequired()) {
    describe(NAME, () => {
      it('has a base image', () => {
        throw new Error(`DOCKHAND_REQUIRE_DOCKER=1 but DOCKHAND_TEST_BASE_IMAGE is not set; ${HOW_TO_MAKE_BASE}`);
      });
    });
  } else {
    console.warn(`\n⚠ Skipping the image test: DOCKHAND_TEST_BASE_IMAGE is not set.\n  ${HOW_TO_MAKE_BASE}\n`);
    describe.skip(NAME, () => {
      it('needs a base image (DOCKHAND_TEST_BASE_IMAGE)', () => {});
    });
  }
} else {
  const base = BASE_IMAGE;
  await describeWithDocker(NAME, ({ docker }) => {
    const run = randomTag('img').toLowerCase();
    const tag = `dockhand-test/dockhand:${run}`;
    let image: Docker.ImageInspectInfo;
    let container: Docker.Container;
    let port = 0;
    let configDir = '';
    let buildEvents: DockerStreamEvent[] = [];

    beforeAll(async () => {
      const baseInfo = await docker
        .getImage(base)
        .inspect()
        .catch(() => {
          throw new Error(`DOCKHAND_TEST_BASE_IMAGE=${base} is not on the engine; ${HOW_TO_MAKE_BASE}`);
        });

      const started = performance.now();
      const stream = await docker.buildImage(await packBuildContext(ROOT, ['Dockerfile']), {
        t: tag,
        buildargs: { NODE_IMAGE: base },
        networkmode: 'host',
        rm: true,
        forcerm: true,
        version: '1',
      });
      buildEvents = await followStream(docker, stream);
      const failed = streamError(buildEvents);
      if (failed) {
        const output = buildEvents
          .map((e) => e.stream ?? '')
          .join('')
          .split('\n')
          .slice(-30)
          .join('\n');
        throw new Error(`docker build of the Dockerfile on ${base} failed: ${failed}\n${output}`);
      }
      image = await docker.getImage(tag).inspect();
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
      console.log(
        `dockhand image: ${mb(image.Size)} (${mb(image.Size - baseInfo.Size)} over the base ${base}, ${mb(baseInfo.Size)}), built in ${seconds} s`,
      );

      configDir = await mkdtemp(join(tmpdir(), 'dockhand-image-'));
      await writeFile(
        join(configDir, 'dockhand.yml'),
        'defaults:\n  channel: "#deploys"\nservices:\n  api:\n    environments:\n      production:\n        target: { type: ecs, cluster: prod, service: api, container: app }\n',
      );
      port = await freePort();
      container = await docker.createContainer({
        name: `dockhand-image-test-${run}`,
        Image: tag,
        // No SLACK_BOT_TOKEN: local mode, which listens on 127.0.0.1 only (host networking shares the host's).
        Env: [`PORT=${port}`, 'DOCKHAND_CONFIG=/tmp/dockhand.yml', 'LOG_LEVEL=info'],
        HostConfig: { NetworkMode: 'host' },
      });
      await container.putArchive(packContext(configDir), { path: '/tmp' });
      await container.start();
    }, BUILD_TIMEOUT_MS);

    afterAll(async () => {
      await container?.remove({ force: true }).catch(() => {});
      if (image) await docker.getImage(tag).remove({ force: true });
      // What the tag does not hold stays behind as untagged images: the deps stage, or a failed build's steps.
      // Removing each step's image, newest first, removes it and its untagged parents; never the base, and an
      // image something else still uses refuses (and stays).
      const baseId = await docker
        .getImage(base)
        .inspect()
        .then((i) => i.Id.replace(/^sha256:/, ''))
        .catch(() => '');
      for (const id of builtLayers(buildEvents).reverse()) {
        if (!baseId || baseId.startsWith(id)) continue;
        await docker
          .getImage(id)
          .remove()
          .catch(() => {});
      }
      if (configDir) await rm(configDir, { recursive: true, force: true });
    }, 60_000);

    it("runs node (with npm start's V8 flags) on src/main.ts itself, as the user node, with a HEALTHCHECK", () => {
      // node as PID 1 gets SIGTERM itself; `npm start` would pass it on and exit before dockhand drained
      expect(image.Config.Cmd).toEqual(['node', '--max-semi-space-size=8', '--heap-growing-percent=20', 'src/main.ts']);
      expect(image.Config.Entrypoint ?? null).toBeNull();
      expect(image.Config.User).toBe('node');
      expect(image.Config.Healthcheck?.Test?.[0]).toBe('CMD');
    });

    it('answers GET /healthz with 200 on 127.0.0.1', async () => {
      const deadline = Date.now() + 60_000;
      let last = '';
      for (;;) {
        const state = (await container.inspect()).State;
        if (!state.Running)
          throw new Error(`the container exited (${state.ExitCode}):\n${await containerLogs(container)}`);
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(
          (e: unknown) => ({ status: 0, text: async () => String(e) }),
        );
        last = `${res.status} ${await res.text()}`;
        if (res.status === 200) break;
        if (Date.now() > deadline)
          throw new Error(`/healthz never answered 200 (last: ${last}):\n${await containerLogs(container)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(JSON.parse(last.slice(4))).toMatchObject({ ok: true });
    }, 90_000);

    it('runs as a user other than root, and can write its SQLite store', async () => {
      const uid = await exec(container, ['id', '-u']);
      expect(uid.exitCode).toBe(0);
      expect(uid.output).toMatch(/^\d+$/);
      expect(uid.output).not.toBe('0');
      // the process itself, as the engine sees it (not only what `exec` runs as)
      const top = (await container.top({ ps_args: '-o pid,uid,args' })) as { Titles: string[]; Processes: string[][] };
      const column = (title: string) => top.Titles.indexOf(title);
      const dockhand = top.Processes.find(
        (p) => p[column('COMMAND')] === 'node --max-semi-space-size=8 --heap-growing-percent=20 src/main.ts',
      );
      expect(dockhand?.[column('UID')]).toBe(uid.output);
      const db = await exec(container, ['sh', '-c', 'test -s /app/data/dockhand.db && test ! -w /app/src && echo ok']);
      expect(db.output).toBe('ok');
    });

    it('holds the production dependencies only, and none of the tests, git data or local files', async () => {
      const present = await exec(container, [
        'sh',
        '-c',
        'cd /app && for p in node_modules/@slack/bolt node_modules/dockerode node_modules/typescript node_modules/vitest node_modules/node test .git .ci dockhand.yml Dockerfile; do [ -e "$p" ] && echo "$p"; done; true',
      ]);
      expect(present.output.split('\n')).toEqual(['node_modules/@slack/bolt', 'node_modules/dockerode']);
    });

    it('passes its own HEALTHCHECK command', async () => {
      const [kind, ...cmd] = image.Config.Healthcheck?.Test ?? [];
      expect(kind).toBe('CMD');
      expect(await exec(container, cmd)).toMatchObject({ exitCode: 0 });
    });

    it(`stops on SIGTERM within the drain time (${DRAIN_MS / 1000} s), with exit code 0`, async () => {
      const started = performance.now();
      // docker stop: the image's STOPSIGNAL, then SIGKILL after t seconds (which would show as exit code 137)
      await container.stop({ t: 30 });
      const elapsed = performance.now() - started;
      const state = (await container.inspect()).State;
      console.log(`dockhand image: stopped ${Math.round(elapsed)} ms after SIGTERM, exit code ${state.ExitCode}`);
      expect(state.ExitCode).toBe(0);
      expect(elapsed).toBeLessThan(DRAIN_MS);
      const logs = await containerLogs(container);
      expect(logs).toContain('"signal":"SIGTERM"');
      expect(logs).toContain('"msg":"stopped"');
    }, 60_000);
  });
}
