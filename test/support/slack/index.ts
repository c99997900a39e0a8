/**
 * Test helpers around the Slack emulator (src/slack-emulator): the same code the local console serves.
 */
import {
  createSlackRequestClient,
  type FakeSlack,
  type SlackRequestClient,
  type StartFakeSlackOptions,
  startFakeSlack,
} from '../../../src/slack-emulator/index.ts';

export * from '../../../src/slack-emulator/index.ts';

export const TEST_SIGNING_SECRET = 'test-secret';
export const TEST_BOT_TOKEN = 'xoxb-test-token';

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
