import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel, verifySlackRequest } from '@slack/bolt';
import { ErrorCode, WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createSlackWebApiHandler,
  type FakeSlack,
  SlackEmulatorState,
  type SlackRequestClient,
  signedClient,
  signSlackRequest,
  startTestSlack,
  TEST_BOT_TOKEN,
  TEST_SIGNING_SECRET,
} from '../support/slack/index.ts';

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

function codeOf(err: unknown): { code?: string; error?: string } {
  const e = err as { code?: string; data?: { error?: string } };
  return { code: e.code, error: e.data?.error };
}

describe('Slack Web API emulator with the official WebClient', () => {
  let slack: FakeSlack;
  let client: WebClient;

  beforeAll(async () => {
    slack = await startTestSlack();
    client = new WebClient(TEST_BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  });
  afterEach(() => slack.state.reset());
  afterAll(() => slack.close());

  it('answers auth.test and rejects missing or invalid tokens', async () => {
    const auth = await client.auth.test();
    expect(auth).toMatchObject({ ok: true, team_id: slack.state.team.id, user_id: slack.state.bot.userId });

    const bad = new WebClient('xoxb-not-the-right-one', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    await expect(bad.chat.postMessage({ channel: '#deploys', text: 'hi' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { ok: false, error: 'invalid_auth' },
    });
    const none = new WebClient(undefined, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    await expect(none.chat.postMessage({ channel: '#deploys', text: 'hi' })).rejects.toMatchObject({
      data: { error: 'not_authed' },
    });
  });

  it('posts, updates, deletes and records messages with parsed blocks and version history', async () => {
    const first = await client.chat.postMessage({
      channel: '#deploys',
      text: 'Deploying api',
      blocks: [section('v1')],
    });
    expect(first.ok).toBe(true);
    expect(first.channel).toMatch(/^C[A-Z0-9]+$/);
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);

    const second = await client.chat.postMessage({ channel: 'deploys', text: 'second' });
    expect(second.channel).toBe(first.channel); // names resolve to a stable id
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));

    const updated = await client.chat.update({
      channel: first.channel!,
      ts: first.ts!,
      text: 'Deployed api',
      blocks: [section('v2')],
    });
    expect(updated).toMatchObject({ ok: true, channel: first.channel, ts: first.ts, text: 'Deployed api' });

    const call = slack.state.calls('chat.postMessage')[0]!;
    expect(call.args.blocks).toEqual([section('v1')]); // form-encoded JSON parsed back to objects
    expect(call.args).not.toHaveProperty('token');

    const [m1, m2] = slack.state.messages('#deploys');
    expect(m1).toMatchObject({ ts: first.ts, text: 'Deployed api', blocks: [section('v2')] });
    expect(m1!.history.map((v) => v.via)).toEqual(['chat.postMessage', 'chat.update']);
    expect(m1!.history[0]!.blocks).toEqual([section('v1')]);
    expect(m2!.text).toBe('second');

    await expect(client.chat.update({ channel: first.channel!, ts: '1.000001', text: 'x' })).rejects.toMatchObject({
      data: { error: 'message_not_found' },
    });
    await expect(client.chat.update({ channel: '#deploys', ts: first.ts!, text: 'x' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });

    await client.chat.delete({ channel: first.channel!, ts: first.ts! });
    expect(slack.state.messages(first.channel!).map((m) => m.ts)).toEqual([second.ts]);
  });

  it('validates message content like Slack', async () => {
    const blocks = Array.from({ length: 51 }, (_, i) => section(`b${i}`));
    await expect(client.chat.postMessage({ channel: '#deploys', text: 'x', blocks })).rejects.toMatchObject({
      data: { error: 'invalid_blocks' },
    });
    await expect(
      client.chat.postMessage({ channel: '#deploys', text: 'x', blocks: [section('y'.repeat(3001))] }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    await expect(client.chat.postMessage({ channel: '#deploys', text: 'y'.repeat(40_001) })).rejects.toMatchObject({
      data: { error: 'msg_too_long' },
    });
    await expect(client.apiCall('chat.postMessage', { channel: '#deploys' })).rejects.toMatchObject({
      data: { error: 'no_text' },
    });
    expect(slack.state.messages()).toHaveLength(0);
    // JSON bodies are accepted too
    const res = await fetch(`${slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_BOT_TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: '#deploys', blocks: [section('json')] }),
    });
    expect(await res.json()).toMatchObject({ ok: true, message: { blocks: [section('json')] } });
  });

  it('handles ephemerals, users, usergroups, conversations and views', async () => {
    slack.state.addUser({ id: 'U0ALICE', name: 'alice', real_name: 'Alice A', tz: 'Europe/Paris' });
    slack.state.addUsergroup('S0DEPLOYERS', ['U0ALICE', 'U0BOB']);

    const eph = await client.chat.postEphemeral({ channel: '#deploys', user: 'U0ALICE', text: 'only you' });
    expect(eph.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(slack.state.ephemerals('U0ALICE')).toMatchObject([{ text: 'only you' }]);
    expect(slack.state.messages()).toHaveLength(0);

    const info = await client.users.info({ user: 'U0ALICE' });
    expect(info.user).toMatchObject({ id: 'U0ALICE', name: 'alice', real_name: 'Alice A', tz: 'Europe/Paris' });
    await expect(client.users.info({ user: 'U0NOBODY' })).rejects.toMatchObject({ data: { error: 'user_not_found' } });

    const group = await client.usergroups.users.list({ usergroup: 'S0DEPLOYERS' });
    expect(group.users).toEqual(['U0ALICE', 'U0BOB']);
    await expect(client.usergroups.users.list({ usergroup: 'S0NONE' })).rejects.toMatchObject({
      data: { error: 'no_such_subteam' },
    });

    const channelId = slack.state.channel('#deploys')!.id;
    const conv = await client.conversations.info({ channel: channelId });
    expect(conv.channel).toMatchObject({ id: channelId, name: 'deploys' });
    await expect(client.conversations.info({ channel: 'C0MISSING' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });

    const trigger = slack.state.issueTriggerId();
    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Hi' }, blocks: [] };
    const opened = await client.views.open({ trigger_id: trigger, view });
    expect(opened.view?.id).toMatch(/^V/);
    expect(slack.state.openedViews()).toHaveLength(1);
    await expect(client.views.open({ trigger_id: trigger, view })).rejects.toMatchObject({
      data: { error: 'exchanged_trigger_id' },
    });
  });

  it('supports the files.uploadV2 flow and stores file content', async () => {
    const res = await client.filesUploadV2({
      channel_id: slack.state.resolveChannel('#deploys')!.id,
      filename: 'build.log',
      content: 'step 1/6\nstep 2/6\n',
      initial_comment: 'Build log',
    });
    expect(res.ok).toBe(true);
    const [file] = slack.state.files();
    expect(file).toMatchObject({ name: 'build.log', completed: true, uploaded: true });
    expect(file!.content?.toString()).toBe('step 1/6\nstep 2/6\n');
    const shared = slack.state.messages('#deploys');
    expect(shared).toMatchObject([{ text: 'Build log', files: [{ id: file!.id }] }]);
    expect(slack.state.calls().map((c) => c.method)).toEqual([
      'files.getUploadURLExternal',
      'upload_url',
      'files.completeUploadExternal',
    ]);
  });

  it('answers 429 with Retry-After when rate limited', async () => {
    const posted = await client.chat.postMessage({ channel: '#deploys', text: 'v1' });
    slack.state.rateLimit('chat.update', { calls: 2, retryAfter: 1 });
    const strict = new WebClient(TEST_BOT_TOKEN, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });
    const err = await strict.chat.update({ channel: posted.channel!, ts: posted.ts!, text: 'v2' }).catch((e) => e);
    expect(codeOf(err).code).toBe(ErrorCode.RateLimitedError);
    expect((err as { retryAfter?: number }).retryAfter).toBe(1);

    const raw = await fetch(`${slack.apiUrl}chat.update`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_BOT_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ channel: posted.channel!, ts: posted.ts!, text: 'v2' }).toString(),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');

    // Limit exhausted: the next call goes through.
    await strict.chat.update({ channel: posted.channel!, ts: posted.ts!, text: 'v3' });
    expect(slack.state.calls('chat.update').map((c) => c.status)).toEqual([429, 429, 200]);
    expect(slack.state.messages()[0]!.text).toBe('v3');
  });

  it('exposes state over HTTP and waitFor rejects with a dump', async () => {
    await client.chat.postMessage({ channel: '#deploys', text: 'hello' });
    const calls = (await (await fetch(`${slack.url}/_emulator/calls`)).json()) as { calls: unknown[] };
    expect(calls.calls).toHaveLength(1);
    const msgs = (await (await fetch(`${slack.url}/_emulator/messages?channel=%23deploys`)).json()) as {
      messages: Array<{ text: string }>;
    };
    expect(msgs.messages.map((m) => m.text)).toEqual(['hello']);

    const waited = slack.state.waitForMessage((m) => m.text === 'later', 2000);
    setTimeout(() => void client.chat.postMessage({ channel: '#deploys', text: 'later' }), 20);
    expect((await waited).text).toBe('later');

    await expect(slack.state.waitForCall('chat.delete', undefined, 50)).rejects.toThrow(
      /timed out after 50 ms[\s\S]*chat\.postMessage/,
    );
  });
});

describe('Slack Web API emulator mounted on an existing server', () => {
  it('serves the API under a prefix and leaves other paths alone', async () => {
    const state = new SlackEmulatorState({ tokens: [TEST_BOT_TOKEN] });
    const handler = createSlackWebApiHandler(state, { prefix: '/slack' });
    const server = createServer((req, res) => {
      void handler(req, res).then((handled) => {
        if (!handled) res.writeHead(200, { 'content-type': 'text/plain' }).end('console');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new WebClient(TEST_BOT_TOKEN, { slackApiUrl: `${base}/slack/api/`, retryConfig: { retries: 0 } });
      state.setLatency('chat.postMessage', 50);
      const started = Date.now();
      await client.chat.postMessage({ channel: '#deploys', text: 'mounted' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(45);
      await client.filesUploadV2({ channel_id: 'C0LOGS', filename: 'a.txt', content: 'abc' });
      expect(state.files()[0]!.content?.toString()).toBe('abc');
      expect(state.baseUrl).toBe(`${base}/slack`);
      expect(await (await fetch(`${base}/other`)).text()).toBe('console');
      expect(state.messages('#deploys').map((m) => m.text)).toEqual(['mounted']);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('signed requests to a real Bolt app', () => {
  let slack: FakeSlack;
  let app: App;
  let server: Server;
  let requests: SlackRequestClient;
  const handled: string[] = [];

  beforeAll(async () => {
    slack = await startTestSlack();
    slack.state.addUser({ id: 'U0ALICE', name: 'alice' });
    const receiver = new HTTPReceiver({ signingSecret: TEST_SIGNING_SECRET, logLevel: LogLevel.ERROR });
    app = new App({
      token: TEST_BOT_TOKEN,
      receiver,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } },
    });
    app.command('/status', async ({ command, ack, respond, client }) => {
      handled.push(`command:${command.text}`);
      if (command.text === '') {
        await ack({ response_type: 'ephemeral', text: 'Usage: /status <service>' });
        return;
      }
      await ack();
      await respond({ response_type: 'ephemeral', text: `Looking up ${command.text}…` });
      await client.chat.postMessage({
        channel: command.channel_id,
        text: `Status of ${command.text}`,
        blocks: [
          section(`*${command.text}* is healthy`),
          {
            type: 'actions',
            block_id: 'status-actions',
            elements: [
              { type: 'button', action_id: 'deploy.cancel', value: 'op-1', text: { type: 'plain_text', text: 'No' } },
            ],
          },
        ],
      });
    });
    app.action('deploy.cancel', async ({ ack, body, respond }) => {
      await ack();
      const action = (body as { actions: Array<{ value: string }> }).actions[0]!;
      handled.push(`action:${action.value}`);
      await respond({ replace_original: true, text: `Cancelled ${action.value}`, blocks: [section('Cancelled')] });
    });
    server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
    const { port } = server.address() as AddressInfo;
    requests = signedClient(slack, `http://127.0.0.1:${port}/slack/events`);
  });
  afterEach(() => {
    handled.length = 0;
    slack.state.reset();
  });
  afterAll(async () => {
    await app.stop();
    await slack.close();
  });

  it('delivers a slash command; respond() and chat.postMessage are recorded; a button click round-trips', async () => {
    const res = await requests.slashCommand({ command: '/status', text: 'api', userId: 'U0ALICE' });
    expect(res.status).toBe(200);
    const posted = await slack.state.waitForMessage((m) => m.text === 'Status of api');
    const reply = await slack.state.waitForEphemeral((e) => e.user === 'U0ALICE');
    expect(reply.text).toBe('Looking up api…');
    expect(handled).toEqual(['command:api']);
    expect(slack.state.calls('response_url')[0]!.args).toMatchObject({ response_type: 'ephemeral' });

    await expect(requests.clickButton({ message: posted, actionId: 'nope', userId: 'U0ALICE' })).rejects.toThrow(
      /available: deploy\.cancel/,
    );
    const click = await requests.clickButton({ message: posted, actionId: 'deploy.cancel', userId: 'U0ALICE' });
    expect(click.status).toBe(200);
    const cancelled = await slack.state.waitForMessage((m) => m.ts === posted.ts && m.text === 'Cancelled op-1');
    expect(cancelled.history.map((v) => v.via)).toEqual(['chat.postMessage', 'response_url']);
    expect(handled).toEqual(['command:api', 'action:op-1']);
    // The replaced message has no buttons left.
    await expect(
      requests.clickButton({ message: posted, actionId: 'deploy.cancel', userId: 'U0ALICE' }),
    ).rejects.toThrow(/available: \(none\)/);
  });

  it('records in_channel responses and enforces the response_url use limit', async () => {
    const res = await requests.slashCommand({ command: '/status', text: '', userId: 'U0ALICE' });
    const post = (body: object) =>
      fetch(res.responseUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ response_type: 'in_channel', text: 'for everyone' })).status).toBe(200);
    expect(slack.state.messages('#deploys').map((m) => m.text)).toEqual(['for everyone']);
    expect((await post({ replace_original: true, text: 'edited' })).status).toBe(200);
    expect(slack.state.messages('#deploys')[0]!.text).toBe('edited');
    expect((await post({ text: '' })).status).toBe(400);
    expect((await post({ text: 'four' })).status).toBe(200);
    expect((await post({ text: 'five' })).status).toBe(200);
    expect(await (await post({ text: 'six' })).json()).toEqual({ ok: false, error: 'used_url' });
  });

  it('returns the ack body (an ephemeral usage error)', async () => {
    const res = await requests.slashCommand({ command: '/status', text: '', userId: 'U0ALICE' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ response_type: 'ephemeral', text: 'Usage: /status <service>' });
  });

  it('rejects a bad signature and a stale timestamp with 401 without running the handler', async () => {
    const bad = await requests.slashCommand({
      command: '/status',
      text: 'api',
      userId: 'U0ALICE',
      sign: { badSignature: true },
    });
    expect(bad.status).toBe(401);
    const stale = await requests.slashCommand({
      command: '/status',
      text: 'api',
      userId: 'U0ALICE',
      sign: { timestampOffsetSeconds: -600 },
    });
    expect(stale.status).toBe(401);
    await new Promise((r) => setTimeout(r, 100));
    expect(handled).toEqual([]);
    expect(slack.state.messages()).toEqual([]);
  });

  it('signs in the form Bolt verifies', () => {
    const ts = Math.floor(Date.now() / 1000);
    const sig = signSlackRequest('s3cret', 'token=x&text=a%20b', ts);
    expect(sig['x-slack-signature']).toMatch(/^v0=[0-9a-f]{64}$/);
    const headers = { 'x-slack-signature': sig['x-slack-signature'], 'x-slack-request-timestamp': ts };
    expect(() => verifySlackRequest({ signingSecret: 's3cret', body: 'token=x&text=a%20b', headers })).not.toThrow();
    expect(() => verifySlackRequest({ signingSecret: 'other', body: 'token=x&text=a%20b', headers })).toThrow();
  });
});
