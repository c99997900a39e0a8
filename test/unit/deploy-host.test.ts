import { describe, expect, it } from 'vitest';
import { hostTargetOf, rememberReplicas, wantedReplicas } from '../../src/core/deploy/host.ts';
import { taskAddresses } from '../../src/core/operate/ips.ts';
import { describeOne } from '../../src/core/status.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import type { DeploymentRecord } from '../../src/ports.ts';
import { ipsMessage } from '../../src/slack/blocks/operate.ts';
import { hostStatusCard, statusCard } from '../../src/slack/blocks/status.ts';
import { deployHarness, FakeHost, hostConfig } from '../support/deploy-fakes.ts';
import { testRuntimes } from '../support/runtimes.ts';

const config = hostConfig();
const box = resolveTarget(config, 'web', 'box');

const startedOf = (outcome: { result: string; deployment?: DeploymentRecord }): DeploymentRecord => {
  if (outcome.result !== 'started' || !outcome.deployment)
    throw new Error(`expected started: ${JSON.stringify(outcome)}`);
  return outcome.deployment;
};

describe('a deployment to a Docker host', () => {
  it('builds without a registry and runs the local image on the host, without pulling', async () => {
    const host = new FakeHost();
    const h = await deployHarness({ config, host });
    const deployment = startedOf(
      await h.service.request({ kind: 'deploy', target: box, user: 'U0ALICE', request: { type: 'git' } }),
    );
    await h.settle();
    const done = await h.store.getDeployment(deployment.id);
    expect(done?.state).toBe('succeeded');
    expect(h.registry.pushes).toEqual([]);
    expect(host.deploys).toHaveLength(1);
    expect(host.deploys[0]).toMatchObject({ image: 'acme/web:3f2a1bc', pull: false, deploymentId: deployment.id });
    expect(done?.facts).toMatchObject({ image: 'acme/web:3f2a1bc', publicIps: ['203.0.113.10:80'], runningCount: 1 });
    const trail = (await h.store.listAudit({ subject: deployment.id })).map((e) => e.action).reverse();
    expect(trail).toEqual([
      'deployment.requested',
      'deployment.approved',
      'deployment.building',
      'deployment.rolling_out',
      'deployment.succeeded',
    ]);
    expect(h.notifier.last().view?.canAbort).toBe(false);
    expect(h.notifier.last().view?.platform).toBe('docker'); // the card speaks of containers
  });

  it('fails with the new container’s log lines and offers to go back to the image that ran before', async () => {
    const host = new FakeHost();
    const h = await deployHarness({ config, host });
    startedOf(await h.service.request({ kind: 'deploy', target: box, user: 'U0ALICE', request: { type: 'git' } }));
    await h.settle();
    host.failNext = 'health check exited 1';
    h.source.checkouts.length = 0;
    const second = startedOf(
      await h.service.request({ kind: 'deploy', target: box, user: 'U0ALICE', request: { type: 'git' } }),
    );
    await h.settle();
    const failed = await h.store.getDeployment(second.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.reason).toContain('did not become healthy');
    expect(h.notifier.last().view?.failure?.logLines).toEqual(['listening on :8081', 'health check exited 1']);
    expect(host.containers[0]?.image).toBe('acme/web:3f2a1bc'); // the old one still runs
    expect(await h.store.getLock({ service: 'web', environment: 'box' }, h.clock.now())).toBeUndefined();
  });

  it('rolls back to the image that ran before the last deployment', async () => {
    const host = new FakeHost();
    host.containers = [
      {
        id: 'x',
        name: 'web',
        image: 'acme/web:0000000',
        state: 'running',
        health: 'HEALTHY',
        restartCount: 0,
        labels: {},
        ports: [],
      },
    ];
    const h = await deployHarness({ config, host });
    const first = startedOf(
      await h.service.request({ kind: 'deploy', target: box, user: 'U0ALICE', request: { type: 'git' } }),
    );
    await h.settle();
    expect((await h.store.getDeployment(first.id))?.facts.previousImage).toBe('acme/web:0000000');
    const rollback = await h.service.rollbackTo(box, 'U0ALICE');
    expect(rollback.result).toBe('started');
    await h.settle();
    expect(host.deploys.at(-1)?.image).toBe('acme/web:0000000');
    expect((await h.store.getDeployment(first.id))?.state).toBe('rolled_back');
    await expect(h.service.rollbackTo(box, 'U0ALICE', 4)).rejects.toThrow(
      /runs on a Docker host, which has no revisions/,
    );
  });

  it('scales by adding or removing containers', async () => {
    const host = new FakeHost();
    const h = await deployHarness({ config, host });
    startedOf(await h.service.request({ kind: 'deploy', target: box, user: 'U0ALICE', request: { type: 'git' } }));
    await h.settle();
    const scale = startedOf(
      await h.service.request({
        kind: 'scale',
        target: box,
        user: 'U0ALICE',
        request: { type: 'scale', desiredCount: 3 },
      }),
    );
    await h.settle();
    expect((await h.store.getDeployment(scale.id))?.state).toBe('succeeded');
    expect(host.containers.map((c) => c.name)).toEqual(['web-1', 'web-2', 'web-3']);
  });
});

