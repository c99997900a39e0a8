/**
 * What the process benchmarks (ack, rss, start) share: the fake Slack and AWS they run against, launching dockhand
 * and the bare Bolt app on this Node, the ack load, RSS and CPU readings. Not a benchmark itself: `npm run bench`
 * runs only the `bench:*` scripts.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeAws } from '../test/support/fake-aws/index.ts';
import {
  type FakeSlack,
  SlackRequestClient,
  signSlackRequest,
  startTestSlack,
  TEST_BOT_TOKEN,
  TEST_SIGNING_SECRET,
} from '../test/support/slack/index.ts';

export const root = new URL('../', import.meta.url).pathname;

export const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
export const median = (values: readonly number[]): number => percentile(values, 50);

/** Resident set size of a process, in MiB (Linux /proc; `ps` elsewhere). */
export const rssMiB = (pid: number): number => {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // not Linux, or the process is gone: ask ps
  }
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024;
};

/** A TCP port free on 127.0.0.1 right now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });

const ECS_CONFIG =
  'defaults: { channel: "#deploys", region: us-east-1 }\nservices:\n  api:\n    environments:\n      production: { target: { type: ecs, cluster: prod, service: api, container: app } }\n';

/** The peers dockhand talks to in HTTP mode (fake Slack and fake AWS on 127.0.0.1) and a config for one ECS service. */
export interface BenchWorld {
  slack: FakeSlack;
  dir: string;
  /** The environment of an HTTP-mode dockhand (or of the bare Bolt app) in this world. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** The environment of dockhand in local mode (no SLACK_BOT_TOKEN, its bundled config). */
  localEnv(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export const startWorld = async (): Promise<BenchWorld> => {
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
  writeFileSync(join(dir, 'dockhand.yml'), ECS_CONFIG);
  let databases = 0;
  const base = () => ({
    PATH: process.env.PATH ?? '',
    PORT: '0',
    LOG_LEVEL: 'info',
    DOCKHAND_DATABASE_URL: `sqlite:${join(dir, `bench-${++databases}.db`)}`,
    // Node's compile cache (bin/compile-cache.js), empty at the start of each bench run: the run's first start of
    // dockhand fills it, as a user's first `npm start` does; the bare app's JavaScript gets the same cache.
    NODE_COMPILE_CACHE: join(dir, 'compile-cache'),
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    // V8 flags to compare (NODE_OPTIONS=--max-semi-space-size=… npm run bench:rss), given to both apps alike.
    ...(process.env.NODE_OPTIONS ? { NODE_OPTIONS: process.env.NODE_OPTIONS } : {}),
  });
  return {
    slack,
    dir,
    env: (extra = {}) => ({
      ...base(),
      SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
      SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      DOCKHAND_CONFIG: join(dir, 'dockhand.yml'),
      AWS_ENDPOINT_URL: awsUrl,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake',
      ...extra,
    }),
    localEnv: (extra = {}) => ({ ...base(), ...extra }),
    close: async () => {
      await slack.close();
      await aws.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/**
 * The fake AWS of bench/fake-aws-process.ts in a process of its own, seeded with `clusters` × `services` services of
 * `tasks` tasks each (`cluster-<c>` / `svc-<c>-<s>`): its memory is not counted as that of the process measured.
 * Drive it over HTTP at `url` (/_fake/reset-calls, /_fake/calls, /_fake/control); `stop` ends it by its PID.
 */
/** The fake AWS process's control API (`/_fake/<path>`): GET without a body, POST with one; its JSON answer. */
export type FakeAwsControl = (path: string, body?: unknown) => Promise<unknown>;

const controlOf =
  (url: string): FakeAwsControl =>
  async (path, body) => {
    const res = await fetch(
      `${url}/_fake/${path}`,
      body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) },
    );
    if (!res.ok) throw new Error(`fake AWS ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };

export const startFakeAwsProcess = (shape: { clusters: number; services: number; tasks: number }) =>
  new Promise<{ url: string; pid: number; control: FakeAwsControl; stop: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bench/fake-aws-process.ts')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        CLUSTERS: String(shape.clusters),
        SERVICES: String(shape.services),
        TASKS: String(shape.tasks),
      },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const url = /"url":"([^"]+)"/.exec(out)?.[1];
      if (url && child.pid)
        resolve({ url, pid: child.pid, control: controlOf(url), stop: () => child.kill('SIGTERM') });
    });
    child.once('exit', (code) => reject(new Error(`the fake AWS process exited with ${code}`)));
  });

export const DOCKHAND = 'src/main.ts';
export const BARE_BOLT = 'bench/bare-bolt.ts';

/**
 * `npm start`'s Node arguments (package.json), paths made absolute: the benchmarks run dockhand exactly as it ships
 * (the Dockerfile's CMD has the same V8 flags; test/unit/node-flags.test.ts keeps them together).
 */
export const startArgs = (): string[] => {
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [node, ...args] = scripts.start.split(/\s+/);
  if (node !== 'node') throw new Error(`npm start does not run node: ${scripts.start}`);
  return args.map((arg) => (arg.startsWith('-') ? arg : join(root, arg)));
};

/** Node's arguments to run `script` with: dockhand as `npm start` runs it (its V8 flags, the compile cache first). */
export const nodeArgs = (script: string): string[] => {
  if (script !== DOCKHAND) return [join(root, script)];
  const args = startArgs();
  // After npm start's own flags, so that a flag given here wins (V8 takes the last of a flag).
  return [...args.slice(0, -1), ...dockhandFlags, ...args.slice(-1)];
};
/** Node/V8 flags to try on dockhand alone (DOCKHAND_NODE_FLAGS="--max-semi-space-size=4" npm run bench:ack). */
const dockhandFlags = (process.env.DOCKHAND_NODE_FLAGS ?? '').split(/\s+/).filter((flag) => flag !== '');

export interface Launched {
  pid: number;
  port: number;
  child: ChildProcess;
  /** Stops the process and resolves when it has exited. */
  stop(): Promise<void>;
}

/** Starts `script` (dockhand or the bare Bolt app) on this Node and resolves once it logs the port it listens on. */
export const launch = (script: string, env: Record<string, string>, cwd: string, timeoutMs = 30_000) =>
  new Promise<Launched>((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs(script), { cwd, stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    let ready = false;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start within ${timeoutMs} ms\n${err}`));
    }, timeoutMs);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (ready) return; // keep draining the pipe, but keep nothing
      out += chunk;
      // dockhand's start-up line (and the bare app's) says it listens, with the port, once Slack answered.
      const line = out.split('\n').find((l) => l.includes('dockhand is listening'));
      const port = line ? /"port":(\d+)/.exec(line)?.[1] : undefined;
      if (port && child.pid) {
        clearTimeout(timer);
        ready = true;
        out = '';
        resolve({
          pid: child.pid,
          port: Number(port),
          child,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}\n${err}`));
    });
  });

/**
 * One round of `concurrency` concurrent signed `/status api`; returns every acknowledgement's latency (ms).
 *
 * The requests are signed and encoded first, then written at once on kept-alive connections, each timed from its
 * own write to the end of its response. With fetch, a request's clock started before the client had built, signed
 * and handed over the other 49: the first requests reached the app only after that (5–56 ms a round, a median of
 * 9 ms, measured with hrtime on both sides), so every round's latencies carried the client's own work and its GC
 * pauses, alike for both apps only on average.
 */
export const ackRound = async (
  world: BenchWorld,
  app: { port: number; pid: number },
  concurrency: number,
): Promise<{ latencies: number[]; cpuNs: number | undefined }> => {
  const requests = await signedStatusRequests(world, app.port, concurrency);
  const sockets = await connections(app.port, concurrency);
  const cpuBefore = mainThreadCpuNs(app.pid);
  const results = await Promise.all(requests.map((bytes, i) => exchange(sockets[i] as Socket, bytes)));
  const cpuAfter = mainThreadCpuNs(app.pid);
  if (results.some((r) => r.status !== 200)) throw new Error('a request was not acknowledged with 200');
  return {
    latencies: results.map((r) => r.durationMs),
    cpuNs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
  };
};

/**
 * Time the process's main thread (the one that runs JavaScript) has spent on a CPU, in nanoseconds
 * (/proc/<pid>/task/<pid>/schedstat); undefined where /proc is not available. Unlike wall-clock latency it does not
 * count time the thread waited for a CPU, so a neighbour's load hardly changes it.
 */
const mainThreadCpuNs = (pid: number): number | undefined => {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
};

/** `count` signed `/status api` requests to the app on `port`, as the bytes of HTTP/1.1 requests. */
const signedStatusRequests = async (world: BenchWorld, port: number, count: number): Promise<Buffer[]> => {
  const requests: Buffer[] = [];
  const client = new (class extends SlackRequestClient {
    override async post(rawBody: string, contentType: string) {
      const signature = signSlackRequest(TEST_SIGNING_SECRET, rawBody, Math.floor(Date.now() / 1000));
      const head = Object.entries({ 'content-type': contentType, ...signature })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      requests.push(
        Buffer.from(
          `POST /slack/events HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: keep-alive\r\n${head}` +
            `content-length: ${Buffer.byteLength(rawBody)}\r\n\r\n${rawBody}`,
        ),
      );
      return { status: 0, headers: {}, text: '', body: '', durationMs: 0 };
    }
  })({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret: TEST_SIGNING_SECRET, state: world.slack.state });
  for (let i = 0; i < count; i++) await client.slashCommand({ command: '/status', text: 'api', userId: 'U0BENCH' });
  return requests;
};

const pools = new Map<number, Socket[]>();

/** `count` open connections to `port`, kept between rounds (reopened, untimed, if the app closed them). */
const connections = async (port: number, count: number): Promise<Socket[]> => {
  const open = (pools.get(port) ?? []).filter((socket) => !socket.destroyed && socket.writable);
  while (open.length < count) {
    open.push(
      await new Promise<Socket>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => resolve(socket)).once('error', reject);
        socket.setNoDelay(true);
        socket.on('error', () => socket.destroy());
      }),
    );
  }
  pools.set(port, open);
  return open;
};

/** Writes one request and resolves with its status and the time from the write to the end of its response. */
const exchange = (socket: Socket, request: Buffer): Promise<{ status: number; durationMs: number }> =>
  new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = received.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      const complete = /\r\ntransfer-encoding: *chunked/i.test(head)
        ? received.indexOf('0\r\n\r\n', end + 4) >= 0
        : received.length >= end + 4 + length;
      if (!complete) return;
      const durationMs = performance.now() - started;
      socket.off('data', onData).off('close', onClose);
      resolve({ status: Number(head.split(' ')[1]), durationMs });
    };
    const onClose = () => reject(new Error('the app closed a connection before answering'));
    socket.on('data', onData).once('close', onClose);
    const started = performance.now();
    socket.write(request);
  });

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU time (user + system, in clock ticks) a process has used; undefined where /proc is not available. */
const cpuTicks = (pid: number): number | undefined => {
  try {
    // fields after the command name: state is field 3; utime and stime are fields 14 and 15
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
};

/**
 * Waits until the processes have used no CPU for 200 ms (their work after the acks, e.g. /status's AWS calls,
 * is done), at most `maxMs`; without /proc, a fixed 500 ms.
 */
export const settle = async (pids: readonly number[], maxMs = 15_000): Promise<void> => {
  const total = () =>
    pids.reduce<number | undefined>((sum, pid) => {
      const ticks = cpuTicks(pid);
      return sum === undefined || ticks === undefined ? undefined : sum + ticks;
    }, 0);
  if (total() === undefined) return void (await pause(500));
  const deadline = Date.now() + maxMs;
  let last = total();
  while (Date.now() < deadline) {
    await pause(200);
    const now = total();
    if (now === last) return;
    last = now;
  }
};

export const fmt = (n: number, unit: string) => `${n.toFixed(unit === 'ms' ? 1 : 0)} ${unit}`;
