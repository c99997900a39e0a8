import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { deepFreeze, type Env } from './load.ts';

/**
 * The process environment (DESIGN.md §2.1), read once and validated. Messages name the variable and what
 * was expected and never the value: tokens, secrets and database URLs with passwords pass through here.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const required = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `not set: expected ${what}` : `expected ${what}`) });

const slackToken = (prefix: string, what: string) =>
  required(`${what} ("${prefix}…")`).regex(new RegExp(`^${prefix}\\S+$`), `expected ${what} starting with "${prefix}"`);

const botToken = slackToken('xoxb-', 'a bot token');

const httpUrl = (what: string) =>
  z.string().refine(
    (s) => {
      try {
        const url = new URL(s);
        return url.protocol === 'https:' || url.protocol === 'http:';
      } catch {
        return false;
      }
    },
    { message: `expected ${what}: an http:// or https:// URL` },
  );

const integer = (min: number, max: number, what: string) =>
  z.string().transform((s, ctx) => {
    const n = Number(s);
    if (/^\d+$/.test(s) && n >= min && n <= max) return n;
    ctx.addIssue({ code: 'custom', message: `expected ${what}: an integer from ${min} to ${max}` });
    return z.NEVER;
  });

/** An HMAC key: long enough that guessing it is hopeless. */
const hookSecret = z.string().min(16, 'expected a secret of at least 16 characters (openssl rand -hex 32 makes one)');

/** The password of a postgres://user:password@host URL, decoded. */
const urlPassword = (url: string): string | undefined => {
  try {
    const password = new URL(url).password;
    return password === '' ? undefined : decodeURIComponent(password);
  } catch {
    return undefined;
  }
};

