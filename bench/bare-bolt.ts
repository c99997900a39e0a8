/**
 * The baseline for the benchmarks: a bare Bolt app in HTTP mode whose /status handler only acknowledges, with a
 * /healthz that answers 200 (bench/start.ts times the first one). It runs on the same Node as dockhand: the
 * benchmarks start both with their own process.execPath.
 */
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

const receiver = new HTTPReceiver({
  signingSecret: process.env.SLACK_SIGNING_SECRET ?? '',
  endpoints: '/slack/events',
  customRoutes: [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      },
    },
  ],
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
const server = await receiver.start(Number(process.env.PORT ?? 0));
process.stdout.write(
  `${JSON.stringify({ msg: 'dockhand is listening', port: (server.address() as AddressInfo).port, node: process.version })}\n`,
);
process.on('SIGTERM', () => process.exit(0));
