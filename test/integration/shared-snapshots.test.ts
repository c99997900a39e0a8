/**
 * SharedSnapshots between the watch and /status: the real AwsEcsReader against the fake AWS over HTTP, the real
 * scheduler, the /status use case (src/core/status.ts), as src/app.ts wires them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsDeployer } from '../../src/adapters/aws/ecs-deployer.ts';
import { AwsEcsReader } from '../../src/adapters/aws/ecs-reader.ts';
import { EcsRuntime } from '../../src/adapters/aws/ecs-runtime.ts';
import { AwsLogReader } from '../../src/adapters/aws/log-reader.ts';
import { SharedSnapshots } from '../../src/adapters/aws/shared-snapshots.ts';
import { createRuntimes } from '../../src/adapters/runtimes.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { configSchema } from '../../src/config/schema.ts';
import { describeOne } from '../../src/core/status.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { createScheduler } from '../../src/jobs/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Store } from '../../src/ports.ts';
import { FakeClock, RecordingNotifier } from '../support/deploy-fakes.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { useFakeAwsCredentials } from '../support/fake-aws-credentials.ts';

const config = configSchema.parse({
  defaults: { channel: '#ops', region: 'us-east-1' },
  services: {
    api: {
      environments: { production: { target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' } } },
      watch: { health: '* * * * *', publicIps: '* * * * *' },
    },
  },
});

useFakeAwsCredentials();

describe("the watch's snapshot answers /status while it is fresh", () => {
  let fake: FakeAws;
  let aws: AwsClients;
  let store: Store;
  let clock: FakeClock;
  let ecs: SharedSnapshots;

  beforeEach(async () => {
    fake = new FakeAws();
    await fake.start();
    fake.seedService({ cluster: 'prod', service: 'api', desiredCount: 2, containers: [{ name: 'app', image: 'a:1' }] });
    aws = createAwsClients({ endpoint: fake.url, region: 'us-east-1' });
    store = await openStore('sqlite::memory:', { instance: 'test' });
    clock = new FakeClock('2026-11-21T12:00:00Z');
    ecs = new SharedSnapshots({ reader: new AwsEcsReader({ clients: aws }), clock, maxAgeMs: 10_000 });
  });

  afterEach(async () => {
    aws.destroy();
    await fake.stop();
    await store.close();
  });

  /** What /status is given in app.ts: the ECS runtime reads through the shared snapshots. */
  const statusDeps = () => ({
    config,
    runtimes: createRuntimes({
      ecs: new EcsRuntime({
        reader: ecs,
        deployer: new AwsEcsDeployer({ clients: aws }),
        logs: new AwsLogReader({ clients: aws }),
        clock,
        defaultRegion: config.defaults.region,
      }),
    }),
  });

  const watchTick = () =>
    createScheduler({
      config,
      runtimes: statusDeps().runtimes,
      store,
      notifier: new RecordingNotifier(),
      clock,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      instance: 'test',
    }).tick(clock.now());

  it('makes no AWS call for a /status 5 s after a tick that read the service with its IPs', async () => {
    await watchTick();
    expect(fake.calls['ECS.DescribeServices']).toBe(1);
    fake.resetCalls();
    clock.advance(5_000);
    const snapshot = await describeOne(statusDeps(), resolveTarget(config, 'api', 'production'));
    expect(fake.calls).toEqual({});
    expect(snapshot.units.map((u) => u.publicAddress).sort()).toEqual(fake.publicIps('prod', 'api').sort());
    expect(snapshot.observedAt).toEqual(new Date('2026-11-21T12:00:00Z'));
  });

  it('reads again once the tick is older than the bound', async () => {
    await watchTick();
    fake.resetCalls();
    clock.advance(10_001);
    await describeOne(statusDeps(), resolveTarget(config, 'api', 'production'));
    expect(fake.calls['ECS.DescribeServices']).toBe(1);
  });
});
