/**
 * Test helpers around the Slack emulator (src/slack-emulator): the same code the local console serves.
 */
import {
  createSlackRequestClient,
  type FakeSlack,
  type SlackRequestClient,
  type SocketModeEmulator,
  type SocketModeEmulatorOptions,
  SocketModeRequestClient,
  type StartFakeSlackOptions,
  startFakeSlack,
  startSocketModeEmulator,
} from '../../../src/slack-emulator/index.ts';

export * from '../../../src/slack-emulator/index.ts';

export const TEST_SIGNING_SECRET = 'test-secret';
export const TEST_BOT_TOKEN = 'xoxb-test-token';
export const TEST_APP_TOKEN = 'xapp-1-A0DOCKHAND-1-test-app-token';

/** Starts a fake Slack on 127.0.0.1:0 (accepting only `TEST_BOT_TOKEN` unless `tokens` is given). */
export function startTestSlack(options: StartFakeSlackOptions = {}): Promise<FakeSlack> {
  return startFakeSlack({ tokens: [TEST_BOT_TOKEN], ...options });
}

/** A signed request client aimed at a Bolt app's events URL, backed by `slack`'s state. */
export function signedClient(
  slack: FakeSlack,
  appEventsUrl: string,
  signingSecret = TEST_SIGNING_SECRET,
): SlackRequestClient {
  return createSlackRequestClient({ url: appEventsUrl, signingSecret, state: slack.state });
}

export interface TestSocketSlack {
  slack: FakeSlack;
  socket: SocketModeEmulator;
  /** Sends slash commands and button clicks as Socket Mode envelopes; results carry the ack. */
  client: SocketModeRequestClient;
  close(): Promise<void>;
}

/**
 * A fake Slack with Socket Mode: the Web API emulator (accepting `TEST_BOT_TOKEN`, and `TEST_APP_TOKEN` for
 * `apps.connections.open`) plus the WebSocket server its `apps.connections.open` hands out URLs for.
 */
export async function startTestSlackWithSocketMode(
  options: StartFakeSlackOptions & { socket?: SocketModeEmulatorOptions } = {},
): Promise<TestSocketSlack> {
  const { socket: socketOptions, ...slackOptions } = options;
  const slack = await startTestSlack({ appTokens: [TEST_APP_TOKEN], ...slackOptions });
  const socket = await startSocketModeEmulator(slack.state, socketOptions);
  return {
    slack,
    socket,
    client: new SocketModeRequestClient({ socket }),
    close: async () => {
      await socket.close();
      await slack.close();
    },
  };
}
