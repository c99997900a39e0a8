import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  AccessDeniedException,
  type ContainerDefinition,
  type Deployment,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type Service,
  type ServiceDeploymentBrief,
  type ServiceEvent,
  StopServiceDeploymentCommand,
  type Task,
  type TaskDefinition,
  UnsupportedFeatureException,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsClients } from '../../src/adapters/aws/clients.ts';
import {
  AwsEcsDeployer,
  failureEventsOf,
  groupStoppedTasks,
  normaliseIds,
  pickServiceDeployment,
  whyNotRunning,
} from '../../src/adapters/aws/ecs-deployer.ts';
import { toDeploymentSnapshot } from '../../src/adapters/aws/ecs-reader.ts';
import { filterServiceLogs } from '../../src/adapters/aws/logs.ts';
import { PublicIpResolver } from '../../src/adapters/aws/public-ips.ts';
import { AwsError, DockhandError } from '../../src/errors.ts';
import type { EcsDeployTarget, TaskSnapshot } from '../../src/ports.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const tdArn = (family: string, revision: number) =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`;
const taskArn = (id: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task/prod/${id}`;
const at = (iso: string) => new Date(`2025-03-01T${iso}Z`);

const target: EcsDeployTarget = { cluster: 'prod', service: 'api', container: 'app' };

const NEW = 'ecs-svc/2222222222222222222';
const OLD = 'ecs-svc/1111111111111111111';

const appContainer: ContainerDefinition = {
  name: 'app',
  image: '123.dkr.ecr.us-east-1.amazonaws.com/api:1',
  essential: true,
  cpu: 0,
  portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }],
  environment: [{ name: 'NODE_ENV', value: 'production' }],
  secrets: [{ name: 'DB_URL', valueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/db' }],
  mountPoints: [],
  volumesFrom: [],
  logConfiguration: {
    logDriver: 'awslogs',
    options: { 'awslogs-group': '/ecs/api', 'awslogs-region': 'eu-west-1', 'awslogs-stream-prefix': 'ecs' },
  },
  healthCheck: { command: ['CMD-SHELL', 'curl -f http://localhost:8080/health'], interval: 30, retries: 3 },
};
const sidecar: ContainerDefinition = {
  name: 'envoy',
  image: 'public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29',
  essential: false,
  environment: [{ name: 'APPMESH_RESOURCE_ARN', value: 'mesh/api' }],
  logConfiguration: { logDriver: 'json-file' },
};

/** A task definition as DescribeTaskDefinition returns it, read-only fields included. */
const describedTaskDefinition = (revision = 7): TaskDefinition => ({
  taskDefinitionArn: tdArn('api', revision),
  family: 'api',
  revision,
  status: 'ACTIVE',
  taskRoleArn: 'arn:aws:iam::123456789012:role/api-task',
  executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
  networkMode: 'awsvpc',
  containerDefinitions: [structuredClone(appContainer), structuredClone(sidecar)],
  volumes: [{ name: 'tmp', host: {} }],
  placementConstraints: [],
  requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.ecr-auth' }],
  compatibilities: ['EC2', 'FARGATE'],
  requiresCompatibilities: ['FARGATE'],
  cpu: '512',
  memory: '1024',
  runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
  ephemeralStorage: { sizeInGiB: 30 },
  enableFaultInjection: false,
  registeredAt: at('09:00:00'),
  registeredBy: 'arn:aws:iam::123456789012:role/ci',
});

const deployment = (over: Partial<Deployment> & { id: string }): Deployment => ({
  status: 'PRIMARY',
  taskDefinition: tdArn('api', 8),
  desiredCount: 2,
  runningCount: 0,
  pendingCount: 0,
  failedTasks: 0,
  rolloutState: 'IN_PROGRESS',
  rolloutStateReason: `ECS deployment ${over.id} in progress.`,
  createdAt: at('10:00:00'),
  updatedAt: at('10:00:00'),
  ...over,
});

const oldDeployment = (over: Partial<Deployment> = {}): Deployment =>
  deployment({
    id: OLD,
    status: 'ACTIVE',
    taskDefinition: tdArn('api', 7),
    runningCount: 2,
    rolloutState: 'COMPLETED',
    rolloutStateReason: `ECS deployment ${OLD} completed.`,
    createdAt: at('08:00:00'),
    ...over,
  });

const serviceWith = (deployments: Deployment[], events: ServiceEvent[] = []): Service => ({
  serviceName: 'api',
  serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/prod/api`,
  status: 'ACTIVE',
  desiredCount: 2,
  taskDefinition: deployments.find((d) => d.status === 'PRIMARY')?.taskDefinition ?? tdArn('api', 7),
  deployments,
  events,
});

const task = (id: string, over: Partial<Task> & { exitCodes?: number[]; eni?: string } = {}): Task => {
  const { exitCodes, eni, ...rest } = over;
  return {
    taskArn: taskArn(id),
    taskDefinitionArn: tdArn('api', 8),
    group: 'service:api',
    startedBy: NEW,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    containers: (exitCodes ?? [undefined, undefined]).map((code, i) => ({
      name: i === 0 ? 'app' : 'envoy',
      lastStatus: rest.lastStatus ?? 'RUNNING',
      ...(code === undefined ? {} : { exitCode: code }),
    })),
    attachments: eni
      ? [
          {
            type: 'ElasticNetworkInterface',
            details: [
              { name: 'networkInterfaceId', value: eni },
              { name: 'privateIPv4Address', value: '10.0.1.5' },
            ],
          },
        ]
      : [],
    ...rest,
  };
};

