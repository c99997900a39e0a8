// Two dockhands on one engine with the same service and environment names but different container names (two
// people running the local console's example, each with its per-checkout container name): each deploy, status
// and scale touches its own containers only. Real engine, no registry (the image stays on the engine).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EngineHostRuntime, LABELS } from '../../src/adapters/docker/host-runtime.ts';
import { DockerImageBuilder } from '../../src/adapters/docker/image-builder.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import type { DockerHostTarget } from '../../src/ports.ts';
import { describeWithDocker, makeBusyboxContext, randomTag } from '../support/docker.ts';

await describeWithDocker('EngineHostRuntime: neighbours with the same service name', ({ docker }) => {
  const run = randomTag('nb').toLowerCase();
  const image = `dockhand-test/neighbours:${run}`;
  const runtime = new EngineHostRuntime({ clock: systemClock, pollMs: 250, runningGraceMs: 1_000 });
  let dir = '';

  const target = (container: string): DockerHostTarget => ({
    // The same service and environment for both, as the example config gives everyone.
    service: `${run}-hello`,
    environment: 'local',
    host: process.env.DOCKER_HOST ?? '',
    container,
    ports: [],
    env: {},
    volumes: [],
    replicas: 1,
  });
  const mine = target(`${run}-a`);
  const theirs = target(`${run}-b`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dockhand-nb-'));
    await makeBusyboxContext(dir, { dockerfileExtra: 'STOPSIGNAL SIGKILL\nCMD ["sleep", "3600"]' });
    await new DockerImageBuilder(docker).build({
      contextDir: dir,
      dockerfile: 'Dockerfile',
      buildArgs: {},
      tags: [image],
    });
  }, 120_000);

  afterAll(async () => {
    // Only what this file made: its service label is unique to this run.
    const made = await docker.listContainers({ all: true, filters: { label: [`${LABELS.service}=${mine.service}`] } });
    for (const c of made)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    await docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('deploys beside a neighbour without removing its container, and reports only its own', async () => {
    const first = await runtime.deploy({ target: theirs, image, pull: false, deploymentId: 'dep_theirs0001' });
    const theirId = first.containers[0]?.id ?? '';
    expect(theirId).not.toBe('');

    await runtime.deploy({ target: mine, image, pull: false, deploymentId: 'dep_mine00001' });

    const still = await docker.getContainer(theirId).inspect();
    expect(still.State.Running).toBe(true);
    expect((await runtime.snapshot(mine)).containers.map((c) => c.name)).toEqual([mine.container]);
    expect((await runtime.snapshot(theirs)).containers.map((c) => c.name)).toEqual([theirs.container]);
  }, 90_000);

  it("leaves a neighbour's container from before the container label alone, and replaces its own", async () => {
    // As a dockhand before the label made them: service and environment only.
    const before = (name: string) =>
      docker.createContainer({
        name,
        Image: image,
        Labels: { [LABELS.service]: mine.service, [LABELS.environment]: mine.environment },
        HostConfig: { NetworkMode: 'none' },
      });
    const neighbours = await before(`${run}-old-neighbour`);
    await neighbours.start();
    const [current] = (await runtime.snapshot(mine)).containers;
    await docker.getContainer(current?.id ?? '').remove({ force: true });
    const ownOld = await before(mine.container);
    await ownOld.start();

    await runtime.deploy({ target: mine, image, pull: false, deploymentId: 'dep_mine00002' });

    expect((await neighbours.inspect()).State.Running).toBe(true);
    await expect(ownOld.inspect()).rejects.toMatchObject({ statusCode: 404 });
    const after = (await runtime.snapshot(mine)).containers;
    expect(after.map((c) => c.name)).toEqual([mine.container]);
    expect(after[0]?.labels[LABELS.deployment]).toBe('dep_mine00002');
  }, 90_000);

  it('labels each container with its container name, so the owner can be told apart', async () => {
    const [c] = (await runtime.snapshot(mine)).containers;
    expect(c?.labels).toMatchObject({ [LABELS.container]: mine.container });
  });

  it('settles a replace of a container from before the label that a crash cut off after it stepped aside', async () => {
    // The first deploy after an upgrade renames the old (pre-label) container `<name>-old-<id>` while the new one,
    // labelled, still waits as `<name>-next-<id>`; dockhand stops right there.
    for (const c of (await runtime.snapshot(mine)).containers) await docker.getContainer(c.id).remove({ force: true });
    const old = await docker.createContainer({
      name: `${mine.container}-old-crash0001`,
      Image: image,
      Labels: { [LABELS.service]: mine.service, [LABELS.environment]: mine.environment },
      HostConfig: { NetworkMode: 'none' },
    });
    await old.start();
    const next = await docker.createContainer({
      name: `${mine.container}-next-crash0001`,
      Image: image,
      Labels: {
        [LABELS.service]: mine.service,
        [LABELS.environment]: mine.environment,
        [LABELS.container]: mine.container,
        [LABELS.deployment]: 'dep_crash0001',
      },
      HostConfig: { NetworkMode: 'none' },
    });
    await next.start();

    await runtime.recover(mine, { deploymentId: 'dep_crash0001', since: new Date(Date.now() - 60_000) });

    // The new one takes the name; the old one, which would go on answering beside it, is removed.
    await expect(old.inspect()).rejects.toMatchObject({ statusCode: 404 });
    const after = (await runtime.snapshot(mine)).containers;
    expect(after.map((c) => [c.name, c.id])).toEqual([[mine.container, next.id]]);
  }, 90_000);

  it('gives a pre-label container that stepped aside its name back when nothing replaced it', async () => {
    for (const c of (await runtime.snapshot(mine)).containers) await docker.getContainer(c.id).remove({ force: true });
    const old = await docker.createContainer({
      name: `${mine.container}-old-crash0002`,
      Image: image,
      Labels: { [LABELS.service]: mine.service, [LABELS.environment]: mine.environment },
      HostConfig: { NetworkMode: 'none' },
    });
    await old.start();

    await runtime.recover(mine, { deploymentId: 'dep_crash0002', since: new Date(Date.now() - 60_000) });

    const after = (await runtime.snapshot(mine)).containers;
    expect(after.map((c) => [c.name, c.id])).toEqual([[mine.container, old.id]]);
  }, 90_000);
});
