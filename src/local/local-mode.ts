/**
 * Local mode: no SLACK_BOT_TOKEN, so no Slack workspace. dockhand then talks to the Slack emulator
 * (src/slack-emulator) mounted on its own HTTP server, bound to 127.0.0.1, and a console page at / plays the
 * Slack client: people type slash commands and click buttons, and the emulator sends them to dockhand as signed
 * requests, exactly as Slack would. Nothing in dockhand's command or card code knows it is not talking to Slack.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectDocker } from '../adapters/docker/connect.ts';
import type { Settings } from '../config/env.ts';
import type { Env } from '../config/load.ts';
import { errorMessage } from '../errors.ts';
import { createSlackRequestClient } from '../slack-emulator/requests.ts';
import { SlackEmulatorState } from '../slack-emulator/state.ts';
import { createSlackWebApiHandler } from '../slack-emulator/web-api.ts';
import { createConsoleRoutes, type EngineStatus } from './console-routes.ts';
import { exampleEnv, LOCAL_CONFIG_PATH, localId } from './example.ts';

export const LOCAL_HOST = '127.0.0.1';

export { LOCAL_CONFIG_PATH } from './example.ts';

/** The console's people: a requester and an approver (a member of the group examples/dockhand.local.yml names). */
export const LOCAL_PEOPLE = [
  { id: 'U0LOCALDEV', name: 'dev', real_name: 'Dev (requester)' },
  { id: 'U0LOCALLEAD', name: 'lead', real_name: 'Lead (approver)' },
] as const;
export const LOCAL_APPROVERS_GROUP = { id: 'S0LOCALLEADS', handle: 'leads', members: ['U0LOCALLEAD'] } as const;
export const LOCAL_CHANNEL = '#deploys';

/** The emulator's routes on dockhand's server (everything else is dockhand's or the console's). */
const EMULATOR_PATHS = ['/api/', '/response/', '/upload/v1/', '/files/', '/_emulator/'];

export interface LocalMode {
  /** The settings dockhand runs with: a local bot token and signing secret, the emulator as Slack Web API. */
  settings: Settings;
  listenHost: string;
  url: string;
  state: SlackEmulatorState;
  extraRoutes: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** For every route of the server, /healthz and /metrics included: false (after a 403) for a foreign Host or Origin. */
  allowRequest: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** The environment to read the config with: the process's, plus this checkout's DOCKHAND_LOCAL_ID. */
  configEnv: Env;
  /** What to log first, one line each. */
  banner: string[];
  stop(): void;
}

/** A free TCP port on 127.0.0.1: the bot's Web API clients need the emulator's URL before dockhand listens. */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, LOCAL_HOST, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

/**
 * `GET /_ping` on an engine's unix socket, as `docker info` starts: answered 200 "OK" by every engine. Without
 * dockerode, whose import (with docker-modem, ssh2 and gRPC) was most of what local mode loaded beyond HTTP mode while
 * idle (bench:rss); the engine client is made when something is built or run.
 */
const pingSocket = (socketPath: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', headers: { host: 'docker' } }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`the engine answered HTTP ${res.statusCode} to /_ping`));
    });
    req.on('error', reject);
    req.end();
  });

/** The socket of a unix:// DOCKER_HOST (or the default one); undefined for the engines dockerode must reach. */
const unixSocketOf = (host: string | undefined): string | undefined => {
  if (host === undefined || host === '') return '/var/run/docker.sock';
  if (!host.startsWith('unix://')) return undefined;
  try {
    return decodeURIComponent(new URL(host).pathname);
  } catch {
    return undefined;
  }
};

/** Pings the engine that builds images (DOCKER_HOST) and says, in words, what is missing when none answers. */
const engineProbe = (host: string | undefined) => {
  const shown = host ?? 'unix:///var/run/docker.sock';
  const socketPath = unixSocketOf(host);
  return async (): Promise<EngineStatus> => {
    try {
      await Promise.race([
        socketPath === undefined ? connectDocker(host).ping() : pingSocket(socketPath),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000).unref()),
      ]);
      return { ok: true, host: shown };
    } catch (e) {
      return {
        ok: false,
        host: shown,
        message:
          `No Docker engine answers at ${shown} (${errorMessage(e)}). dockhand builds and runs the example service ` +
          'on a Docker engine: start Docker (or set DOCKER_HOST to one) and restart `npm start`. ' +
          'Commands still answer, with the error dockhand gives.',
      };
    }
  };
};

/**
 * Prepares local mode from the environment's settings: picks the port, seeds the emulator with the console's
 * people, and returns the settings and routes to build dockhand with.
 */
export const prepareLocalMode = async (settings: Settings, env: Env): Promise<LocalMode> => {
  const configEnv = exampleEnv(env);
  const port = settings.port === 0 ? await freePort() : settings.port;
  const url = `http://${LOCAL_HOST}:${port}`;
  const token = `xoxb-local-${randomBytes(12).toString('hex')}`;
  const signingSecret = randomBytes(32).toString('hex');

  const state = new SlackEmulatorState({ tokens: [token], baseUrl: url, team: { name: 'dockhand (local)' } });
  for (const person of LOCAL_PEOPLE) state.addUser({ ...person });
  state.addUsergroup(LOCAL_APPROVERS_GROUP.id, [...LOCAL_APPROVERS_GROUP.members], {
    handle: LOCAL_APPROVERS_GROUP.handle,
  });
  state.addChannel({ name: LOCAL_CHANNEL });

  const emulator = createSlackWebApiHandler(state, { baseUrl: url });
  const requests = createSlackRequestClient({
    url: `${url}/slack/events`,
    signingSecret,
    state,
    defaultChannel: LOCAL_CHANNEL,
  });
  const consoleRoutes = createConsoleRoutes({
    state,
    requests,
    people: LOCAL_PEOPLE.map((p) => p.id),
    channel: LOCAL_CHANNEL,
    probeEngine: engineProbe(settings.dockerHost),
    origins: [url, `http://localhost:${port}`],
  });

  const configPath = env.DOCKHAND_CONFIG?.trim() ? settings.configPath : LOCAL_CONFIG_PATH;
  return {
    settings: Object.freeze({
      ...settings,
      slackBotToken: token,
      slackSigningSecret: signingSecret,
      slackApiUrl: `${url}/api/`,
      port,
      configPath,
    }),
    listenHost: LOCAL_HOST,
    url,
    configEnv,
    state,
    allowRequest: (req, res) => consoleRoutes.allowed(req, res),
    extraRoutes: async (req, res) => {
      if (!consoleRoutes.allowed(req, res)) return true;
      if (await consoleRoutes.handle(req, res)) return true;
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (EMULATOR_PATHS.some((prefix) => path.startsWith(prefix))) return emulator(req, res);
      return false;
    },
    banner: [
      `local mode: SLACK_BOT_TOKEN is not set, so dockhand runs without Slack. Open the console at ${url}/`,
      'to use a real Slack workspace instead, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (README: "Creating the Slack app")',
      `config: ${configPath}${configPath === LOCAL_CONFIG_PATH ? ` (the bundled example, named for this checkout: ${localId(env)}; \`npm run local:clean\` removes what it left on the engine; set DOCKHAND_CONFIG to use yours)` : ''}`,
    ],
    stop: () => consoleRoutes.stop(),
  };
};
