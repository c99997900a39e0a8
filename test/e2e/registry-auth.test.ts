import { afterAll, beforeAll, expect, it } from 'vitest';
import { MANIFEST_ACCEPT } from '../../src/adapters/docker/registries.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { describeWithAuthRegistry, makeBusyboxGitRepo } from '../support/docker.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * /deploy end to end against the registry with basic auth (scripts/test-services.sh's auth-registry): dockhand as a
 * process, the real engine, the fake Slack and the fake AWS. `inhouse` has the right password, `stale` the same user
 * with a wrong one, and `ecr` gets the registry's user and password from the fake AWS's GetAuthorizationToken.
 */
const A = 'U0ALICE';
const STALE_PASSWORD = 'stale-password-4b7d1f';
const REPOSITORY = 'dockhand-e2e-auth';

const config = (repo: string, address: string) => `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  inhouse: { type: registry, address: "${address}", insecure: true,
             username: "\${REGISTRY_USER}", password: "\${REGISTRY_PASSWORD}" }
  stale:   { type: registry, address: "${address}", insecure: true,
             username: "\${REGISTRY_USER}", password: "\${STALE_REGISTRY_PASSWORD}" }
  ecr:     { type: ecr }
services:
  hello:
    source: { git: "file://${repo}", ref: main }
    image: { registry: inhouse, repository: ${REPOSITORY}/hello }
    environments:
      production: { target: { type: ecs, cluster: prod, service: hello, container: app } }
  stale:
    source: { git: "file://${repo}", ref: main }
    image: { registry: stale, repository: ${REPOSITORY}/stale }
    environments:
      production: { target: { type: ecs, cluster: prod, service: stale, container: app } }
  viaecr:
    source: { git: "file://${repo}", ref: main }
    image: { registry: ecr, repository: ${REPOSITORY}/viaecr }
    environments:
      production: { target: { type: ecs, cluster: prod, service: viaecr, container: app } }
`;

await describeWithAuthRegistry(
  'dockhand as a process: /deploy with a registry that needs credentials',
  ({ docker, auth }) => {
    let aws: FakeAws;
    let slack: FakeSlack;
    let dockhand: DockhandProcess;
    let client: ReturnType<typeof signedClient>;
    let repo: Awaited<ReturnType<typeof makeBusyboxGitRepo>>;
    const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;

    const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 60_000) =>
      slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
    /** The digest the registry serves for repository:tag (asked with the right credentials), or null. */
    const servedDigest = async (repository: string, tag: string): Promise<string | null> => {
      const res = await fetch(`http://${auth.address}/v2/${repository}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { Accept: MANIFEST_ACCEPT, Authorization: basic },
      });
      return res.status === 200 ? res.headers.get('docker-content-digest') : null;
    };
    const appImages = (service: string): string[] =>
      aws
        .requestsFor('ECS.RegisterTaskDefinition')
        .map((r) => r.input as { family: string; containerDefinitions: { name: string; image: string }[] })
        .filter((input) => input.family === `${service}-prod`)
        .map((input) => input.containerDefinitions.find((c) => c.name === 'app')?.image ?? '');
    const updates = (service: string) =>
      aws.requestsFor('ECS.UpdateService').filter((u) => (u.input as { service: string }).service === service);
    /** Everything dockhand said to Slack and wrote to its logs, for "no secret anywhere" assertions. */
    const everythingSaid = () =>
      JSON.stringify([slack.state.calls(), slack.state.ephemerals(undefined, { includeDeleted: true })]) +
      dockhand.output();

    beforeAll(async () => {
      aws = new FakeAws({
        ecr: { proxyEndpoint: `https://${auth.address}`, username: auth.username, password: auth.password },
      });
      const awsUrl = (await aws.start()).url;
      for (const service of ['hello', 'stale', 'viaecr'])
        aws.seedService({
          cluster: 'prod',
          service,
          family: `${service}-prod`,
          desiredCount: 1,
          containers: [{ name: 'app', image: `${auth.address}/${REPOSITORY}/${service}:0000000` }],
        });
      repo = await makeBusyboxGitRepo({ dockerfileExtra: 'RUN echo built > /built.txt\nCMD ["sleep", "3600"]' });
      slack = await startTestSlack();
      dockhand = await startDockhand({
        config: config(repo.path, auth.address),
        slackApiUrl: slack.apiUrl,
        awsEndpointUrl: awsUrl,
        env: {
          DOCKHAND_ROLLOUT_POLL_MS: '300',
          REGISTRY_USER: auth.username,
          REGISTRY_PASSWORD: auth.password,
          STALE_REGISTRY_PASSWORD: STALE_PASSWORD,
        },
      });
      client = signedClient(slack, dockhand.eventsUrl);
    });

    afterAll(async () => {
      await dockhand?.stop();
      await slack?.close();
      await aws?.stop();
      // the images dockhand built for this run's commit, in the shared engine
      if (repo)
        for (const service of ['hello', 'stale', 'viaecr'])
          await docker
            .getImage(`${auth.address}/${REPOSITORY}/${service}:${repo.sha.slice(0, 7)}`)
            .remove({ force: true })
            .catch(() => {});
      await repo?.cleanup();
      if (dockhand) removeDir(dockhand.dir);
    });

    it('pushes with the configured credentials and rolls out the digest; image:<tag> finds the tag with them', async () => {
      const shortSha = repo.sha.slice(0, 7);
      await client.slashCommand({ command: '/deploy', text: 'hello', userId: A });
      await card((m) => m.text.startsWith('Deploy hello → production #') && m.text.includes('succeeded'), 90_000);
      const digest = await servedDigest(`${REPOSITORY}/hello`, shortSha);
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(appImages('hello')).toEqual([`${auth.address}/${REPOSITORY}/hello@${digest}`]);

      await client.slashCommand({ command: '/deploy', text: `hello image:${shortSha}`, userId: A });
      await card((m) => m.text.startsWith('Deploy hello → production #2') && m.text.includes('succeeded'), 60_000);
      // the tag was looked up in the registry with the credentials: the same digest rolls out again
      expect(appImages('hello')).toEqual([
        `${auth.address}/${REPOSITORY}/hello@${digest}`,
        `${auth.address}/${REPOSITORY}/hello@${digest}`,
      ]);
      expect(everythingSaid()).not.toContain(auth.password);
    }, 180_000);

    it('fails at the push with a wrong password, naming the registry; nothing registered or rolled out', async () => {
      await client.slashCommand({ command: '/deploy', text: 'stale', userId: A });
      const failed = await card(
        (m) => m.text.startsWith('Deploy stale → production #') && m.text.includes('failed'),
        90_000,
      );
      const blocks = JSON.stringify(failed.blocks);
      expect(blocks).toContain(`registry \\"stale\\" (${auth.address})`);
      expect(blocks).toMatch(/unauthorized|authentication required/i);
      expect(blocks).toContain(`Check the credentials configured for ${auth.address}.`);
      expect(appImages('stale')).toEqual([]);
      expect(updates('stale')).toEqual([]);
      expect(await servedDigest(`${REPOSITORY}/stale`, repo.sha.slice(0, 7))).toBeNull();

      const store = await openStore(`sqlite:${dockhand.dir}/dockhand.db`);
      try {
        const [deployment] = await store.listDeployments({ service: 'stale', environment: 'production' });
        expect(deployment?.state).toBe('failed');
        expect(await store.getLock({ service: 'stale', environment: 'production' }, new Date())).toBeUndefined();
      } finally {
        await store.close();
      }

      // image:<tag> is looked up with the same wrong password: the deployment fails while planning.
      await client.slashCommand({ command: '/deploy', text: 'stale image:1.0.0', userId: A });
      const lookup = await card(
        (m) => m.text.startsWith('Deploy stale → production #') && m.text !== failed.text && m.text.includes('failed'),
        30_000,
      );
      expect(lookup.text).toContain(`registry "stale" (${auth.address}) refused the configured credentials (HTTP 401)`);
      expect(JSON.stringify(lookup.blocks)).toContain(`Check the credentials configured for ${auth.address}.`);
      expect(appImages('stale')).toEqual([]);
      expect(updates('stale')).toEqual([]);

      const said = everythingSaid();
      expect(said).not.toContain(STALE_PASSWORD);
      expect(said).not.toContain(auth.password);
    }, 180_000);

    it('ECR: pushes with the user and token from GetAuthorizationToken and rolls out the digest', async () => {
      await client.slashCommand({ command: '/deploy', text: 'viaecr', userId: A });
      await card((m) => m.text.startsWith('Deploy viaecr → production #') && m.text.includes('succeeded'), 90_000);
      const digest = await servedDigest(`${REPOSITORY}/viaecr`, repo.sha.slice(0, 7));
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(appImages('viaecr')).toEqual([`${auth.address}/${REPOSITORY}/viaecr@${digest}`]);
      expect(aws.calls['ECR.GetAuthorizationToken']).toBe(1);
      const token = Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
      expect(everythingSaid()).not.toContain(token);
      expect(everythingSaid()).not.toContain(auth.password);
    }, 180_000);
  },
);
