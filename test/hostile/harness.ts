import { openStore } from '../../src/adapters/store/index.ts';
import type { AuditEvent, Store } from '../../src/ports.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import {
  type FakeSlack,
  type SlackRequestClient,
  type StoredMessage,
  signedClient,
  startTestSlack,
  TEST_BOT_TOKEN,
  TEST_SIGNING_SECRET,
} from '../support/slack/index.ts';

/**
 * The hostile suite's world: dockhand as a process (`node src/main.ts`) between the fake Slack and the fake AWS,
 * with a config that needs no Docker engine (ECR `image:<tag>` deploys). A requests, B approves, M is nobody.
 */
export const A = 'U0ALICE';
export const B = 'U0BOB';
export const C = 'U0CAROL';
export const M = 'U0MALLORY';

export const REPO = 'acme/api';
export const REGISTRY_PASSWORD = 'Tr0ub4dor-hostile-registry';
export const AWS_SECRET = 'fake-secret-access-key';
/** Every secret value the process holds: none may reach Slack. */
export const SECRETS = [TEST_BOT_TOKEN, TEST_SIGNING_SECRET, REGISTRY_PASSWORD, AWS_SECRET];

export const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  ecr: { type: ecr }
  inhouse: { type: registry, address: "127.0.0.1:5999", username: bot, password: "\${REGISTRY_PASSWORD}" }
approvals:
  prod: { approvers: ["${B}", "${C}"], required: 1, expiresAfter: 30m }
services:
  api:
    image: { registry: ecr, repository: ${REPO} }
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app }, approval: prod }
      staging: { target: { type: ecs, cluster: staging, service: api, container: app } }
  web:
    image: { registry: ecr, repository: acme/web }
    environments:
      production: { target: { type: ecs, cluster: prod, service: web, container: app }, approval: prod }
  worker:
    image: { registry: ecr, repository: acme/worker }
    environments:
      production: { target: { type: ecs, cluster: prod, service: worker, container: app }, approval: prod }
`;

/** dockhand's environment in the hostile suite: fast rollout polling, the registry password, `env` on top. */
export const hostileEnv = (env: Record<string, string> = {}): Record<string, string> => ({
  DOCKHAND_ROLLOUT_POLL_MS: '100',
  REGISTRY_PASSWORD,
  LOG_LEVEL: 'info',
  ...env,
});

export interface Hostile {
  aws: FakeAws;
  awsUrl: string;
  slack: FakeSlack;
  dockhand: DockhandProcess;
  client: SlackRequestClient;
  /** Reads the process's SQLite store (a second connection; closed after `use`). */
  withStore<T>(use: (store: Store) => Promise<T>): Promise<T>;
  /** Every audit event, oldest first. */
  audit(): Promise<AuditEvent[]>;
  /** GET /healthz status. */
  health(): Promise<number>;
  card(predicate: (m: StoredMessage) => boolean, timeoutMs?: number): Promise<StoredMessage>;
  close(): Promise<void>;
}

/** Starts the fakes and dockhand; `env` is added to dockhand's (its DOCKHAND_DATABASE_URL also serves withStore). */
export const startHostile = async (env: Record<string, string> = {}): Promise<Hostile> => {
  const aws = new FakeAws();
  const { url } = await aws.start();
  for (const [cluster, service, repository] of [
    ['prod', 'api', REPO],
    ['staging', 'api', REPO],
    ['prod', 'web', 'acme/web'],
    ['prod', 'worker', 'acme/worker'],
  ] as const) {
    aws.seedService({
      cluster,
      service,
      family: `${service}-${cluster}`,
      desiredCount: 2,
      containers: [{ name: 'app', image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${repository}:1.0.0` }],
    });
  }
  aws.putImage(REPO, '1.1.0', `sha256:${'1'.repeat(64)}`);
  aws.putImage(REPO, '1.2.0', `sha256:${'2'.repeat(64)}`);
  aws.putImage('acme/web', '2.0.0', `sha256:${'3'.repeat(64)}`);
  aws.putImage('acme/worker', '3.0.0', `sha256:${'4'.repeat(64)}`);
  const slack = await startTestSlack();
  const dockhand = await startDockhand({
    config: CONFIG,
    slackApiUrl: slack.apiUrl,
    awsEndpointUrl: url,
    env: hostileEnv(env),
  });
  const client = signedClient(slack, dockhand.eventsUrl);
  const withStore = async <T>(use: (store: Store) => Promise<T>): Promise<T> => {
    const store = await openStore(env.DOCKHAND_DATABASE_URL ?? `sqlite:${dockhand.dir}/dockhand.db`);
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  };
  return {
    aws,
    awsUrl: url,
    slack,
    dockhand,
    client,
    withStore,
    audit: () => withStore(async (store) => (await store.listAudit({ limit: 100_000 })).reverse()),
    health: async () => (await fetch(`${dockhand.url}/healthz`)).status,
    card: (predicate, timeoutMs = 30_000) =>
      slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs),
    close: async () => {
      await dockhand.stop();
      await slack.close();
      await aws.stop();
      removeDir(dockhand.dir);
    },
  };
};

/** Markup only an attacker would write (ids that are nobody in the config): none may come out unescaped. */
export const HOSTILE_MARKUP =
  /<!channel>|<!here>|<!everyone>|<@U0EVIL|<@W0EVIL|<!subteam\^S0EVIL|<#C0EVIL|<https?:\/\/evil|<mailto:|<!date\^1\^/;

/** The first hostile control sequence or secret in `text`, or undefined when it is clean. */
export const firstLeak = (text: string, secrets: readonly string[] = SECRETS): string | undefined => {
  const markup = HOSTILE_MARKUP.exec(text);
  if (markup) return `unescaped ${markup[0]}`;
  const secret = secrets.find((s) => text.includes(s));
  if (secret) return `secret ${secret.slice(0, 8)}…`;
  if (/xoxb-\d+-\d+-[A-Za-z]+/.test(text)) return 'a Slack token';
  return undefined;
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The total of the fake AWS's call counters (injected faults included). */
export const awsCallCount = (aws: FakeAws): number => aws.requests.length;
