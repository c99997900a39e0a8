import type Docker from 'dockerode';
import pino from 'pino';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsDeployer } from '../../src/adapters/aws/ecs-deployer.ts';
import { PublicIpResolver } from '../../src/adapters/aws/public-ips.ts';
import { connectDocker } from '../../src/adapters/docker/connect.ts';
import { DockerImageBuilder } from '../../src/adapters/docker/image-builder.ts';
import { createImageRegistry } from '../../src/adapters/docker/registries.ts';
import { GitSourceFetcher } from '../../src/adapters/git/git-source.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { systemClock, systemRandom, systemTimers } from '../../src/adapters/system-clock.ts';
import { type Config, configSchema } from '../../src/config/schema.ts';
import { DeploymentService } from '../../src/core/deploy/service.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { isTerminal } from '../../src/domain/deployment.ts';
import type { DeploymentRecord, ImageRegistry, Store } from '../../src/ports.ts';
import { operationCard } from '../../src/slack/blocks/operate.ts';
import { deployRefusalText } from '../../src/slack/blocks/refusals.ts';
import { fakeDirectory, RecordingNotifier } from './deploy-fakes.ts';
import type { FakeAws } from './fake-aws/index.ts';
import { testRuntimes } from './runtimes.ts';

/**
 * The deploy pipeline with its real AWS adapters (AwsEcsDeployer, the ECR registry, the real SDK clients) talking
 * HTTP to the fake AWS, as src/app.ts composes them; Slack is a recording notifier. For counting AWS calls per
 * deployment (test/integration/deploy-aws-calls.test.ts, bench/deploy.ts).
 *
 * The fake finishes a rollout the moment UpdateService returns (`autoStep: 'manual'`, then enough steps), so a
 * deployment's first look at its rollout is also its last: the calls counted are the pipeline's own plus the one
 * final look that reports the new tasks and their public IPs, whatever the poll interval.
 */
export interface DeployOnFakeAws {
  service: DeploymentService;
  store: Store;
  clients: AwsClients;
  /** The cards the deployments posted. */
  notifier: RecordingNotifier;
  /** Requests a deployment as `/deploy <service> <what> to <environment>` would, and waits until it ends. */
  deploy(what: { imageTag: string } | { ref?: string }, user?: string): Promise<DeploymentRecord>;
  close(): Promise<void>;
}

/** Steps that finish a rollout of up to 10 tasks in the fake (a 2-task rollout takes 4). */
const STEPS_TO_FINISH = 12;

/** `api` deploys `image:<tag>` from ECR (the fake's), or, given a git repository and a registry, builds from git. */
export const ecrDeployConfig = (gitRepo?: string, registryAddress?: string, repository = 'acme/api'): Config =>
  configSchema.parse({
    defaults: { channel: '#deploys', region: 'us-east-1' },
    registries: {
      ecr: { type: 'ecr' },
      ...(registryAddress ? { local: { type: 'registry', address: registryAddress, insecure: true } } : {}),
    },
    services: {
      api: {
        ...(gitRepo ? { source: { git: `file://${gitRepo}`, ref: 'main' } } : {}),
        image: { registry: gitRepo ? 'local' : 'ecr', repository },
        environments: { production: { target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' } } },
      },
    },
  });

export const deployOnFakeAws = async (
  fake: FakeAws,
  options: { config: Config; docker?: Docker | undefined },
): Promise<DeployOnFakeAws> => {
  fake.autoStep = 'manual';
  const clients = createAwsClients({
    endpoint: fake.url,
    region: 'us-east-1',
    onCall: (e) => {
      if (e.service === 'ECS' && e.operation === 'UpdateService' && e.ok) fake.step(STEPS_TO_FINISH);
    },
  });
  const store = await openStore('sqlite::memory:');
  const docker = options.docker ?? connectDocker(undefined);
  const registries = new Map<string, ImageRegistry>();
  const registry = (name: string): ImageRegistry => {
    let found = registries.get(name);
    if (!found) {
      const config = options.config.registries[name];
      if (!config) throw new Error(`unknown registry ${name}`);
      found = createImageRegistry(name, config, {
        docker,
        ecr: (region) => clients.forRegion(region).ecr,
        clock: systemClock,
      });
      registries.set(name, found);
    }
    return found;
  };
  const pending = new Set<Promise<unknown>>();
  const notifier = new RecordingNotifier();
  const publicIps = new PublicIpResolver((region) => clients.forRegion(region).ec2);
  const service = new DeploymentService({
    config: options.config,
    configDir: '/tmp',
    store,
    clock: systemClock,
    timers: systemTimers,
    random: systemRandom,
    logger: pino({ level: 'silent' }),
    notifier,
    directory: fakeDirectory(),
    source: new GitSourceFetcher(),
    builder: new DockerImageBuilder(docker),
    registry,
    runtimes: testRuntimes({
      deployer: new AwsEcsDeployer({ clients, publicIps }),
      clock: systemClock,
      ...(options.config.defaults.region ? { defaultRegion: options.config.defaults.region } : {}),
    }),
    render: operationCard,
    refusals: deployRefusalText,
    instance: 'deploy-on-fake-aws',
    pollMs: 50,
    track: (work) => {
      pending.add(work);
      void work.finally(() => pending.delete(work)).catch(() => {});
      return work;
    },
  });
  const target = resolveTarget(options.config, 'api', 'production');
  return {
    service,
    store,
    clients,
    notifier,
    async deploy(what, user = 'U0DEV') {
      const outcome = await service.request({
        kind: 'deploy',
        target,
        user,
        request: 'imageTag' in what ? { type: 'image', imageTag: what.imageTag } : { type: 'git', ...what },
      });
      if (outcome.result !== 'started') throw new Error(`deployment not started: ${JSON.stringify(outcome)}`);
      for (let i = 0; i < 100 && pending.size > 0; i++) await Promise.allSettled([...pending]);
      const done = await store.getDeployment(outcome.deployment.id);
      if (!done || !isTerminal(done.state)) throw new Error(`deployment did not end: ${done?.state}`);
      return done;
    },
    async close() {
      service.stop();
      clients.destroy();
      await store.close();
    },
  };
};