const stoppedTask = (id: string, reason: string, stoppedAt: string, exitCodes: number[], startedBy = NEW): Task =>
  task(id, {
    desiredStatus: 'STOPPED',
    lastStatus: 'STOPPED',
    stoppedReason: reason,
    stoppedAt: at(stoppedAt),
    startedBy,
    exitCodes,
  });

let ecs: AwsClientStub<ECSClient>;
/** EC2 is the fake AWS endpoint over HTTP (query protocol, XML). */
let ec2: FakeAws;
let logs: AwsClientStub<CloudWatchLogsClient>;
let deployer: AwsEcsDeployer;
let clients: ReturnType<typeof createAwsClients>;

beforeEach(async () => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  ecs = mockClient(ECSClient);
  ec2 = new FakeAws();
  const { url } = await ec2.start();
  logs = mockClient(CloudWatchLogsClient);
  clients = createAwsClients({ region: REGION, endpoint: url });
  deployer = new AwsEcsDeployer({ clients, publicIps: new PublicIpResolver((r) => clients.forRegion(r).ec2) });
});

afterEach(async () => {
  ecs.restore();
  await ec2.stop();
  logs.restore();
  clients.destroy();
  vi.unstubAllEnvs();
});

/** An ENI EC2 knows, with a public IP. */
const addEni = (id: string, publicIp: string) =>
  ec2.enis.set(id, {
    id,
    privateIp: '10.0.0.1',
    publicIp,
    subnetId: 'subnet-0abc',
    securityGroups: ['sg-0abc'],
    macAddress: '02:00:00:00:00:01',
    taskArn: `task-with-${id}`,
    attachmentId: `att-${id}`,
    createdAt: new Date(0),
    deleted: false,
  });

const eniIdsAsked = () => ec2.requestsFor('EC2.DescribeNetworkInterfaces').map((r) => r.input.NetworkInterfaceId);

/** DescribeServices answers with `service`; DescribeTasks with the tasks asked for out of `tasks`. */
const answer = (service: Service, tasks: Task[] = [], lists: { running?: Task[]; stopped?: Task[] } = {}) => {
  ecs.on(DescribeServicesCommand).resolves({ services: [service], failures: [] });
  ecs.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({
    taskArns: (lists.running ?? tasks.filter((t) => t.desiredStatus === 'RUNNING')).map((t) => t.taskArn ?? ''),
  });
  ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({
    taskArns: (lists.stopped ?? tasks.filter((t) => t.desiredStatus === 'STOPPED')).map((t) => t.taskArn ?? ''),
  });
  ecs
    .on(DescribeTasksCommand)
    .callsFake((input: { tasks: string[] }) => ({ tasks: tasks.filter((t) => input.tasks.includes(t.taskArn ?? '')) }));
};

// ---------------------------------------------------------------------------------------------------------------

describe('planImage', () => {
  beforeEach(() => {
    ecs.on(DescribeServicesCommand).resolves({ services: [serviceWith([oldDeployment({ status: 'PRIMARY' })])] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: describedTaskDefinition() });
  });

  it('lists the image change of the target container', async () => {
    const plan = await deployer.planImage(target, 'api:2');
    expect(plan).toEqual({
      current: {
        arn: tdArn('api', 7),
        family: 'api',
        revision: 7,
        containers: [
          { name: 'app', image: appContainer.image },
          { name: 'envoy', image: sidecar.image },
        ],
      },
      currentImage: appContainer.image,
      changes: [{ field: 'containerDefinitions[app].image', from: appContainer.image, to: 'api:2' }],
    });
    // With its tags: registration copies them, and reuses this read instead of making its own.
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)[0]?.args[0].input).toEqual({
      taskDefinition: tdArn('api', 7),
      include: ['TAGS'],
    });
  });

  it('has no changes when the image is the same', async () => {
    const plan = await deployer.planImage(target, appContainer.image ?? '');
    expect(plan.changes).toEqual([]);
  });

  it('refuses a container that is not in the task definition, naming the ones that are', async () => {
    const error = await deployer.planImage({ ...target, container: 'web' }, 'api:2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockhandError);
    expect((error as DockhandError).code).toBe('invalid');
    expect((error as DockhandError).message).toBe(
      'container "web" is not in task definition api:7 (containers: app, envoy)',
    );
  });

  it('reads a task definition once (they are immutable)', async () => {
    await deployer.planImage(target, 'api:2');
    await deployer.planImage(target, 'api:3');
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(1);
  });

  it('says when the service does not exist', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ arn: 'api', reason: 'MISSING' }] });
    await expect(deployer.planImage(target, 'api:2')).rejects.toMatchObject({
      code: 'not_found',
      message: 'service api in cluster prod not found',
    });
  });
});

