// EngineHostRuntime against the real engine and registry (DESIGN.md §3.1 "Docker host", §4): deploy beside the old
// container and replace it, a version that never turns healthy leaves the old one serving, a fixed host port forces
// stop-first and restores the old container on failure, the target.healthcheck probe (bridge network and host
// networking), scale 1 → 3 → 1, logs with grep, snapshot, and an engine that is not there.
//
// The test engine runs with --bridge=none: containers join a user-defined bridge network made here (the runtime's
// networkMode), whose addresses and published ports the host can reach.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EngineHostRuntime, LABELS } from '../../src/adapters/docker/host-runtime.ts';
import { DockerImageBuilder } from '../../src/adapters/docker/image-builder.ts';
import { createImageRegistry } from '../../src/adapters/docker/registries.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { DockhandError, HostDeployError } from '../../src/errors.ts';
import type { DockerHostTarget, HostPhase } from '../../src/ports.ts';
import { describeWithDocker, makeBusyboxContext, randomTag } from '../support/docker.ts';
import { freePort } from '../support/net.ts';
import { startRequestLoop } from '../support/request-loop.ts';

const START_SCRIPT = [
  '#!/bin/sh',
  'echo "starting $VERSION on port $LISTEN"',
  'echo "connecting to the database with password=hunter2"',
  'echo "warming up on stderr" >&2',
  'exec httpd -f -p "$LISTEN" -h /www',
  '',
].join('\n');

// `run` makes each run's images its own: identical builds share an image id on the engine's build cache, and
// another run's clean-up (by digest, forced) would remove the images this run is still deploying.
const dockerfile = (healthcheck: boolean, run: string): string =>
  [
    `LABEL dockhand.test-run=${run}`,
    'ARG VERSION=v0',
    'ARG LISTEN=80',
    'ENV VERSION=$VERSION LISTEN=$LISTEN',
    'COPY start.sh /start.sh',
    'RUN mkdir -p /www && echo "$VERSION" > /www/index.html',
    // httpd as PID 1 ignores SIGTERM: stop at once instead of after the 10 s grace.
    'STOPSIGNAL SIGKILL',
    ...(healthcheck
      ? [
          'HEALTHCHECK --interval=1s --timeout=2s --retries=2 ' +
            'CMD ["/bin/sh","-c","wget -q -O /dev/null http://127.0.0.1:80/ || exit 1"]',
        ]
      : []),
    'CMD ["/bin/sh","/start.sh"]',
  ].join('\n');

const httpGet = async (url: string): Promise<string | undefined> => {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return (await res.text()).trim();
  } catch {
    return undefined;
  }
};

/** Polls `read` (a few seconds at most) until it returns `wanted`; returns the last value. */
const waitFor = async <T>(read: () => Promise<T>, wanted: T): Promise<T> => {
  let value = await read();
  for (let i = 0; i < 40 && value !== wanted; i++) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
};

