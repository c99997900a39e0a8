/**
 * AWS calls per operation (issue 12), against the fake AWS over HTTP with the real SDK clients and adapters:
 *   - one /deploy from git (build + push on the Docker engine of DOCKER_HOST and the registry of
 *     DOCKHAND_TEST_REGISTRY), first after start (cold) and the next one (warm); skipped with a notice without engine;
 *   - the same for /deploy image:<tag> (ECR on the fake AWS; no engine needed);
 *   - fifty concurrent `/status api`: through SharedSnapshots as src/app.ts wires it, and with the bare AwsEcsReader
 *     (every request its own read, as before) as the baseline, measured in the same run.
 * The fake finishes each rollout when UpdateService returns, so a deploy's count is the pipeline's own calls plus
 * one final look at the rollout (the IP report), whatever the poll interval. A benchmark, not a test: it asserts
 * nothing. One `BENCH {json}` line per figure.
 *
 *   eval "$(bash scripts/test-services.sh env)"; npm run bench:deploy
 */
import { randomBytes } from 'node:crypto';
import { createAwsClients } from '../src/adapters/aws/clients.ts';
import { AwsEcsDeployer } from '../src/adapters/aws/ecs-deployer.ts';
import { AwsEcsReader } from '../src/adapters/aws/ecs-reader.ts';
import { EcsRuntime } from '../src/adapters/aws/ecs-runtime.ts';
import { AwsLogReader } from '../src/adapters/aws/log-reader.ts';
import { SharedSnapshots } from '../src/adapters/aws/shared-snapshots.ts';
import { createRuntimes } from '../src/adapters/runtimes.ts';
import { systemClock } from '../src/adapters/system-clock.ts';
import { configSchema } from '../src/config/schema.ts';
import { describeOne } from '../src/core/status.ts';
import { resolveTarget } from '../src/core/targets.ts';
import type { EcsReader } from '../src/ports.ts';
import { deployOnFakeAws, ecrDeployConfig } from '../test/support/deploy-on-fake-aws.ts';
import { dockerFromEnv, git, makeBusyboxGitRepo, testRegistry } from '../test/support/docker.ts';
import { FakeAws } from '../test/support/fake-aws/index.ts';

process.env.AWS_ACCESS_KEY_ID ??= 'AKIAFAKEFAKEFAKEFAKE';
process.env.AWS_SECRET_ACCESS_KEY ??= 'fake-secret';

const BURST = 50;

type Calls = Record<string, number>;
const sum = (calls: Calls, prefix = '') =>
  Object.entries(calls)
    .filter(([key]) => key.startsWith(prefix))
    .reduce((a, [, n]) => a + n, 0);
const perOperation = (calls: Calls) =>
  Object.entries(calls)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, n]) => `${key} ${n}`)
    .join(', ');

const bench = (figure: string, value: number, unit: string, baseline?: number) => {
  const line: Record<string, unknown> = { figure, value, unit };
  if (baseline !== undefined) Object.assign(line, { baseline, ratio: baseline === 0 ? 0 : value / baseline });
  console.log(`BENCH ${JSON.stringify(line)}`);
};

const seedApi = (fake: FakeAws, image: string) => {
  fake.seedService({
    cluster: 'prod',
    service: 'api',
    family: 'api',
    desiredCount: 2,
    containers: [{ name: 'app', image }],
  });
};

/** Two deploys in one process: the first after start (cold caches), then the next (warm). */
const countDeploys = async (
  label: string,
  setup: (fake: FakeAws) => Promise<{
    pipeline: Awaited<ReturnType<typeof deployOnFakeAws>>;
    first: () => Promise<unknown>;
    second: () => Promise<unknown>;
  }>,
) => {
  const fake = new FakeAws();
  await fake.start();
  const { pipeline, first, second } = await setup(fake);
  try {
    for (const [when, run] of [
      ['cold', first],
      ['warm', second],
    ] as const) {
      fake.resetCalls();
      const done = (await run()) as { state: string; reason?: string };
      const calls = fake.calls;
      console.log(`  ${label} (${when}): ${done.state}${done.reason ? ` (${done.reason})` : ''}`);
      console.log(`    ${perOperation(calls)}`);
      // The issue's figure is the deploy from git: it goes by the plain name.
      const what = label === 'from git' ? '' : ` ${label}`;
      bench(`ecs calls per deploy${what} (${when})`, sum(calls, 'ECS.'), 'calls');
      bench(`aws calls per deploy${what} (${when})`, sum(calls), 'calls');
    }
  } finally {
    await pipeline.close();
    await fake.stop();
  }
};

