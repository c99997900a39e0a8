import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import {
  type ContainerDefinition,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListServicesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  StopTaskCommand,
  type Task,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeAws, type SeedServiceOptions } from '../support/fake-aws/index.ts';

const credentials = { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake-secret' };

let fake: FakeAws;
let url: string;

function clients(maxAttempts = 3) {
  const config = { endpoint: url, region: 'us-east-1', credentials, maxAttempts };
  return {
    ecs: new ECSClient(config),
    ecr: new ECRClient(config),
    logs: new CloudWatchLogsClient(config),
    ec2: new EC2Client(config),
  };
}

async function caught(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

const API: SeedServiceOptions = {
  cluster: 'prod',
  service: 'api',
  containers: [
    {
      name: 'app',
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1',
      environment: { NODE_ENV: 'production' },
      secrets: [{ name: 'DB_URL', valueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/db' }],
      portMappings: [{ containerPort: 8080 }],
      healthCheck: { command: ['CMD-SHELL', 'wget -q -O- localhost:8080/health'] },
    },
    { name: 'sidecar', image: 'public.ecr.aws/envoy:1' },
  ],
  desiredCount: 2,
};

async function describeOne(ecs: ECSClient, cluster: string, service: string): Promise<Service> {
  const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const svc = out.services?.[0];
  if (!svc) throw new Error(`service ${service} missing`);
  return svc;
}

async function describeAllTasks(ecs: ECSClient, cluster: string, arns: string[]): Promise<Task[]> {
  if (arns.length === 0) return [];
  const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }));
  return out.tasks ?? [];
}

/** Register a copy of the service's task definition with the app image replaced (what dockhand does). */
async function registerWithImage(ecs: ECSClient, taskDefinitionArn: string, image: string) {
  const { taskDefinition: td } = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn }),
  );
  if (!td) throw new Error('no task definition');
  const containerDefinitions: ContainerDefinition[] = (td.containerDefinitions ?? []).map((c) =>
    c.name === 'app' ? { ...c, image } : c,
  );
  const input: RegisterTaskDefinitionCommandInput = {
    family: td.family,
    taskRoleArn: td.taskRoleArn,
    executionRoleArn: td.executionRoleArn,
    networkMode: td.networkMode,
    requiresCompatibilities: td.requiresCompatibilities,
    cpu: td.cpu,
    memory: td.memory,
    containerDefinitions,
  };
  const out = await ecs.send(new RegisterTaskDefinitionCommand(input));
  return out.taskDefinition!;
}

beforeAll(async () => {
  fake = new FakeAws({ seed: 7 });
  ({ url } = await fake.start());
});

afterAll(async () => {
  await fake.stop();
});