describe('registerImage', () => {
  const tags = [{ key: 'team', value: 'payments' }];

  beforeEach(() => {
    ecs.on(DescribeServicesCommand).resolves({ services: [serviceWith([oldDeployment({ status: 'PRIMARY' })])] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: describedTaskDefinition(), tags });
    ecs.on(RegisterTaskDefinitionCommand).callsFake((input: TaskDefinition) => ({
      taskDefinition: { ...input, taskDefinitionArn: tdArn('api', 8), revision: 8, status: 'ACTIVE' },
    }));
  });

  it('registers a copy of the current revision with only the target container image changed', async () => {
    const result = await deployer.registerImage(target, 'api:2');

    expect(result).toEqual({
      taskDefinitionArn: tdArn('api', 8),
      revision: 'api:8',
      previousTaskDefinitionArn: tdArn('api', 7),
    });
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)[0]?.args[0].input).toEqual({
      taskDefinition: tdArn('api', 7),
      include: ['TAGS'],
    });

    const {
      taskDefinitionArn: _arn,
      revision: _revision,
      status: _status,
      requiresAttributes: _requires,
      compatibilities: _compatibilities,
      registeredAt: _registeredAt,
      registeredBy: _registeredBy,
      ...registrable
    } = describedTaskDefinition();
    const expected = {
      ...registrable,
      containerDefinitions: [{ ...appContainer, image: 'api:2' }, sidecar],
      tags,
    };
    const input = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input;
    expect(input).toEqual(expected);
    // The sidecar is exactly as it was; nothing else in the app container moved.
    expect(input?.containerDefinitions?.[1]).toStrictEqual(sidecar);
    expect({ ...input?.containerDefinitions?.[0], image: appContainer.image }).toStrictEqual(appContainer);
  });

  it("registers from the plan's read: one DescribeTaskDefinition for plan and registration, tags kept", async () => {
    await deployer.planImage(target, 'api:2');
    await deployer.registerImage(target, 'api:2');
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(1);
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input.tags).toEqual(tags);
    // The service is read again: a revision rolled out since the plan must be the one copied.
    expect(ecs.commandCalls(DescribeServicesCommand)).toHaveLength(2);
  });

  it('copies the revision the service runs at registration when it moved on since the plan', async () => {
    await deployer.planImage(target, 'api:2');
    const moved = serviceWith([oldDeployment({ status: 'PRIMARY' })]);
    moved.taskDefinition = tdArn('api', 9);
    ecs.on(DescribeServicesCommand).resolves({ services: [moved] });
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: tdArn('api', 9), include: ['TAGS'] }).resolves({
      taskDefinition: { ...describedTaskDefinition(), taskDefinitionArn: tdArn('api', 9), revision: 9 },
      tags: [{ key: 'team', value: 'checkout' }],
    });
    const result = await deployer.registerImage(target, 'api:2');
    expect(result.previousTaskDefinitionArn).toBe(tdArn('api', 9));
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand).map((c) => c.args[0].input.taskDefinition)).toEqual([
      tdArn('api', 7),
      tdArn('api', 9),
    ]);
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input.tags).toEqual([
      { key: 'team', value: 'checkout' },
    ]);
  });

  it("reads the tags again when the plan's read is more than an hour old (tags can change)", async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.parse('2026-12-01T10:00:00Z'));
      await deployer.planImage(target, 'api:2');
      vi.setSystemTime(Date.parse('2026-12-01T11:00:01Z'));
      await deployer.registerImage(target, 'api:2');
    } finally {
      vi.useRealTimers();
    }
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(2);
  });

  it('leaves tags out when the task definition has none', async () => {
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: describedTaskDefinition(), tags: [] });
    await deployer.registerImage(target, 'api:2');
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input).not.toHaveProperty('tags');
  });

  it('refuses an unknown container without registering anything', async () => {
    await expect(deployer.registerImage({ ...target, container: 'worker' }, 'api:2')).rejects.toMatchObject({
      code: 'invalid',
    });
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });

  it('wraps an AWS failure with what it was doing', async () => {
    ecs.on(RegisterTaskDefinitionCommand).rejects(new AccessDeniedException({ message: 'not allowed', $metadata: {} }));
    const error = await deployer.registerImage(target, 'api:2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).message).toBe(
      'register a new revision of api for service api in cluster prod: AccessDeniedException: not allowed',
    );
  });
});

describe('updateService', () => {
  it('returns the PRIMARY deployment of the response: the one this call created', async () => {
    ecs.on(UpdateServiceCommand).resolves({
      service: serviceWith([deployment({ id: NEW }), oldDeployment()]),
    });
    await expect(deployer.updateService(target, { taskDefinitionArn: tdArn('api', 8) })).resolves.toEqual({
      deploymentId: NEW,
    });
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      service: 'api',
      taskDefinition: tdArn('api', 8),
    });
  });

  it('returns the existing primary for a count-only change', async () => {
    ecs.on(UpdateServiceCommand).resolves({ service: serviceWith([oldDeployment({ status: 'PRIMARY' })]) });
    await expect(deployer.updateService(target, { desiredCount: 4 })).resolves.toEqual({ deploymentId: OLD });
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      service: 'api',
      desiredCount: 4,
    });
  });

  it('passes forceNewDeployment', async () => {
    ecs.on(UpdateServiceCommand).resolves({ service: serviceWith([deployment({ id: NEW }), oldDeployment()]) });
    await deployer.updateService({ ...target, region: 'eu-west-1' }, { forceNewDeployment: true });
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      service: 'api',
      forceNewDeployment: true,
    });
  });
});

