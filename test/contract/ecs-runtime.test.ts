/**
 * The Runtime contract on Amazon ECS: EcsRuntime over the real AWS pieces (AwsEcsReader, AwsEcsDeployer,
 * AwsLogReader with the real SDK clients) against the stateful fake AWS endpoint over HTTP. The fake advances each
 * rollout by one step on every DescribeServices, so following a change walks it to its end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsDeployer } from '../../src/adapters/aws/ecs-deployer.ts';
import { AwsEcsReader } from '../../src/adapters/aws/ecs-reader.ts';
import { EcsRuntime } from '../../src/adapters/aws/ecs-runtime.ts';
import { AwsLogReader } from '../../src/adapters/aws/log-reader.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { configSchema } from '../../src/config/schema.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { runtimeContract } from './runtime.contract.ts';

const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
let fake: FakeAws;
let clients: AwsClients;
let runtime: EcsRuntime;
let services = 0;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
  fake = new FakeAws();
  await fake.start();
  clients = createAwsClients({ endpoint: fake.url, region: 'us-east-1', maxAttempts: 2 });
  runtime = new EcsRuntime({
    reader: new AwsEcsReader({ clients }),
    deployer: new AwsEcsDeployer({ clients }),
    logs: new AwsLogReader({ clients }),
    clock: systemClock,
    defaultRegion: 'us-east-1',
  });
});

afterAll(async () => {
  clients.destroy();
  await fake.stop();
  if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
  else process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
  if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  else process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
});

/** A dockhand.yml entry for the ECS service `name` in the cluster prod (or another). */
const targetOf = (name: string, cluster = 'prod') =>
  resolveTarget(
    configSchema.parse({
      defaults: { channel: '#deploys', region: 'us-east-1' },
      registries: { ecr: { type: 'ecr' } },
      services: {
        [name]: {
          image: { registry: 'ecr', repository: `acme/${name}` },
          environments: { production: { target: { type: 'ecs', cluster, service: name, container: 'app' } } },
        },
      },
    }),
    name,
    'production',
  );

describe('EcsRuntime (fake AWS over HTTP)', () => {
  runtimeContract(() => ({
    runtime,
    kind: 'ecs',
    nextImage: 'registry.example/app:2',
    async start() {
      services += 1;
      const name = `svc${services}`;
      fake.seedService({
        cluster: 'prod',
        service: name,
        desiredCount: 1,
        containers: [{ name: 'app', image: 'registry.example/app:1', environment: { NODE_ENV: 'production' } }],
      });
      return targetOf(name);
    },
    missing: () => targetOf('nowhere'),
    async logged(target) {
      const [task] = fake.serviceTasks('prod', target.service);
      const taskId = task?.arn.split('/').at(-1) ?? '';
      const now = Date.now();
      fake.putLogEvents(`/ecs/${target.service}`, `ecs/app/${taskId}`, [
        { timestamp: now - 20 * 60_000, message: 'ERROR from before the window' },
        { timestamp: now - 2 * 60_000, message: 'ERROR contract needle' },
        { timestamp: now - 60_000, message: 'INFO all quiet' },
      ]);
      return { grep: 'ERROR', matching: 'ERROR contract needle', other: 'INFO all quiet' };
    },
  }));
});

describe('EcsRuntime beyond the contract', () => {
  it('tells why tasks of several services stopped in one DescribeTasks per cluster', async () => {
    const seed = (name: string) => {
      fake.seedService({
        cluster: 'prod',
        service: name,
        desiredCount: 1,
        containers: [{ name: 'app', image: 'a:1' }],
      });
      const [task] = fake.serviceTasks('prod', name);
      if (!task) throw new Error(`no task of ${name}`);
      return task.arn;
    };
    const crashed = seed('stops-a');
    const killed = seed('stops-b');
    fake.stopTask(crashed, { reason: 'Essential container in task exited', exitCode: 1 });
    fake.stopTask(killed, { reason: 'OutOfMemoryError: Container killed', exitCode: 137 });
    fake.resetCalls();
    const answers = await runtime.stoppedUnits([
      { target: targetOf('stops-a'), unitRefs: [crashed] },
      { target: targetOf('stops-b'), unitRefs: [killed, 'arn:aws:ecs:us-east-1:123456789012:task/prod/unknown'] },
    ]);
    expect(fake.calls['ECS.DescribeTasks']).toBe(1);
    expect(answers.map((a) => [a.target.service, a.units.map((u) => [u.ref, u.reason, u.exitCodes])])).toEqual([
      ['stops-a', [[crashed, 'Essential container in task exited', [1]]]],
      ['stops-b', [[killed, 'OutOfMemoryError: Container killed', [137]]]],
    ]);
  });

  it('reports the digest each unit was started from, which a tag moved since does not change', async () => {
    const first = fake.putImage('acme/digests', 'v1').digest;
    fake.seedService({
      cluster: 'prod',
      service: 'digests',
      desiredCount: 1,
      containers: [
        { name: 'sidecar', image: `proxy@sha256:${'c'.repeat(64)}` },
        { name: 'app', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/digests:v1' },
      ],
    });
    fake.putImage('acme/digests', 'v1'); // the tag moves to another image; the running task keeps the first
    const lookup = (await runtime.describe([targetOf('digests')], { units: true, publicAddresses: false }))[0];
    if (!lookup?.found) throw new Error('not found');
    expect(lookup.snapshot.units.map((u) => u.imageDigest)).toEqual([first]);
  });

  it("answers a cluster whose DescribeTasks fails with its error, for each of its services, and the others' units", async () => {
    const seed = (cluster: string, name: string) => {
      fake.seedService({ cluster, service: name, desiredCount: 1, containers: [{ name: 'app', image: 'a:1' }] });
      const [task] = fake.serviceTasks(cluster, name);
      if (!task) throw new Error(`no task of ${name}`);
      return task.arn;
    };
    const lost = seed('prod', 'fails-a');
    seed('prod', 'fails-quiet');
    const kept = seed('blue', 'fails-b');
    fake.stopTask(lost, { reason: 'Essential container in task exited', exitCode: 1 });
    fake.stopTask(kept, { reason: 'Essential container in task exited', exitCode: 2 });
    fake.faults({ failNext: { op: 'DescribeTasks', code: 'AccessDeniedException', message: 'not in prod' } });
    try {
      const answers = await runtime.stoppedUnits([
        { target: targetOf('fails-a'), unitRefs: [lost] },
        { target: targetOf('fails-quiet'), unitRefs: [] },
        { target: targetOf('fails-b', 'blue'), unitRefs: [kept] },
      ]);
      const denied = 'describe 1 stopped tasks in cluster prod: AccessDeniedException: not in prod';
      // The error itself, whole: the watch words it for the channel and logs it.
      const messages = answers.map((a) => [
        a.target.service,
        (a.error as Error | undefined)?.message,
        a.units.map((u) => u.exitCodes),
      ]);
      expect(messages).toEqual([
        ['fails-a', denied, []],
        ['fails-quiet', denied, []],
        ['fails-b', undefined, [[2]]],
      ]);
    } finally {
      fake.faults(null);
    }
  });
});
