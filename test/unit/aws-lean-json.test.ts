import * as ecs from '@aws-sdk/client-ecs';
import {
  ClusterNotFoundException,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { NormalizedSchema } from '@smithy/core/schema';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LEAN_OPERATIONS, LeanJsonDeserializer, useLeanJsonReads } from '../../src/adapters/aws/lean-json.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

const fake = new FakeAws();
let url = '';
const clientOf = () =>
  new ECSClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIAFAKEFAKEFAKEFAKE', secretAccessKey: 'fake' },
  });
let sdk: ECSClient;
let lean: ECSClient;

beforeAll(async () => {
  for (let s = 0; s < 3; s++) {
    fake.seedService({
      cluster: 'prod',
      service: `svc-${s}`,
      desiredCount: 3,
      containers: [{ name: 'app', image: `acme/svc-${s}:1` }],
    });
  }
  ({ url } = await fake.start());
  sdk = clientOf();
  lean = useLeanJsonReads(clientOf());
});
afterAll(async () => {
  sdk.destroy();
  lean.destroy();
  await fake.stop();
});

/** Both clients' answers to the same command, without the per-request metadata. */
const both = async <T extends { $metadata: unknown }>(send: (client: ECSClient) => Promise<T>) => {
  const [fromSdk, fromLean] = [await send(sdk), await send(lean)];
  expect(fromLean.$metadata).toMatchObject({ httpStatusCode: 200 });
  const { $metadata: _s, ...sdkOutput } = fromSdk;
  const { $metadata: _l, ...leanOutput } = fromLean;
  return { sdkOutput, leanOutput };
};

describe('lean JSON reads of ECS answers', () => {
  it('reads DescribeServices, ListTasks, DescribeTasks and DescribeTaskDefinition as the SDK does', async () => {
    const services = await both((c) =>
      c.send(new DescribeServicesCommand({ cluster: 'prod', services: ['svc-0', 'svc-1', 'svc-2'] })),
    );
    expect(services.sdkOutput.services).toHaveLength(3);
    // Every member the SDK reads is there with the same value (Dates compared by time); members the SDK does not
    // know may stay on the lean objects.
    expect(services.leanOutput).toMatchObject(services.sdkOutput);
    const service = services.leanOutput.services?.[0];
    expect(service?.createdAt).toBeInstanceOf(Date);
    expect(service?.deployments?.[0]?.createdAt).toBeInstanceOf(Date);
    expect(service?.events?.[0]?.createdAt).toBeInstanceOf(Date);

    const listed = await both((c) => c.send(new ListTasksCommand({ cluster: 'prod' })));
    expect(listed.leanOutput).toEqual(listed.sdkOutput);
    const taskArns = listed.sdkOutput.taskArns ?? [];
    expect(taskArns.length).toBe(9);

    const tasks = await both((c) => c.send(new DescribeTasksCommand({ cluster: 'prod', tasks: taskArns })));
    expect(tasks.leanOutput).toMatchObject(tasks.sdkOutput);
    expect(tasks.leanOutput.tasks?.[0]?.startedAt).toBeInstanceOf(Date);
    expect(tasks.leanOutput.tasks?.[0]?.startedAt?.getTime()).toBe(tasks.sdkOutput.tasks?.[0]?.startedAt?.getTime());

    const arn = services.sdkOutput.services?.[0]?.taskDefinition ?? '';
    const definition = await both((c) =>
      c.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] })),
    );
    expect(definition.leanOutput).toMatchObject(definition.sdkOutput);
    expect(definition.leanOutput.taskDefinition?.registeredAt).toBeInstanceOf(Date);
  });

  it('leaves errors to the SDK: the same modeled exception, with its name and message', async () => {
    const failure = lean.send(new DescribeServicesCommand({ cluster: 'nowhere', services: ['svc-0'] }));
    await expect(failure).rejects.toBeInstanceOf(ClusterNotFoundException);
  });

  it('is installed once in the client protocol, and the SDK reader is not used for a lean operation', async () => {
    const client = clientOf();
    const protocol = (client.config as unknown as { protocol: { deserializer: { read: () => unknown } } }).protocol;
    const sdkRead = vi.spyOn(protocol.deserializer, 'read');
    useLeanJsonReads(useLeanJsonReads(client));
    expect(protocol.deserializer).toBeInstanceOf(LeanJsonDeserializer);
    await client.send(new ListTasksCommand({ cluster: 'prod' }));
    expect(sdkRead).not.toHaveBeenCalled();
    // An error still goes through the SDK's reader (once: the wrapper was installed once).
    await expect(client.send(new ListTasksCommand({ cluster: 'nowhere' }))).rejects.toThrow();
    expect(sdkRead).toHaveBeenCalledTimes(1);
    client.destroy();
  });
});

