import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, isListeningLine, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import {
  signedClient,
  startTestSlackWithSocketMode,
  TEST_APP_TOKEN,
  TEST_BOT_TOKEN,
  type TestSocketSlack,
} from '../support/slack/index.ts';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
services:
  api:
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app } }
  worker:
    environments:
      production: { target: { type: ecs, cluster: prod, service: worker, container: app } }
`;

const openConnection = async (apiUrl: string, token?: string): Promise<Record<string, unknown>> => {
  const res = await fetch(`${apiUrl}apps.connections.open`, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return (await res.json()) as Record<string, unknown>;
};

/** The first message a WebSocket receives (global WebSocket: Node's undici, as @slack/socket-mode uses). */
const firstMessage = (url: string) =>
  new Promise<{ ws: WebSocket; message: Record<string, unknown> }>((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.addEventListener('message', (e) => resolve({ ws, message: JSON.parse(String(e.data)) }), { once: true });
    ws.addEventListener('error', () => reject(new Error(`WebSocket to ${url} failed`)), { once: true });
  });

describe('the Socket Mode emulator', () => {
  let fake: TestSocketSlack;

  beforeAll(async () => {
    fake = await startTestSlackWithSocketMode();
  });

  afterAll(async () => {
    await fake?.close();
  });

  it('answers apps.connections.open for an app-level token only', async () => {
    const ok = await openConnection(fake.slack.apiUrl, TEST_APP_TOKEN);
    expect(ok).toMatchObject({ ok: true });
    expect(ok.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\?ticket=[0-9a-f]+&app_id=A0DOCKHAND$/);
    expect(await openConnection(fake.slack.apiUrl, TEST_BOT_TOKEN)).toEqual({
      ok: false,
      error: 'not_allowed_token_type',
    });
    expect(await openConnection(fake.slack.apiUrl, 'xapp-1-unknown')).toEqual({ ok: false, error: 'invalid_auth' });
    expect(await openConnection(fake.slack.apiUrl)).toEqual({ ok: false, error: 'not_authed' });
    // …and the bot-token methods refuse the app-level token.
    const post = await fetch(`${fake.slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_APP_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: '#deploys', text: 'hi' }),
    });
    expect(await post.json()).toEqual({ ok: false, error: 'not_allowed_token_type' });
  });

  it('says hello on connect, records acks, and takes each URL once', async () => {
    const { url } = (await openConnection(fake.slack.apiUrl, TEST_APP_TOKEN)) as { url: string };
    const { ws, message } = await firstMessage(url);
    try {
      expect(message).toMatchObject({
        type: 'hello',
        num_connections: 1,
        connection_info: { app_id: 'A0DOCKHAND' },
        debug_info: { host: expect.any(String) },
      });
      const envelopeSeen = new Promise<Record<string, unknown>>((resolve) =>
        ws.addEventListener('message', (e) => resolve(JSON.parse(String(e.data))), { once: true }),
      );
      const { envelope } = fake.socket.deliver('slash_commands', { command: '/status', text: '' });
      expect(await envelopeSeen).toEqual({
        envelope_id: envelope.envelope_id,
        type: 'slash_commands',
        accepts_response_payload: true,
        payload: { command: '/status', text: '' },
      });
      ws.send(JSON.stringify({ envelope_id: envelope.envelope_id, payload: { text: 'hi' } }));
      const ack = await fake.socket.waitForAck(envelope.envelope_id);
      expect(ack.payload).toEqual({ text: 'hi' });
      expect(ack.latencyMs).toBeGreaterThanOrEqual(0);
      // A second connection with the same ticket is refused.
      await expect(firstMessage(url)).rejects.toThrow(/failed/);
    } finally {
      ws.close();
    }
  });
});

