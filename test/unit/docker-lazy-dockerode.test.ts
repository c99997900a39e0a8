import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

/**
 * In a fresh Node process (this one's module cache may have seen dockerode): load every module that talks to a
 * Docker engine, make a dockhand whose only target is ECS, check a wrong engine URL, make a lazy engine client and
 * then use it, and list after each step which of dockerode's packages have been loaded.
 */
const probe = `
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/');
const loaded = () => [...new Set(Object.keys(require.cache)
  .map((path) => /node_modules\\/(dockerode|docker-modem|ssh2|@grpc\\/grpc-js)\\//.exec(path)?.[1])
  .filter((name) => name !== undefined))].sort();
const { createDockhand } = await import('./src/app.ts');
const { connectDocker, lazyDocker } = await import('./src/adapters/docker/connect.ts');
await import('./src/adapters/docker/host-runtime.ts');
await import('./src/adapters/docker/image-builder.ts');
await import('./src/adapters/docker/registries.ts');
await import('./src/local/local-mode.ts');
const { readEnv } = await import('./src/config/env.ts');
const { parseConfig } = await import('./src/config/load.ts');
const { openStore } = await import('./src/adapters/store/index.ts');
const { createLogger } = await import('./src/logger.ts');
const steps = { afterImport: loaded() };

const store = await openStore('sqlite::memory:');
const dockhand = createDockhand({
  settings: readEnv({ SLACK_BOT_TOKEN: 'xoxb-probe', SLACK_SIGNING_SECRET: 'probe-secret', AWS_REGION: 'us-east-1' }),
  config: parseConfig(
    'defaults: { channel: "#deploys", region: us-east-1 }\\nservices:\\n  api:\\n    environments:\\n' +
      '      production: { target: { type: ecs, cluster: prod, service: api, container: app } }\\n',
    { env: {} },
  ),
  store,
  logger: createLogger('silent'),
});
steps.afterEcsDockhand = loaded();
await dockhand.stop(1000);
await store.close();

try {
  lazyDocker('nonsense://engine');
  steps.wrongUrl = 'accepted';
} catch (e) {
  steps.wrongUrl = e.code + ': ' + e.message;
}
try {
  connectDocker('nonsense://engine');
} catch {}
steps.afterWrongUrl = loaded();

const engine = lazyDocker('tcp://127.0.0.1:1');
steps.afterLazyClient = loaded();
const client = engine();
steps.sameClient = engine() === client;
steps.afterFirstUse = loaded().filter((name) => name === 'dockerode' || name === 'docker-modem');
console.log(JSON.stringify(steps));
`;

describe('dockerode (with docker-modem, ssh2 and gRPC, about 34 MiB) is loaded only when an engine is used', () => {
  it('loads none of it for an ECS-only dockhand or a refused URL, and dockerode on the first use of a client', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '{}')).toEqual({
      afterImport: [],
      afterEcsDockhand: [],
      wrongUrl: 'config: Docker host "nonsense://engine": expected unix://, tcp:// or ssh://',
      afterWrongUrl: [],
      afterLazyClient: [],
      sameClient: true,
      afterFirstUse: ['docker-modem', 'dockerode'],
    });
  });
});
