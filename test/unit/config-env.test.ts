import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';

const http = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 'signing-secret-value' };

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    readEnv(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected the environment to be rejected');
};

describe('readEnv', () => {
  it('applies the documented defaults in HTTP mode', () => {
    const settings = readEnv(http);

    expect(settings).toMatchObject({
      slackBotToken: 'xoxb-1-2-abc',
      slackSigningSecret: 'signing-secret-value',
      slackAppToken: undefined,
      socketMode: false,
      slackApiUrl: 'https://slack.com/api/',
      port: 3000,
      configPath: './dockhand.yml',
      databaseUrl: 'sqlite:./data/dockhand.db',
      logLevel: 'info',
      awsRegion: undefined,
      awsEndpointUrl: undefined,
      dockerHost: undefined,
      rolloutPollMs: 4000,
      snapshotMaxAgeMs: 10_000,
    });
    expect(settings.instanceId).toBe(hostname());
  });

  it('uses Socket Mode when an app token is set, and then needs no signing secret', () => {
    const settings = readEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1-A1-abc' });

    expect(settings.socketMode).toBe(true);
    expect(settings.slackSigningSecret).toBeUndefined();
  });

  it('reads every variable it knows', () => {
    const settings = readEnv({
      ...http,
      SLACK_API_URL: 'http://127.0.0.1:9999/api',
      PORT: '8080',
      DOCKHAND_CONFIG: '/etc/dockhand.yml',
      DOCKHAND_DATABASE_URL: 'postgres://dockhand:pw@db/dockhand',
      LOG_LEVEL: 'DEBUG',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://localhost:4566',
      DOCKER_HOST: 'unix:///var/run/docker.sock',
      DOCKHAND_SNAPSHOT_MAX_AGE_MS: '0',
      DOCKHAND_INSTANCE_ID: 'replica-a',
      DOCKHAND_ROLLOUT_POLL_MS: '50',
      DOCKHAND_CARD_LATE_LANDING_MS: '1500',
    });

    expect(settings).toMatchObject({
      slackApiUrl: 'http://127.0.0.1:9999/api/',
      port: 8080,
      configPath: '/etc/dockhand.yml',
      databaseUrl: 'postgres://dockhand:pw@db/dockhand',
      logLevel: 'debug',
      awsRegion: 'eu-west-1',
      awsEndpointUrl: 'http://localhost:4566',
      dockerHost: 'unix:///var/run/docker.sock',
      snapshotMaxAgeMs: 0,
      instanceId: 'replica-a',
      rolloutPollMs: 50,
      cardLateLandingMs: 1500,
    });
  });

  it('treats an empty variable as unset', () => {
    expect(readEnv({ ...http, PORT: '', LOG_LEVEL: ' ' })).toMatchObject({ port: 3000, logLevel: 'info' });
  });

  it('returns frozen settings', () => {
    expect(Object.isFrozen(readEnv(http))).toBe(true);
  });

  it('runs in local mode without SLACK_BOT_TOKEN, and then needs no signing secret', () => {
    const settings = readEnv({});

    expect(settings.localMode).toBe(true);
    expect(settings.slackBotToken).toBeUndefined();
    expect(readEnv(http).localMode).toBe(false);
  });

  it('requires SLACK_SIGNING_SECRET in HTTP mode with a bot token', () => {
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual([
      expect.stringMatching(/^SLACK_SIGNING_SECRET: not set: required in HTTP mode/),
    ]);
  });

  it('requires SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode)', () => {
    expect(problemsOf({ SLACK_APP_TOKEN: 'xapp-1-A1-abc' })).toEqual([
      expect.stringMatching(/^SLACK_BOT_TOKEN: not set: Socket Mode \(SLACK_APP_TOKEN\) needs the bot token too/),
    ]);
  });

  it('still rejects other bad settings in local mode', () => {
    expect(problemsOf({ PORT: 'x' })).toEqual([
      'PORT: expected a TCP port (0 = any free port): an integer from 0 to 65535',
    ]);
  });

  it('rejects a port that is not a number from 0 to 65535', () => {
    for (const PORT of ['http', '65536', '80.5', '-1']) {
      expect(problemsOf({ ...http, PORT })).toEqual([
        'PORT: expected a TCP port (0 = any free port): an integer from 0 to 65535',
      ]);
    }
  });

  it('accepts PORT=0 as "any free port"', () => {
    expect(readEnv({ ...http, PORT: '0' }).port).toBe(0);
  });

  it('reports every bad variable at once', () => {
    const problems = problemsOf({
      ...http,
      PORT: 'x',
      LOG_LEVEL: 'loud',
      SLACK_API_URL: 'slack.com/api',
      DOCKHAND_DATABASE_URL: 'mysql://db',
    });

    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'SLACK_API_URL',
      'PORT',
      'DOCKHAND_DATABASE_URL',
      'LOG_LEVEL',
    ]);
  });

  it('never echoes a token or secret it rejects', () => {
    const error = (() => {
      try {
        readEnv({
          SLACK_BOT_TOKEN: 'xoxp-user-token-SECRET1',
          SLACK_APP_TOKEN: 'xoxb-not-an-app-token-SECRET2',
          DOCKHAND_DATABASE_URL: 'mysql://root:SECRET3@db',
        });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected the environment to be rejected');
    })();

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toEqual([
      'SLACK_BOT_TOKEN: expected a bot token starting with "xoxb-"',
      'SLACK_APP_TOKEN: expected an app-level token starting with "xapp-"',
      expect.stringMatching(/^DOCKHAND_DATABASE_URL: expected sqlite:/),
    ]);
    expect(error.message).not.toMatch(/SECRET/);
  });
});
