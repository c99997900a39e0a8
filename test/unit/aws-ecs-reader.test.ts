import {
  AccessDeniedException,
  ClusterNotFoundException,
  type Deployment,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  type Service,
  type ServiceEvent,
  type Task,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsReader } from '../../src/adapters/aws/ecs-reader.ts';
import { PublicIpResolver } from '../../src/adapters/aws/public-ips.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { AwsError } from '../../src/errors.ts';
import type { EcsServiceRef, KeyValueCache, ServiceLookup, ServiceSnapshot } from '../../src/ports.ts';
import { FakeAws as FakeAwsEndpoint } from '../support/fake-aws/index.ts';

// ---------------------------------------------------------------------------------------------------------------
// A small stateful ECS behind aws-sdk-client-mock, answering with the shapes the real API returns; EC2 is the fake AWS
// endpoint of test/support, over HTTP (query protocol, XML), whose ENIs this fake keeps in step with its tasks.

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const arnOf = (kind: string, rest: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:${kind}/${rest}`;
const serviceArn = (cluster: string, name: string) => arnOf('service', `${cluster}/${name}`);
const taskDefinitionArn = (family: string, revision: number) => arnOf('task-definition', `${family}:${revision}`);
const taskArn = (cluster: string, id: string) => arnOf('task', `${cluster}/${id}`);

interface FakeTask {
  cluster: string;
  service: string;
  id: string;
  revision: number;
  health?: 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';
  eniId?: string;
  privateIp?: string;
}

interface FakeService {
  cluster: string;
  name: string;
  revision: number;
  status?: string;
  desired: number;
  deployments?: Deployment[];
  events?: ServiceEvent[];
}

const at = (iso: string) => new Date(iso);

class FakeAws {
  readonly services = new Map<string, FakeService>();
  readonly tasks = new Map<string, FakeTask>();
  readonly clusters = new Set<string>();
  readonly ecs = mockClient(ECSClient);
  /** Answers EC2 over HTTP; its `enis` are this fake's tasks' ENIs. */
  readonly ec2 = new FakeAwsEndpoint();

  constructor() {
    this.ecs.on(DescribeServicesCommand).callsFake((input) => this.describeServices(input));
    this.ecs.on(ListTasksCommand).callsFake((input) => this.listTasks(input));
    this.ecs.on(DescribeTasksCommand).callsFake((input) => this.describeTasks(input));
    this.ecs.on(DescribeTaskDefinitionCommand).callsFake((input) => this.describeTaskDefinition(input));
  }

  async restore(): Promise<void> {
    this.ecs.restore();
    await this.ec2.stop();
  }

  addService(service: FakeService): void {
    this.clusters.add(service.cluster);
    this.services.set(`${service.cluster}/${service.name}`, service);
  }

  /** Adds a running task with an ENI; `publicIp` null = private subnet. */
  addTask(task: Omit<FakeTask, 'eniId' | 'privateIp'>, publicIp: string | null = `203.0.113.${this.tasks.size + 1}`) {
    const n = this.tasks.size + 1;
    const eniId = `eni-${n.toString(16).padStart(17, '0')}`;
    const full: FakeTask = { ...task, eniId, privateIp: `10.0.${Math.floor(n / 250)}.${n % 250}` };
    this.tasks.set(taskArn(task.cluster, task.id), full);
    this.ec2.enis.set(eniId, {
      id: eniId,
      privateIp: full.privateIp ?? '',
      ...(publicIp === null ? {} : { publicIp }),
      subnetId: 'subnet-0abc',
      securityGroups: ['sg-0abc'],
      macAddress: '02:00:00:00:00:01',
      taskArn: taskArn(task.cluster, task.id),
      attachmentId: `att-${task.id}`,
      createdAt: new Date(0),
      deleted: false,
    });
    return full;
  }

  stopTask(cluster: string, id: string, deleteEni = true): void {
    const task = this.tasks.get(taskArn(cluster, id));
    this.tasks.delete(taskArn(cluster, id));
    if (deleteEni && task?.eniId) this.deleteEni(task.eniId);
  }

  /** EC2 forgets the ENI (Fargate deletes it when the task stops): it answers InvalidNetworkInterfaceID.NotFound. */
  deleteEni(eniId: string): void {
    this.ec2.enis.delete(eniId);
  }

  /** The ENI ids of each DescribeNetworkInterfaces request EC2 received, in order. */
  eniIdsAsked(): unknown[] {
    return this.ec2.requestsFor('EC2.DescribeNetworkInterfaces').map((r) => r.input.NetworkInterfaceId);
  }

  calls() {
    return {
      DescribeServices: this.ecs.commandCalls(DescribeServicesCommand).length,
      ListTasks: this.ecs.commandCalls(ListTasksCommand).length,
      DescribeTasks: this.ecs.commandCalls(DescribeTasksCommand).length,
      DescribeTaskDefinition: this.ecs.commandCalls(DescribeTaskDefinitionCommand).length,
      DescribeNetworkInterfaces: this.ec2.calls['EC2.DescribeNetworkInterfaces'] ?? 0,
    };
  }

  resetCalls(): void {
    this.ecs.resetHistory();
    this.ec2.resetCalls();
  }

  private describeServices(input: { cluster?: string | undefined; services?: string[] | undefined }) {
    const cluster = input.cluster ?? 'default';
    if (!this.clusters.has(cluster)) {
      throw new ClusterNotFoundException({ message: 'Cluster not found.', $metadata: { httpStatusCode: 400 } });
    }
    if ((input.services ?? []).length > 10) throw new Error('DescribeServices takes at most 10 services');
    const services: Service[] = [];
    const failures = [];
    for (const name of input.services ?? []) {
      const s = this.services.get(`${cluster}/${name}`);
      if (!s) {
        failures.push({ arn: serviceArn(cluster, name), reason: 'MISSING' });
        continue;
      }
      const running = [...this.tasks.values()].filter((t) => t.cluster === cluster && t.service === name).length;
      services.push({
        serviceArn: serviceArn(cluster, name),
        serviceName: name,
        clusterArn: arnOf('cluster', cluster),
        status: s.status ?? 'ACTIVE',
        desiredCount: s.desired,
        runningCount: running,
        pendingCount: 0,
        launchType: 'FARGATE',
        taskDefinition: taskDefinitionArn(name, s.revision),
        deployments: s.deployments ?? [
          {
            id: `ecs-svc/${name}-${s.revision}`,
            status: 'PRIMARY',
            taskDefinition: taskDefinitionArn(name, s.revision),
            desiredCount: s.desired,
            pendingCount: 0,
            runningCount: running,
            failedTasks: 0,
            createdAt: at('2025-03-01T10:00:00Z'),
            updatedAt: at('2025-03-01T10:05:00Z'),
            launchType: 'FARGATE',
            rolloutState: 'COMPLETED',
            rolloutStateReason: 'ECS deployment ecs-svc/1 completed.',
          },
        ],
        events: s.events ?? [],
        createdAt: at('2024-01-01T00:00:00Z'),
        schedulingStrategy: 'REPLICA',
      });
    }
    return { services, failures };
  }

  private listTasks(input: {
    cluster?: string | undefined;
    serviceName?: string | undefined;
    maxResults?: number | undefined;
    nextToken?: string | undefined;
  }) {
    const all = [...this.tasks.entries()]
      .filter(([, t]) => t.cluster === input.cluster && (!input.serviceName || t.service === input.serviceName))
      .map(([arn]) => arn);
    const start = input.nextToken ? Number(input.nextToken.replace('token-', '')) : 0;
    const end = start + (input.maxResults ?? 100);
    return { taskArns: all.slice(start, end), ...(end < all.length ? { nextToken: `token-${end}` } : {}) };
  }

  private describeTasks(input: { cluster?: string | undefined; tasks?: string[] | undefined }) {
    if ((input.tasks ?? []).length > 100) throw new Error('DescribeTasks takes at most 100 tasks');
    const tasks: Task[] = [];
    const failures = [];
    for (const arn of input.tasks ?? []) {
      const t = this.tasks.get(arn);
      if (!t) {
        failures.push({ arn, reason: 'MISSING' });
        continue;
      }
      tasks.push({
        taskArn: arn,
        clusterArn: arnOf('cluster', t.cluster),
        taskDefinitionArn: taskDefinitionArn(t.service, t.revision),
        group: `service:${t.service}`,
        startedBy: `ecs-svc/${t.service}-${t.revision}`,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        launchType: 'FARGATE',
        ...(t.health === undefined ? {} : { healthStatus: t.health }),
        startedAt: at('2025-03-01T10:01:00Z'),
        attachments: [
          {
            id: `att-${t.id}`,
            type: 'ElasticNetworkInterface',
            status: 'ATTACHED',
            details: [
              { name: 'subnetId', value: 'subnet-0abc' },
              { name: 'networkInterfaceId', value: t.eniId },
              { name: 'macAddress', value: '0a:1b:2c:3d:4e:5f' },
              { name: 'privateDnsName', value: `ip-${t.privateIp?.replaceAll('.', '-')}.ec2.internal` },
              { name: 'privateIPv4Address', value: t.privateIp },
            ],
          },
        ],
        containers: [
          {
            containerArn: arnOf('container', `${t.cluster}/${t.id}/c1`),
            taskArn: arn,
            name: 'app',
            image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/acme/${t.service}:1.4.${t.revision}`,
            lastStatus: 'RUNNING',
            ...(t.health === undefined ? {} : { healthStatus: t.health }),
            networkInterfaces: [{ attachmentId: `att-${t.id}`, privateIpv4Address: t.privateIp }],
          },
        ],
      });
    }
    return { tasks, failures };
  }

  private describeTaskDefinition(input: { taskDefinition?: string | undefined }) {
    const arn = input.taskDefinition ?? '';
    const [family = '', revision = '0'] = arn.slice(arn.lastIndexOf('/') + 1).split(':');
    return {
      taskDefinition: {
        taskDefinitionArn: arn,
        family,
        revision: Number(revision),
        status: 'ACTIVE',
        networkMode: 'awsvpc',
        containerDefinitions: [
          {
            name: 'app',
            image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/acme/${family}:1.4.${revision}`,
            essential: true,
          },
          { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable', essential: true },
        ],
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------

let fake: FakeAws;
let publicIps: PublicIpResolver;
let reader: AwsEcsReader;

let endpoint: string;

beforeEach(async () => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  fake = new FakeAws();
  endpoint = (await fake.ec2.start()).url;
  const clients = createAwsClients({ region: REGION, endpoint });
  publicIps = new PublicIpResolver((region) => clients.forRegion(region).ec2);
  reader = new AwsEcsReader({ clients, publicIps });
});

afterEach(async () => {
  await fake.restore();
  vi.unstubAllEnvs();
});

const ref = (service: string, cluster = 'prod'): EcsServiceRef => ({ cluster, service });

const snapshotOf = (lookup: ServiceLookup | undefined): ServiceSnapshot => {
  if (!lookup?.found) throw new Error(`expected a snapshot, got ${JSON.stringify(lookup)}`);
  return lookup.snapshot;
};

/** 25 services × 4 tasks in cluster prod. */
const addFleet = (services = 25, tasksEach = 4) => {
  const refs: EcsServiceRef[] = [];
  for (let s = 0; s < services; s++) {
    const name = `svc${String(s).padStart(2, '0')}`;
    fake.addService({ cluster: 'prod', name, revision: 3, desired: tasksEach });
    for (let t = 0; t < tasksEach; t++)
      fake.addTask({ cluster: 'prod', service: name, id: `${name}t${t}`, revision: 3 });
    refs.push(ref(name));
  }
  return refs;
};

describe('AwsEcsReader', () => {
  it('maps one service to a full snapshot: deployments, newest events first, tasks with health and public IPs', async () => {
    const events: ServiceEvent[] = Array.from({ length: 25 }, (_, i) => ({
      id: `ev-${25 - i}`,
      createdAt: new Date(Date.UTC(2025, 2, 1, 10, 25 - i)),
      message: `(service api) event ${25 - i}`,
    }));
    // ECS returns events newest first; shuffle two to prove the reader orders them itself.
    [events[0], events[1]] = [events[1]!, events[0]!];
    fake.addService({
      cluster: 'prod',
      name: 'api',
      revision: 42,
      desired: 2,
      events,
      deployments: [
        {
          id: 'ecs-svc/2222',
          status: 'PRIMARY',
          taskDefinition: taskDefinitionArn('api', 42),
          desiredCount: 2,
          pendingCount: 1,
          runningCount: 1,
          failedTasks: 1,
          createdAt: at('2025-03-01T10:20:00Z'),
          updatedAt: at('2025-03-01T10:22:00Z'),
          rolloutState: 'IN_PROGRESS',
          rolloutStateReason: 'ECS deployment ecs-svc/2222 in progress.',
        },
        {
          id: 'ecs-svc/1111',
          status: 'ACTIVE',
          taskDefinition: taskDefinitionArn('api', 41),
          desiredCount: 1,
          pendingCount: 0,
          runningCount: 1,
          failedTasks: 0,
          createdAt: at('2025-02-20T09:00:00Z'),
          updatedAt: at('2025-02-20T09:04:00Z'),
          rolloutState: 'COMPLETED',
          rolloutStateReason: 'ECS deployment ecs-svc/1111 completed.',
        },
      ],
    });
    fake.addTask({ cluster: 'prod', service: 'api', id: 'a1b2c3', revision: 41, health: 'HEALTHY' }, '198.51.100.7');
    fake.addTask({ cluster: 'prod', service: 'api', id: 'd4e5f6', revision: 42 }, '198.51.100.8');
    // Another service's task in the same cluster is not api's.
    fake.addService({ cluster: 'prod', name: 'worker', revision: 1, desired: 1 });
    fake.addTask({ cluster: 'prod', service: 'worker', id: 'ffff', revision: 1 });

    const [lookup] = await reader.describe([ref('api')]);
    const snapshot = snapshotOf(lookup);

    expect(snapshot.ref).toEqual(ref('api'));
    expect(snapshot).toMatchObject({ status: 'ACTIVE', desired: 2, running: 2, pending: 0 });
    expect(snapshot.taskDefinition).toEqual({
      arn: taskDefinitionArn('api', 42),
      family: 'api',
      revision: 42,
      containers: [
        { name: 'app', image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/acme/api:1.4.42` },
        { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable' },
      ],
    });
    expect(snapshot.deployments).toEqual([
      {
        id: 'ecs-svc/2222',
        status: 'PRIMARY',
        taskDefinitionArn: taskDefinitionArn('api', 42),
        revision: 'api:42',
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason: 'ECS deployment ecs-svc/2222 in progress.',
        desired: 2,
        running: 1,
        pending: 1,
        failed: 1,
        createdAt: at('2025-03-01T10:20:00Z'),
        updatedAt: at('2025-03-01T10:22:00Z'),
      },
      {
        id: 'ecs-svc/1111',
        status: 'ACTIVE',
        taskDefinitionArn: taskDefinitionArn('api', 41),
        revision: 'api:41',
        rolloutState: 'COMPLETED',
        rolloutStateReason: 'ECS deployment ecs-svc/1111 completed.',
        desired: 1,
        running: 1,
        pending: 0,
        failed: 0,
        createdAt: at('2025-02-20T09:00:00Z'),
        updatedAt: at('2025-02-20T09:04:00Z'),
      },
    ]);
    expect(snapshot.events).toHaveLength(20);
    expect(snapshot.events.map((e) => e.id).slice(0, 3)).toEqual(['ev-25', 'ev-24', 'ev-23']);
    expect(snapshot.events[0]).toEqual({
      id: 'ev-25',
      at: new Date(Date.UTC(2025, 2, 1, 10, 25)),
      message: '(service api) event 25',
    });

    expect(snapshot.tasks).toEqual([
      {
        arn: taskArn('prod', 'a1b2c3'),
        id: 'a1b2c3',
        taskDefinitionArn: taskDefinitionArn('api', 41),
        revision: 'api:41',
        startedBy: 'ecs-svc/api-41',
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        health: 'HEALTHY',
        startedAt: at('2025-03-01T10:01:00Z'),
        stoppedAt: undefined,
        stoppedReason: undefined,
        containers: [{ name: 'app', lastStatus: 'RUNNING', exitCode: undefined, reason: undefined, health: 'HEALTHY' }],
        eniId: fake.tasks.get(taskArn('prod', 'a1b2c3'))?.eniId,
        privateIp: fake.tasks.get(taskArn('prod', 'a1b2c3'))?.privateIp,
        publicIp: '198.51.100.7',
      },
      expect.objectContaining({ id: 'd4e5f6', revision: 'api:42', health: 'UNKNOWN', publicIp: '198.51.100.8' }),
    ]);
    // One service asked for: the listing is narrowed to it, so worker's task is neither listed nor described.
    expect(fake.ecs.commandCalls(ListTasksCommand)[0]?.args[0].input).toMatchObject({
      cluster: 'prod',
      serviceName: 'api',
      desiredStatus: 'RUNNING',
      maxResults: 100,
    });
    expect(fake.calls()).toEqual({
      DescribeServices: 1,
      ListTasks: 1,
      DescribeTasks: 1,
      DescribeTaskDefinition: 1,
      DescribeNetworkInterfaces: 1,
    });
  });

  it('describes 25 services with 4 tasks each in 3+1+1 ECS calls and one EC2 call, and a steady state makes no EC2 or task-definition calls', async () => {
    const refs = addFleet(25, 4);

    const first = await reader.describe(refs);
    expect(first.every((l) => l.found)).toBe(true);
    expect(first.flatMap((l) => snapshotOf(l).tasks)).toHaveLength(100);
    expect(first.flatMap((l) => snapshotOf(l).tasks).every((t) => t.publicIp?.startsWith('203.0.113.'))).toBe(true);
    expect(fake.calls()).toEqual({
      DescribeServices: 3,
      ListTasks: 1,
      DescribeTasks: 1,
      DescribeTaskDefinition: 25,
      DescribeNetworkInterfaces: 1,
    });
    // Batches of 10, 10, 5, one after another; ONE cluster-wide listing.
    expect(fake.ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input.services?.length)).toEqual([
      10, 10, 5,
    ]);
    expect(fake.ecs.commandCalls(ListTasksCommand)[0]?.args[0].input.serviceName).toBeUndefined();
    expect(fake.eniIdsAsked()[0]).toHaveLength(100);

    fake.resetCalls();
    const second = await reader.describe(refs);
    expect(second).toEqual(first);
    expect(fake.calls()).toEqual({
      DescribeServices: 3,
      ListTasks: 1,
      DescribeTasks: 1,
      DescribeTaskDefinition: 0,
      DescribeNetworkInterfaces: 0,
    });
  });

  it('asks a second reader over the same store cache (a restart, another replica) nothing it already knows', async () => {
    const refs = addFleet(25, 4);
    const store = await openStore('sqlite::memory:', { instance: 'unit' });
    const queries: string[] = [];
    const cache: KeyValueCache = {
      cacheGet: (kind, keys, at) => {
        queries.push(`get ${kind} ${keys.length}`);
        return store.cacheGet(kind, keys, at);
      },
      cachePut: (kind, entries, at) => {
        queries.push(`put ${kind} ${entries.size}`);
        return store.cachePut(kind, entries, at);
      },
    };
    const clients = createAwsClients({ region: REGION, endpoint });
    const first = await new AwsEcsReader({ clients, cache }).describe(refs);
    expect(queries).toEqual([
      'get ecs-task-definition 25',
      'put ecs-task-definition 25',
      'get ecs-task-public-ip 100',
      'put ecs-task-public-ip 100',
    ]);

    fake.resetCalls();
    queries.length = 0;
    const second = await new AwsEcsReader({ clients, cache }).describe(refs);
    expect(second).toEqual(first);
    expect(fake.calls()).toEqual({
      DescribeServices: 3,
      ListTasks: 1,
      DescribeTasks: 1,
      DescribeTaskDefinition: 0,
      DescribeNetworkInterfaces: 0,
    });
    // One query per kind for everything the new reader's memory lacked, nothing written.
    expect(queries).toEqual(['get ecs-task-definition 25', 'get ecs-task-public-ip 100']);
    await store.close();
  });

  it('asks AWS when the store cache cannot be read, and says why', async () => {
    const refs = addFleet(2, 1);
    const errors: unknown[] = [];
    const broken: KeyValueCache = {
      cacheGet: async () => {
        throw new Error('database is locked');
      },
      cachePut: async () => {
        throw new Error('database is locked');
      },
    };
    const lookups = await new AwsEcsReader({
      clients: createAwsClients({ region: REGION, endpoint }),
      cache: broken,
      onCacheError: (e) => errors.push(e),
    }).describe(refs);
    expect(lookups.every((l) => l.found)).toBe(true);
    expect(fake.calls()).toMatchObject({ DescribeTaskDefinition: 2, DescribeNetworkInterfaces: 1 });
    expect(errors.map((e) => (e as Error).message)).toEqual(Array(4).fill('database is locked'));
  });

  it('keeps the task definitions in use cached, but not every revision a long-running process ever saw', async () => {
    const api: FakeService = { cluster: 'prod', name: 'api', revision: 1, desired: 0 };
    fake.addService(api);
    for (let revision = 1; revision <= 1_100; revision++) {
      api.revision = revision;
      await reader.describe([ref('api')], { tasks: false });
    }
    fake.resetCalls();
    await reader.describe([ref('api')], { tasks: false });
    expect(fake.calls().DescribeTaskDefinition).toBe(0); // the one in use stays cached
    api.revision = 1;
    await reader.describe([ref('api')], { tasks: false });
    expect(fake.calls().DescribeTaskDefinition).toBe(1); // revision 1 was forgotten long ago
  });

  it('pages ListTasks and describes tasks a hundred at a time when there are 250 of them', async () => {
    const refs = addFleet(25, 10);

    const lookups = await reader.describe(refs);

    expect(lookups.flatMap((l) => snapshotOf(l).tasks)).toHaveLength(250);
    expect(fake.calls()).toMatchObject({
      DescribeServices: 3,
      ListTasks: 3,
      DescribeTasks: 3,
      DescribeNetworkInterfaces: 1,
    });
    expect(fake.ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input.nextToken)).toEqual([
      undefined,
      'token-100',
      'token-200',
    ]);
    expect(fake.ecs.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks?.length)).toEqual([
      100, 100, 50,
    ]);
  });

  it('asks EC2 only about the ENI of a task it has not seen, and forgets tasks that stopped', async () => {
    const refs = addFleet(3, 2);
    await reader.describe(refs);
    expect(publicIps.size).toBe(6);

    fake.stopTask('prod', 'svc01t0');
    const replacement = fake.addTask({ cluster: 'prod', service: 'svc01', id: 'svc01t9', revision: 3 }, '192.0.2.99');
    fake.resetCalls();

    const lookups = await reader.describe(refs);

    expect(fake.calls().DescribeNetworkInterfaces).toBe(1);
    expect(fake.eniIdsAsked()[0]).toEqual([replacement.eniId]);
    const svc01 = snapshotOf(lookups[1]);
    expect(svc01.tasks.map((t) => [t.id, t.publicIp])).toEqual([
      ['svc01t1', '203.0.113.4'],
      ['svc01t9', '192.0.2.99'],
    ]);
    expect(publicIps.size).toBe(6);
    expect(publicIps.peek(taskArn('prod', 'svc01t0'))).toBeUndefined();
  });

  it('reports a missing or deleted service as not found while the others in its cluster succeed', async () => {
    const refs = addFleet(2, 1);
    fake.addService({ cluster: 'prod', name: 'old', revision: 1, desired: 0, status: 'INACTIVE' });

    const lookups = await reader.describe([refs[0]!, ref('ghost'), refs[1]!, ref('old')]);

    expect(lookups.map((l) => l.found)).toEqual([true, false, true, false]);
    expect(lookups[1]).toEqual({ ref: ref('ghost'), found: false, reason: 'service ghost not found in cluster prod' });
    expect(lookups[3]).toEqual({ ref: ref('old'), found: false, reason: 'service old not found in cluster prod' });
    expect(snapshotOf(lookups[2]).tasks).toHaveLength(1);
  });

  it('reports every service of a cluster that does not exist as not found, without failing other clusters', async () => {
    addFleet(1, 1);

    const lookups = await reader.describe([ref('svc00'), ref('api', 'nope'), ref('web', 'nope')]);

    expect(lookups[0]?.found).toBe(true);
    expect(lookups[1]).toEqual({ ref: ref('api', 'nope'), found: false, reason: 'cluster nope not found' });
    expect(lookups[2]).toEqual({ ref: ref('web', 'nope'), found: false, reason: 'cluster nope not found' });
  });

  it('leaves publicIp undefined for a task in a private subnet and does not ask about it again', async () => {
    fake.addService({ cluster: 'prod', name: 'internal', revision: 1, desired: 1 });
    fake.addTask({ cluster: 'prod', service: 'internal', id: 'priv1', revision: 1 }, null);

    const [first] = await reader.describe([ref('internal')]);
    expect(snapshotOf(first).tasks[0]).toMatchObject({ id: 'priv1', publicIp: undefined });
    expect(snapshotOf(first).tasks[0]?.privateIp).toMatch(/^10\.0\./);
    expect(fake.calls().DescribeNetworkInterfaces).toBe(1);

    fake.resetCalls();
    const [second] = await reader.describe([ref('internal')]);
    expect(snapshotOf(second).tasks[0]?.publicIp).toBeUndefined();
    expect(fake.calls().DescribeNetworkInterfaces).toBe(0);
  });

  it('does not fail when EC2 no longer knows the ENI of a task that just stopped', async () => {
    const refs = addFleet(1, 2);
    // The task is still listed, but its ENI is already gone.
    fake.deleteEni(fake.tasks.get(taskArn('prod', 'svc00t0'))?.eniId ?? '');

    const [lookup] = await reader.describe(refs);

    expect(snapshotOf(lookup).tasks.map((t) => [t.id, t.publicIp])).toEqual([
      ['svc00t0', undefined],
      ['svc00t1', '203.0.113.2'],
    ]);
    expect(fake.calls().DescribeNetworkInterfaces).toBe(2);
    expect(fake.eniIdsAsked()[1]).toEqual([fake.tasks.get(taskArn('prod', 'svc00t1'))?.eniId]);
  });

  it('asks EC2 once per region for the new tasks of several clusters', async () => {
    addFleet(2, 2);
    fake.addService({ cluster: 'batch', name: 'jobs', revision: 1, desired: 2 });
    fake.addTask({ cluster: 'batch', service: 'jobs', id: 'j1', revision: 1 });
    fake.addTask({ cluster: 'batch', service: 'jobs', id: 'j2', revision: 1 });

    const lookups = await reader.describe([ref('svc00'), ref('svc01'), ref('jobs', 'batch')]);

    expect(lookups.every((l) => l.found)).toBe(true);
    expect(fake.calls()).toMatchObject({
      DescribeServices: 2,
      ListTasks: 2,
      DescribeTasks: 2,
      DescribeNetworkInterfaces: 1,
    });
    expect(fake.eniIdsAsked()[0]).toHaveLength(6);
  });

  it('skips tasks and EC2 when asked for services only, and EC2 when asked for tasks without public IPs', async () => {
    const refs = addFleet(2, 2);

    const servicesOnly = await reader.describe(refs, { tasks: false });
    expect(servicesOnly.every((l) => snapshotOf(l).tasks.length === 0)).toBe(true);
    expect(fake.calls()).toMatchObject({ ListTasks: 0, DescribeTasks: 0, DescribeNetworkInterfaces: 0 });

    const noIps = await reader.describe(refs, { publicIps: false });
    expect(noIps.flatMap((l) => snapshotOf(l).tasks)).toHaveLength(4);
    expect(noIps.flatMap((l) => snapshotOf(l).tasks).every((t) => t.publicIp === undefined)).toBe(true);
    expect(fake.calls()).toMatchObject({ ListTasks: 1, DescribeTasks: 1, DescribeNetworkInterfaces: 0 });
  });

  it('wraps AccessDeniedException in an AwsError that names the action, the services, the cluster and the code', async () => {
    addFleet(2, 1);
    fake.ecs.on(DescribeServicesCommand).rejects(
      new AccessDeniedException({
        message:
          'User: arn:aws:sts::123456789012:assumed-role/dockhand/x is not authorized to perform: ecs:DescribeServices',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    const error = await reader.describe([ref('svc00'), ref('svc01')]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AwsError);
    expect(error).toMatchObject({
      code: 'aws',
      awsCode: 'AccessDeniedException',
      message: expect.stringMatching(
        /^describe services svc00, svc01 in cluster prod: AccessDeniedException: User: .* not authorized/,
      ),
      hint: expect.stringContaining('IAM'),
    });
  });

  it('turns throttling that outlasted the SDK retries into an AwsError naming the listing', async () => {
    addFleet(2, 1);
    // ECS throttling is not a modelled exception: the SDK raises a generic one named after the wire's __type.
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400, attempts: 5 },
    });
    fake.ecs.on(ListTasksCommand).rejects(throttled);

    const error = await reader.describe([ref('svc00'), ref('svc01')]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).message).toBe('list tasks in cluster prod: ThrottlingException: Rate exceeded');
    expect((error as AwsError).awsCode).toBe('ThrottlingException');
  });

  it('wraps an EC2 permission error in an AwsError about public IPs', async () => {
    const refs = addFleet(1, 1);
    fake.ec2.faults({
      failNext: {
        op: 'DescribeNetworkInterfaces',
        code: 'UnauthorizedOperation',
        status: 403,
        message: 'You are not authorized to perform this operation.',
      },
    });

    const error = await reader.describe(refs).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).message).toMatch(/^look up public IPs of tasks in cluster prod: UnauthorizedOperation:/);
  });
});

describe('AwsEcsReader paging', () => {
  it('stops, with an error naming the cluster, when ListTasks repeats its page token', async () => {
    const refs = addFleet(2, 1);
    fake.ecs.on(ListTasksCommand).resolves({ taskArns: [taskArn('prod', 'svc00t0')], nextToken: 'same-page' });
    await expect(reader.describe(refs)).rejects.toThrow(
      /list tasks in cluster prod: Error: ListTasks returned the page token same-page twice/,
    );
    expect(fake.ecs.commandCalls(ListTasksCommand)).toHaveLength(2);
  });
});
