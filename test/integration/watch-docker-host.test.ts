/**
 * The health watch of a Docker-host service against the real engine: the service runs through the real
 * EngineHostRuntime (its labels, its names), the scheduler reads it through the same runtime over the real SQLite
 * store, a recording notifier takes the alerts, and a fake Clock names the ticks (the engine keeps real time).
 * The container's HEALTHCHECK tests for a file: removing it with `exec` makes the container unhealthy.
 *
 * The test engine runs with --bridge=none: the container joins a user-defined bridge network made here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EngineHostRuntime, LABELS } from '../../src/adapters/docker/host-runtime.ts';
import { DockerImageBuilder } from '../../src/adapters/docker/image-builder.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { configSchema } from '../../src/config/schema.ts';
import { createScheduler, type Scheduler } from '../../src/jobs/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Clock, EcsReader, MessageRef, Notifier, OutgoingMessage, Store } from '../../src/ports.ts';
import { describeWithDocker, makeBusyboxContext, randomTag } from '../support/docker.ts';
import { testRuntimes } from '../support/runtimes.ts';

const MINUTE = 60_000;

// Healthy while /tmp/healthy exists; exits 3 (and is restarted by the engine) when /tmp/crash appears.
const DOCKERFILE = [
  'RUN ["/bin/sh","-c","mkdir -p /tmp && touch /tmp/healthy"]',
  'STOPSIGNAL SIGKILL',
  'HEALTHCHECK --interval=1s --timeout=2s --start-period=10s --retries=1 CMD ["/bin/sh","-c","test -f /tmp/healthy"]',
  'CMD ["/bin/sh","-c","rm -f /tmp/crash; touch /tmp/healthy; while [ ! -f /tmp/crash ]; do sleep 0.2; done; exit 3"]',
].join('\n');

class FakeClock implements Clock {
  t = Date.parse('2026-11-21T12:00:00Z');
  now(): Date {
    return new Date(this.t);
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
}

class RecordingNotifier implements Notifier {
  readonly texts: string[] = [];
  async post(channel: string, message: OutgoingMessage): Promise<MessageRef> {
    this.texts.push(message.text);
    return { channel, ts: String(this.texts.length) };
  }
  async update(): Promise<void> {}
  async updateNow(): Promise<void> {}
  async ephemeral(): Promise<void> {}
  async flush(): Promise<void> {}
}

const noEcs: EcsReader = {
  describe: async () => {
    throw new Error('ECS was asked about a Docker-host service');
  },
};

/** Polls the engine (real time) until the container's inspect data satisfies `ok`. */
const waitFor = async (
  docker: Docker,
  id: string,
  ok: (info: Docker.ContainerInspectInfo) => boolean,
  what: string,
): Promise<void> => {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const info = await docker.getContainer(id).inspect();
    if (ok(info)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}: ${JSON.stringify(info.State)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};

const exec = async (docker: Docker, id: string, cmd: string[]): Promise<void> => {
  const run = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await run.start({});
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
    stream.resume();
  });
};

await describeWithDocker('the health watch of a Docker-host service (real engine)', ({ docker }) => {
  const run = randomTag('wd').toLowerCase();
  const network = `dockhand-${run}`;
  const image = `dockhand-test/watch-host:${run}`;
  const service = `${run}-web`;
  let dir = '';
  let store: Store;
  let id = '';
  const clock = new FakeClock();
  const notifier = new RecordingNotifier();
  const runtime = new EngineHostRuntime({ clock: systemClock, pollMs: 250, healthTimeoutMs: 30_000 });
  const config = configSchema.parse({
    defaults: { channel: '#ops' },
    services: {
      [service]: {
        environments: {
          box: {
            target: { type: 'docker', host: process.env.DOCKER_HOST ?? '', container: `${run}-web`, network },
          },
        },
        watch: { health: '* * * * *', publicIps: '* * * * *' },
      },
    },
  });

  beforeAll(async () => {
    await docker.createNetwork({ Name: network, Driver: 'bridge', Labels: { 'dockhand.test': run } });
    dir = await mkdtemp(join(tmpdir(), 'dockhand-wd-'));
    await makeBusyboxContext(dir, { dockerfileExtra: DOCKERFILE });
    await new DockerImageBuilder(docker).build({
      contextDir: dir,
      dockerfile: 'Dockerfile',
      buildArgs: {},
      tags: [image],
    });
    store = await openStore('sqlite::memory:', { instance: 'test' });
  }, 120_000);

  afterAll(async () => {
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.service}=${service}`] } });
    for (const c of leftovers)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => {});
    await docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
    await store?.close();
  }, 60_000);

  const tick = async (scheduler: Scheduler) => {
    const report = await scheduler.tick(clock.now());
    clock.t += MINUTE;
    return report;
  };

  it('says once that the container became unhealthy, once that it recovered, and once that it restarted', async () => {
    const target = { service, environment: 'box' };
    const deployed = await runtime.deploy({
      target: {
        ...target,
        host: process.env.DOCKER_HOST ?? '',
        container: `${run}-web`,
        ports: [],
        env: {},
        volumes: [],
        replicas: 1,
        network,
      },
      image,
      pull: false,
      deploymentId: `dep_${run}`,
    });
    id = deployed.containers[0]?.id ?? '';
    expect(deployed.containers[0]).toMatchObject({ state: 'running', health: 'HEALTHY' });

    const scheduler = createScheduler({
      config,
      runtimes: testRuntimes({ ecs: noEcs, host: runtime, store, clock }),
      store,
      notifier,
      clock,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      instance: 'test',
    });
    expect((await tick(scheduler))?.outcomes).toEqual({ health: 'ok' });
    expect(await tick(scheduler)).toMatchObject({ posted: 0 });

    await exec(docker, id, ['rm', '/tmp/healthy']);
    await waitFor(docker, id, (i) => i.State.Health?.Status === 'unhealthy', 'the container is unhealthy');
    await tick(scheduler);
    await tick(scheduler);
    await tick(scheduler);
    expect(notifier.texts).toEqual([`${service} · box is degraded: ${run}-web is unhealthy`]);

    await exec(docker, id, ['touch', '/tmp/healthy']);
    await waitFor(docker, id, (i) => i.State.Health?.Status === 'healthy', 'the container is healthy again');
    await tick(scheduler);
    await tick(scheduler);
    expect(notifier.texts.slice(1)).toEqual([`${service} · box recovered after 3m`]);

    // The process exits; the engine restarts it (restart policy unless-stopped).
    await exec(docker, id, ['touch', '/tmp/crash']);
    await waitFor(
      docker,
      id,
      (i) => i.RestartCount === 1 && i.State.Running && i.State.Health?.Status === 'healthy',
      'the container ran again after a restart',
    );
    await tick(scheduler);
    await tick(scheduler);
    expect(notifier.texts.slice(2)).toEqual([
      `${service} · box is degraded: ${run}-web restarted once`,
      `${service} · box recovered after 1m`,
    ]);
    await scheduler.stop();
  }, 120_000);
});
