import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { App, HTTPReceiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type Docker from 'dockerode';
import { registerButtons } from '../commands/buttons/index.ts';
import { registerCommands } from '../commands/index.ts';
import { SlackRoutes } from '../commands/routes.ts';
import { AwsAutoScaling } from './adapters/aws/autoscaling.ts';
import { createAwsClients } from './adapters/aws/clients.ts';
import { AwsEcsDeployer } from './adapters/aws/ecs-deployer.ts';
import { AwsEcsReader } from './adapters/aws/ecs-reader.ts';
import { EcsRuntime } from './adapters/aws/ecs-runtime.ts';
import { AwsLogReader } from './adapters/aws/log-reader.ts';
import { PublicIpResolver } from './adapters/aws/public-ips.ts';
import { Route53Records } from './adapters/aws/route53.ts';
import { DEFAULT_SNAPSHOT_MAX_AGE_MS, forgettingChanges, SharedSnapshots } from './adapters/aws/shared-snapshots.ts';
import { TargetHealthReader } from './adapters/aws/target-health.ts';
import { lazyDocker } from './adapters/docker/connect.ts';
import { DockerRuntime } from './adapters/docker/docker-runtime.ts';
import { EngineHostRuntime } from './adapters/docker/host-runtime.ts';
import { DockerImageBuilder } from './adapters/docker/image-builder.ts';
import { createImageRegistry } from './adapters/docker/registries.ts';
import { GitSourceFetcher } from './adapters/git/git-source.ts';
import { createImageCopier } from './adapters/registry/index.ts';
import { configUses, createRuntimes } from './adapters/runtimes.ts';
import { systemClock, systemRandom, systemTimers } from './adapters/system-clock.ts';
import type { Settings } from './config/env.ts';
import type { Config } from './config/schema.ts';
import { DeploymentService } from './core/deploy/service.ts';
import { asDockhandError } from './errors.ts';
import { createHookRoutes } from './http/hooks.ts';
import { PendingAcks } from './http/pending-acks.ts';
import { createHttpServer } from './http/server.ts';
import { createScheduler } from './jobs/index.ts';
import { type Logger, maskKnownSecrets, slackLogger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { Clock, EcsReader, ImageBuilder, ImageCopier, ImageRegistry, Store } from './ports.ts';
import { dryRunCard } from './slack/blocks/deploy.ts';
import { operationCard } from './slack/blocks/operate.ts';
import { deployRefusalText } from './slack/blocks/refusals.ts';
import { connectToSlack, withToken } from './slack/connection.ts';
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
  /** Copies promoted images between registries (default: the registry adapter's; tests may pass their own). */
  imageCopier?: ImageCopier;
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

/** The start-up line's word on each mode: for HTTP, the Request URL to paste into the Slack app's config. */
const MODE_NOTES = {
  http: 'HTTP mode: Slack’s Request URL is https://<public URL of this server>/slack/events',
  socket: 'Socket Mode: this port serves only /healthz and /metrics',
  local: 'local mode',
} as const;

/** Slack Web API calls: a timeout and a bounded retry; a 429 is returned to the caller instead of pausing
 * every call of the process behind it (the card updater and notifier honour Retry-After themselves). */
const SLACK_CLIENT_OPTIONS = {
  timeout: 10_000,
  retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 2_000, randomize: true },
  rejectRateLimitedCalls: true,
} as const;

/**
 * Bolt options of both modes. No conversation store: dockhand keeps no per-conversation state in Bolt, and Bolt's
 * default in-memory store looks every request's conversation up before the listeners run, building an Error (a stack
 * trace) for each one it does not find: ~25 µs of every request before its ack (bench:ack's profile).
 */
export const BOLT_APP_OPTIONS = { convoStore: false } as const;

/** The secret values dockhand holds: the environment's credentials and the registries' passwords. */
export const secretValuesOf = (settings: Settings, config: Config): string[] => [
  ...settings.secrets,
  ...Object.values(config.registries).flatMap((r) => (r.type === 'registry' && r.password ? [r.password] : [])),
];

/** An ImageBuilder that makes its engine client on the first build. */
const lazyBuilder = (docker: () => Docker): ImageBuilder => {
  let builder: DockerImageBuilder | undefined;
  return {
    build: (request) => {
      builder ??= new DockerImageBuilder(docker());
      return builder.build(request);
    },
  };
};

/** The composition root: the only place that constructs adapters. */
export const createDockhand = (options: DockhandOptions): Dockhand => {
  const { settings, config, store, logger } = options;
  // One masker for every log line and every Slack text: these values are masked wherever they appear.
  maskKnownSecrets(secretValuesOf(settings, config));
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
  // Task definitions and public IPs are kept in the store too: a restart or another replica asks AWS nothing again.
  const cacheOptions = {
    cache: store,
    clock,
    onCacheError: (err: unknown) => logger.warn({ err }, 'AWS cache in the store unavailable; asking AWS instead'),
  };
  const publicIps = new PublicIpResolver((region) => aws.forRegion(region).ec2, cacheOptions);
  // One read of a service answers every /status, /dockhand ips and watch that wants it while in flight or fresh.
  const ecs = new SharedSnapshots({
    reader: options.ecs ?? new AwsEcsReader({ clients: aws, publicIps, ...cacheOptions }),
    clock,
    maxAgeMs: settings.snapshotMaxAgeMs,
  });

  const boltLogger = slackLogger(logger);
  const clientOptions = { ...SLACK_CLIENT_OPTIONS, slackApiUrl: settings.slackApiUrl };
  let receiver: HTTPReceiver | undefined;
  let app: App;
  if (settings.socketMode) {
    app = new App({
      ...BOLT_APP_OPTIONS,
      token: settings.slackBotToken,
      appToken: settings.slackAppToken,
      socketMode: true,
      logger: boltLogger,
      clientOptions,
      // auth.test runs in start(), where a refused token or an unreachable Slack is handled, not in the constructor.
      deferInitialization: true,
    });
  } else {
    receiver = new HTTPReceiver({
      signingSecret: settings.slackSigningSecret ?? '',
      endpoints: '/slack/events',
      logger: boltLogger,
      processBeforeResponse: false,
      // dockhand's HTTP server checks every request's signature before Bolt sees it (src/http/slack-signature.ts).
      signatureVerification: false,
    });
    app = new App({
      ...BOLT_APP_OPTIONS,
      token: settings.slackBotToken,
      receiver,
      logger: boltLogger,
      clientOptions,
      deferInitialization: true,
    });
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
    // Card updates without the client's retries: the notifier retries them, and must see every timeout.
    updateClient: new WebClient(settings.slackBotToken, {
      ...clientOptions,
      retryConfig: { retries: 0 },
      logger: boltLogger,
    }),
    clock,
    ...(settings.cardLateLandingMs === undefined ? {} : { lateLandingMs: settings.cardLateLandingMs }),
    logger, // the notifier names itself (component: notifier); a second child would repeat the key
  });
  const directory = new SlackDirectory({ client: backgroundClient, clock });
  // The build engine's client, and dockerode with it, only when a build or push first needs it (a wrong DOCKER_HOST
  // is still refused here, at start-up).
  const docker = lazyDocker(settings.dockerHost);
  const registries = new Map<string, ImageRegistry>();
  const registry = (name: string): ImageRegistry => {
    let found = registries.get(name);
    if (!found) {
      const registryConfig = config.registries[name];
      if (!registryConfig) throw new Error(`unknown registry ${name}`);
      found = createImageRegistry(name, registryConfig, {
        get docker() {
          return docker();
        },
        ecr: (region) => aws.forRegion(region).ecr,
        clock,
      });
      registries.set(name, found);
    }
    return found;
  };
  // Docker-host targets: one engine client per host URL, made when first needed.
  const host = configUses(config, 'docker') ? new EngineHostRuntime({ clock }) : undefined;
  const targetHealth = new TargetHealthReader({
    clients: aws,
    clock,
    maxAgeMs: settings.snapshotMaxAgeMs ?? DEFAULT_SNAPSHOT_MAX_AGE_MS,
    onSettledError: (err) => logger.warn({ err }, 'target health unreadable'),
  });
  const ecsDeployer = forgettingChanges(
    new AwsEcsDeployer({
      clients: aws,
      publicIps,
      targetHealth,
      logger,
      onAlarmsUnreadable: (err) => logger.warn({ err }, 'deployment alarms unreadable'),
    }),
    ecs,
  );
  // The one place a target's type picks what runs it; the core asks `runtimes.for(target)`.
  const runtimes = createRuntimes({
    ecs: new EcsRuntime({
      reader: ecs,
      deployer: ecsDeployer,
      logs: new AwsLogReader({ clients: aws }),
      clock,
      defaultRegion: config.defaults.region,
      autoScaling: new AwsAutoScaling({
        clients: aws,
        defaultRegion: config.defaults.region,
        clock,
        maxAgeMs: settings.snapshotMaxAgeMs,
      }),
      targetHealth,
    }),
    ...(host ? { docker: new DockerRuntime({ host, store, clock }) } : {}),
  });
  const deployments = new DeploymentService({
    config,
    configDir: dirname(settings.configPath),
    store,
    clock,
    timers: systemTimers,
    random: systemRandom,
    logger: logger.child({ component: 'deployments' }),
    notifier,
    directory,
    source: new GitSourceFetcher(),
    builder: lazyBuilder(docker),
    registry,
    copier:
      options.imageCopier ??
      createImageCopier(config.registries, { ecr: (region) => aws.forRegion(region).ecr, clock }),
    runtimes,
    render: operationCard,
    refusals: deployRefusalText,
    instance: settings.instanceId,
    pollMs: settings.rolloutPollMs,
    track,
  });

  const scheduler = createScheduler({
    config,
    runtimes,
    dns: new Route53Records(aws),
    store,
    notifier,
    clock,
    logger, // the scheduler names itself (component: watch)
    metrics,
    instance: settings.instanceId,
  });

  // HTTP mode: work after an ack waits until every Slack request received has been acknowledged.
  const pendingAcks = new PendingAcks();
  const acksSent = () => pendingAcks.settled();
  const commandDeps = { config, runtimes, store, clock, logger, metrics, track, acksSent };
  const routes = new SlackRoutes();
  registerCommands(routes, {
    ...commandDeps,
    deployments,
    renderDryRun: (view) => dryRunCard(view),
    directory,
    instance: settings.instanceId,
  });
  registerButtons(routes, { ...commandDeps, deployments });
  routes.install(app);
  app.error(async (error) => {
    const e = asDockhandError(error);
    metrics.errors.inc({ code: e.code });
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  // POST /hooks/ci and /hooks/github, in every mode, when their secrets are set (src/http/hooks.ts).
  const hooks = createHookRoutes({
    config,
    secrets: settings.hookSecrets,
    store,
    clock,
    request: (input) => deployments.request(input),
    logger,
    onDelivery: (source, outcome) => metrics.hookDeliveries.inc({ source, outcome }),
  });
  const extraRoutes = options.extraRoutes;

  let started = false;
  // Until Slack has been reached: why not (for /healthz); Slack's requests get 503 until then.
  let slackProblem: string | undefined = 'connecting to Slack';
  const connecting = new AbortController();
  const slackListener = receiver?.requestListener;
  const mode: keyof typeof MODE_NOTES = settings.localMode ? 'local' : settings.socketMode ? 'socket' : 'http';
  const server: Server = createHttpServer({
    metrics,
    logger,
    pendingAcks,
    signingSecret: settings.slackSigningSecret,
    slack: slackListener
      ? (req, res) => {
          if (slackProblem === undefined) return slackListener(req, res);
          req.resume();
          res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end(`dockhand is ${slackProblem}`);
        }
      : undefined,
    extra: (req, res) => hooks(req, res) || (extraRoutes ? extraRoutes(req, res) : false),
    allow: options.allowRequest,
    health: async () => {
      const checks: Record<string, string> = {
        app: started ? 'ok' : 'starting',
        config: `${Object.keys(config.services).length} services`,
        slack: slackProblem ?? (settings.socketMode ? 'socket mode' : 'http'),
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
      const port = (server.address() as AddressInfo).port;
      let initialized = false;
      // A refused token ends start-up (SlackTokenError); an unreachable Slack is retried while /healthz says so.
      await connectToSlack({
        attempt: async () => {
          // Bolt's init() is its auth.test; once it passed, a retry only reconnects Socket Mode.
          if (!initialized) await withToken('SLACK_BOT_TOKEN', () => app.init());
          initialized = true;
          if (settings.socketMode) await withToken('SLACK_APP_TOKEN', () => app.start());
        },
        clock,
        logger,
        context: { port },
        signal: connecting.signal,
        onStatus: (problem) => {
          slackProblem = problem;
        },
      });
      await deployments.resume();
      scheduler.start();
      started = true;
      logger.info(
        { port, mode, ...(mode === 'http' ? { eventsPath: '/slack/events' } : {}) },
        `dockhand is listening on port ${port} (${MODE_NOTES[mode]})`,
      );
      return port;
    },
    async stop(timeoutMs = 10_000) {
      started = false;
      connecting.abort(new Error('shutting down'));
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
