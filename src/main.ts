/**
 * Entry point: read the environment and config, open the store, build the app, start it, and shut down
 * gracefully on SIGTERM/SIGINT. Everything that can be wrong at start-up is reported in plain words and exits 1.
 */
import { openStore } from './adapters/store/index.ts';
import { createDockhand } from './app.ts';
import { readEnv } from './config/env.ts';
import { loadConfig } from './config/load.ts';
import { ConfigError, errorMessage } from './errors.ts';
import { missingHookSecrets } from './http/hooks.ts';
import { type LocalMode, prepareLocalMode } from './local/local-mode.ts';
import { createLogger } from './logger.ts';
import { SlackTokenError } from './slack/connection.ts';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `dockhand needs Node.js 24 or later; this is ${process.version}. Run it with \`npm start\`, which uses the Node 24 that \`npm ci\` installs.\n`,
  );
  process.exit(1);
}

const fail = (what: string, error: unknown): never => {
  const text = error instanceof ConfigError ? error.message : errorMessage(error);
  process.stderr.write(`dockhand cannot start: ${what}\n${text}\n`);
  process.exit(1);
};

const envSettings = (() => {
  try {
    return readEnv(process.env);
  } catch (e) {
    return fail('the environment is not usable', e);
  }
})();
const logger = createLogger(envSettings.logLevel);
// No SLACK_BOT_TOKEN: local mode, against the console's Slack emulator on 127.0.0.1 (src/local/).
const local: LocalMode | undefined = envSettings.localMode
  ? await prepareLocalMode(envSettings, process.env).catch((e: unknown) => fail('local mode could not start', e))
  : undefined;
for (const line of local?.banner ?? []) logger.info({ mode: 'local' }, line);
const settings = local?.settings ?? envSettings;
const config = await loadConfig({ path: settings.configPath, env: local?.configEnv ?? process.env }).catch(
  (e: unknown) => fail(`the config file ${settings.configPath} is not valid`, e),
);
const missingSecrets = missingHookSecrets(config, settings.hookSecrets);
if (missingSecrets.length > 0) fail('the environment is not usable', new ConfigError('environment', missingSecrets));
const store = await openStore(settings.databaseUrl, { instance: settings.instanceId }).catch((e: unknown) =>
  fail('the store could not be opened', e),
);

const dockhand = createDockhand({
  settings,
  config,
  store,
  logger,
  ...(local ? { listenHost: local.listenHost, extraRoutes: local.extraRoutes, allowRequest: local.allowRequest } : {}),
});
let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing in-flight requests');
  local?.stop();
  dockhand
    .stop(10_000)
    .then(() => store.close())
    .then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
};
// Registered before start: a SIGTERM while Slack is still out of reach stops dockhand the same graceful way.
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

const started = await dockhand.start().then(
  () => true,
  (e: unknown) => {
    if (stopping) return false; // stopped while waiting for Slack: shutdown() exits
    // A token Slack refuses is the operator's to fix: one line naming the variable, no stack trace.
    if (e instanceof SlackTokenError) {
      process.stderr.write(`dockhand cannot start: ${e.message}\n`);
      process.exit(1);
    }
    const code = e && typeof e === 'object' && 'code' in e ? e.code : undefined;
    if (code === 'EADDRINUSE') {
      process.stderr.write(
        `dockhand cannot start: port ${settings.port} is already in use: stop what listens there, or set PORT to another port (0 picks a free one).\n`,
      );
      process.exit(1);
    }
    const listening = e && typeof e === 'object' && 'syscall' in e && e.syscall === 'listen';
    return fail(listening ? `could not listen on port ${settings.port} (PORT)` : 'start-up failed', e);
  },
);
if (started && local) logger.info({ mode: 'local', url: `${local.url}/` }, `the console is ready: open ${local.url}/`);