describe('LeanJsonDeserializer.planFor', () => {
  const sdkReader = { read: vi.fn(() => ({ read: 'by the SDK' })), setSerdeContext: vi.fn() };
  const reader = (name: string) => new LeanJsonDeserializer(sdkReader, new Set([name]));
  // smithy's static structure schema: [3, namespace, name, traits, member names, member schemas]; 21 is a blob,
  // 5 a date-time timestamp, 7 an epoch-seconds timestamp, 64 + n a list of n.
  const struct = (name: string, members: Record<string, unknown>) =>
    NormalizedSchema.of([3, 'test', name, 0, Object.keys(members), Object.values(members)] as never);

  it('converts epoch-second timestamps in structures and lists, in place, and keeps the rest as parsed', () => {
    const schema = struct('Out', { at: 7, times: 64 + 7, name: 0 });
    const out = reader('Out').read(schema, Buffer.from('{"at":1700000000.5,"times":[1,2],"name":"x","extra":true}'));
    expect(out).toEqual({
      at: new Date(1_700_000_000_500),
      times: [new Date(1000), new Date(2000)],
      name: 'x',
      extra: true,
    });
    expect(sdkReader.read).not.toHaveBeenCalled();
  });

  it('reads documents as parsed and unions like structures (ECS has both in these answers)', () => {
    const union = [4, 'test', 'Either', 0, ['when', 'label'], [7, 0]];
    const schema = struct('Mixed', { doc: 15, either: union });
    const out = reader('Mixed').read(schema, '{"doc":{"a":[1,{"b":null}]},"either":{"when":60}}');
    expect(out).toEqual({ doc: { a: [1, { b: null }] }, either: { when: new Date(60_000) } });
    expect(sdkReader.read).not.toHaveBeenCalled();
  });

  it('hands shapes it does not convert, and operations not listed, to the SDK reader', () => {
    for (const [name, schema] of [
      ['WithBlob', struct('WithBlob', { data: 21 })],
      ['WithDateTime', struct('WithDateTime', { at: 5 })],
      ['Listed', struct('NotListed', { at: 7 })],
    ] as const) {
      sdkReader.read.mockClear();
      expect(reader(name).planFor(schema)).toBeNull();
      expect(reader(name).read(schema, '{"at":1}')).toEqual({ read: 'by the SDK' });
      expect(sdkReader.read).toHaveBeenCalledOnce();
    }
  });

  it('reads every listed ECS answer of this SDK itself (an SDK update that adds a shape it cannot read shows here)', () => {
    const lean = new LeanJsonDeserializer(sdkReader);
    for (const output of [
      ecs.DescribeServicesResponse$,
      ecs.DescribeTasksResponse$,
      ecs.ListTasksResponse$,
      ecs.DescribeTaskDefinitionResponse$,
    ]) {
      expect(lean.planFor(NormalizedSchema.of(output))).not.toBeNull();
    }
  });

  it('lists the bulk reads of the watch and /status', () => {
    expect([...LEAN_OPERATIONS].sort()).toEqual([
      'DescribeServicesResponse',
      'DescribeTaskDefinitionResponse',
      'DescribeTasksResponse',
      'ListTasksResponse',
    ]);
  });
});
