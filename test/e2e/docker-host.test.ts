import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithDocker, git, makeBusyboxGitRepo } from '../support/docker.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * The Docker-host target end to end: dockhand as a process, the real engine and registry of DESIGN.md §4, the
 * fake Slack. The service runs on a user-defined network (the test engine has no default bridge) where the
 * containers' HEALTHCHECK talks to their own httpd.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const SUFFIX = Math.random().toString(36).slice(2, 8);
const CONTAINER = `dockhand-e2e-web-${SUFFIX}`;
const NETWORK = `dockhand-e2e-${SUFFIX}`;

const dockerfile = (healthPort: number) => `COPY version.txt /version.txt
RUN ["/bin/sh", "-c", "mkdir -p /www && echo '<h1>hello</h1>' > /www/index.html"]
HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["/bin/sh", "-c", "wget -q -O /dev/null http://127.0.0.1:${healthPort}/ || exit 1"]
CMD ["/bin/sh", "-c", "echo hello from web $(cat /version.txt); echo starting httpd on 8080; exec httpd -f -p 8080 -h /www"]`;

await describeWithDocker('dockhand as a process: a service on a Docker host', ({ docker, registry }) => {
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;
  let repo: Awaited<ReturnType<typeof makeBusyboxGitRepo>>;

  const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 60_000) =>
    slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
  // Every run of this file (from any checkout on the shared engine) has a service `web` in `box`: only the
  // containers under this run's name are this run's to count and remove.
  const containers = async (): Promise<Docker.ContainerInfo[]> =>
    (
      await docker.listContainers({
        all: true,
        filters: { label: ['dockhand.service=web', 'dockhand.environment=box'] },
      })
    ).filter((c) => c.Names.some((n) => n.startsWith(`/${CONTAINER}`)));
  const commit = async (version: string, healthPort = 8080) => {
    await writeFile(join(repo.path, 'version.txt'), `${version}\n`);
    const current = await readFile(join(repo.path, 'Dockerfile'), 'utf8');
    const base = current.slice(0, current.indexOf('COPY version.txt'));
    await writeFile(join(repo.path, 'Dockerfile'), `${base}${dockerfile(healthPort)}\n`);
    await git(repo.path, 'add', '-A');
    await git(repo.path, 'commit', '-q', '-m', `version ${version}`);
    return git(repo.path, 'rev-parse', 'HEAD');
  };
  /** /deploy web as A, approved by B; resolves with the card's final version. */
  const deployAndApprove = async (seq: number, outcome: 'succeeded' | 'failed') => {
    await client.slashCommand({ command: '/deploy', text: 'web', userId: A });
    const pending = await card(
      (m) => m.text.startsWith(`Deploy web → box #${seq}`) && JSON.stringify(m.blocks).includes('approval.approve'),
    );
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
    return card((m) => m.text.startsWith(`Deploy web → box #${seq}: ${outcome}`), 120_000);
  };
  const scale = async (count: number, seq: number) => {
    await client.slashCommand({ command: '/scale', text: `web ${count}`, userId: A });
    const pending = await card(
      (m) =>
        m.text.startsWith(`Scale web → box to ${count} #${seq}`) &&
        JSON.stringify(m.blocks).includes('approval.approve'),
    );
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
    return card((m) => m.text.startsWith(`Scale web → box to ${count} #${seq}: succeeded`), 120_000);
  };

  beforeAll(async () => {
    await docker.createNetwork({ Name: NETWORK, Driver: 'bridge', Labels: { 'dockhand.test': SUFFIX } });
    repo = await makeBusyboxGitRepo({ dockerfileExtra: dockerfile(8080), files: { 'version.txt': 'one\n' } });
    slack = await startTestSlack();
    const config = `
defaults: { channel: "#deploys" }
registries:
  local: { type: registry, address: "${registry}", insecure: true }
approvals:
  ops: { approvers: ["${B}"], required: 1 }
services:
  web:
    source: { git: "file://${repo.path}", ref: main }
    image: { registry: local, repository: dockhand-e2e/web-${SUFFIX} }
    environments:
      box:
        target: { type: docker, host: "${process.env.DOCKER_HOST}", container: ${CONTAINER}, network: ${NETWORK}, init: true, env: { GREETING: hi } }
        approval: ops
        scale: { min: 0, max: 5 }
`;
    dockhand = await startDockhand({ config, slackApiUrl: slack.apiUrl });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    for (const c of await containers().catch(() => []))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    await docker
      .getNetwork(NETWORK)
      .remove()
      .catch(() => {});
    await repo?.cleanup();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('deploys after approval: a container labelled with the deployment id runs the new digest and is healthy', {
    timeout: 180_000,
  }, async () => {
    await deployAndApprove(1, 'succeeded');
    const running = await containers();
    expect(running).toHaveLength(1);
    const info = await docker.getContainer(running[0]?.Id ?? '').inspect();
    expect(info.Name).toBe(`/${CONTAINER}`);
    expect(info.State.Health?.Status).toBe('healthy');
    expect(info.Config.Labels['dockhand.deployment']).toMatch(/^dep_/);
    const digest = info.Config.Labels['dockhand.digest'];
    expect(digest).toMatch(/^sha256:/);
    expect(info.Config.Image).toContain(`@${digest}`);
    expect(info.Config.Env).toContain('GREETING=hi');
    expect(info.HostConfig.Init).toBe(true);
  });

  it('replaces the container on the next deploy; the old one is gone', { timeout: 180_000 }, async () => {
    const before = (await containers())[0];
    await commit('two');
    const done = await deployAndApprove(2, 'succeeded');
    const after = await containers();
    expect(after).toHaveLength(1);
    expect(after[0]?.Id).not.toBe(before?.Id);
    expect(after[0]?.Names).toEqual([`/${CONTAINER}`]);
    expect(JSON.stringify(done.blocks)).toContain('Deployed');
  });

  it('fails a version whose HEALTHCHECK fails, showing its last log lines; the previous container keeps running', {
    timeout: 180_000,
  }, async () => {
    const before = (await containers())[0];
    await commit('three-broken', 9999);
    const failed = await deployAndApprove(3, 'failed');
    const blocks = JSON.stringify(failed.blocks);
    expect(blocks).toContain('hello from web three-broken');
    expect(blocks).toContain('deploy.rollback');
    const after = await containers();
    expect(after.map((c) => c.Id)).toEqual([before?.Id]);
    expect((await docker.getContainer(before?.Id ?? '').inspect()).State.Health?.Status).toBe('healthy');
  });

  it('scales to three containers and back to one', { timeout: 240_000 }, async () => {
    await scale(3, 4);
    let running = (await containers()).filter((c) => c.State === 'running');
    expect(running.map((c) => c.Names[0]).sort()).toEqual([`/${CONTAINER}-1`, `/${CONTAINER}-2`, `/${CONTAINER}-3`]);

    // The views count what /scale asked for, and name each container whole with its address on the network.
    await client.slashCommand({ command: '/status', text: 'web', userId: A });
    const status = await card((m) => m.text.startsWith('web · box:') && m.text.includes('3/'), 15_000);
    expect(JSON.stringify(status.blocks)).toContain('3 running · 3 wanted');
    await client.slashCommand({ command: '/dockhand', text: 'ips web', userId: A });
    const ips = JSON.stringify(
      await slack.state.waitForEphemeral((m) => m.user === A && JSON.stringify(m).includes('IPs of web'), 15_000),
    );
    const addresses = await Promise.all(
      running.map(
        async (c) => (await docker.getContainer(c.Id).inspect()).NetworkSettings.Networks[NETWORK]?.IPAddress,
      ),
    );
    for (const [i, c] of running.entries()) {
      expect(ips).toContain(`container \`${c.Names[0]?.slice(1)}\``);
      expect(ips).toContain(`private \`${addresses[i]}\``);
    }
    expect(ips).not.toMatch(/task|assignPublicIp/);
    await scale(1, 5);
    running = (await containers()).filter((c) => c.State === 'running');
    expect(running).toHaveLength(1);
  });

  it('answers /logs with the matching container output and /status with image, digest, health and uptime', {
    timeout: 60_000,
  }, async () => {
    await client.slashCommand({ command: '/logs', text: 'web grep hello', userId: A });
    const logs = await slack.state.waitForEphemeral(
      (m) => m.user === A && JSON.stringify(m).includes('hello from web'),
      15_000,
    );
    expect(JSON.stringify(logs)).toContain('hello from web two');
    expect(JSON.stringify(logs)).not.toContain('starting httpd');

    await client.slashCommand({ command: '/status', text: 'web', userId: A });
    const status = await card((m) => m.text.startsWith('web · box:') && m.text.includes('1/1'), 15_000);
    const text = JSON.stringify(status.blocks);
    expect(status.text).toContain('healthy, 1/1 containers running');
    expect(text).toContain('HEALTHY');
    expect(text).toContain('sha256:');
    expect(text).toMatch(/up \d+(s|m)/);
  });
});
