import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startDockhand } from '../support/dockhand-process.ts';
import { type FakeSlack, startTestSlack } from '../support/slack/index.ts';

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

describe('start-up with a bad config file or environment', () => {
  afterAll(() => removeDir(dir));

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
    } finally {
      removeDir(dockhand.dir);
    }
  });
});
