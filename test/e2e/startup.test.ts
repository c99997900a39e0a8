import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isListeningLine, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { freePort } from '../support/net.ts';
import {
  type FakeSlack,
  signSlackRequest,
  startTestSlack,
  startTestSlackWithSocketMode,
  TEST_SIGNING_SECRET,
} from '../support/slack/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dockhand-startup-'));

const start = (config: string, env: Record<string, string> = {}) => {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(path, config);
  return spawnSync(process.execPath, [join(ROOT, 'src/main.ts')], {
    env: {
      PATH: process.env.PATH ?? '',
      SLACK_BOT_TOKEN: 'xoxb-startup-test-token',
      SLACK_SIGNING_SECRET: 'startup-signing-secret',
      PORT: '0',
      DOCKHAND_CONFIG: path,
      DOCKHAND_DATABASE_URL: 'sqlite::memory:',
      ...env,
    },
    encoding: 'utf8',
    timeout: 20_000,
  });
};

const ecs = '{ type: ecs, cluster: prod, service: api, container: app }';

afterAll(() => removeDir(dir));

describe('start-up with a bad config file or environment', () => {
  it.each([
    [
      'a wrong type',
      `defaults: { channel: "#d" }\nservices:\n  api:\n    environments:\n      production:\n        target: ${ecs}\n        scale: { min: 1, max: twelve }\n`,
      'services.api.environments.production.scale.max: expected number, got string',
    ],
    [
      'an unknown target type',
      `defaults: { channel: "#d" }\nservices:\n  api:\n    environments:\n      production:\n        target: { type: kubernetes, cluster: prod }\n`,
      'services.api.environments.production.target.type: expected type "ecs" or "docker", got "kubernetes"',
    ],
    [
      'a missing environment variable',
      `defaults: { channel: "#d" }\nregistries:\n  r: { type: registry, address: "reg:5000", username: u, password: "\${REGISTRY_PASSWORD}" }\nservices:\n  api:\n    environments:\n      production: { target: ${ecs} }\n`,
      'REGISTRY_PASSWORD',
    ],
    [
      'a duplicate service',
      `defaults: { channel: "#d" }\nservices:\n  api:\n    environments:\n      production: { target: ${ecs} }\n  api:\n    environments:\n      staging: { target: ${ecs} }\n`,
      'services.api: defined twice',
    ],
  ])('refuses %s, naming the path, and exits 1', (_label, config, expected) => {
    const result = start(config);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('dockhand cannot start');
    expect(result.stderr).toContain(expected);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a bad environment variable without echoing the token', () => {
    const result = start(`defaults: { channel: "#d" }\nservices: {}\n`, {
      SLACK_BOT_TOKEN: 'not-a-token-s3cr3t',
      PORT: 'http',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('SLACK_BOT_TOKEN');
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).not.toContain('s3cr3t');
  });
});

describe('stopping while Slack is out of reach', () => {
  it('exits 0 on SIGTERM during the retries', async () => {
    const port = await freePort();
    const dockhand = await startDockhand({
      config: minimal,
      slackApiUrl: `http://127.0.0.1:${port}/api/`,
      ready: (l) => typeof l.msg === 'string' && l.msg.startsWith('cannot reach Slack'),
    });
    try {
      expect(await dockhand.stop('SIGTERM')).toBe(0);
      expect(dockhand.logs.some((l) => l.msg === 'stopped')).toBe(true);
      expect(dockhand.output()).not.toContain('cannot start');
    } finally {
      removeDir(dockhand.dir);
    }
  });
});

describe('start-up on a port already in use', () => {
  it('says so and names PORT, exit 1, no stack trace', async () => {
    const taken = createServer();
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, () => resolve((taken.address() as { port: number }).port)),
    );
    try {
      const result = start(`defaults: { channel: "#d" }\nservices: {}\n`, { PORT: String(port) });

      expect(result.status).toBe(1);
      expect(result.stderr).toBe(
        `dockhand cannot start: port ${port} is already in use: stop what listens there, or set PORT to another port (0 picks a free one).\n`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('graceful shutdown', () => {
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startTestSlack();
  });
  afterAll(async () => slack.close());

  it('stops on SIGTERM with exit code 0 after logging that it stopped', async () => {
    const dockhand = await startDockhand({
      config: `defaults: { channel: "#d" }\nservices:\n  api:\n    environments:\n      production: { target: ${ecs} }\n`,
      slackApiUrl: slack.apiUrl,
    });
    try {
      expect(await dockhand.stop('SIGTERM')).toBe(0);
      expect(dockhand.logs.some((l) => l.msg === 'stopped')).toBe(true);
      // pino repeats a key bound twice (logger.child of a child): no line may carry `component` more than once.
      const lines = dockhand.output().split('\n');
      expect(lines.some((l) => l.includes('"component":"watch"'))).toBe(true);
      expect(lines.filter((l) => (l.match(/"component":/g) ?? []).length > 1)).toEqual([]);
    } finally {
      removeDir(dockhand.dir);
    }
  });
});

/** Runs dockhand until it exits (bounded), without blocking this process: the fake Slack must keep answering. */
const runToExit = (config: string, env: Record<string, string>) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const path = join(dir, `c${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(path, config);
    const child = spawn(process.execPath, [join(ROOT, 'src/main.ts')], {
      env: {
        PATH: process.env.PATH ?? '',
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        PORT: '0',
        DOCKHAND_CONFIG: path,
        DOCKHAND_DATABASE_URL: 'sqlite::memory:',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });

const minimal = `defaults: { channel: "#d" }\nservices:\n  api:\n    environments:\n      production: { target: ${ecs} }\n`;

describe('first contact with Slack', () => {
  it('exits 1 with one line naming SLACK_BOT_TOKEN when Slack refuses the bot token', async () => {
    const slack = await startTestSlack();
    try {
      const result = await runToExit(minimal, {
        SLACK_BOT_TOKEN: 'xoxb-wrong-s3cr3t-token',
        SLACK_API_URL: slack.apiUrl,
      });

      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        'dockhand cannot start: Slack refused SLACK_BOT_TOKEN (invalid_auth): set it to the Bot User OAuth Token (xoxb-…) from the app’s “OAuth & Permissions” page.',
      ]);
      expect(result.stdout).not.toContain('dockhand is listening');
      expect(`${result.stdout}${result.stderr}`).not.toContain('s3cr3t');
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/\n\s+at /);
    } finally {
      await slack.close();
    }
  });

  it('exits 1 naming SLACK_APP_TOKEN when Slack refuses the app-level token in Socket Mode', async () => {
    const fake = await startTestSlackWithSocketMode();
    try {
      const result = await runToExit(minimal, {
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_APP_TOKEN: 'xapp-1-A0WRONG-1-s3cr3t',
        SLACK_SIGNING_SECRET: '',
        SLACK_API_URL: fake.slack.apiUrl,
      });

      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain('dockhand cannot start: Slack refused SLACK_APP_TOKEN (invalid_auth)');
      expect(`${result.stdout}${result.stderr}`).not.toContain('s3cr3t');
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/\n\s+at /);
    } finally {
      await fake.close();
    }
  });

  it('keeps retrying while Slack is unreachable, /healthz 503 with the reason, then 200 once Slack answers', async () => {
    const port = await freePort();
    const dockhand = await startDockhand({
      config: minimal,
      slackApiUrl: `http://127.0.0.1:${port}/api/`,
      ready: (l) => typeof l.msg === 'string' && l.msg.startsWith('cannot reach Slack'),
    });
    let slack: FakeSlack | undefined;
    try {
      const waiting = await dockhand.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('cannot reach'));
      expect(waiting.level).toBe('warn');
      expect(waiting.reason).toContain('ECONNREFUSED');
      expect(waiting.err).toBeUndefined();
      const before = await fetch(`${dockhand.url}/healthz`);
      expect(before.status).toBe(503);
      const report = (await before.json()) as { checks: Record<string, string> };
      expect(report.checks.slack).toMatch(/^cannot reach Slack: .*ECONNREFUSED/);
      // Slack's own (signed) requests are told to come back; an unsigned one is refused as ever.
      const body = 'command=%2Fstatus';
      const event = await fetch(dockhand.eventsUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...signSlackRequest(TEST_SIGNING_SECRET, body, Math.floor(Date.now() / 1000)),
        },
        body,
      });
      expect(event.status).toBe(503);
      expect(event.headers.get('retry-after')).toBe('5');
      const unsigned = await fetch(dockhand.eventsUrl, {
        method: 'POST',
        headers: { 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)) },
        body,
      });
      expect(unsigned.status).toBe(401);

      slack = await startTestSlack({ port });
      const listening = await dockhand.waitForLog(isListeningLine, 20_000);
      expect(listening.msg).toBe(
        `dockhand is listening on port ${listening.port} (HTTP mode: Slack’s Request URL is https://<public URL of this server>/slack/events)`,
      );
      const after = await fetch(`${dockhand.url}/healthz`);
      expect(after.status).toBe(200);
      expect(dockhand.child.exitCode).toBeNull();
      expect(dockhand.output()).not.toMatch(/\n\s+at /);
    } finally {
      await dockhand.stop();
      await slack?.close();
      removeDir(dockhand.dir);
    }
  });
});
