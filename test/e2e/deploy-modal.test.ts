import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import {
  type FakeSlack,
  type SlackRequestClient,
  signedClient,
  startTestSlack,
  startTestSlackWithSocketMode,
  TEST_APP_TOKEN,
  type TestSocketSlack,
} from '../support/slack/index.ts';

/**
 * `/deploy` with no text opens the deploy modal (issue 14, item 4); its submission goes through the typed command's
 * parser, resolution and policy, errors show on the modal's fields, and a success closes it and posts the card.
 * Dockhand runs as a process against the fake Slack (HTTP, then Socket Mode) and the fake AWS.
 */
const DEV = 'U0DEV';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  local: { type: registry, address: "127.0.0.1:1", insecure: true }
services:
  api:
    source: { git: "https://example.com/acme/api.git", ref: release }
    image: { registry: local, repository: acme/api }
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app } }
  worker:
    deployers: [U0SOMEONEELSE]
    environments:
      staging: { target: { type: ecs, cluster: staging, service: worker, container: app } }
      production: { target: { type: ecs, cluster: prod, service: worker, container: app } }
  batch:
    environments:
      production: { target: { type: ecs, cluster: prod, service: batch, container: app } }
`;

const seed = (aws: FakeAws) => {
  for (const [cluster, service] of [
    ['prod', 'api'],
    ['staging', 'worker'],
    ['prod', 'worker'],
    ['prod', 'batch'],
  ] as const) {
    aws.seedService({ cluster, service, desiredCount: 1, containers: [{ name: 'app', image: `acme/${service}:1` }] });
  }
};

type Input = { element: { options: { value: string }[]; initial_value?: string } };

/** The same story over HTTP and Socket Mode. */
const modalStory = (setup: () => { slack: FakeSlack; client: () => SlackRequestClient }) => {
  const open = async () => {
    const { slack, client } = setup();
    const before = slack.state.openedViews().length;
    const result = await client().slashCommand({ command: '/deploy', text: '', userId: DEV });
    expect(result.status).toBe(200);
    expect(result.durationMs).toBeLessThan(3000);
    const view = await slack.state.waitFor(() => slack.state.openedViews()[before], 5000, 'the deploy modal');
    expect(view.callback_id).toBe('deploy.modal');
    return view;
  };
  const inputs = (view: Record<string, unknown>) =>
    Object.fromEntries((view.blocks as (Input & { block_id: string })[]).map((b) => [b.block_id, b]));

  it('opens the modal with the trigger: every service, the first one’s environments and default ref', async () => {
    const view = await open();
    const fields = inputs(view);
    expect(fields.deploy_service?.element.options.map((o) => o.value)).toEqual(['api', 'worker', 'batch']);
    expect(fields.deploy_environment?.element.options.map((o) => o.value)).toEqual(['production']);
    expect(fields.deploy_ref?.element.initial_value).toBe('release');
  });

  it('offers the selected service’s environments only (dispatch_action, views.update)', async () => {
    const { slack, client } = setup();
    const view = await open();
    await client().fillView({ viewId: String(view.id), blockId: 'deploy_service', value: 'worker', userId: DEV });
    await slack.state.waitFor(
      () =>
        inputs(slack.state.view(String(view.id)) ?? {}).deploy_environment?.element.options.length === 2
          ? true
          : undefined,
      5000,
      'the modal updated for worker',
    );
    const fields = inputs(slack.state.view(String(view.id)) ?? {});
    expect(fields.deploy_environment?.element.options.map((o) => o.value)).toEqual(['staging', 'production']);
    expect(fields.deploy_ref?.element.initial_value).toBeUndefined();
  });

  it('shows a ref the typed command would refuse on the ref field, keeps the modal open and starts nothing', async () => {
    const { slack, client } = setup();
    const before = slack.state.messages('#deploys').length;
    const view = await open();
    await client().fillView({ viewId: String(view.id), blockId: 'deploy_ref', value: 'bad..ref', userId: DEV });
    const result = await client().submitView({ viewId: String(view.id), userId: DEV });
    expect(result.durationMs).toBeLessThan(3000);
    expect(result.errors).toEqual({ deploy_ref: expect.stringContaining('“bad..ref” is not a valid git ref') });
    expect(slack.state.view(String(view.id))).toBeDefined();
    expect(slack.state.messages('#deploys')).toHaveLength(before);
    expect(slack.state.ephemerals().filter((e) => e.user === DEV && /git ref/.test(e.text ?? ''))).toEqual([]);
  });

  it('shows a refusal by the policy (not a deployer) on the environment field', async () => {
    const { slack, client } = setup();
    const view = await open();
    const id = String(view.id);
    await client().fillView({ viewId: id, blockId: 'deploy_service', value: 'worker', userId: DEV });
    await slack.state.waitFor(
      () => (inputs(slack.state.view(id) ?? {}).deploy_environment?.element.options.length === 2 ? true : undefined),
      5000,
      'the modal updated for worker',
    );
    await client().fillView({ viewId: id, blockId: 'deploy_environment', value: 'production', userId: DEV });
    const result = await client().submitView({ viewId: id, userId: DEV });
    expect(Object.keys(result.errors ?? {})).toEqual(['deploy_environment']);
    expect(result.errors?.deploy_environment).toBe('You may not deploy worker: its deployers are @U0SOMEONEELSE.');
  });

  it('shows a lock on the environment field: the same refusal as the typed command', async () => {
    const { slack, client } = setup();
    await client().slashCommand({ command: '/dockhand', text: 'lock api in production hotfix', userId: 'U0OPS' });
    await slack.state.waitFor(
      () => slack.state.ephemerals().find((e) => e.user === 'U0OPS') ?? slack.state.messages('#deploys').at(-1),
      5000,
      'the lock',
    );
    const view = await open();
    const result = await client().submitView({ viewId: String(view.id), userId: DEV });
    expect(result.errors?.deploy_environment).toMatch(/locked by @U0OPS.*hotfix/);
    await client().slashCommand({ command: '/dockhand', text: 'unlock api in production', userId: 'U0OPS' });
  });

  it('closes on success and the card appears in the channel, as for a typed /deploy', async () => {
    const { slack, client } = setup();
    const view = await open();
    const id = String(view.id);
    await client().fillView({ viewId: id, blockId: 'deploy_options', value: ['--restart'], userId: DEV });
    const result = await client().submitView({ viewId: id, userId: DEV });
    expect(result.durationMs).toBeLessThan(3000);
    expect(result.errors).toBeUndefined();
    expect(slack.state.view(id)).toBeUndefined();
    const card = await slack.state.waitForMessage(
      (m) => m.blocks.length > 0 && /^Restart api → production #\d+/.test(m.text ?? ''),
      10_000,
    );
    expect(card.user).toBe(slack.state.bot.userId);
  });
};

describe('the /deploy modal over HTTP', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;

  beforeAll(async () => {
    const { url } = await aws.start();
    seed(aws);
    slack = await startTestSlack();
    dockhand = await startDockhand({ config: CONFIG, slackApiUrl: slack.apiUrl, awsEndpointUrl: url });
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  modalStory(() => ({ slack, client: () => signedClient(slack, dockhand.eventsUrl) }));

  it('answers a submission within 3 s even when Slack is slow: the modal closes, the card follows', async () => {
    const client = signedClient(slack, dockhand.eventsUrl);
    await client.slashCommand({ command: '/deploy', text: '', userId: DEV });
    const view = await slack.state.waitFor(() => slack.state.openView(DEV), 5000, 'the deploy modal');
    const id = String(view.id);
    // batch: api is still locked by the restart above.
    const hash = String(view.hash);
    await client.fillView({ viewId: id, blockId: 'deploy_service', value: 'batch', userId: DEV });
    await slack.state.waitFor(() => slack.state.view(id)?.hash !== hash, 5000, 'the modal updated for batch');
    await client.fillView({ viewId: id, blockId: 'deploy_options', value: ['--restart'], userId: DEV });
    const before = slack.state.messages('#deploys').length;
    slack.state.setLatency('chat.postMessage', 4000);
    try {
      const result = await client.submitView({ viewId: id, userId: DEV });
      expect(result.durationMs).toBeLessThan(3000);
      expect(result.errors).toBeUndefined();
      expect(slack.state.view(id)).toBeUndefined();
      await slack.state.waitFor(
        () =>
          slack.state
            .messages('#deploys')
            .slice(before)
            .find((m) => /^Restart batch → production/.test(m.text)),
        15_000,
        'the card, late',
      );
    } finally {
      slack.state.setLatency('chat.postMessage', 0);
    }
  });

  it('still answers /deploy with text as the typed command', async () => {
    const result = await signedClient(slack, dockhand.eventsUrl).slashCommand({
      command: '/deploy',
      text: 'nope',
      userId: DEV,
    });
    expect(JSON.stringify(result.body)).toContain('There is no service `nope`');
  });
});

describe('the /deploy modal over Socket Mode', () => {
  const aws = new FakeAws();
  let fake: TestSocketSlack;
  let dockhand: DockhandProcess;

  beforeAll(async () => {
    const { url } = await aws.start();
    seed(aws);
    fake = await startTestSlackWithSocketMode();
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: fake.slack.apiUrl,
      awsEndpointUrl: url,
      env: { SLACK_APP_TOKEN: TEST_APP_TOKEN, SLACK_SIGNING_SECRET: '' },
    });
  });

  afterAll(async () => {
    await dockhand?.stop();
    await fake?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  modalStory(() => ({ slack: fake.slack, client: () => fake.client }));
});