describe('the replica count of a Docker-host service', () => {
  it('is what the last /scale set: /status says so and the next deploy keeps it', async () => {
    const host = new FakeHost();
    const h = await deployHarness({ config, host });
    startedOf(await h.service.request({ kind: 'deploy', target: box, user: 'U0ALICE', request: { type: 'git' } }));
    await h.settle();
    startedOf(
      await h.service.request({
        kind: 'scale',
        target: box,
        user: 'U0ALICE',
        request: { type: 'scale', desiredCount: 2 },
      }),
    );
    await h.settle();

    const status = await describeOne({ config, runtimes: testRuntimes({ host, store: h.store }) }, box);
    expect(status.desired).toBe(2);
    const card = statusCard(box, status, h.clock.now());
    expect(JSON.stringify(card.blocks)).toContain('2 running · 2 wanted');

    h.source.checkouts.length = 0;
    startedOf(await h.service.request({ kind: 'deploy', target: box, user: 'U0ALICE', request: { type: 'git' } }));
    await h.settle();
    expect(host.deploys.at(-1)?.replicas).toBe(2);
    expect(host.containers.map((c) => c.name)).toEqual(['web-1', 'web-2']);
  });

  it('follows dockhand.yml again when its `replicas` changed after the /scale', async () => {
    const host = new FakeHost();
    const h = await deployHarness({ config, host });
    const target = hostTargetOf(box);
    if (!target) throw new Error('expected a Docker-host target');
    await rememberReplicas(h.store, target, 4, h.clock.now());
    expect(await wantedReplicas(h.store, target)).toBe(4);
    expect(await wantedReplicas(h.store, { ...target, replicas: 2 })).toBe(2);
  });
});

describe('/dockhand ips of a Docker host', () => {
  it('names each container whole, with its address on the target’s network and the host’s public address', async () => {
    const host = new FakeHost();
    const container = (name: string, ip: string) => ({
      id: name,
      name,
      image: 'acme/web:3f2a1bc',
      state: 'running',
      health: 'HEALTHY' as const,
      restartCount: 0,
      labels: {},
      ports: [],
      addresses: [
        { network: 'other', ip: '10.9.9.9' },
        { network: 'backend', ip },
      ],
    });
    host.containers = [container('dockhand-hello-1', '172.18.0.3'), container('dockhand-hello-2', '172.18.0.4')];
    const onBackend = hostConfig();
    const env = onBackend.services.web?.environments.box;
    if (env?.target.type !== 'docker') throw new Error('expected a Docker-host target');
    env.target.network = 'backend';
    const addresses = await taskAddresses({ runtimes: testRuntimes({ host }) }, resolveTarget(onBackend, 'web', 'box'));
    const text = JSON.stringify(ipsMessage(addresses));
    expect(text).toContain('container `dockhand-hello-1`');
    expect(text).toContain('container `dockhand-hello-2`');
    expect(text).toContain('private `172.18.0.3`');
    expect(text).toContain('private `172.18.0.4`');
    expect(text).toContain('public `203.0.113.10:80`');
    expect(text).not.toMatch(/task|assignPublicIp|unknown/);
  });
});

describe('the status card of a Docker host (golden)', () => {
  it('shows each container’s image, digest, health and uptime', async () => {
    const now = new Date('2026-11-21T12:00:00Z');
    const card = hostStatusCard(
      box,
      {
        host: 'unix:///var/run/docker.sock',
        publicAddress: '203.0.113.10',
        containers: [
          {
            id: 'c1',
            name: 'web',
            image: 'acme/web@sha256:4f2a9c1e5d6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f',
            digest: 'sha256:4f2a9c1e5d6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f',
            state: 'running',
            health: 'HEALTHY',
            startedAt: new Date('2026-11-21T10:30:00Z'),
            restartCount: 1,
            labels: {},
            ports: ['0.0.0.0:80->8080/tcp'],
          },
        ],
      },
      now,
    );
    await expect(card).toMatchFileSnapshot('golden/status-docker-host.json');
    expect(card.text).toBe('web · box: healthy, 1/1 containers running, acme/web@sha256:4f2a9c1e5d6b');
  });
});