await describeWithDocker('EngineHostRuntime (real engine)', ({ docker, registry }) => {
  const run = randomTag('hr').toLowerCase();
  const network = `dockhand-${run}`;
  const repository = 'dockhand-test/host-runtime';
  const images = createImageRegistry(
    'inhouse',
    { type: 'registry', address: registry, insecure: true },
    {
      docker,
      clock: systemClock,
    },
  );
  const runtime = new EngineHostRuntime({
    clock: systemClock,
    networkMode: network,
    pollMs: 250,
    runningGraceMs: 1_000,
    healthTimeoutMs: 30_000,
  });
  const built: Record<'v1' | 'v2' | 'bad' | 'plain', string> = { v1: '', v2: '', bad: '', plain: '' };
  const digests: Record<string, string> = {};
  const tags: string[] = [];
  const dirs: string[] = [];
  let services = 0;

  const target = (overrides: Partial<DockerHostTarget> = {}): DockerHostTarget => {
    services += 1;
    return {
      service: `${run}-s${services}`,
      environment: 'box',
      host: process.env.DOCKER_HOST ?? '',
      container: `${run}-web${services}`,
      ports: [],
      env: {},
      volumes: [],
      replicas: 1,
      ...overrides,
    };
  };

  const serviceContainers = (t: DockerHostTarget) =>
    docker.listContainers({ all: true, filters: { label: [`${LABELS.service}=${t.service}`] } });

  const build = async (name: keyof typeof built, args: Record<string, string>, healthcheck: boolean) => {
    const dir = await mkdtemp(join(tmpdir(), 'dockhand-hr-'));
    dirs.push(dir);
    await makeBusyboxContext(dir, {
      dockerfileExtra: dockerfile(healthcheck, run),
      files: { 'start.sh': START_SCRIPT },
    });
    const tag = `${registry}/${repository}:${run}-${name}`;
    await new DockerImageBuilder(docker).build({
      contextDir: dir,
      dockerfile: 'Dockerfile',
      buildArgs: args,
      tags: [tag],
    });
    tags.push(tag);
    const { digest } = await images.push({ image: tag });
    built[name] = `${registry}/${repository}@${digest}`;
    digests[name] = digest;
  };

  beforeAll(async () => {
    await docker.createNetwork({ Name: network, Driver: 'bridge', Labels: { 'dockhand.test': run } });
    await build('v1', { VERSION: 'v1' }, true);
    await build('v2', { VERSION: 'v2' }, true);
    await build('bad', { VERSION: 'bad', LISTEN: '81' }, true); // its HEALTHCHECK asks port 80: never healthy
    await build('plain', { VERSION: 'plain' }, false);
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

  const web = target();

  it('deploys: a container labelled with the deployment runs the pushed digest and is healthy', async () => {
    const phases: HostPhase[] = [];
    const started = performance.now();
    const result = await runtime.deploy({
      target: web,
      image: built.v1,
      pull: true,
      deploymentId: 'dep_first0001',
      onProgress: (phase) => phases.push(phase),
    });
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(phases).toEqual(['pulling', 'starting', 'waiting_healthy', 'removing_old']);
    expect(result.gap).toBe(false);
    expect(result.previousImage).toBeUndefined();
    expect(result.containers).toHaveLength(1);
    const [container] = result.containers;
    expect(container).toMatchObject({
      name: web.container,
      image: built.v1,
      digest: digests.v1,
      state: 'running',
      health: 'HEALTHY',
      restartCount: 0,
      labels: {
        [LABELS.service]: web.service,
        [LABELS.environment]: 'box',
        [LABELS.deployment]: 'dep_first0001',
        [LABELS.digest]: digests.v1,
        [LABELS.image]: built.v1,
      },
    });
    const info = await docker.getContainer(container?.id ?? '').inspect();
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
  }, 60_000);

  it('shows a snapshot: image, digest, health, start time', async () => {
    const snapshot = await runtime.snapshot(web);
    expect(snapshot.host).toBe(process.env.DOCKER_HOST);
    expect(snapshot.publicAddress).toBeUndefined(); // a unix socket has no address; config publicAddress would
    expect(snapshot.containers).toHaveLength(1);
    const [c] = snapshot.containers;
    expect(c).toMatchObject({ name: web.container, image: built.v1, digest: digests.v1, health: 'HEALTHY' });
    const ip = (await docker.getContainer(c?.id ?? '').inspect()).NetworkSettings.Networks[network]?.IPAddress;
    expect(c?.addresses).toEqual([{ network, ip }]);
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(Date.now() - (c?.startedAt?.getTime() ?? 0)).toBeLessThan(120_000);
    expect(c?.exitCode).toBeUndefined();
  });

  it('replaces the container on a second deploy: the old one is gone, the name is the same', async () => {
    const before = await serviceContainers(web);
    const result = await runtime.deploy({ target: web, image: built.v2, pull: true, deploymentId: 'dep_second002' });
    expect(result.previousImage).toBe(built.v1);
    const after = await serviceContainers(web);
    expect(after).toHaveLength(1);
    expect(after[0]?.Id).not.toBe(before[0]?.Id);
    expect(after[0]?.Names).toEqual([`/${web.container}`]);
    expect(after[0]?.Labels[LABELS.deployment]).toBe('dep_second002');
    expect(result.containers[0]).toMatchObject({ name: web.container, digest: digests.v2, health: 'HEALTHY' });
  }, 60_000);

  it('keeps the previous container when the new version never becomes healthy', async () => {
    const before = await serviceContainers(web);
    const error = await runtime
      .deploy({ target: web, image: built.bad, pull: true, deploymentId: 'dep_broken003' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostDeployError);
    const failed = error as HostDeployError;
    expect(failed.message).toMatch(/did not become healthy: its HEALTHCHECK failed/);
    expect(failed.logLines).toContain('starting bad on port 81');
    expect(failed.logLines).toContain('warming up on stderr');
    expect(failed.logLines.join('\n')).not.toContain('hunter2');
    const after = await serviceContainers(web);
    expect(after.map((c) => c.Id)).toEqual(before.map((c) => c.Id));
    const snapshot = await runtime.snapshot(web);
    expect(snapshot.containers[0]).toMatchObject({ digest: digests.v2, state: 'running', health: 'HEALTHY' });
  }, 60_000);

  it('fails a pull of a tag that does not exist, leaving the service as it was', async () => {
    const error = await runtime
      .deploy({ target: web, image: `${registry}/${repository}:nope-${run}`, pull: true, deploymentId: 'dep_nopull4' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockhandError);
    expect((error as DockhandError).message).toMatch(/^pulling .*:nope-.* failed: /);
    expect((await runtime.snapshot(web)).containers[0]?.digest).toBe(digests.v2);
  }, 30_000);

  it('keeps serving after a deploy was cut off between removing the old container and renaming the new one', async () => {
    const cut = target();
    await runtime.deploy({ target: cut, image: built.v1, pull: false, deploymentId: 'dep_cutoff101' });
    // What a crash (or a failed rename) right after "removing_old" leaves: only the new container, under its
    // temporary name.
    const [only] = await serviceContainers(cut);
    await docker.getContainer(only?.Id ?? '').rename({ name: `${cut.container}-next-cutoff01` });

    const error = await runtime
      .deploy({ target: cut, image: `${registry}/${repository}:nope-${run}`, pull: true, deploymentId: 'dep_after102' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockhandError);
    const left = await serviceContainers(cut);
    expect(left.map((c) => [c.Id, c.State, c.Names])).toEqual([[only?.Id, 'running', [`/${cut.container}`]]]);
    expect((await runtime.snapshot(cut)).containers.map((c) => c.name)).toEqual([cut.container]);
  }, 60_000);

  it('gives an old container its name back when a deploy was cut off after it stepped aside', async () => {
    const aside = target();
    await runtime.deploy({ target: aside, image: built.v1, pull: false, deploymentId: 'dep_aside0103' });
    // What a crash right after the old container was renamed aside leaves, once the new one is gone too.
    const [only] = await serviceContainers(aside);
    await docker.getContainer(only?.Id ?? '').rename({ name: `${aside.container}-old-aside104` });

    await runtime
      .deploy({
        target: aside,
        image: `${registry}/${repository}:nope-${run}`,
        pull: true,
        deploymentId: 'dep_aside105',
      })
      .catch(() => {});
    const left = await serviceContainers(aside);
    expect(left.map((c) => [c.Id, c.State, c.Names])).toEqual([[only?.Id, 'running', [`/${aside.container}`]]]);
  }, 60_000);

  it('answers every request to the stable name through a deploy, a scale up and down and a rollback', async () => {
    const served = target();
    await runtime.deploy({ target: served, image: built.v1, pull: false, deploymentId: 'dep_served201' });
    const loop = await startRequestLoop(docker, {
      network,
      image: built.plain,
      name: `${run}-loop`,
      url: `http://${served.container}/`,
    });
    try {
      await loop.waitForMoreSuccesses(20);
      await runtime.deploy({ target: served, image: built.v2, pull: false, deploymentId: 'dep_served202' });
      await runtime.scale(served, 2, 'dep_served203');
      await runtime.scale(served, 1, 'dep_served204');
      await runtime.deploy({ target: served, image: built.v1, pull: false, deploymentId: 'dep_served205' });
      await loop.waitForMoreSuccesses(20);
    } finally {
      const report = await loop.stop();
      console.info(`request loop through deploy, scale 2, scale 1, rollback: ${JSON.stringify(report)}`);
      // The name never resolves to nothing (which fails every request until it resolves again: 3–9 in a row with
      // "remove, then rename"). What remains is Docker's: a retired container leaves the network before its DNS
      // record goes, so one request may pick its address in that moment, once per container retired (here the
      // deploy's old one, the scale-down's surplus and the rollback's old one). See bench/host-replace.ts.
      expect(report.longestFailureStreak).toBeLessThanOrEqual(1);
      expect(report.failed).toBeLessThanOrEqual(3);
      expect(report.requests).toBeGreaterThan(100);
      expect(Object.keys(report.bodies).sort()).toEqual(['v1', 'v2']);
    }
    const left = await serviceContainers(served);
    expect(left.map((c) => [c.Names, c.State])).toEqual([[[`/${served.container}`], 'running']]);
  }, 120_000);

  it('reads logs: grep keeps matching lines only, secrets masked, newest `limit` lines', async () => {
    const since = new Date(Date.now() - 10 * 60_000);
    const started = await runtime.logs(web, { since, grep: 'starting', limit: 50 });
    expect(started.lines.map((l) => l.message)).toEqual(['starting v2 on port 80']);
    expect(started.lines[0]?.container).toBe(web.container);
    expect(Math.abs(Date.now() - (started.lines[0]?.at.getTime() ?? 0))).toBeLessThan(120_000);
    expect(started.incomplete).toBe(false);

    const secret = await runtime.logs(web, { since, grep: 'password', limit: 50 });
    expect(secret.lines.map((l) => l.message)).toEqual(['connecting to the database with password=[REDACTED]']);

    const all = await runtime.logs(web, { since, limit: 2 });
    expect(all.incomplete).toBe(true);
    expect(all.lines).toHaveLength(2); // of three: stdout and stderr may interleave either way
    expect(all.lines[0]?.at.getTime()).toBeLessThanOrEqual(all.lines[1]?.at.getTime() ?? 0);
  });

  it('scales to 3 (web-1…3, same image), back to 1 (web), to 0 (stopped, kept) and to 1 again', async () => {
    const up = await runtime.scale(web, 3, 'dep_scaleup05');
    expect(up.containers.map((c) => c.name)).toEqual([1, 2, 3].map((i) => `${web.container}-${i}`));
    expect(up.containers.every((c) => c.state === 'running' && c.health === 'HEALTHY')).toBe(true);
    expect(new Set(up.containers.map((c) => c.digest))).toEqual(new Set([digests.v2]));
    expect(up.containers.map((c) => c.labels[LABELS.deployment])).toEqual([
      'dep_second002',
      'dep_second002',
      'dep_second002',
    ]);
    expect((await serviceContainers(web)).filter((c) => c.State === 'running')).toHaveLength(3);

    const down = await runtime.scale(web, 1, 'dep_scaledn06');
    expect(down.containers.map((c) => c.name)).toEqual([web.container]);
    const left = await serviceContainers(web);
    expect(left).toHaveLength(1);
    expect(left[0]?.Names).toEqual([`/${web.container}`]);
    expect(left[0]?.Id).toBe(up.containers[0]?.id); // web-1 kept, renamed

    const stopped = await runtime.scale(web, 0, 'dep_scale0_07');
    expect(stopped.containers.map((c) => [c.name, c.state])).toEqual([[web.container, 'exited']]);
    const again = await runtime.scale(web, 1, 'dep_scale1_08');
    expect(again.containers).toMatchObject([{ id: left[0]?.Id, state: 'running', health: 'HEALTHY' }]);
  }, 60_000);

  it('refuses to scale what was never deployed, and several replicas on one fixed host port', async () => {
    const nothing = await runtime.scale(target(), 2, 'dep_nothing07').catch((e: unknown) => e);
    expect(nothing).toBeInstanceOf(DockhandError);
    expect((nothing as DockhandError).message).toBe(`nothing is deployed on ${process.env.DOCKER_HOST} yet`);
    const fixed = await runtime.scale(target({ ports: ['8080:80'] }), 2, 'dep_fixed008').catch((e: unknown) => e);
    expect((fixed as DockhandError).message).toMatch(/2 replicas cannot share the fixed host port of "8080:80"/);
  });

  it('with a fixed host port stops the old container first, and starts it again when the new one fails', async () => {
    const port = await freePort('0.0.0.0');
    const box = target({ ports: [`${port}:80`] });
    const url = `http://127.0.0.1:${port}/`;
    await runtime.deploy({ target: box, image: built.v1, pull: false, deploymentId: 'dep_fixed1009' });
    expect(await httpGet(url)).toBe('v1');

    const phases: HostPhase[] = [];
    const error = await runtime
      .deploy({
        target: box,
        image: built.bad,
        pull: false,
        deploymentId: 'dep_fixed2010',
        onProgress: (p) => phases.push(p),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostDeployError);
    expect(phases).toEqual(['stopping_old', 'starting', 'waiting_healthy', 'restoring_old']);
    expect(await httpGet(url)).toBe('v1');
    expect((await serviceContainers(box)).map((c) => c.State)).toEqual(['running']);

    const result = await runtime.deploy({ target: box, image: built.v2, pull: false, deploymentId: 'dep_fixed3011' });
    expect(result.gap).toBe(true);
    expect(result.containers[0]?.ports).toEqual([`0.0.0.0:${port}->80/tcp`]);
    expect(await httpGet(url)).toBe('v2');
  }, 90_000);

  it('after a crash while replacing on a fixed host port, recover starts the stopped old container again', async () => {
    const port = await freePort('0.0.0.0');
    const box = target({ ports: [`${port}:80`] });
    const url = `http://127.0.0.1:${port}/`;
    await runtime.deploy({ target: box, image: built.v1, pull: false, deploymentId: 'dep_crash1020' });
    const [old] = await serviceContainers(box);
    expect(await httpGet(url)).toBe('v1');

    // What dockhand left when it died: the old container stopped to free the port, the new one not yet healthy.
    const since = new Date();
    await docker.getContainer(old?.Id ?? '').stop({ t: 0 });
    const leftover = await docker.createContainer({
      name: `${box.container}-next-crash021`,
      Image: built.bad,
      Labels: {
        [LABELS.service]: box.service,
        [LABELS.environment]: box.environment,
        [LABELS.deployment]: 'dep_crash1021',
      },
      HostConfig: { NetworkMode: network },
    });
    await leftover.start();

    const recovered = await runtime.recover(box, { deploymentId: 'dep_crash1021', since });
    expect(recovered).toEqual({ restarted: [box.container], tookOver: [] });
    const left = await serviceContainers(box);
    expect(left.map((c) => [c.Id, c.State])).toEqual([[old?.Id, 'running']]);
    expect(await waitFor(() => httpGet(url), 'v1')).toBe('v1');

    // Stopped before the interrupted deploy began (/scale 0): left stopped.
    await docker.getContainer(old?.Id ?? '').stop({ t: 0 });
    await new Promise((r) => setTimeout(r, 50));
    expect(await runtime.recover(box, { deploymentId: 'dep_crash1022', since: new Date() })).toEqual({
      restarted: [],
      tookOver: [],
    });
    expect((await serviceContainers(box)).map((c) => c.State)).toEqual(['exited']);
  }, 60_000);

  it('after a crash once the new container had taken the name, recover says the new one runs', async () => {
    const box = target();
    await runtime.deploy({ target: box, image: built.v1, pull: false, deploymentId: 'dep_crash1030' });
    const [old] = await serviceContainers(box);

    // What dockhand left when it died in the handover: the old one stepped aside, the new one holds the name.
    await docker.getContainer(old?.Id ?? '').rename({ name: `${box.container}-old-crash031` });
    const taken = await docker.createContainer({
      name: box.container,
      Image: built.v2,
      Labels: {
        [LABELS.service]: box.service,
        [LABELS.environment]: box.environment,
        [LABELS.container]: box.container,
        [LABELS.deployment]: 'dep_crash1031',
      },
      HostConfig: { NetworkMode: network },
    });
    await taken.start();

    const recovered = await runtime.recover(box, {
      deploymentId: 'dep_crash1031',
      since: new Date(Date.now() - 60_000),
    });
    expect(recovered).toEqual({ restarted: [], tookOver: [box.container] });
    expect((await serviceContainers(box)).map((c) => [c.Id, c.State])).toEqual([[taken.id, 'running']]);
  }, 60_000);

  it('without a HEALTHCHECK probes target.healthcheck: HTTP on the container address, TCP on a published port', async () => {
    const http = target({ healthcheck: { port: 80, path: '/' } });
    const viaAddress = await runtime.deploy({
      target: http,
      image: built.plain,
      pull: false,
      deploymentId: 'dep_probe012',
    });
    expect(viaAddress.containers[0]).toMatchObject({ state: 'running', health: 'UNKNOWN' });

    const tcp = target({ ports: ['80'], healthcheck: { port: 80 } });
    const viaPort = await runtime.deploy({
      target: tcp,
      image: built.plain,
      pull: false,
      deploymentId: 'dep_probe013',
    });
    expect(viaPort.containers[0]?.ports[0]).toMatch(/^0\.0\.0\.0:\d+->80\/tcp$/);

    // Nothing listens on 81: the probe never answers and the deploy times out.
    const impatient = new EngineHostRuntime({
      clock: systemClock,
      networkMode: network,
      pollMs: 250,
      healthTimeoutMs: 2_000,
    });
    const silent = target({ healthcheck: { port: 81 } });
    const error = await impatient
      .deploy({ target: silent, image: built.plain, pull: false, deploymentId: 'dep_probe014' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostDeployError);
    expect((error as HostDeployError).message).toMatch(/not healthy within 2 s \(nothing answered .*:81\)/);
    expect((error as HostDeployError).logLines).toContain('starting plain on port 80');
    expect(await serviceContainers(silent)).toEqual([]);
  }, 60_000);

  it('with host networking probes 127.0.0.1:<port> on the engine’s machine', async () => {
    const port = await freePort();
    const hostNet = new EngineHostRuntime({ clock: systemClock, networkMode: 'host', pollMs: 250 });
    const local = target({ env: { LISTEN: `127.0.0.1:${port}` }, healthcheck: { port } });
    await hostNet.deploy({ target: local, image: built.plain, pull: false, deploymentId: 'dep_hostnet15' });
    expect(await httpGet(`http://127.0.0.1:${port}/`)).toBe('plain');
  }, 60_000);

  it('with no health signal at all, counts a container running for the grace period as healthy', async () => {
    const bare = target();
    const started = performance.now();
    const result = await runtime.deploy({
      target: bare,
      image: built.plain,
      pull: false,
      deploymentId: 'dep_grace016',
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(result.containers[0]).toMatchObject({ state: 'running', health: 'UNKNOWN' });
  }, 30_000);

  it('names an engine that is not there, with the cause', async () => {
    const error = await runtime.snapshot(target({ host: 'unix:///nonexistent.sock' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockhandError);
    expect((error as DockhandError).code).toBe('docker');
    expect((error as DockhandError).message).toBe('cannot reach the Docker engine at unix:///nonexistent.sock: ENOENT');
    expect((error as DockhandError).hint).toMatch(/Is the Docker engine running/);
  });
});
