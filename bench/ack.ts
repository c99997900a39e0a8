/**
 * Acknowledgement latency of /status: 50 concurrent signed slash commands to dockhand (a real process, the fake
 * Slack and the fake AWS on 127.0.0.1), beside a bare Bolt app that acks immediately, measured in the same run.
 * Prints p50/p99 for both and their ratio. A benchmark, not a test: it asserts nothing.
 *
 *   npm run bench:ack            (ROUNDS=5 CONCURRENCY=50 to change the load)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeAws } from '../test/support/fake-aws/index.ts';
import { signedClient, startTestSlack, TEST_BOT_TOKEN, TEST_SIGNING_SECRET } from '../test/support/slack/index.ts';

const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const root = new URL('../', import.meta.url).pathname;

const aws = new FakeAws();
const { url: awsUrl } = await aws.start();
aws.seedService({
  cluster: 'prod',
  service: 'api',
  desiredCount: 2,
  containers: [{ name: 'app', image: 'acme/api:1' }],
});
const slack = await startTestSlack();
const dir = mkdtempSync(join(tmpdir(), 'dockhand-bench-'));
writeFileSync(
  join(dir, 'dockhand.yml'),
  'defaults: { channel: "#deploys", region: us-east-1 }\nservices:\n  api:\n    environments:\n      production: { target: { type: ecs, cluster: prod, service: api, container: app } }\n',
);

const launch = (script: string) =>
  new Promise<{ port: number; stop: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, script)], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        PATH: process.env.PATH ?? '',
        SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        PORT: '0',
        LOG_LEVEL: 'info',
        DOCKHAND_CONFIG: join(dir, 'dockhand.yml'),
        DOCKHAND_DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`,
        AWS_ENDPOINT_URL: awsUrl,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
        AWS_SECRET_ACCESS_KEY: 'fake',
      },
    });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /"port":(\d+)/.exec(out);
      if (match) resolve({ port: Number(match[1]), stop: () => child.kill('SIGTERM') });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

const measure = async (port: number) => {
  const client = signedClient(slack, `http://127.0.0.1:${port}/slack/events`);
  const latencies: number[] = [];
  // one warm-up round, then ROUNDS measured rounds of CONCURRENCY concurrent commands
  for (let round = 0; round <= ROUNDS; round++) {
    const results = await Promise.all(
      Array.from({ length: CONCURRENCY }, () =>
        client.slashCommand({ command: '/status', text: 'api', userId: 'U0BENCH' }),
      ),
    );
    if (results.some((r) => r.status !== 200)) throw new Error('a request was not acknowledged with 200');
    if (round > 0) latencies.push(...results.map((r) => r.durationMs));
    await new Promise((r) => setTimeout(r, 500)); // let the background work of the round finish
  }
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length };
};

try {
  const bare = await launch('bench/bare-bolt.ts');
  const baseline = await measure(bare.port);
  bare.stop();
  const dockhand = await launch('src/main.ts').catch(() => {
    throw new Error('dockhand did not start');
  });
  const ours = await measure(dockhand.port);
  dockhand.stop();
  const fmt = (n: number) => `${n.toFixed(1)} ms`;
  console.log(`ack latency, ${ROUNDS} rounds × ${CONCURRENCY} concurrent signed /status (n=${ours.n} each)`);
  console.log(`  bare Bolt  p50 ${fmt(baseline.p50)}  p99 ${fmt(baseline.p99)}`);
  console.log(`  dockhand   p50 ${fmt(ours.p50)}  p99 ${fmt(ours.p99)}`);
  console.log(
    `  ratio      p50 ×${(ours.p50 / baseline.p50).toFixed(2)}  p99 ×${(ours.p99 / baseline.p99).toFixed(2)}`,
  );
} finally {
  await slack.close();
  await aws.stop();
  rmSync(dir, { recursive: true, force: true });
}
