import type Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MANIFEST_ACCEPT } from '../../src/adapters/registry/media-types.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { describeWithAuthRegistry, makeBusyboxGitRepo } from '../support/docker.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * /promote end to end across two registries: dockhand as a process, the real engine, the fake Slack. staging keeps
 * its images in the plain registry (:5000), production in the one with basic auth (:5001, `environments.production
 * .image`). The promote copies the digest staging runs over the registries' HTTP API, production's container pulls
 * it from :5001 with the configured credentials. canary names :5001 with a wrong password: its promote fails at the
 * copy, deploys nothing and shows no password anywhere.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const SUFFIX = Math.random().toString(36).slice(2, 8);
const STAGING_REPOSITORY = `dockhand-e2e/promote2-staging-${SUFFIX}`;
const PRODUCTION_REPOSITORY = `dockhand-e2e/promote2-production-${SUFFIX}`;
const NETWORK = `dockhand-e2e-promote2-${SUFFIX}`;
const WRONG_PASSWORD = `wrong-${SUFFIX}-password`;
const container = (env: string) => `dockhand-e2e-promote2-${env}-${SUFFIX}`;

await describeWithAuthRegistry(
  'dockhand as a process: /promote between Docker hosts whose images live in two registries',
  ({ docker, registry, auth }) => {
    let slack: FakeSlack;
    let dockhand: DockhandProcess;
    let client: ReturnType<typeof signedClient>;
    let repo: Awaited<ReturnType<typeof makeBusyboxGitRepo>>;
    let stagedImage = '';
    let digest = '';
    const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;

    const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 60_000) =>
      slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
    const ours = async (): Promise<Docker.ContainerInfo[]> =>
      (await docker.listContainers({ all: true, filters: { label: ['dockhand.service=web'] } })).filter((c) =>
        c.Names.some((n) => n.includes(SUFFIX)),
      );
    const running = async (env: string) => {
      const found = (await ours()).filter((c) => c.Names.some((n) => n.startsWith(`/${container(env)}`)));
      return Promise.all(found.map((c) => docker.getContainer(c.Id).inspect()));
    };
    /** The digest production's registry serves for repository@reference (HEAD with the credentials), or null. */
    const served = async (reference: string, authorization = basic) => {
      const res = await fetch(`http://${auth.address}/v2/${PRODUCTION_REPOSITORY}/manifests/${reference}`, {
        method: 'HEAD',
        headers: { Accept: MANIFEST_ACCEPT, Authorization: authorization },
      });
      return res.status === 200 ? res.headers.get('docker-content-digest') : null;
    };
    /** A promote's card, approved by B, until it finishes (`succeeded` or `failed`). */
    const promoteApproved = async (env: string, number: number, outcome: 'succeeded' | 'failed') => {
      await client.slashCommand({ command: '/promote', text: `web from staging to ${env}`, userId: A });
      const title = `Promote web staging → ${env} #${number}`;
      const pending = await card(
        (m) => m.text.startsWith(title) && JSON.stringify(m.blocks).includes('approval.approve'),
      );
      await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
      return card((m) => m.ts === pending.ts && m.text.includes(`${title}: ${outcome}`), 120_000);
    };
    const trail = async (seq: number) => {
      const store = await openStore(`sqlite:${dockhand.dir}/dockhand.db`);
      try {
        const deployment = (await store.listDeployments({ service: 'web' })).find((d) => d.seq === seq);
        const events = (await store.listAudit({ subject: deployment?.id ?? '-', limit: 100 })).sort(
          (a, b) => a.id - b.id,
        );
        return { deployment, events };
      } finally {
        await store.close();
      }
    };

    beforeAll(async () => {
      await docker.createNetwork({ Name: NETWORK, Driver: 'bridge', Labels: { 'dockhand.test': SUFFIX } });
      repo = await makeBusyboxGitRepo({ dockerfileExtra: 'CMD ["sleep", "3600"]' });
      slack = await startTestSlack();
      const target = (env: string) =>
        `{ type: docker, host: "${process.env.DOCKER_HOST}", container: ${container(env)}, network: ${NETWORK}, init: true }`;
      dockhand = await startDockhand({
        config: `
defaults: { channel: "#deploys" }
registries:
  plain: { type: registry, address: "${registry}", insecure: true }
  inhouse: { type: registry, address: "${auth.address}", insecure: true, username: "${auth.username}", password: "\${PROD_REGISTRY_PASSWORD}" }
  misconfigured: { type: registry, address: "${auth.address}", insecure: true, username: "${auth.username}", password: "\${WRONG_REGISTRY_PASSWORD}" }
approvals:
  ops: { approvers: ["${B}"], required: 1 }
services:
  web:
    source: { git: "file://${repo.path}", ref: main }
    image: { registry: plain, repository: ${STAGING_REPOSITORY} }
    environments:
      staging: { target: ${target('staging')} }
      production:
        target: ${target('production')}
        approval: ops
        image: { registry: inhouse, repository: ${PRODUCTION_REPOSITORY} }
      canary:
        target: ${target('canary')}
        approval: ops
        image: { registry: misconfigured, repository: ${PRODUCTION_REPOSITORY} }
`,
        slackApiUrl: slack.apiUrl,
        env: { PROD_REGISTRY_PASSWORD: auth.password, WRONG_REGISTRY_PASSWORD: WRONG_PASSWORD },
      });
      client = signedClient(slack, dockhand.eventsUrl);
    }, 60_000);

    afterAll(async () => {
      await dockhand?.stop();
      await slack?.close();
      for (const c of await ours().catch(() => []))
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

    it('copies the digest staging runs into production’s registry, verified, and runs it there', {
      timeout: 240_000,
    }, async () => {
      await client.slashCommand({ command: '/deploy', text: 'web to staging', userId: A });
      await card((m) => m.text.includes('Deploy web → staging #1: succeeded'), 120_000);
      const [staged] = await running('staging');
      stagedImage = staged?.Config.Image ?? '';
      expect(stagedImage).toMatch(new RegExp(`^${registry}/${STAGING_REPOSITORY}@sha256:[a-f0-9]{64}$`));
      digest = stagedImage.split('@')[1] ?? '';
      expect(await served(digest)).toBeNull();

      // A dry run shows the copy to come and copies nothing.
      await client.slashCommand({ command: '/promote', text: 'web from staging to production --dry-run', userId: A });
      const dry = await slack.state.waitForEphemeral(
        (m) => m.user === A && JSON.stringify(m.blocks).includes('/promote web from staging to production'),
        30_000,
      );
      expect(JSON.stringify(dry.blocks)).toContain(
        `*Copy*\\nby digest to \`${auth.address}/${PRODUCTION_REPOSITORY}\``,
      );
      expect(await served(digest)).toBeNull();

      const done = await promoteApproved('production', 2, 'succeeded');
      const text = JSON.stringify(done.blocks);
      expect(text).toMatch(/\*Copy\*\\npulled and pushed, \d+(\.\d)? (kB|MB), digest verified/);
      expect(text).toContain(repo.sha.slice(0, 7));

      expect(await served(digest)).toBe(digest);
      const [promoted] = await running('production');
      expect(promoted?.Config.Image).toBe(`${auth.address}/${PRODUCTION_REPOSITORY}@${digest}`);
      expect(promoted?.Image).toBe(staged?.Image); // the same image, byte for byte
      expect(promoted?.State.Running).toBe(true);

      const { deployment, events } = await trail(2);
      expect(deployment).toMatchObject({
        kind: 'deploy',
        state: 'succeeded',
        request: { type: 'promote', from: 'staging', digest },
        facts: { digest, copyMethod: 'copy', sourceImage: stagedImage },
      });
      expect(deployment?.facts.copyBytes).toBeGreaterThan(0);
      const actions = events.map((e) => e.action);
      for (const step of ['requested', 'awaiting_approval', 'approved', 'pushing', 'rolling_out', 'succeeded'])
        expect(actions).toContain(`deployment.${step}`);
      expect(actions.indexOf('deployment.pushing')).toBeLessThan(actions.indexOf('image.copied'));
      expect(actions.indexOf('image.copied')).toBeLessThan(actions.indexOf('deployment.rolling_out'));
      expect(events.find((e) => e.action === 'image.copied')).toMatchObject({
        outcome: 'copy',
        detail: {
          digest,
          from: { registry: 'plain', repository: STAGING_REPOSITORY },
          to: { registry: 'inhouse', repository: PRODUCTION_REPOSITORY },
          bytes: deployment?.facts.copyBytes,
        },
      });
      expect(events.find((e) => e.action === 'deployment.approved')?.actor).toBe(B);
    });

    it('promotes the same digest again without moving a byte: the copy is already there', {
      timeout: 180_000,
    }, async () => {
      expect(digest).not.toBe('');
      const [before] = await running('production');
      const done = await promoteApproved('production', 3, 'succeeded');
      expect(JSON.stringify(done.blocks)).toContain('*Copy*\\nalready there, nothing copied, digest verified');
      const { deployment, events } = await trail(3);
      expect(deployment?.facts).toMatchObject({ copyMethod: 'present', copyBytes: 0 });
      expect(events.find((e) => e.action === 'image.copied')).toMatchObject({
        outcome: 'present',
        detail: { bytes: 0 },
      });
      const [after] = await running('production');
      expect(after?.Config.Image).toBe(before?.Config.Image);
      expect(after?.State.Running).toBe(true);
    });

    it('fails a promote whose copy the target registry refuses: nothing deployed, no password shown', {
      timeout: 180_000,
    }, async () => {
      expect(digest).not.toBe('');
      const done = await promoteApproved('canary', 4, 'failed');
      const text = JSON.stringify(done.blocks);
      expect(text).toContain(auth.address);
      expect(text).toContain('refused the configured credentials');
      expect(await running('canary')).toEqual([]);

      const { deployment, events } = await trail(4);
      expect(deployment?.state).toBe('failed');
      expect(deployment?.facts.copyMethod).toBeUndefined();
      expect(events.map((e) => e.action)).toContain('deployment.failed');
      expect(events.map((e) => e.action)).not.toContain('deployment.rolling_out');
      expect(events.map((e) => e.action)).not.toContain('image.copied');

      for (const secret of [
        Buffer.from(`${auth.username}:${auth.password}`).toString('base64'),
        WRONG_PASSWORD,
        auth.password,
        Buffer.from(`${auth.username}:${WRONG_PASSWORD}`).toString('base64'),
      ]) {
        expect(JSON.stringify([slack.state.messages(), slack.state.ephemerals()])).not.toContain(secret);
        expect(JSON.stringify(events)).not.toContain(secret);
        expect(dockhand.output()).not.toContain(secret);
      }
    });
  },
);
