import { createHmac } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithDocker, makeBusyboxGitRepo, testRegistry } from '../support/docker.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, startTestSlack } from '../support/slack/index.ts';

/**
 * A GitHub push webhook end to end: dockhand as a process builds the pushed commit on the real engine, pushes it to
 * the real registry and rolls it out on the fake AWS, with the push as the requester.
 */
const SECRET = 'gh-secret-0123456789abcdef';

await describeWithDocker(
  'dockhand as a process: a GitHub push builds and deploys the pushed commit',
  ({ registry }) => {
    const aws = new FakeAws();
    let slack: FakeSlack;
    let dockhand: DockhandProcess;
    let repo: Awaited<ReturnType<typeof makeBusyboxGitRepo>>;

    /** A GitHub repository's `owner/name` that the fixture's file:// URL ends with. */
    const fullName = () => `${basename(dirname(repo.path))}/${basename(repo.path)}`;
    const push = (branch: string, after: string) =>
      JSON.stringify({
        ref: `refs/heads/${branch}`,
        after,
        repository: { full_name: fullName() },
        head_commit: { url: `https://github.com/${fullName()}/commit/${after}` },
        pusher: { name: 'alice' },
      });
    const deliver = async (body: string, delivery: string) => {
      const res = await fetch(`${dockhand.url}/hooks/github`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': delivery,
          'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
        },
        body,
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };

    beforeAll(async () => {
      const { url } = await aws.start();
      aws.seedService({
        cluster: 'staging',
        service: 'hello',
        family: 'hello-staging',
        desiredCount: 1,
        containers: [{ name: 'app', image: `${registry ?? testRegistry()}/dockhand-e2e/hooks-hello:0000000` }],
      });
      repo = await makeBusyboxGitRepo({ dockerfileExtra: 'CMD ["sleep", "3600"]' });
      slack = await startTestSlack();
      dockhand = await startDockhand({
        config: `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  local: { type: registry, address: "${registry ?? testRegistry()}", insecure: true }
services:
  hello:
    source: { git: "file://${repo.path}", ref: main }
    image: { registry: local, repository: dockhand-e2e/hooks-hello }
    environments:
      staging:
        target: { type: ecs, cluster: staging, service: hello, container: app }
        trigger: { source: github, branches: [main], auto: true }
`,
        slackApiUrl: slack.apiUrl,
        awsEndpointUrl: url,
        env: { DOCKHAND_ROLLOUT_POLL_MS: '300', DOCKHAND_GITHUB_WEBHOOK_SECRET: SECRET },
      });
    });

    afterAll(async () => {
      await dockhand?.stop();
      await slack?.close();
      await aws.stop();
      await repo?.cleanup();
      if (dockhand) removeDir(dockhand.dir);
    });

    it('builds the pushed commit and deploys it, once; a redelivery is refused', async () => {
      const body = push('main', repo.sha);
      const accepted = await deliver(body, 'delivery-1');
      expect(accepted).toMatchObject({ status: 202, json: { ok: true, deployments: [{ environment: 'staging' }] } });
      // The same push again, whether GitHub's delivery id is new or not, starts nothing.
      expect(await deliver(body, 'delivery-2')).toMatchObject({ status: 409, json: { error: 'replayed' } });
      expect(await deliver(body, 'delivery-1')).toMatchObject({ status: 409, json: { error: 'replayed' } });

      const done = await slack.state.waitForMessage(
        (m) => m.text.startsWith('Deploy hello → staging') && m.text.includes('succeeded'),
        120_000,
      );
      expect(JSON.stringify(done.blocks)).toContain(`Requested by GitHub push (https://github.com/${fullName()}`);
      expect(JSON.stringify(done.blocks)).toContain(repo.sha.slice(0, 7));
      expect(aws.requestsFor('ECS.UpdateService')).toHaveLength(1);
      const registered = aws.requestsFor('ECS.RegisterTaskDefinition').at(-1)?.input as {
        containerDefinitions: { image: string }[];
      };
      expect(registered.containerDefinitions[0]?.image).toMatch(/dockhand-e2e\/hooks-hello@sha256:[0-9a-f]{64}$/);
      expect(dockhand.output()).not.toContain(SECRET);
    }, 150_000);
  },
);