const envSchema = z
  .object({
    // Unset = local mode: dockhand runs against the local console's Slack emulator (src/local/).
    SLACK_BOT_TOKEN: botToken.optional(),
    SLACK_SIGNING_SECRET: z.string().optional(),
    SLACK_APP_TOKEN: slackToken('xapp-', 'an app-level token').optional(),
    SLACK_API_URL: httpUrl('the Slack Web API base URL')
      .default('https://slack.com/api/')
      .transform((url) => (url.endsWith('/') ? url : `${url}/`)),
    PORT: integer(0, 65535, 'a TCP port (0 = any free port)').default(3000),
    DOCKHAND_CONFIG: z.string().default('./dockhand.yml'),
    DOCKHAND_DATABASE_URL: z
      .string()
      .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'expected sqlite:<file>, sqlite::memory: or postgres://…')
      .default('sqlite:./data/dockhand.db'),
    LOG_LEVEL: z
      .string()
      .transform((s) => s.toLowerCase())
      .pipe(z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }))
      .default('info'),
    AWS_REGION: z.string().optional(),
    // Read only to be masked: the AWS SDK reads its credentials itself.
    AWS_SECRET_ACCESS_KEY: z.string().optional(),
    AWS_SESSION_TOKEN: z.string().optional(),
    AWS_ENDPOINT_URL: httpUrl('an endpoint URL for the AWS SDK').optional(),
    DOCKER_HOST: z
      .string()
      .regex(/^(unix|tcp|ssh|npipe|https?):\/\/.+/, 'expected a unix://, tcp:// or ssh:// URL')
      .optional(),
    DOCKHAND_SNAPSHOT_MAX_AGE_MS: integer(0, 60_000, 'an age in milliseconds').default(10_000),
    DOCKHAND_INSTANCE_ID: z.string().optional(),
    DOCKHAND_ROLLOUT_POLL_MS: integer(1, 3_600_000, 'a polling interval in milliseconds').default(4000),
    DOCKHAND_CARD_LATE_LANDING_MS: integer(1, 3_600_000, 'a duration in milliseconds').optional(),
    // Deploy triggers from outside Slack (src/http/hooks.ts): one secret per source.
    DOCKHAND_CI_SECRET: hookSecret.optional(),
    DOCKHAND_GITHUB_WEBHOOK_SECRET: hookSecret.optional(),
  })
  .transform((env) => ({
    slackBotToken: env.SLACK_BOT_TOKEN,
    /** No SLACK_BOT_TOKEN: no Slack workspace; src/local/ serves a console and a Slack emulator on 127.0.0.1. */
    localMode: env.SLACK_BOT_TOKEN === undefined,
    slackSigningSecret: env.SLACK_SIGNING_SECRET,
    slackAppToken: env.SLACK_APP_TOKEN,
    /** Socket Mode when an app-level token is given; HTTP otherwise. */
    socketMode: env.SLACK_APP_TOKEN !== undefined,
    slackApiUrl: env.SLACK_API_URL,
    port: env.PORT,
    configPath: env.DOCKHAND_CONFIG,
    databaseUrl: env.DOCKHAND_DATABASE_URL,
    logLevel: env.LOG_LEVEL as LogLevel,
    awsRegion: env.AWS_REGION,
    awsEndpointUrl: env.AWS_ENDPOINT_URL,
    dockerHost: env.DOCKER_HOST,
    /** Names this process in locks and leases when several replicas share a database. */
    // The host name: a process restarted on the same host (or container) is the same replica and takes its
    // unfinished deployments back at once; several replicas on one host each need their own id.
    instanceId: env.DOCKHAND_INSTANCE_ID ?? hostname(),
    rolloutPollMs: env.DOCKHAND_ROLLOUT_POLL_MS,
    /** How old an ECS snapshot may be and still answer /status, /dockhand ips and the watches (SharedSnapshots). */
    snapshotMaxAgeMs: env.DOCKHAND_SNAPSHOT_MAX_AGE_MS,
    /** Secret values in the environment, masked wherever they appear (see maskKnownSecrets). */
    secrets: [
      env.SLACK_BOT_TOKEN,
      env.SLACK_SIGNING_SECRET,
      env.SLACK_APP_TOKEN,
      env.AWS_SECRET_ACCESS_KEY,
      env.AWS_SESSION_TOKEN,
      urlPassword(env.DOCKHAND_DATABASE_URL),
      env.DOCKHAND_CI_SECRET,
      env.DOCKHAND_GITHUB_WEBHOOK_SECRET,
    ].filter((s): s is string => s !== undefined && s !== ''),
    /** The HMAC keys of POST /hooks/ci and POST /hooks/github; a route whose secret is unset answers 404. */
    hookSecrets: { ci: env.DOCKHAND_CI_SECRET, github: env.DOCKHAND_GITHUB_WEBHOOK_SECRET },
    /** How long a timed-out card update may still land in Slack; then the newest content is re-sent (60 s). */
    cardLateLandingMs: env.DOCKHAND_CARD_LATE_LANDING_MS,
  }));

export type Settings = Readonly<z.output<typeof envSchema>>;

const KNOWN = Object.keys(envSchema.in.shape) as (keyof typeof envSchema.in.shape)[];

/**
 * Validates the environment into frozen `Settings`. Unset and empty variables are the same (`PORT=` means
 * the default). Throws `ConfigError` listing every problem, one line per variable.
 */
export const readEnv = (env: Env = process.env): Settings => {
  const input: Record<string, string> = {};
  for (const key of KNOWN) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  const result = envSchema.safeParse(input);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`);
  // Checked here rather than in the schema so that they are reported together with every other problem.
  if (input.SLACK_BOT_TOKEN === undefined && input.SLACK_APP_TOKEN !== undefined)
    problems.push(
      'SLACK_BOT_TOKEN: not set: Socket Mode (SLACK_APP_TOKEN) needs the bot token too (unset SLACK_APP_TOKEN to use the local console instead)',
    );
  if (
    input.SLACK_BOT_TOKEN !== undefined &&
    input.SLACK_APP_TOKEN === undefined &&
    input.SLACK_SIGNING_SECRET === undefined
  )
    problems.push(
      'SLACK_SIGNING_SECRET: not set: required in HTTP mode (set it to the app’s signing secret, or set SLACK_APP_TOKEN to use Socket Mode)',
    );
  if (!result.success || problems.length > 0) throw new ConfigError('environment', [...new Set(problems)]);
  return deepFreeze(result.data);
};
