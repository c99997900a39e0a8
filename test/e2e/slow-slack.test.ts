import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import type { DeploymentRecord, Store } from '../../src/ports.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * Slack is a view (DESIGN.md §3.1): dockhand as a process, the fake Slack answering chat.update with 429s or
 * slower than the client's 10 s timeout, the fake AWS (ECR answers DescribeImages, so image:<tag> needs no Docker).
 * The pipeline must advance on the store alone, and the card must end showing the store's final state.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const REPO = 'acme/api';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  ecr: { type: ecr }
approvals:
  prod: { approvers: ["${B}"], required: 1, expiresAfter: 30m }
services:
  api:
    image: { registry: ecr, repository: ${REPO} }
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app }, approval: prod }
      canary: { target: { type: ecs, cluster: prod, service: api-canary, container: app } }
`;

const until = async <T>(look: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await look();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('dockhand as a process: a slow or rate-limited Slack never delays a rollout', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;
  let store: Store;

  const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 30_000) =>
    slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
  const deployment = (environment: string, state: string) =>
    until(
      async () =>
        (await store.listDeployments({ service: 'api', environment })).find((d: DeploymentRecord) => d.state === state),
      `a deployment to ${environment} that ${state}`,
      30_000,
    );

  beforeAll(async () => {
    const { url } = await aws.start();
    for (const service of ['api', 'api-canary']) {
      aws.seedService({
        cluster: 'prod',
        service,
        family: service,
        desiredCount: 2,
        containers: [{ name: 'app', image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${REPO}:1.0.0` }],
      });
    }
    aws.putImage(REPO, '1.1.0', `sha256:${'1'.repeat(64)}`);
    aws.putImage(REPO, '1.2.0', `sha256:${'2'.repeat(64)}`);
    slack = await startTestSlack();
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: url,
      env: { DOCKHAND_ROLLOUT_POLL_MS: '200', DOCKHAND_CARD_LATE_LANDING_MS: '3000' },
    });
    client = signedClient(slack, dockhand.eventsUrl);
    store = await openStore(`sqlite:${dockhand.dir}/dockhand.db`);
  });

  afterAll(async () => {
    await store?.close();
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('registers the task definition within 2 s of the approval while chat.update answers 429 (Retry-After 10) six times', async () => {
    await client.slashCommand({ command: '/deploy', text: 'api image:1.1.0 to production', userId: A });
    const pending = await card((m) => JSON.stringify(m.blocks).includes('approval.approve'));
    slack.state.rateLimit('chat.update', { calls: 6, retryAfter: 10 });

    const approvedAt = Date.now();
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
    const registered = await until(
      () => aws.requestsFor('ECS.RegisterTaskDefinition')[0],
      'RegisterTaskDefinition',
      20_000,
    );
    expect(registered.at - approvedAt).toBeLessThan(2000);
    const done = await deployment('production', 'succeeded');
    expect(done.updatedAt.getTime() - approvedAt).toBeLessThan(10_000);
    // Slack did refuse the card meanwhile.
    await slack.state.waitFor((s) => s.calls('chat.update').find((c) => c.status === 429), 10_000, 'a 429');

    // Once Slack takes updates again, the card catches up with the store.
    slack.state.clearRateLimits('chat.update');
    await card((m) => m.ts === pending.ts && m.text.includes('succeeded'), 30_000);
  }, 90_000);

  it('shows the Approve buttons within seconds while chat.update answers 429 (Retry-After 10) six times', async () => {
    slack.state.clearRateLimits();
    slack.state.rateLimit('chat.update', { calls: 6, retryAfter: 10 });
    const requestedAt = Date.now();
    await client.slashCommand({ command: '/deploy', text: 'api image:1.2.0 to production', userId: A });
    // The card cannot be updated for a while: the approval request is also posted in its thread.
    const reply = await card(
      (m) =>
        m.thread_ts !== undefined &&
        m.text.includes('waiting for approval') &&
        /approval\.approve/.test(JSON.stringify(m.blocks)),
      15_000,
    );
    expect(Date.now() - requestedAt).toBeLessThan(6000);

    await client.clickButton({ message: reply, actionId: 'approval.approve', userId: B });
    const done = await until(
      async () =>
        (await store.listDeployments({ service: 'api', environment: 'production' })).find(
          (d) => d.messageTs === reply.thread_ts && d.state === 'succeeded',
        ),
      'the deployment approved in the thread to succeed',
      30_000,
    );
    expect(done.approvals.map((a) => a.user)).toEqual([B]);

    // Once Slack takes updates again, the card and the reply both end on the final state, without buttons.
    slack.state.clearRateLimits('chat.update');
    for (const ts of [reply.thread_ts as string, reply.ts]) {
      const final = await card((m) => m.ts === ts && m.text.includes('succeeded'), 40_000);
      expect(JSON.stringify(final.blocks)).not.toContain('approval.approve');
    }
  }, 90_000);

  it('ends the card on the final state although an update that outlived the client timeout lands after it', async () => {
    slack.state.clearRateLimits();
    // The first card update after the post takes 12 s: dockhand gives up at 10 s, Slack applies it at 12 s.
    slack.state.slowNext('chat.update', 12_000, 1);
    const requestedAt = Date.now();
    await client.slashCommand({ command: '/deploy', text: 'api image:1.2.0 to canary', userId: A });
    const done = await deployment('canary', 'succeeded');
    expect(done.updatedAt.getTime() - requestedAt).toBeLessThan(8000);
    const ts = done.messageTs as string;

    const isFinal = (c: { args: Record<string, unknown> }) => String(c.args.text).includes('succeeded');
    // The emulator logs a call when it lands: the slow one lands after the final state was written.
    const stale = await slack.state.waitFor(
      (s) => {
        const calls = s.calls('chat.update').filter((c) => c.args.ts === ts);
        const final = calls.findIndex(isFinal);
        return final < 0 ? undefined : calls.slice(final + 1).find((c) => !isFinal(c));
      },
      30_000,
      'the slow update to land after the final one',
    );
    // After the late landing, the newest content is written again: the card ends where the store is.
    await slack.state.waitFor(
      (s) => {
        const last = s
          .calls('chat.update')
          .filter((c) => c.args.ts === ts)
          .at(-1);
        return last && last !== stale && isFinal(last) ? last : undefined;
      },
      30_000,
      'the final state to be written after the late landing',
    );
    await new Promise((r) => setTimeout(r, 500));
    const message = slack.state.message(done.channel as string, ts);
    expect(message?.text).toContain('succeeded');
    expect(message?.text).toContain('Deploy api → canary');
  }, 90_000);
});
