/** The baseline for bench/ack: a bare Bolt app in HTTP mode whose /status handler only acknowledges. */
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

const receiver = new HTTPReceiver({
  signingSecret: process.env.SLACK_SIGNING_SECRET ?? '',
  endpoints: '/slack/events',
});
const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  receiver,
  logLevel: LogLevel.ERROR,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});
app.command('/status', async ({ ack }) => {
  await ack();
});
const server = await receiver.start(0);
process.stdout.write(
  `${JSON.stringify({ msg: 'dockhand is listening', port: (server.address() as AddressInfo).port })}\n`,
);
process.on('SIGTERM', () => process.exit(0));
