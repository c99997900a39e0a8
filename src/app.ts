import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { App, HTTPReceiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { registerActions } from '../commands/actions.ts';
import { registerCommands } from '../commands/index.ts';
import { createAwsClients } from './adapters/aws/clients.ts';
import { AwsEcsDeployer } from './adapters/aws/ecs-deployer.ts';
import { AwsEcsReader } from './adapters/aws/ecs-reader.ts';
import { AwsLogReader } from './adapters/aws/log-reader.ts';
import { PublicIpResolver } from './adapters/aws/public-ips.ts';
import { connectDocker } from './adapters/docker/connect.ts';
import { EngineHostRuntime } from './adapters/docker/host-runtime.ts';
import { DockerImageBuilder } from './adapters/docker/image-builder.ts';
import { createImageRegistry } from './adapters/docker/registries.ts';
import { GitSourceFetcher } from './adapters/git/git-source.ts';
import { systemClock } from './adapters/system-clock.ts';
import type { Settings } from './config/env.ts';
import type { Config } from './config/schema.ts';
import { DeploymentService } from './core/deploy/service.ts';
import { asDockhandError } from './errors.ts';
import { createHttpServer } from './http/server.ts';
import { createScheduler } from './jobs/index.ts';
import { type Logger, slackLogger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { Clock, EcsReader, ImageRegistry, Store } from './ports.ts';
import { dryRunCard } from './slack/blocks/deploy.ts';
import { operationCard } from './slack/blocks/operate.ts';
import { SlackDirectory } from './slack/directory.ts';
import { SlackNotifier } from './slack/notifier.ts';

export interface DockhandOptions {
  settings: Settings;
  config: Config;
  store: Store;
  logger: Logger;
  /** Overrides for tests; by default the real clock and the AWS adapters. */
  clock?: Clock;
  ecs?: EcsReader;
  /** Local mode: the address to listen on (default all interfaces) and extra HTTP routes (console, emulator). */
  listenHost?: string;
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Local mode: refuses requests from anywhere but the console's own origin, on every route (see createHttpServer). */
  allowRequest?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface Dockhand {
  readonly metrics: Metrics;
  /** Starts the HTTP server (and Socket Mode when configured); resolves with the port it listens on. */
  start(): Promise<number>;
  /** Stops taking requests, lets in-flight work finish (bounded), and closes clients. The store is the caller's. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Slack Web API calls: a timeout and a bounded retry; a 429 is returned to the caller instead of pausing
 * every call of the process behind it (the card updater and notifier honour Retry-After themselves). */
const SLACK_CLIENT_OPTIONS = {
  timeout: 10_000,
  retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 2_000, randomize: true },
  rejectRateLimitedCalls: true,
} as const;

/** The composition root: the only place that constructs adapters. */
export const createDockhand = (options: DockhandOptions): Dockhand => {
  const { settings, config, store, logger } = options;
  const clock = options.clock ?? systemClock;
  const metrics = createMetrics();
  const aws = createAwsClients({
    region: settings.awsRegion ?? config.defaults.region,
    endpoint: settings.awsEndpointUrl,
    onCall: (e) =>
      metrics.awsCalls.inc({
        service: e.service,
        operation: e.operation,
        outcome: e.ok ? 'ok' : (e.errorName ?? 'error'),
      }),
  });
  const publicIps = new PublicIpResolver((region) => aws.forRegion(region).ec2);
  const ecs = options.ecs ?? new AwsEcsReader({ clients: aws, publicIps });

  const boltLogger = slackLogger(logger);
  const clientOptions = { ...SLACK_CLIENT_OPTIONS, slackApiUrl: settings.slackApiUrl };
  let receiver: HTTPReceiver | undefined;
  let app: App;
  if (settings.socketMode) {
    app = new App({
      token: settings.slackBotToken,
      appToken: settings.slackAppToken,
      socketMode: true,
      logger: boltLogger,
      clientOptions,
    });
  } else {
    receiver = new HTTPReceiver({
      signingSecret: settings.slackSigningSecret ?? '',
      endpoints: '/slack/events',
      logger: boltLogger,
      processBeforeResponse: false,
    });
    app = new App({ token: settings.slackBotToken, receiver, logger: boltLogger, clientOptions });
  }

  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    const forget = () => inFlight.delete(work);
    work.then(forget, forget);
    return work;
  };

  // Background posts (cards, alerts) use their own client: a 429 there never delays an interactive reply.
  const backgroundClient = new WebClient(settings.slackBotToken, { ...clientOptions, logger: boltLogger });
  const notifier = new SlackNotifier({
    client: backgroundClient,
    clock,
    logger: logger.child({ component: 'notifier' }),
  });
  const directory = new SlackDirectory({ client: backgroundClient, clock });
  const docker = connectDocker(settings.dockerHost);
  const registries = new Map<string, ImageRegistry>();
  const registry = (name: string): ImageRegistry => {
    let found = registries.get(name);
    if (!found) {
      const registryConfig = config.registries[name];
      if (!registryConfig) throw new Error(`unknown registry ${name}`);
      found = createImageRegistry(name, registryConfig, { docker, ecr: (region) => aws.forRegion(region).ecr, clock });
      registries.set(name, found);
    }
    return found;
  };
  // Docker-host targets: one engine client per host URL, made when first needed.
  const usesHosts = Object.values(config.services).some((svc) =>
    Object.values(svc.environments).some((env) => env.target.type === 'docker'),
  );
  const host = usesHosts ? new EngineHostRuntime({ clock }) : undefined;
  const deployments = new DeploymentService({
    config,
    configDir: dirname(settings.configPath),
    store,
    clock,
    logger: logger.child({ component: 'deployments' }),
    notifier,
    directory,
    source: new GitSourceFetcher(),
    builder: new DockerImageBuilder(docker),
    registry,
    ecs: new AwsEcsDeployer({ clients: aws, publicIps }),
    host,
    render: operationCard,
    instance: settings.instanceId,
    pollMs: settings.rolloutPollMs,
    track,
  });

  const scheduler = createScheduler({
    config,
    ecs,
    host,
    store,
    notifier,
    clock,
    logger: logger.child({ component: 'watch' }),
    metrics,
    instance: settings.instanceId,
  });

  const commandDeps = { config, ecs, host, store, clock, logger, metrics, track };
  registerCommands(app, {
    ...commandDeps,
    deployments,
    renderDryRun: (view) => dryRunCard(view),
    logs: new AwsLogReader({ clients: aws }),
    directory,
    instance: settings.instanceId,
  });
  registerActions(app, { ...commandDeps, deployments });
  app.error(async (error) => {
    const e = asDockhandError(error);
    metrics.errors.inc({ code: e.code });
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  let started = false;
  const server: Server = createHttpServer({
    metrics,
    logger,
    slack: receiver?.requestListener,
    extra: options.extraRoutes,
    allow: options.allowRequest,
    health: async () => {
      const checks: Record<string, string> = {
        app: started ? 'ok' : 'starting',
        config: `${Object.keys(config.services).length} services`,
        slack: settings.socketMode ? 'socket mode' : 'http',
      };
      try {
        await store.ping();
        checks.store = 'ok';
      } catch (err) {
        logger.warn({ err }, 'store ping failed');
        checks.store = 'unavailable';
      }
      return { ok: started && checks.store === 'ok', checks };
    },
  });

  return {
    metrics,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        if (options.listenHost) server.listen(settings.port, options.listenHost, () => resolve());
        else server.listen(settings.port, () => resolve());
      });
      if (settings.socketMode) await app.start();
      await deployments.resume();
      scheduler.start();
      started = true;
      const port = (server.address() as AddressInfo).port;
      logger.info({ port, mode: settings.socketMode ? 'socket' : 'http' }, 'dockhand is listening');
      return port;
    },
    async stop(timeoutMs = 10_000) {
      started = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (settings.socketMode) await app.stop().catch(() => {});
      deployments.stop();
      await scheduler.stop();
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
      const drained = await Promise.race([Promise.allSettled([...inFlight]).then(() => 'drained' as const), deadline]);
      if (drained === 'timeout') logger.warn({ pending: inFlight.size }, 'stopped with work still in flight');
      server.closeAllConnections();
      await closed;
      // Final card updates get a few seconds; a Slack that keeps rate-limiting must not hold the shutdown.
      const flushed = await Promise.race([
        notifier.flush().then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 5_000).unref()),
      ]);
      if (!flushed) logger.warn('stopped before every card update reached Slack');
      aws.destroy();
    },
  };
};