console.log('AWS calls per /deploy (fake AWS over HTTP; the final look at the rollout, with its IPs, included)\n');

await countDeploys('image:<tag>', async (fake) => {
  seedApi(fake, '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:1.4.1');
  fake.putImage('acme/api', '1.4.2');
  fake.putImage('acme/api', '1.4.3');
  const pipeline = await deployOnFakeAws(fake, { config: ecrDeployConfig() });
  return {
    pipeline,
    first: () => pipeline.deploy({ imageTag: '1.4.2' }),
    second: () => pipeline.deploy({ imageTag: '1.4.3' }),
  };
});

const docker = await dockerFromEnv();
if (!docker) {
  console.log('\n  from git: skipped, no Docker engine (DOCKER_HOST); `bash scripts/test-services.sh env` sets one up');
} else {
  const repo = await makeBusyboxGitRepo({ dockerfileExtra: 'CMD ["sleep", "3600"]' });
  const repository = `dockhand-bench/deploy-${randomBytes(4).toString('hex')}`;
  const registry = testRegistry();
  const built: string[] = [];
  try {
    await countDeploys('from git', async (fake) => {
      seedApi(fake, `${registry}/${repository}:0000000`);
      const pipeline = await deployOnFakeAws(fake, {
        config: ecrDeployConfig(repo.path, registry, repository),
        docker,
      });
      const deployHead = async () => {
        built.push(`${registry}/${repository}:${(await git(repo.path, 'rev-parse', 'HEAD')).slice(0, 7)}`);
        return pipeline.deploy({});
      };
      return {
        pipeline,
        first: deployHead,
        second: async () => {
          await git(repo.path, 'commit', '-q', '--allow-empty', '-m', 'next');
          return deployHead();
        },
      };
    });
  } finally {
    await repo.cleanup();
    for (const tag of built)
      await docker
        .getImage(tag)
        .remove()
        .catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------------

console.log(`\n${BURST} concurrent /status api (describe with tasks and public IPs)\n`);
const config = configSchema.parse({
  defaults: { channel: '#deploys', region: 'us-east-1' },
  services: {
    api: {
      environments: { production: { target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' } } },
    },
  },
});
const target = resolveTarget(config, 'api', 'production');

const burst = async (wrap: (reader: EcsReader) => EcsReader): Promise<Calls> => {
  const fake = new FakeAws();
  await fake.start();
  seedApi(fake, 'acme/api:1');
  const clients = createAwsClients({ endpoint: fake.url, region: 'us-east-1' });
  try {
    const ecs = wrap(new AwsEcsReader({ clients }));
    // What /status is given in app.ts: the ECS runtime over the (shared) reader.
    const statusDeps = {
      config,
      runtimes: createRuntimes({
        ecs: new EcsRuntime({
          reader: ecs,
          deployer: new AwsEcsDeployer({ clients }),
          logs: new AwsLogReader({ clients }),
          clock: systemClock,
          defaultRegion: config.defaults.region,
        }),
      }),
    };
    // Arrivals spread over the first reads, as Slack delivers a channel's burst.
    await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i));
        await describeOne(statusDeps, target);
      }),
    );
    return fake.calls;
  } finally {
    clients.destroy();
    await fake.stop();
  }
};

const before = await burst((reader) => reader);
const after = await burst((reader) => new SharedSnapshots({ reader, clock: systemClock }));
console.log(`  each its own read (before): ${sum(before)} calls: ${perOperation(before)}`);
console.log(`  shared snapshots (now):     ${sum(after)} calls: ${perOperation(after)}`);
bench(`aws calls for ${BURST} concurrent /status api`, sum(after), 'calls', sum(before));