describe('abort', () => {
  const sdArn = (id: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/prod/api/${id}`;
  const SD_NEW = sdArn('r9i43YFjvgF_xlg7m2eJ1r');
  const rollout = {
    deploymentId: NEW,
    taskDefinitionArn: tdArn('api', 8),
    previousTaskDefinitionArn: tdArn('api', 7),
  };
  const ongoing = (over: Partial<ServiceDeploymentBrief> = {}): ServiceDeploymentBrief => ({
    serviceDeploymentArn: SD_NEW,
    serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/prod/api`,
    clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`,
    createdAt: at('10:00:00'),
    startedAt: at('10:00:01'),
    targetServiceRevisionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service-revision/prod/api/2222222222222222222`,
    status: 'IN_PROGRESS',
    ...over,
  });
  const rolling = (over: Partial<Service> = {}): Service => ({
    ...serviceWith([deployment({ id: NEW, runningCount: 1 }), oldDeployment()]),
    deploymentController: { type: 'ECS' },
    currentServiceDeployment: SD_NEW,
    ...over,
  });
  const fallbackUpdate = () => ecs.on(UpdateServiceCommand).resolves({ service: serviceWith([oldDeployment()]) });

  it("stops this rollout's service deployment with ROLLBACK, and calls no UpdateService", async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [rolling()], failures: [] });
    ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [ongoing()] });
    ecs.on(StopServiceDeploymentCommand).resolves({ serviceDeploymentArn: SD_NEW });

    await expect(deployer.abort(target, rollout)).resolves.toEqual({ method: 'stop_service_deployment' });
    expect(ecs.commandCalls(ListServiceDeploymentsCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      service: 'api',
      status: ['IN_PROGRESS', 'PENDING'],
      maxResults: 20,
    });
    expect(ecs.commandCalls(StopServiceDeploymentCommand)[0]?.args[0].input).toEqual({
      serviceDeploymentArn: SD_NEW,
      stopType: 'ROLLBACK',
    });
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('falls back to UpdateService to the previous revision when the API is not available, and says why', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [rolling({ currentServiceDeployment: undefined })] });
    ecs
      .on(ListServiceDeploymentsCommand)
      .rejects(new UnsupportedFeatureException({ message: 'not supported in this Region', $metadata: {} }));
    fallbackUpdate();

    const result = await deployer.abort(target, rollout);
    expect(result.method).toBe('update_service');
    expect(result.fallbackReason).toBe(
      'list the service deployments of service api in cluster prod: UnsupportedFeatureException: not supported in this Region',
    );
    expect(ecs.commandCalls(StopServiceDeploymentCommand)).toHaveLength(0);
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      service: 'api',
      taskDefinition: tdArn('api', 7),
    });
  });

  it('falls back when StopServiceDeployment is denied', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [rolling()] });
    ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [ongoing()] });
    ecs.on(StopServiceDeploymentCommand).rejects(new AccessDeniedException({ message: 'not allowed', $metadata: {} }));
    fallbackUpdate();

    const result = await deployer.abort(target, rollout);
    expect(result).toEqual({
      method: 'update_service',
      fallbackReason:
        'roll back service deployment r9i43YFjvgF_xlg7m2eJ1r of service api in cluster prod: AccessDeniedException: not allowed',
    });
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
  });

  it('falls back when the rollout has no ongoing service deployment any more (it completed)', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [rolling({ deployments: [deployment({ id: NEW, rolloutState: 'COMPLETED', runningCount: 2 })] })],
    });
    ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
    fallbackUpdate();

    await expect(deployer.abort(target, rollout)).resolves.toEqual({
      method: 'update_service',
      fallbackReason: 'no service deployment of the service is in progress',
    });
    expect(ecs.commandCalls(StopServiceDeploymentCommand)).toHaveLength(0);
  });

  it("never stops another rollout's service deployment: falls back when this deployment is no longer PRIMARY", async () => {
    const other = 'ecs-svc/3333333333333333333';
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        rolling({
          deployments: [
            deployment({ id: other, taskDefinition: tdArn('api', 9) }),
            deployment({ id: NEW, status: 'ACTIVE' }),
          ],
        }),
      ],
    });
    fallbackUpdate();

    await expect(deployer.abort(target, rollout)).resolves.toEqual({
      method: 'update_service',
      fallbackReason: `deployment ${NEW} is no longer the service's PRIMARY deployment`,
    });
    expect(ecs.commandCalls(ListServiceDeploymentsCommand)).toHaveLength(0);
    expect(ecs.commandCalls(StopServiceDeploymentCommand)).toHaveLength(0);
  });

  it('falls back without listing for a service with an external or CodeDeploy deployment controller', async () => {
    ecs
      .on(DescribeServicesCommand)
      .resolves({ services: [rolling({ deploymentController: { type: 'CODE_DEPLOY' } })] });
    fallbackUpdate();

    await expect(deployer.abort(target, rollout)).resolves.toEqual({
      method: 'update_service',
      fallbackReason: 'the service uses the CODE_DEPLOY deployment controller',
    });
    expect(ecs.commandCalls(ListServiceDeploymentsCommand)).toHaveLength(0);
  });

  it('wraps a failing fallback with what it was doing', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [rolling()] });
    ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
    ecs.on(UpdateServiceCommand).rejects(new AccessDeniedException({ message: 'not allowed', $metadata: {} }));

    const error = await deployer.abort(target, rollout).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).message).toBe(
      'return service api in cluster prod to api:7: AccessDeniedException: not allowed',
    );
  });
});