describe('dockhand in Socket Mode as a process: /status over the WebSocket, the fake Slack and the fake AWS', () => {
  const aws = new FakeAws();
  let fake: TestSocketSlack;
  let dockhand: DockhandProcess;

  beforeAll(async () => {
    const { url } = await aws.start();
    aws.seedService({
      cluster: 'prod',
      service: 'api',
      family: 'api',
      revisions: 3,
      desiredCount: 2,
      containers: [{ name: 'app', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:3f2a1bc' }],
    });
    aws.seedService({
      cluster: 'prod',
      service: 'worker',
      desiredCount: 1,
      publicIp: false,
      containers: [{ name: 'app', image: 'acme/worker:1' }],
    });
    fake = await startTestSlackWithSocketMode({ socket: { pingIntervalMs: 1000 } });
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: fake.slack.apiUrl,
      awsEndpointUrl: url,
      // Socket Mode needs no signing secret; empty is unset for dockhand's environment reader.
      env: { SLACK_APP_TOKEN: TEST_APP_TOKEN, SLACK_SIGNING_SECRET: '' },
    });
  });

  afterAll(async () => {
    await dockhand?.stop();
    await fake?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('connects with the app-level token and is listening only once Slack said hello', async () => {
    const listening = await dockhand.waitForLog(isListeningLine);
    expect(listening.mode).toBe('socket');
    expect(listening.msg).toContain('(Socket Mode: this port serves only /healthz and /metrics)');
    const opens = fake.slack.state.calls('apps.connections.open');
    expect(opens).toHaveLength(1);
    // The start-up check is Bolt's own auth.test, run once: no second call of dockhand's.
    expect(fake.slack.state.calls('auth.test')).toHaveLength(1);
    expect(opens[0]?.response).toMatchObject({ ok: true });
    const [connection] = fake.socket.connections();
    expect(connection).toMatchObject({ id: 1, appToken: TEST_APP_TOKEN });
    expect(connection?.closedAt).toBeUndefined();
    expect(connection?.sent[0]).toMatchObject({ type: 'hello' });
  });

  it('acks /status api within 3 s and posts the status card through the response_url', async () => {
    aws.resetCalls();
    const result = await fake.client.slashCommand({ command: '/status', text: 'api', userId: 'U0DEV' });
    expect(result.status).toBe(200);
    expect(result.durationMs).toBeLessThan(3000);
    expect(result.envelope.type).toBe('slash_commands');
    expect(result.envelope.payload).toMatchObject({ command: '/status', text: 'api', user_id: 'U0DEV' });
    expect(result.ack.payload).toEqual({}); // a bare ack(): the card follows through the response_url
    const message = await fake.slack.state.waitForMessage((m) => m.text.startsWith('api · production'), 10_000);
    expect(message.history[0]?.via).toBe('response_url');
    const responseUrlId = result.responseUrl?.split('/response/')[1];
    expect(fake.slack.state.calls('response_url').map((c) => c.args.response_url_id)).toContain(responseUrlId);
    const blocks = JSON.stringify(message.blocks);
    expect(blocks).toContain('`api:3`');
    expect(blocks).toContain('2 running · 0 pending · 2 desired');
    expect(blocks).toContain('acme/api:3f2a1bc');
    const ips = aws.publicIps('prod', 'api');
    expect(ips).toHaveLength(2);
    for (const ip of ips) expect(blocks).toContain(ip);
  });

  it('acks /status nonexistent with the ephemeral error naming the known services, and /status with extra words with the usage', async () => {
    aws.resetCalls();
    const before = fake.slack.state.messages().length;
    const unknown = await fake.client.slashCommand({ command: '/status', text: 'nonexistent', userId: 'U0DEV' });
    expect(unknown.ack.payload).toMatchObject({ response_type: 'ephemeral' });
    const text = String(unknown.ack.payload?.text);
    expect(text).toContain('There is no service `nonexistent`');
    expect(text).toContain('`api`, `worker`');
    const extra = await fake.client.slashCommand({ command: '/status', text: 'api production', userId: 'U0DEV' });
    expect(extra.ack.payload).toMatchObject({ response_type: 'ephemeral' });
    expect(String(extra.ack.payload?.text)).toContain('Usage: `/status [&lt;service&gt;] [in &lt;env&gt;]`');
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.slack.state.messages().length).toBe(before);
    expect(aws.calls['ECS.DescribeServices'] ?? 0).toBe(0);
  });

  it('delivers a button click as an interactive envelope: acked, and the refusal goes to the clicker alone', async () => {
    const card = fake.slack.state.postMessage({
      channel: fake.slack.state.resolveChannel('#deploys')?.id ?? '',
      text: 'an approval card',
      blocks: [
        {
          type: 'actions',
          block_id: 'approval',
          elements: [
            {
              type: 'button',
              action_id: 'approval.approve',
              value: 'no-such-deployment',
              text: { type: 'plain_text', text: 'Approve' },
            },
          ],
        },
      ],
      via: 'chat.postMessage',
    });
    const result = await fake.client.clickButton({ message: card, actionId: 'approval.approve', userId: 'U0OPS' });
    expect(result.envelope.type).toBe('interactive');
    expect(result.envelope.payload).toMatchObject({
      type: 'block_actions',
      actions: [{ value: 'no-such-deployment' }],
    });
    expect(result.durationMs).toBeLessThan(3000);
    expect(result.ack.payload).toEqual({});
    const reply = await fake.slack.state.waitForEphemeral((m) => m.user === 'U0OPS', 10_000);
    expect(reply.text).toContain('This deployment is unknown to dockhand');
  });

  it('keeps the connection alive: it answers the server pings, and its own pings get answered', async () => {
    const [connection] = fake.socket.openConnections();
    expect(connection).toBeDefined();
    // The client pings every clientPingTimeout / 3 (≈1.7 s) and drops the connection at its 4th unanswered ping.
    await fake.socket.waitFor(() => (connection?.pingsReceived ?? 0) >= 5, 10_000, 'five client pings');
    await fake.socket.waitFor(() => (connection?.pongsReceived ?? 0) >= 1, 5000, 'a pong from the client');
    expect(connection?.closedAt).toBeUndefined();
    expect(fake.socket.connections()).toHaveLength(1);
  });

  it('reconnects after Slack asks it to (refresh_requested) and serves commands on the new connection', async () => {
    const [first] = fake.socket.openConnections();
    expect(first).toBeDefined();
    expect(fake.socket.requestDisconnect('refresh_requested')).toBe(1);
    const closed = await fake.socket.waitForClose(first?.id ?? 0, 5000);
    expect(closed.closedBy).toBe('client');
    expect(closed.closeCode).toBe(1000);
    // @slack/socket-mode waits clientPingTimeout (5 s) × consecutive failures before it reconnects.
    const second = await fake.socket.waitForConnection(2, 15_000);
    expect(second.appToken).toBe(TEST_APP_TOKEN);
    expect(fake.slack.state.calls('apps.connections.open')).toHaveLength(2);
    await fake.socket.waitFor(() => second.sent.length > 0, 5000, 'hello on the new connection');
    const result = await fake.client.slashCommand({ command: '/status', text: 'worker', userId: 'U0DEV' });
    expect(result.ack.connectionId).toBe(second.id);
    expect(result.durationMs).toBeLessThan(3000);
    await fake.slack.state.waitForMessage((m) => m.text.startsWith('worker · production'), 10_000);
  });

  it('serves /healthz and /metrics on its own port, and no /slack/events', async () => {
    const health = await fetch(`${dockhand.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, checks: { app: 'ok', store: 'ok', slack: 'socket mode' } });
    const metrics = await (await fetch(`${dockhand.url}/metrics`)).text();
    expect(metrics).toMatch(/dockhand_commands_total\{command="\/status",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/dockhand_commands_total\{command="\/status",outcome="refused"\} [1-9]/);
    const events = await fetch(dockhand.eventsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'command=%2Fstatus&text=api',
    });
    expect(events.status).toBe(404);
    await events.body?.cancel();
    // Not even a correctly signed request is served over HTTP in Socket Mode.
    const signed = await signedClient(fake.slack, dockhand.eventsUrl).slashCommand({
      command: '/status',
      text: 'api',
      userId: 'U0DEV',
    });
    expect(signed.status).toBe(404);
  });

  it('writes no token to its logs', () => {
    expect(dockhand.output()).not.toContain(TEST_APP_TOKEN);
    expect(dockhand.output()).not.toContain(TEST_BOT_TOKEN);
  });

  it('stops on SIGTERM with exit code 0 and closes the socket', async () => {
    const open = fake.socket.openConnections();
    expect(open).toHaveLength(1);
    expect(await dockhand.stop('SIGTERM')).toBe(0);
    expect(dockhand.logs.some((l) => l.msg === 'stopped')).toBe(true);
    const closed = await fake.socket.waitForClose(open[0]?.id ?? 0, 5000);
    expect(closed).toMatchObject({ closedBy: 'client', closeCode: 1000 }); // Bolt's stop() closes the socket
  });
});

describe('dockhand in Socket Mode with an app-level token Slack does not accept', () => {
  let fake: TestSocketSlack;
  const dir = mkdtempSync(join(tmpdir(), 'dockhand-e2e-'));

  beforeAll(async () => {
    fake = await startTestSlackWithSocketMode();
  });

  afterAll(async () => {
    await fake?.close();
    removeDir(dir);
  });

  it('does not start: it exits and says apps.connections.open refused the token', async () => {
    const started = startDockhand({
      config: CONFIG,
      slackApiUrl: fake.slack.apiUrl,
      dir,
      env: { SLACK_APP_TOKEN: 'xapp-1-A0DOCKHAND-1-revoked', SLACK_SIGNING_SECRET: '' },
    });
    const error = await started.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/dockhand exited/);
    expect(error?.message).toContain('invalid_auth');
    expect(fake.slack.state.calls('apps.connections.open')).toMatchObject([{ response: { error: 'invalid_auth' } }]);
    expect(fake.socket.connections()).toEqual([]);
  });
});
