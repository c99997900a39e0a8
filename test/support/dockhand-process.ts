import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_BOT_TOKEN, TEST_SIGNING_SECRET } from './slack/index.ts';

/** dockhand started as a real process (`node src/main.ts`), its JSON log lines collected. */
export interface DockhandProcess {
  url: string;
  eventsUrl: string;
  dir: string;
  logs: Record<string, unknown>[];
  /** Everything the process wrote, raw: for "no secret in the logs" assertions. */
  output(): string;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

export interface StartDockhandOptions {
  config: string;
  slackApiUrl: string;
  awsEndpointUrl?: string;
  env?: Record<string, string>;
  /** Reuse a directory (and so its SQLite database) across restarts. */
  dir?: string;
  timeoutMs?: number;
  /** The log line after which the process counts as started (default: "dockhand is listening…"); it must
   * carry the `port`. */
  ready?: (line: Record<string, unknown>) => boolean;
}

/** The start-up line: `dockhand is listening on port 3000 (HTTP mode): …`. */
export const isListeningLine = (line: Record<string, unknown>): boolean =>
  typeof line.msg === 'string' && line.msg.startsWith('dockhand is listening');

const ROOT = new URL('../../', import.meta.url).pathname;

export const startDockhand = async (options: StartDockhandOptions): Promise<DockhandProcess> => {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'dockhand-e2e-'));
  const configPath = join(dir, 'dockhand.yml');
  writeFileSync(configPath, options.config);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
    SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
    SLACK_API_URL: options.slackApiUrl,
    PORT: '0',
    DOCKHAND_CONFIG: configPath,
    DOCKHAND_DATABASE_URL: `sqlite:${join(dir, 'dockhand.db')}`,
    LOG_LEVEL: 'debug',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...(options.awsEndpointUrl ? { AWS_ENDPOINT_URL: options.awsEndpointUrl } : {}),
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    ...options.env,
  };
  const child = spawn(process.execPath, [join(ROOT, 'src/main.ts')], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let raw = '';
  const waiters = new Set<() => void>();
  let buffer = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
    buffer += chunk;
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line, unparsed: true });
      }
      nl = buffer.indexOf('\n');
    }
    for (const w of waiters) w();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog = (predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = logs.find(predicate);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`dockhand did not log the expected line in ${timeoutMs} ms. Output:\n${raw.slice(-4000)}`));
      }, timeoutMs);
      waiters.add(check);
      void exited.then(() => {
        if (waiters.has(check)) {
          waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`dockhand exited. Output:\n${raw.slice(-4000)}`));
        }
      });
      check();
    });

  const listening = await waitForLog(options.ready ?? isListeningLine, options.timeoutMs ?? 20_000).catch(
    (e: unknown) => {
      // A process that never became ready must not outlive the test.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      throw e;
    },
  );
  const url = `http://127.0.0.1:${listening.port as number}`;
  return {
    url,
    eventsUrl: `${url}/slack/events`,
    dir,
    logs,
    output: () => raw,
    child,
    waitForLog,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
};

export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true });