describe('matching a rollout to its service deployment (pure)', () => {
  const sd = (id: string, over: Partial<ServiceDeploymentBrief> = {}): ServiceDeploymentBrief => ({
    serviceDeploymentArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/prod/api/${id}`,
    createdAt: at('10:00:00'),
    status: 'IN_PROGRESS',
    ...over,
  });
  const ours = toDeploymentSnapshot(deployment({ id: NEW }));

  it("takes the service's current service deployment when it is ongoing", () => {
    const current = sd('current');
    expect(pickServiceDeployment(ours, current.serviceDeploymentArn, [sd('other'), current])).toEqual({
      arn: current.serviceDeploymentArn,
    });
  });

  it('takes none when the current service deployment is not ongoing, even if another one is', () => {
    expect(pickServiceDeployment(ours, sd('current').serviceDeploymentArn, [sd('other')])).toEqual({
      reason: 'the current service deployment current is not in progress',
    });
  });

  it('without currentServiceDeployment: the only ongoing one, unless it is older than the rollout', () => {
    const only = sd('only', { createdAt: at('10:00:00') });
    expect(pickServiceDeployment(ours, undefined, [only, sd('done', { status: 'SUCCESSFUL' })])).toEqual({
      arn: only.serviceDeploymentArn,
    });
    expect(pickServiceDeployment(ours, undefined, [sd('old', { createdAt: at('09:50:00') })])).toEqual({
      reason: `service deployment old is older than ${NEW}`,
    });
    expect(pickServiceDeployment(ours, undefined, [sd('a'), sd('b', { status: 'PENDING' })])).toEqual({
      reason: `2 service deployments are in progress; none is known to be ${NEW}`,
    });
  });

  it('knows when the rollout is no longer the one running', () => {
    expect(whyNotRunning(NEW, ours, tdArn('api', 8))).toBeUndefined();
    expect(whyNotRunning(NEW, undefined, tdArn('api', 8))).toBe(`ECS no longer lists deployment ${NEW}`);
    expect(whyNotRunning(NEW, ours, tdArn('api', 9))).toBe(`deployment ${NEW} runs api:8, not api:9`);
  });
});

describe('rolloutProgress', () => {
  it('is in progress while the new deployment has fewer running tasks than desired', async () => {
    answer(serviceWith([deployment({ id: NEW, runningCount: 1, pendingCount: 1 }), oldDeployment()]), [task('t1')]);
    const progress = await deployer.rolloutProgress(target, NEW);
    expect(progress.outcome).toBe('in_progress');
    expect(progress.deployment?.id).toBe(NEW);
    expect(progress.deployments.map((d) => [d.id, d.status])).toEqual([
      [NEW, 'PRIMARY'],
      [OLD, 'ACTIVE'],
    ]);
    expect(progress.tasks.map((t) => t.id)).toEqual(['t1']);
  });

  it('is completed only when rolloutState is COMPLETED and running equals desired', async () => {
    answer(serviceWith([deployment({ id: NEW, rolloutState: 'COMPLETED', runningCount: 1 })]));
    expect((await deployer.rolloutProgress(target, NEW)).outcome).toBe('in_progress');

    ecs.reset();
    answer(serviceWith([deployment({ id: NEW, rolloutState: 'IN_PROGRESS', runningCount: 2 }), oldDeployment()]));
    expect((await deployer.rolloutProgress(target, NEW)).outcome).toBe('in_progress');

    ecs.reset();
    answer(
      serviceWith([
        deployment({
          id: NEW,
          rolloutState: 'COMPLETED',
          rolloutStateReason: `ECS deployment ${NEW} completed.`,
          runningCount: 2,
        }),
      ]),
    );
    const progress = await deployer.rolloutProgress(target, NEW);
    expect(progress.outcome).toBe('completed');
    expect(progress.reason).toBe(`ECS deployment ${NEW} completed.`);
  });

  it('without a circuit breaker (no rolloutState): completed when it is the only deployment and settled', async () => {
    answer(serviceWith([deployment({ id: NEW, rolloutState: undefined, runningCount: 2 }), oldDeployment()]));
    expect((await deployer.rolloutProgress(target, NEW)).outcome).toBe('in_progress');
    ecs.reset();
    answer(serviceWith([deployment({ id: NEW, rolloutState: undefined, runningCount: 2 })]));
    expect((await deployer.rolloutProgress(target, NEW)).outcome).toBe('completed');
  });

  it('is failed when the circuit breaker marks the deployment FAILED', async () => {
    const reason = 'ECS deployment circuit breaker: tasks failed to start.';
    answer(
      serviceWith([
        deployment({ id: NEW, status: 'ACTIVE', rolloutState: 'FAILED', rolloutStateReason: reason, failedTasks: 3 }),
        oldDeployment({ status: 'PRIMARY' }),
      ]),
      [stoppedTask('s1', 'Essential container in task exited', '10:01:00', [1, 137])],
    );
    const progress = await deployer.rolloutProgress(target, NEW);
    expect(progress.outcome).toBe('failed');
    expect(progress.reason).toBe(reason);
    expect(progress.stoppedTasks).toEqual([
      { reason: 'Essential container in task exited', count: 1, exampleTaskId: 's1', exitCodes: [1, 137] },
    ]);
  });

  it('is failed, not completed, when a circuit-breaker rollback replaced it and the old revision is stable', async () => {
    // Our deployment is gone; the rollback deployment of the old revision is PRIMARY, COMPLETED and settled:
    // exactly what waitUntilServicesStable would call success.
    const ROLLBACK = 'ecs-svc/3333333333333333333';
    answer(
      serviceWith(
        [
          deployment({
            id: ROLLBACK,
            taskDefinition: tdArn('api', 7),
            rolloutState: 'COMPLETED',
            rolloutStateReason: `ECS deployment circuit breaker: rolling back to deploymentId ${OLD}.`,
            runningCount: 2,
            createdAt: at('10:05:00'),
          }),
        ],
        [
          { id: 'e3', createdAt: at('10:06:00'), message: '(service api) has reached a steady state.' },
          {
            id: 'e2',
            createdAt: at('10:04:00'),
            message: `(service api) (deployment ${NEW}) deployment failed: tasks failed to start.`,
          },
        ],
      ),
      [
        stoppedTask('s1', 'Essential container in task exited', '10:03:00', [1, 137]),
        stoppedTask('s2', 'Essential container in task exited', '10:04:00', [1, 137]),
        task('r1', { startedBy: ROLLBACK }),
      ],
    );
    const progress = await deployer.rolloutProgress(target, NEW);
    expect(progress.outcome).toBe('failed');
    expect(progress.deployment).toBeUndefined();
    expect(progress.reason).toBe(
      `ECS replaced deployment ${NEW} with ${ROLLBACK} (api:7): ECS deployment circuit breaker: rolling back to deploymentId ${OLD}.`,
    );
    expect(progress.failureEvents).toEqual([
      `(service api) (deployment ${NEW}) deployment failed: tasks failed to start.`,
    ]);
    // Its stopped tasks are still looked up (ECS no longer reports a failedTasks count for it).
    expect(progress.stoppedTasks).toEqual([
      { reason: 'Essential container in task exited', count: 2, exampleTaskId: 's2', exitCodes: [1, 137] },
    ]);
    expect(progress.tasks).toEqual([]);
  });

  it('is failed when another deployment of a different task definition became PRIMARY', async () => {
    const OTHER = 'ecs-svc/4444444444444444444';
    answer(
      serviceWith([
        deployment({ id: OTHER, taskDefinition: tdArn('api', 9), createdAt: at('10:02:00') }),
        deployment({ id: NEW, status: 'ACTIVE', runningCount: 1 }),
      ]),
    );
    const progress = await deployer.rolloutProgress(target, NEW);
    expect(progress.outcome).toBe('failed');
    expect(progress.reason).toMatch(`deployment ${OTHER} (api:9) replaced it`);
  });

  it('keeps failure events newer than the deployment, by keyword, de-duplicated across task ids, newest 5', async () => {
    const ev = (id: string, time: string, message: string): ServiceEvent => ({ id, createdAt: at(time), message });
    const events = [
      ev('e1', '09:59:00', '(service api) failed to launch a task: old news.'),
      ev('e2', '10:00:30', '(service api) has started 2 tasks: (task 0123456789abcdef0123456789abcdef).'),
      ev('e3', '10:01:00', '(service api) has stopped 2 running tasks: (task 0123456789abcdef0123456789abcdef).'),
      ev('e4', '10:01:10', '(service api) (task 0123456789abcdef0123456789abcdef) failed container health checks.'),
      ev('e5', '10:01:20', '(service api) (task fedcba9876543210fedcba9876543210) failed container health checks.'),
      ev('e6', '10:01:30', '(service api) is unable to consistently start tasks successfully.'),
      ev(
        'e7',
        '10:01:40',
        '(service api) was unable to place a task because no container instance met all of its requirements. Reason: insufficient memory.',
      ),
      ev('e8', '10:01:50', '(service api) registered 1 targets in (target-group tg-api)'),
      ev(
        'e9',
        '10:02:00',
        '(service api) (port 8080) is unhealthy in (target-group tg-api) due to (reason Health checks failed).',
      ),
      ev('e10', '10:02:10', '(service api) failed to launch a task with (error ECS was unable to assume the role).'),
      ev('e11', '10:02:20', '(service api) is unable to consistently start tasks successfully.'),
    ];
    // ECS lists events newest first.
    answer(serviceWith([deployment({ id: NEW, runningCount: 1 })], [...events].reverse()));
    const progress = await deployer.rolloutProgress(target, NEW);
    expect(progress.failureEvents).toEqual([
      '(service api) is unable to consistently start tasks successfully.',
      '(service api) failed to launch a task with (error ECS was unable to assume the role).',
      '(service api) (port 8080) is unhealthy in (target-group tg-api) due to (reason Health checks failed).',
      '(service api) was unable to place a task because no container instance met all of its requirements. Reason: insufficient memory.',
      '(service api) (task fedcba9876543210fedcba9876543210) failed container health checks.',
    ]);
  });

  it('groups stopped tasks of this deployment by reason and exit codes, newest group first', async () => {
    answer(serviceWith([deployment({ id: NEW, runningCount: 1, failedTasks: 4 }), oldDeployment()]), [
      task('run1', { eni: 'eni-0aaa1111' }),
      task('old1', { startedBy: OLD, eni: 'eni-0bbb2222' }),
      stoppedTask('s1', 'Essential container in task exited', '10:01:00', [1, 137]),
      stoppedTask('s2', 'Task failed container health checks', '10:02:00', [137, 0]),
      stoppedTask('s3', 'Essential container in task exited', '10:03:00', [1, 137]),
      stoppedTask('s4', 'Essential container in task exited', '10:01:30', [2, 137]),
      stoppedTask('o1', 'Scaling activity initiated by (deployment x)', '10:04:00', [0, 0], OLD),
    ]);
    addEni('eni-0aaa1111', '203.0.113.7');
    const progress = await deployer.rolloutProgress(target, NEW);
    expect(progress.stoppedTasks).toEqual([
      { reason: 'Essential container in task exited', count: 2, exampleTaskId: 's3', exitCodes: [1, 137] },
      { reason: 'Task failed container health checks', count: 1, exampleTaskId: 's2', exitCodes: [0, 137] },
      { reason: 'Essential container in task exited', count: 1, exampleTaskId: 's4', exitCodes: [2, 137] },
    ]);
    expect(progress.tasks.map((t) => [t.id, t.publicIp])).toEqual([['run1', '203.0.113.7']]);
    expect(eniIdsAsked()).toEqual([['eni-0aaa1111']]);
  });

  it('costs DescribeServices + ListTasks + DescribeTasks per poll, no STOPPED listing without failed tasks, EC2 once', async () => {
    answer(serviceWith([deployment({ id: NEW, runningCount: 2 }), oldDeployment()]), [
      task('run1', { eni: 'eni-0aaa1111' }),
      task('run2', { eni: 'eni-0aaa2222' }),
    ]);
    addEni('eni-0aaa1111', '203.0.113.7');
    addEni('eni-0aaa2222', '203.0.113.8');
    await deployer.rolloutProgress(target, NEW);
    const second = await deployer.rolloutProgress(target, NEW);

    expect(second.tasks.map((t) => t.publicIp)).toEqual(['203.0.113.7', '203.0.113.8']);
    expect(ecs.commandCalls(DescribeServicesCommand)).toHaveLength(2);
    expect(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: 'prod', serviceName: 'api', desiredStatus: 'RUNNING', maxResults: 100 },
      { cluster: 'prod', serviceName: 'api', desiredStatus: 'RUNNING', maxResults: 100 },
    ]);
    expect(ecs.commandCalls(DescribeTasksCommand)).toHaveLength(2);
    expect(ec2.calls['EC2.DescribeNetworkInterfaces']).toBe(1);
  });

  it('makes only the DescribeServices call while the deployment has no tasks and no failures', async () => {
    answer(serviceWith([deployment({ id: NEW }), oldDeployment()]));
    await deployer.rolloutProgress(target, NEW);
    expect(ecs.calls()).toHaveLength(1);
  });

  it('filters events by the creation time remembered from UpdateService once ECS drops the deployment', async () => {
    ecs.on(UpdateServiceCommand).resolves({
      service: serviceWith([deployment({ id: NEW, createdAt: at('10:00:00') }), oldDeployment()]),
    });
    await deployer.updateService(target, { taskDefinitionArn: tdArn('api', 8) });
    answer(
      serviceWith(
        [oldDeployment({ id: 'ecs-svc/5', status: 'PRIMARY', createdAt: at('10:05:00') })],
        [
          { id: 'e2', createdAt: at('10:03:00'), message: '(service api) failed to launch a task.' },
          { id: 'e1', createdAt: at('09:00:00'), message: '(service api) failed an hour ago.' },
        ],
      ),
    );
    const progress = await deployer.rolloutProgress(target, NEW);
    expect(progress.failureEvents).toEqual(['(service api) failed to launch a task.']);
  });
});

describe('failure events, stopped-task grouping (pure)', () => {
  it('normalises task ids and counts', () => {
    expect(normaliseIds('(service api) has stopped 3 running tasks: (task 0123456789abcdef0123456789abcdef).')).toBe(
      '(service api) has stopped <n> running tasks: (task <id>).',
    );
  });

  it('takes every event when the deployment creation time is unknown', () => {
    expect(
      failureEventsOf(
        { events: [{ id: '1', createdAt: at('01:00:00'), message: 'Task failed ELB health checks' }] },
        undefined,
      ),
    ).toEqual(['Task failed ELB health checks']);
  });

  it('groups tasks without a reason together', () => {
    const bare = (id: string): TaskSnapshot => ({
      arn: taskArn(id),
      id,
      taskDefinitionArn: '',
      revision: '',
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      health: 'UNKNOWN',
      containers: [],
    });
    expect(groupStoppedTasks([bare('a'), bare('b')])).toEqual([
      { reason: 'stopped without a reason', count: 2, exampleTaskId: 'a', exitCodes: [] },
    ]);
  });
});

describe('currentTaskDefinition and listRevisions', () => {
  it('reads the service task definition from DescribeServices alone', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [serviceWith([oldDeployment({ status: 'PRIMARY' })])] });
    await expect(deployer.currentTaskDefinition(target)).resolves.toEqual({
      arn: tdArn('api', 7),
      family: 'api',
      revision: 7,
    });
    expect(ecs.calls()).toHaveLength(1);
  });

  it('lists ACTIVE revisions of exactly this family, newest first, across pages, up to the limit', async () => {
    ecs
      .on(ListTaskDefinitionsCommand)
      .resolvesOnce({ taskDefinitionArns: [tdArn('api-worker', 3), tdArn('api-worker', 2)], nextToken: 'p2' })
      .resolvesOnce({ taskDefinitionArns: [tdArn('api', 9), tdArn('api', 8)], nextToken: 'p3' })
      .resolvesOnce({ taskDefinitionArns: [tdArn('api', 7), tdArn('api', 6)], nextToken: 'p4' });
    const revisions = await deployer.listRevisions(target, 'api', 3);
    expect(revisions).toEqual([
      { arn: tdArn('api', 9), revision: 9 },
      { arn: tdArn('api', 8), revision: 8 },
      { arn: tdArn('api', 7), revision: 7 },
    ]);
    expect(ecs.commandCalls(ListTaskDefinitionsCommand).map((c) => c.args[0].input)).toEqual([
      { familyPrefix: 'api', status: 'ACTIVE', sort: 'DESC', maxResults: 100 },
      { familyPrefix: 'api', status: 'ACTIVE', sort: 'DESC', maxResults: 100, nextToken: 'p2' },
      { familyPrefix: 'api', status: 'ACTIVE', sort: 'DESC', maxResults: 100, nextToken: 'p3' },
    ]);
  });
});

describe('recentLogLines', () => {
  beforeEach(() => {
    ecs.on(DescribeServicesCommand).resolves({ services: [serviceWith([oldDeployment({ status: 'PRIMARY' })])] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: describedTaskDefinition() });
  });

  it('reads the newest lines of each task stream from the awslogs group and region, in time order', async () => {
    logs
      .on(GetLogEventsCommand, { logStreamName: 'ecs/app/task1' })
      .resolves({
        events: [
          { timestamp: 1000, message: 'boot\n' },
          { timestamp: 3000, message: 'Error: cannot connect to db\n' },
        ],
      })
      .on(GetLogEventsCommand, { logStreamName: 'ecs/app/task2' })
      .resolves({ events: [{ timestamp: 2000, message: 'listening on 8080' }] })
      .on(GetLogEventsCommand, { logStreamName: 'ecs/app/task3' })
      .rejects(new ResourceNotFoundException({ message: 'The specified log stream does not exist.', $metadata: {} }));

    const lines = await deployer.recentLogLines(target, ['task1', 'task2', 'task3'], 2);
    expect(lines).toEqual(['[task2] listening on 8080', '[task1] Error: cannot connect to db']);
    expect(logs.commandCalls(GetLogEventsCommand)[0]?.args[0].input).toEqual({
      logGroupName: '/ecs/api',
      logStreamName: 'ecs/app/task1',
      startFromHead: false,
      limit: 2,
    });
    expect(await clients.forRegion('eu-west-1').logs.config.region()).toBe('eu-west-1');
  });

  it('returns the bare lines of a single task', async () => {
    logs.on(GetLogEventsCommand).resolves({ events: [{ timestamp: 1, message: 'hello' }] });
    await expect(deployer.recentLogLines(target, ['task1'], 10)).resolves.toEqual(['hello']);
  });

  it('returns nothing, without calling CloudWatch Logs, when the container does not log with awslogs', async () => {
    await expect(deployer.recentLogLines({ ...target, container: 'envoy' }, ['task1'], 10)).resolves.toEqual([]);
    expect(logs.calls()).toHaveLength(0);
  });
});

describe('filterServiceLogs', () => {
  it('filters the named task streams with a pattern and keeps the newest lines in time order', async () => {
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({
        events: [
          { logStreamName: 'ecs/app/t1', timestamp: 1000, message: 'ERROR one' },
          { logStreamName: 'ecs/app/t2', timestamp: 2000, message: 'ERROR two' },
        ],
        nextToken: 'n2',
      })
      .resolvesOnce({ events: [{ logStreamName: 'ecs/app/t1', timestamp: 3000, message: 'ERROR three' }] });
    const client = clients.forRegion().logs;
    const result = await filterServiceLogs({
      logs: client,
      group: '/ecs/api',
      streamPrefix: 'ecs',
      container: 'app',
      taskIds: ['t1', 't2'],
      startTime: new Date(500),
      pattern: 'ERROR',
      limit: 2,
    });
    expect(result.truncated).toBe(false);
    expect(result.lines.map((l) => [l.taskId, l.message])).toEqual([
      ['t2', 'ERROR two'],
      ['t1', 'ERROR three'],
    ]);
    expect(logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input)).toEqual([
      {
        logGroupName: '/ecs/api',
        logStreamNames: ['ecs/app/t1', 'ecs/app/t2'],
        startTime: 500,
        filterPattern: 'ERROR',
      },
      {
        logGroupName: '/ecs/api',
        logStreamNames: ['ecs/app/t1', 'ecs/app/t2'],
        startTime: 500,
        filterPattern: 'ERROR',
        nextToken: 'n2',
      },
    ]);
  });

  it('searches the container prefix without task ids, and says when maxPages cut the search short', async () => {
    logs
      .on(FilterLogEventsCommand)
      .resolves({ events: [{ logStreamName: 'ecs/app/t1', timestamp: 1, message: 'x' }], nextToken: 'more' });
    const result = await filterServiceLogs({
      logs: clients.forRegion().logs,
      group: '/ecs/api',
      streamPrefix: 'ecs',
      container: 'app',
      startTime: new Date(0),
      limit: 10,
      maxPages: 2,
    });
    expect(result.truncated).toBe(true);
    expect(logs.commandCalls(FilterLogEventsCommand)[0]?.args[0].input).toMatchObject({
      logStreamNamePrefix: 'ecs/app/',
    });
    expect(logs.commandCalls(FilterLogEventsCommand)).toHaveLength(2);
  });
});