describe('fake AWS endpoint with the real SDK clients', () => {
  // Every test gets a fresh state on the same server.
  beforeEach(() => {
    fake.reset();
    fake.autoStep = 'onDescribe';
  });
  afterEach(() => fake.faults(null));

  it('describes a seeded service like ECS', async () => {
    const seeded = fake.seedService(API);
    const { ecs } = clients();
    const out = await ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['api', 'ghost'] }));
    expect(out.services).toHaveLength(1);
    const svc = out.services![0]!;
    expect(svc.serviceName).toBe('api');
    expect(svc.serviceArn).toBe('arn:aws:ecs:us-east-1:123456789012:service/prod/api');
    expect(svc.status).toBe('ACTIVE');
    expect(svc.desiredCount).toBe(2);
    expect(svc.runningCount).toBe(2);
    expect(svc.pendingCount).toBe(0);
    expect(svc.taskDefinition).toBe('arn:aws:ecs:us-east-1:123456789012:task-definition/api:1');
    expect(svc.createdAt).toBeInstanceOf(Date);
    expect(svc.deploymentConfiguration?.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
    expect(svc.deployments).toHaveLength(1);
    const d = svc.deployments![0]!;
    expect(d.id).toMatch(/^ecs-svc\/\d{19}$/);
    expect(d).toMatchObject({ status: 'PRIMARY', rolloutState: 'COMPLETED', runningCount: 2, failedTasks: 0 });
    expect(svc.events?.[0]?.message).toBe('(service api) has reached a steady state.');
    expect(out.failures).toEqual([{ arn: 'arn:aws:ecs:us-east-1:123456789012:service/prod/ghost', reason: 'MISSING' }]);
    expect(seeded.tasks).toHaveLength(2);

    const clusters = await ecs.send(new DescribeClustersCommand({ clusters: ['prod', 'nope'] }));
    expect(clusters.clusters?.[0]).toMatchObject({ clusterName: 'prod', runningTasksCount: 2, activeServicesCount: 1 });
    expect(clusters.failures?.[0]?.reason).toBe('MISSING');
    const services = await ecs.send(new ListServicesCommand({ cluster: 'prod' }));
    expect(services.serviceArns).toEqual([seeded.service.arn]);
  });

  it('pages ListTasks and describes tasks with ENI attachments', async () => {
    fake.seedService({ ...API, desiredCount: 5 });
    fake.seedService({
      cluster: 'prod',
      service: 'worker',
      containers: [{ name: 'w', image: 'w:1' }],
      desiredCount: 1,
    });
    const { ecs } = clients();

    const pages: string[][] = [];
    let nextToken: string | undefined;
    do {
      const out = await ecs.send(
        new ListTasksCommand({ cluster: 'prod', serviceName: 'api', maxResults: 2, nextToken }),
      );
      pages.push(out.taskArns ?? []);
      nextToken = out.nextToken;
    } while (nextToken);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    const arns = pages.flat();
    expect(new Set(arns).size).toBe(5);
    for (const a of arns) expect(a).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task\/prod\/[0-9a-f]{32}$/);

    const all = await ecs.send(new ListTasksCommand({ cluster: 'prod' }));
    expect(all.taskArns).toHaveLength(6);
    expect(all.nextToken).toBeUndefined();
    const err = await caught(ecs.send(new ListTasksCommand({ cluster: 'prod', maxResults: 101 })));
    expect(err.name).toBe('InvalidParameterException');

    const tasks = await describeAllTasks(ecs, 'prod', arns);
    expect(tasks).toHaveLength(5);
    for (const t of tasks) {
      expect(t.group).toBe('service:api');
      expect(t.lastStatus).toBe('RUNNING');
      expect(t.desiredStatus).toBe('RUNNING');
      expect(t.healthStatus).toBe('HEALTHY');
      expect(t.taskDefinitionArn).toBe('arn:aws:ecs:us-east-1:123456789012:task-definition/api:1');
      expect(t.startedAt).toBeInstanceOf(Date);
      expect(t.containers?.map((c) => c.name).sort()).toEqual(['app', 'sidecar']);
      expect(t.containers?.find((c) => c.name === 'app')?.healthStatus).toBe('HEALTHY');
      const eni = t.attachments?.[0];
      expect(eni?.type).toBe('ElasticNetworkInterface');
      const details = Object.fromEntries((eni?.details ?? []).map((x) => [x.name, x.value]));
      expect(details.networkInterfaceId).toMatch(/^eni-[0-9a-f]{17}$/);
      expect(details.privateIPv4Address).toMatch(/^10\.0\.\d+\.\d+$/);
    }

    const missing = await ecs.send(new DescribeTasksCommand({ cluster: 'prod', tasks: [arns[0]!, 'deadbeef'] }));
    expect(missing.tasks).toHaveLength(1);
    expect(missing.failures?.[0]?.reason).toBe('MISSING');
    const tooMany = await caught(
      ecs.send(new DescribeTasksCommand({ cluster: 'prod', tasks: Array.from({ length: 101 }, (_, i) => `t${i}`) })),
    );
    expect(tooMany.name).toBe('InvalidParameterException');
  });

  it('gives public IPs through EC2 DescribeNetworkInterfaces (query protocol, XML)', async () => {
    const seeded = fake.seedService(API);
    const priv = fake.seedService({
      cluster: 'prod',
      service: 'internal',
      containers: [{ name: 'x', image: 'x:1' }],
      publicIp: false,
    });
    const { ec2 } = clients();
    const ids = [...seeded.tasks, ...priv.tasks].map((t) => t.eniId);
    const out = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ids }));
    const byId = new Map(out.NetworkInterfaces?.map((n) => [n.NetworkInterfaceId, n]));
    expect(byId.size).toBe(3);
    const publicIps = seeded.tasks.map((t) => byId.get(t.eniId)?.Association?.PublicIp);
    expect(publicIps).toEqual(fake.publicIps('prod', 'api'));
    for (const ip of publicIps) expect(ip).toMatch(/^(203\.0\.113|198\.51\.100)\.\d+$/);
    expect(new Set(publicIps).size).toBe(2);
    expect(byId.get(seeded.tasks[0]!.eniId)?.PrivateIpAddress).toBe(seeded.tasks[0]!.privateIp);
    expect(byId.get(priv.tasks[0]!.eniId)?.Association).toBeUndefined();

    const filtered = await ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'association.public-ip', Values: [publicIps[1]!] }] }),
    );
    expect(filtered.NetworkInterfaces?.map((n) => n.NetworkInterfaceId)).toEqual([seeded.tasks[1]!.eniId]);

    const err = await caught(
      ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0'] })),
    );
    expect(err.name).toBe('InvalidNetworkInterfaceID.NotFound');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    expect(fake.calls['EC2.DescribeNetworkInterfaces']).toBe(3);
  });

  it('rolls out a new revision: RegisterTaskDefinition + UpdateService, polling DescribeServices to COMPLETED', async () => {
    const seeded = fake.seedService(API);
    const { ecs, ec2 } = clients();
    const oldIps = fake.publicIps('prod', 'api');
    const td = await registerWithImage(ecs, seeded.taskDefinition.arn, 'registry/api:v2');
    expect(td.taskDefinitionArn).toBe('arn:aws:ecs:us-east-1:123456789012:task-definition/api:2');
    expect(td.revision).toBe(2);

    // Stored exactly as received: one RegisterTaskDefinition, app image replaced, everything else kept.
    const regs = fake.requestsFor('ECS.RegisterTaskDefinition');
    expect(regs).toHaveLength(1);
    const sent = regs[0]!.input as unknown as RegisterTaskDefinitionCommandInput;
    expect(sent.containerDefinitions?.find((c) => c.name === 'app')?.image).toBe('registry/api:v2');
    expect(fake.taskDefinition('api:2')?.input).toEqual(regs[0]!.input);
    const app = td.containerDefinitions?.find((c) => c.name === 'app');
    expect(app?.environment).toEqual([{ name: 'NODE_ENV', value: 'production' }]);
    expect(app?.secrets?.[0]?.name).toBe('DB_URL');
    expect(app?.logConfiguration?.options?.['awslogs-group']).toBe('/ecs/api');
    expect(td.containerDefinitions?.find((c) => c.name === 'sidecar')?.image).toBe('public.ecr.aws/envoy:1');

    const updated = await ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'api', taskDefinition: td.taskDefinitionArn }),
    );
    const mine = updated.service?.deployments?.find((d) => d.status === 'PRIMARY');
    expect(mine?.taskDefinition).toBe(td.taskDefinitionArn);
    expect(mine?.rolloutState).toBe('IN_PROGRESS');
    expect(updated.service?.deployments).toHaveLength(2);

    const seen: string[] = [];
    let svc: Service | undefined;
    for (let i = 0; i < 20; i++) {
      svc = await describeOne(ecs, 'prod', 'api');
      const d = svc.deployments?.find((x) => x.id === mine?.id);
      seen.push(`${d?.rolloutState}:${svc.runningCount}/${svc.pendingCount}`);
      if (d?.rolloutState === 'COMPLETED') break;
    }
    expect(seen.at(-1)).toBe('COMPLETED:2/0');
    expect(seen).toContain('IN_PROGRESS:2/2'); // new tasks pending while the old ones still run
    expect(seen).toContain('IN_PROGRESS:4/0'); // both generations running
    expect(svc?.deployments).toHaveLength(1);
    expect(svc?.taskDefinition).toBe(td.taskDefinitionArn);
    expect(svc?.events?.[0]?.message).toBe('(service api) has reached a steady state.');
    expect(svc?.events?.some((e) => /has started 2 tasks: \(task [0-9a-f]{32}\)/.test(e.message ?? ''))).toBe(true);

    const running = await ecs.send(new ListTasksCommand({ cluster: 'prod', serviceName: 'api' }));
    const tasks = await describeAllTasks(ecs, 'prod', running.taskArns ?? []);
    expect(tasks.map((t) => t.taskDefinitionArn)).toEqual([td.taskDefinitionArn, td.taskDefinitionArn]);
    const newIps = fake.publicIps('prod', 'api');
    expect(newIps).toHaveLength(2);
    expect(newIps.some((ip) => oldIps.includes(ip))).toBe(false);

    // The old tasks are stopped and their ENIs are gone.
    const stopped = await ecs.send(
      new ListTasksCommand({ cluster: 'prod', serviceName: 'api', desiredStatus: 'STOPPED' }),
    );
    expect(stopped.taskArns?.sort()).toEqual(seeded.tasks.map((t) => t.arn).sort());
    const err = await caught(
      ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [seeded.tasks[0]!.eniId] })),
    );
    expect(err.name).toBe('InvalidNetworkInterfaceID.NotFound');

    // Only desiredCount: no new deployment.
    const scaled = await ecs.send(new UpdateServiceCommand({ cluster: 'prod', service: 'api', desiredCount: 3 }));
    expect(scaled.service?.deployments).toHaveLength(1);
    expect(scaled.service?.deployments?.[0]?.id).toBe(mine?.id);
    fake.step(3);
    expect(fake.counts(fake.service('prod', 'api')).running).toBe(3);

    const list = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'api', sort: 'DESC', maxResults: 1 }));
    expect(list.taskDefinitionArns).toEqual([td.taskDefinitionArn]);
    expect(list.nextToken).toBeDefined();
  });

  it('failNextRollout: the deployment FAILS and the circuit breaker rolls back to the old revision', async () => {
    const seeded = fake.seedService(API);
    fake.failNextRollout('prod', 'api', { reason: 'ECS deployment circuit breaker: tasks failed to start.' });
    const { ecs } = clients();
    const td = await registerWithImage(ecs, seeded.taskDefinition.arn, 'registry/api:broken');
    const updated = await ecs.send(
      new UpdateServiceCommand({ cluster: 'prod', service: 'api', taskDefinition: td.taskDefinitionArn }),
    );
    const mineId = updated.service?.deployments?.find((d) => d.status === 'PRIMARY')?.id;
    expect(mineId).toBeDefined();

    const states: string[] = [];
    let sawFailure: { reason?: string; failedTasks?: number } | undefined;
    let svc: Service | undefined;
    for (let i = 0; i < 30; i++) {
      svc = await describeOne(ecs, 'prod', 'api');
      const mine = svc.deployments?.find((d) => d.id === mineId);
      states.push(mine?.rolloutState ?? 'GONE');
      if (mine?.rolloutState === 'FAILED')
        sawFailure = { reason: mine.rolloutStateReason, failedTasks: mine.failedTasks };
      const primary = svc.deployments?.find((d) => d.status === 'PRIMARY');
      if (!mine && primary?.rolloutState === 'COMPLETED') break;
    }
    expect(sawFailure?.reason).toBe('ECS deployment circuit breaker: tasks failed to start.');
    expect(sawFailure?.failedTasks).toBeGreaterThanOrEqual(3);
    expect(states).toContain('FAILED');
    expect(states.at(-1)).toBe('GONE');
    // Stable again, but on the OLD revision: this is not a success.
    expect(svc?.taskDefinition).toBe(seeded.taskDefinition.arn);
    expect(svc?.deployments).toHaveLength(1);
    expect(svc?.deployments?.[0]).toMatchObject({
      status: 'PRIMARY',
      rolloutState: 'COMPLETED',
      taskDefinition: seeded.taskDefinition.arn,
    });
    expect(svc?.runningCount).toBe(2);
    expect(svc?.events?.some((e) => e.message?.includes(`(deployment ${mineId}) deployment failed`))).toBe(true);

    const stopped = await ecs.send(
      new ListTasksCommand({ cluster: 'prod', serviceName: 'api', desiredStatus: 'STOPPED' }),
    );
    const tasks = await describeAllTasks(ecs, 'prod', stopped.taskArns ?? []);
    const failed = tasks.filter((t) => t.taskDefinitionArn === td.taskDefinitionArn);
    expect(failed.length).toBeGreaterThanOrEqual(3);
    for (const t of failed) {
      expect(t.stoppedReason).toBe('Essential container in task exited');
      expect(t.stopCode).toBe('EssentialContainerExited');
      expect(t.containers?.find((c) => c.name === 'app')?.exitCode).toBe(1);
    }

    // The next rollout works again.
    await ecs.send(new UpdateServiceCommand({ cluster: 'prod', service: 'api', taskDefinition: td.taskDefinitionArn }));
    fake.step(10);
    expect(fake.service('prod', 'api').deployments[0]).toMatchObject({
      rolloutState: 'COMPLETED',
      taskDefinition: td.taskDefinitionArn,
    });
  });

  it('only step() advances rollouts in manual mode; faults on tasks are visible', async () => {
    fake.autoStep = 'manual';
    const seeded = fake.seedService(API);
    const { ecs } = clients();
    await ecs.send(new UpdateServiceCommand({ cluster: 'prod', service: 'api', forceNewDeployment: true }));
    for (let i = 0; i < 3; i++) expect((await describeOne(ecs, 'prod', 'api')).deployments).toHaveLength(2);
    fake.step();
    expect((await describeOne(ecs, 'prod', 'api')).pendingCount).toBe(2);
    fake.step(3);
    const done = await describeOne(ecs, 'prod', 'api');
    expect(done.deployments).toHaveLength(1);
    expect(done.deployments?.[0]?.rolloutState).toBe('COMPLETED');

    const [t1, t2] = fake.serviceTasks('prod', 'api');
    fake.setTaskHealth(t1!.arn, 'UNHEALTHY');
    fake.stopTask(t2!.arn, { reason: 'OutOfMemoryError: Container killed', exitCode: 137 });
    const described = await describeAllTasks(ecs, 'prod', [t1!.arn, t2!.arn]);
    expect(described[0]?.healthStatus).toBe('UNHEALTHY');
    expect(described[1]).toMatchObject({ lastStatus: 'STOPPED', stoppedReason: 'OutOfMemoryError: Container killed' });
    expect(described[1]?.containers?.find((c) => c.name === 'app')?.exitCode).toBe(137);
    fake.step(3); // the scheduler replaces the stopped task
    expect(fake.serviceTasks('prod', 'api').filter((t) => t.lastStatus === 'RUNNING')).toHaveLength(2);

    const stop = await ecs.send(new StopTaskCommand({ cluster: 'prod', task: t1!.arn, reason: 'by test' }));
    expect(stop.task).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: 'by test' });
    expect(seeded.tasks).toHaveLength(2);
  });

  it('maps errors to the SDK exception classes', async () => {
    fake.seedService(API);
    const { ecs, ecr, logs } = clients();
    expect(
      (await caught(ecs.send(new UpdateServiceCommand({ cluster: 'prod', service: 'nope', desiredCount: 1 })))).name,
    ).toBe('ServiceNotFoundException');
    expect((await caught(ecs.send(new DescribeServicesCommand({ cluster: 'staging', services: ['api'] })))).name).toBe(
      'ClusterNotFoundException',
    );
    expect((await caught(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'api:9' })))).name).toBe(
      'ClientException',
    );
    const tooMany = await caught(
      ecs.send(
        new DescribeServicesCommand({ cluster: 'prod', services: Array.from({ length: 11 }, (_, i) => `s${i}`) }),
      ),
    );
    expect(tooMany.name).toBe('InvalidParameterException');
    expect(tooMany.$metadata?.httpStatusCode).toBe(400);
    expect(
      (await caught(ecr.send(new DescribeImagesCommand({ repositoryName: 'api', imageIds: [{ imageTag: 'v1' }] }))))
        .name,
    ).toBe('RepositoryNotFoundException');
    fake.putImage('api', 'v1');
    expect(
      (await caught(ecr.send(new DescribeImagesCommand({ repositoryName: 'api', imageIds: [{ imageTag: 'v9' }] }))))
        .name,
    ).toBe('ImageNotFoundException');
    expect((await caught(logs.send(new FilterLogEventsCommand({ logGroupName: '/nope' })))).name).toBe(
      'ResourceNotFoundException',
    );
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'x-amz-target': 'AmazonEC2ContainerServiceV20141113.CreateCapacityProvider',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException' });
    expect(fake.calls['ECS.CreateCapacityProvider']).toBe(1);
  });

  it('injects throttling and server errors deterministically', async () => {
    fake.seedService(API);
    const once = clients(1);
    fake.faults({ throttleRate: 0.3, operations: ['ECS.DescribeServices'], seed: 42 });
    const names: string[] = [];
    for (let i = 0; i < 40; i++) {
      try {
        await once.ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['api'] }));
        names.push('ok');
      } catch (err) {
        const e = err as Error & { $metadata?: { httpStatusCode?: number } };
        expect(e.$metadata?.httpStatusCode).toBe(400);
        names.push(e.name);
      }
    }
    const throttled = names.filter((n) => n === 'ThrottlingException').length;
    expect(throttled).toBeGreaterThanOrEqual(5);
    expect(throttled).toBeLessThanOrEqual(20);
    expect(names.filter((n) => n === 'ok').length).toBe(40 - throttled);
    // Other operations are not affected.
    await once.ecs.send(new ListTasksCommand({ cluster: 'prod' }));
    expect(fake.requests.filter((r) => r.injected).length).toBe(throttled);

    // Same seed, same sequence.
    const first = fake.requestsFor('ECS.DescribeServices').map((r) => r.error ?? 'ok');
    fake.resetCalls();
    fake.faults({ throttleRate: 0.3, operations: ['ECS.DescribeServices'], seed: 42 });
    for (let i = 0; i < 40; i++) {
      await once.ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['api'] })).catch(() => undefined);
    }
    expect(fake.requestsFor('ECS.DescribeServices').map((r) => r.error ?? 'ok')).toEqual(first);

    // EC2 throttling is RequestLimitExceeded with a 503.
    fake.faults({ failNext: { op: 'EC2.DescribeNetworkInterfaces' } });
    const ec2Err = await caught(once.ec2.send(new DescribeNetworkInterfacesCommand({})));
    expect(ec2Err.name).toBe('RequestLimitExceeded');
    expect(ec2Err.$metadata?.httpStatusCode).toBe(503);

    // Server errors.
    fake.faults({ errorRate: 1, operations: ['ECS'] });
    const serverErr = await caught(once.ecs.send(new ListTasksCommand({ cluster: 'prod' })));
    expect(['ServerException', 'ServiceUnavailable']).toContain(serverErr.name);
    expect([500, 503]).toContain(serverErr.$metadata?.httpStatusCode);

    // The SDK's own retries get through two injected throttles.
    fake.faults({ failNext: { op: 'DescribeServices', count: 2 } });
    fake.resetCalls();
    const retrying = clients(3);
    const svc = await describeOne(retrying.ecs, 'prod', 'api');
    expect(svc.serviceName).toBe('api');
    expect(fake.calls['ECS.DescribeServices']).toBe(3);
  });

  it('serves ECR auth and images', async () => {
    fake.setEcrProxyEndpoint('http://127.0.0.1:5000');
    const v1 = fake.putImage('api', 'v1', `sha256:${'a'.repeat(64)}`);
    fake.putImage('api', 'latest', v1.digest);
    fake.putImage('api', 'v2');
    const { ecr } = clients();
    const auth = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = auth.authorizationData?.[0];
    expect(data?.proxyEndpoint).toBe('http://127.0.0.1:5000');
    expect(Buffer.from(data?.authorizationToken ?? '', 'base64').toString()).toBe('AWS:fake-ecr-password');
    expect(data?.expiresAt).toBeInstanceOf(Date);
    expect(data!.expiresAt!.getTime()).toBeGreaterThan(Date.now());

    const images = await ecr.send(
      new DescribeImagesCommand({
        repositoryName: 'api',
        imageIds: [{ imageTag: 'latest' }, { imageDigest: v1.digest }],
      }),
    );
    expect(images.imageDetails).toHaveLength(1);
    expect(images.imageDetails?.[0]).toMatchObject({ imageDigest: v1.digest, imageTags: ['v1', 'latest'] });
    expect(images.imageDetails?.[0]?.imagePushedAt).toBeInstanceOf(Date);
    const all = await ecr.send(new DescribeImagesCommand({ repositoryName: 'api' }));
    expect(all.imageDetails).toHaveLength(2);
    const repos = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['api'] }));
    expect(repos.repositories?.[0]?.repositoryUri).toBe('127.0.0.1:5000/api');
  });

  it('filters CloudWatch log events with paging', async () => {
    fake.putLogEvents('/ecs/api', 'ecs/app/aaa', [
      { timestamp: 1000, message: 'listening on 8080' },
      { timestamp: 3000, message: 'ERROR db "connection refused"' },
      { timestamp: 5000, message: 'ERROR timeout' },
    ]);
    fake.putLogEvents('/ecs/api', 'ecs/sidecar/aaa', [{ timestamp: 2000, message: 'ERROR envoy' }]);
    const { logs } = clients();
    const errors = await logs.send(new FilterLogEventsCommand({ logGroupName: '/ecs/api', filterPattern: 'ERROR' }));
    expect(errors.events?.map((e) => e.timestamp)).toEqual([2000, 3000, 5000]);
    const phrase = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: '/ecs/api',
        filterPattern: '"connection refused"',
        logStreamNamePrefix: 'ecs/app/',
      }),
    );
    expect(phrase.events?.map((e) => e.message)).toEqual(['ERROR db "connection refused"']);
    const windowed = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: '/ecs/api',
        startTime: 1500,
        endTime: 4000,
        logStreamNames: ['ecs/app/aaa'],
      }),
    );
    expect(windowed.events?.map((e) => e.timestamp)).toEqual([3000]);

    const seen: number[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const out = await logs.send(new FilterLogEventsCommand({ logGroupName: '/ecs/api', limit: 3, nextToken }));
      seen.push(...(out.events ?? []).map((e) => e.timestamp ?? 0));
      nextToken = out.nextToken;
      pages++;
    } while (nextToken);
    expect(pages).toBe(2);
    expect(seen).toEqual([1000, 2000, 3000, 5000]);

    const streams = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: '/ecs/api', orderBy: 'LastEventTime', descending: true }),
    );
    expect(streams.logStreams?.map((s) => s.logStreamName)).toEqual(['ecs/app/aaa', 'ecs/sidecar/aaa']);
    expect(streams.logStreams?.[0]?.lastEventTimestamp).toBe(5000);
  });

  it('exposes calls and controls over HTTP for tests in another process', async () => {
    fake.seedService(API);
    const { ecs, ec2 } = clients();
    await describeOne(ecs, 'prod', 'api');
    await describeOne(ecs, 'prod', 'api');
    await ecs.send(new ListTasksCommand({ cluster: 'prod' }));
    await ec2.send(
      new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [fake.serviceTasks('prod', 'api')[0]!.eniId] }),
    );

    const calls = (await (await fetch(`${url}/_fake/calls`)).json()) as {
      calls: Record<string, number>;
      requests: Array<{ key: string; input: Record<string, unknown> }>;
    };
    expect(calls.calls).toEqual({ 'ECS.DescribeServices': 2, 'ECS.ListTasks': 1, 'EC2.DescribeNetworkInterfaces': 1 });
    expect(calls.requests[0]).toMatchObject({
      key: 'ECS.DescribeServices',
      input: { cluster: 'prod', services: ['api'] },
    });
    expect(calls.requests[3]?.input).toEqual({ NetworkInterfaceId: [fake.serviceTasks('prod', 'api')[0]!.eniId] });

    const reset = await fetch(`${url}/_fake/reset-calls`, { method: 'POST' });
    expect(reset.status).toBe(200);
    expect(fake.calls).toEqual({});

    const control = async (cmd: Record<string, unknown>) => {
      const res = await fetch(`${url}/_fake/control`, { method: 'POST', body: JSON.stringify(cmd) });
      const body = (await res.json()) as { ok: boolean; result?: Record<string, unknown>; error?: string };
      return { status: res.status, body };
    };
    const before = fake.publicIps('prod', 'api');
    const replaced = await control({ op: 'replaceTasks', cluster: 'prod', service: 'api' });
    expect(replaced.status).toBe(200);
    expect(replaced.body.result?.taskArns).toHaveLength(2);
    const after = fake.publicIps('prod', 'api');
    expect(after).toHaveLength(2);
    expect(after.some((ip) => before.includes(ip))).toBe(false);

    expect((await control({ op: 'faults', throttleRate: 1, operations: ['ECS.ListTasks'] })).status).toBe(200);
    expect((await caught(clients(1).ecs.send(new ListTasksCommand({ cluster: 'prod' })))).name).toBe(
      'ThrottlingException',
    );
    expect((await control({ op: 'faults', config: null })).status).toBe(200);
    await ecs.send(new ListTasksCommand({ cluster: 'prod' }));

    expect((await control({ op: 'failNextRollout', cluster: 'prod', service: 'api' })).status).toBe(200);
    expect(fake.service('prod', 'api').pendingFailure).toBeDefined();
    expect((await control({ op: 'step', count: 2 })).status).toBe(200);
    const bad = await control({ op: 'explode' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/unknown op/);
  });
});
