import { AwsError } from './errors.ts';
import type { FakeAws } from './fake-aws.ts';
import { optBool, optInt, optString, optStringArray, paginate, reqString, reqStringArray } from './input.ts';
import {
  ACCOUNT_ID,
  type JsonObject,
  ONGOING_SERVICE_DEPLOYMENT_STATUSES,
  REGION,
  type ServiceDeploymentState,
  type ServiceDeploymentStatus,
  type ServiceRevisionRef,
  type ServiceState,
  type TaskDefinitionRecord,
  type TaskState,
} from './model.ts';

type Handler = (fake: FakeAws, input: JsonObject) => unknown;

const clusterArn = (name: string) => `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:cluster/${name}`;

function nameOf(ref: string): string {
  return ref.startsWith('arn:') ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
}

function clusterOf(fake: FakeAws, input: JsonObject) {
  return fake.cluster(optString(input, 'cluster') ?? 'default');
}

export function serializeService(fake: FakeAws, svc: ServiceState): JsonObject {
  const total = fake.counts(svc);
  const ec2 = svc.launchType === 'EC2';
  const network = {
    awsvpcConfiguration: {
      subnets: svc.subnets,
      securityGroups: svc.securityGroups,
      assignPublicIp: svc.assignPublicIp ? 'ENABLED' : 'DISABLED',
    },
  };
  return {
    serviceArn: svc.arn,
    serviceName: svc.name,
    clusterArn: clusterArn(svc.cluster),
    loadBalancers: svc.loadBalancers.map((lb) => ({ ...lb })),
    serviceRegistries: [],
    status: svc.status,
    desiredCount: svc.desiredCount,
    runningCount: total.running,
    pendingCount: total.pending,
    launchType: svc.launchType,
    ...(ec2 ? {} : { platformVersion: 'LATEST', platformFamily: 'Linux' }),
    taskDefinition: svc.taskDefinition,
    deploymentConfiguration: structuredClone(svc.deploymentConfiguration),
    deployments: svc.deployments.map((d) => {
      const c = fake.counts(svc, d);
      return {
        id: d.id,
        status: d.status,
        taskDefinition: d.taskDefinition,
        desiredCount: d.desiredCount,
        pendingCount: c.pending,
        runningCount: c.running,
        failedTasks: d.failedTasks,
        createdAt: d.createdAt,
        updatedAt: d.updatedAt,
        launchType: svc.launchType,
        ...(ec2 ? {} : { platformVersion: '1.4.0', platformFamily: 'Linux', networkConfiguration: network }),
        rolloutState: d.rolloutState,
        rolloutStateReason: d.rolloutStateReason,
      };
    }),
    events: svc.events.map((e) => ({ id: e.id, createdAt: e.createdAt, message: e.message })),
    createdAt: svc.createdAt,
    ...(fake.serviceDeploymentsAvailable && svc.serviceDeployments[0]
      ? { currentServiceDeployment: svc.serviceDeployments[0].arn }
      : {}),
    placementConstraints: [],
    placementStrategy: [],
    ...(ec2 ? {} : { networkConfiguration: network }),
    schedulingStrategy: 'REPLICA',
    deploymentController: { type: 'ECS' },
    createdBy: `arn:aws:iam::${ACCOUNT_ID}:role/admin`,
    enableECSManagedTags: false,
    propagateTags: 'NONE',
    enableExecuteCommand: false,
  };
}

/**
 * A task as DescribeTasks answers. Fargate (awsvpc): an ENI attachment and the container's network interface. The EC2
 * launch type with bridge or host networking (`containerInstanceArn`): no ENI, host ports in networkBindings, which
 * ECS reports only while the container runs.
 */
export function serializeTask(fake: FakeAws, t: TaskState): JsonObject {
  const instance = t.containerInstanceArn;
  const eni = instance ? undefined : fake.enis.get(t.eniId);
  return {
    taskArn: t.arn,
    clusterArn: clusterArn(t.cluster),
    taskDefinitionArn: t.taskDefinitionArn,
    ...(instance ? { containerInstanceArn: instance } : {}),
    group: t.group,
    startedBy: t.startedBy,
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    healthStatus: t.healthStatus,
    ...(instance
      ? { launchType: 'EC2' }
      : { launchType: 'FARGATE', platformVersion: '1.4.0', platformFamily: 'Linux' }),
    availabilityZone: 'us-east-1a',
    connectivity: 'CONNECTED',
    connectivityAt: t.createdAt,
    createdAt: t.createdAt,
    pullStartedAt: t.startedAt,
    pullStoppedAt: t.startedAt,
    startedAt: t.startedAt,
    stoppingAt: t.stoppingAt,
    executionStoppedAt: t.stoppedAt,
    stoppedAt: t.stoppedAt,
    stoppedReason: t.stoppedReason,
    stopCode: t.stopCode,
    cpu: t.cpu,
    memory: t.memory,
    version: t.lastStatus === 'STOPPED' ? 4 : t.lastStatus === 'RUNNING' ? 3 : 2,
    overrides: { containerOverrides: t.containers.map((c) => ({ name: c.name })), inferenceAcceleratorOverrides: [] },
    containers: t.containers.map((c) => ({
      containerArn: c.containerArn,
      taskArn: t.arn,
      name: c.name,
      image: c.image,
      ...(c.imageDigest ? { imageDigest: c.imageDigest } : {}),
      runtimeId: c.runtimeId,
      lastStatus: c.lastStatus,
      exitCode: c.exitCode,
      reason: c.reason,
      healthStatus: c.healthStatus,
      networkBindings: instance && c.lastStatus === 'RUNNING' ? structuredClone(c.networkBindings ?? []) : [],
      networkInterfaces: instance ? [] : [{ attachmentId: t.attachmentId, privateIpv4Address: t.privateIp }],
      cpu: '0',
    })),
    attachments: instance
      ? []
      : [
          {
            id: t.attachmentId,
            type: 'ElasticNetworkInterface',
            status: t.lastStatus === 'STOPPED' ? 'DELETED' : 'ATTACHED',
            details: [
              { name: 'subnetId', value: eni?.subnetId ?? 'subnet-0fa4e00000000001' },
              { name: 'networkInterfaceId', value: t.eniId },
              { name: 'macAddress', value: eni?.macAddress ?? '0e:00:00:00:00:00' },
              { name: 'privateDnsName', value: `ip-${t.privateIp.replaceAll('.', '-')}.ec2.internal` },
              { name: 'privateIPv4Address', value: t.privateIp },
            ],
          },
        ],
    attributes: [{ name: 'ecs.cpu-architecture', value: 'x86_64' }],
    tags: [],
  };
}

/** DescribeContainerInstances: ≤100 ARNs (or ids), unknown ones as MISSING failures. */
function describeContainerInstances(fake: FakeAws, input: JsonObject) {
  const refs = reqStringArray(input, 'containerInstances');
  if (refs.length > 100) {
    throw new AwsError('InvalidParameterException', 'containerInstances can have at most 100 items.');
  }
  const cluster = clusterOf(fake, input);
  const containerInstances: JsonObject[] = [];
  const failures: JsonObject[] = [];
  for (const ref of refs) {
    const ci = [...fake.containerInstances.values()].find(
      (c) => c.cluster === cluster.name && (c.arn === ref || c.arn.endsWith(`/${ref}`)),
    );
    if (!ci) {
      failures.push({ arn: ref, reason: 'MISSING' });
      continue;
    }
    const tasks = [...fake.tasks.values()].filter((t) => t.containerInstanceArn === ci.arn);
    containerInstances.push({
      containerInstanceArn: ci.arn,
      ec2InstanceId: ci.ec2InstanceId,
      version: 1,
      versionInfo: { agentVersion: '1.86.0', agentHash: 'fa4e0000', dockerVersion: 'DockerVersion: 25.0.8' },
      status: 'ACTIVE',
      agentConnected: true,
      runningTasksCount: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
      pendingTasksCount: tasks.filter((t) => t.lastStatus === 'PENDING').length,
      registeredAt: ci.registeredAt,
      remainingResources: [],
      registeredResources: [],
      attributes: [{ name: 'ecs.os-type', value: 'linux' }],
      attachments: [],
      tags: [],
    });
  }
  return { containerInstances, failures };
}

export function serializeTaskDefinition(td: TaskDefinitionRecord): JsonObject {
  const { tags: _tags, ...rest } = structuredClone(td.input);
  const awsvpc = rest.networkMode === 'awsvpc';
  return {
    ...rest,
    taskDefinitionArn: td.arn,
    family: td.family,
    revision: td.revision,
    status: td.status,
    registeredAt: td.registeredAt,
    registeredBy: `arn:aws:iam::${ACCOUNT_ID}:role/admin`,
    compatibilities: awsvpc ? ['EC2', 'FARGATE'] : ['EC2'],
    requiresAttributes: [],
  };
}

function describeServices(fake: FakeAws, input: JsonObject) {
  const refs = reqStringArray(input, 'services');
  if (refs.length > 10) {
    throw new AwsError('InvalidParameterException', 'services can have at most 10 items.');
  }
  const cluster = clusterOf(fake, input);
  const services: JsonObject[] = [];
  const failures: JsonObject[] = [];
  for (const ref of refs) {
    const failure = fake.serviceDescribeFailure(cluster.name, ref);
    if (failure) {
      failures.push({
        arn: `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:service/${cluster.name}/${nameOf(ref)}`,
        reason: failure.reason,
        ...(failure.detail === undefined ? {} : { detail: failure.detail }),
      });
      continue;
    }
    const svc = fake.findService(cluster.name, ref);
    if (!svc) {
      failures.push({
        arn: `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:service/${cluster.name}/${nameOf(ref)}`,
        reason: 'MISSING',
      });
      continue;
    }
    if (fake.autoStep === 'onDescribe') fake.stepService(svc);
    services.push(serializeService(fake, svc));
  }
  return { services, failures };
}

function updateService(fake: FakeAws, input: JsonObject) {
  const cluster = clusterOf(fake, input);
  const ref = reqString(input, 'service');
  const svc = fake.findService(cluster.name, ref);
  if (!svc) throw new AwsError('ServiceNotFoundException', 'Service not found.');
  const taskDefinition = optString(input, 'taskDefinition');
  const desiredCount = optInt(input, 'desiredCount', 0, 10_000);
  const forceNewDeployment = optBool(input, 'forceNewDeployment');
  const dc = input.deploymentConfiguration as JsonObject | undefined;
  if (dc && typeof dc === 'object') {
    const cb = dc.deploymentCircuitBreaker as { enable?: unknown; rollback?: unknown } | undefined;
    if (cb && typeof cb.enable === 'boolean' && typeof cb.rollback === 'boolean') {
      svc.deploymentConfiguration.deploymentCircuitBreaker = { enable: cb.enable, rollback: cb.rollback };
    }
    const alarms = dc.alarms as { alarmNames?: unknown; enable?: unknown; rollback?: unknown } | undefined;
    if (alarms && typeof alarms === 'object') {
      const names = alarms.alarmNames;
      if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
        throw new AwsError('InvalidParameterException', 'deploymentConfiguration.alarms.alarmNames must be a list.');
      }
      if (typeof alarms.enable !== 'boolean' || typeof alarms.rollback !== 'boolean') {
        throw new AwsError('InvalidParameterException', 'deploymentConfiguration.alarms needs enable and rollback.');
      }
      svc.deploymentConfiguration.alarms = {
        alarmNames: names as string[],
        enable: alarms.enable,
        rollback: alarms.rollback,
      };
    }
    if (typeof dc.maximumPercent === 'number') svc.deploymentConfiguration.maximumPercent = dc.maximumPercent;
    if (typeof dc.minimumHealthyPercent === 'number') {
      svc.deploymentConfiguration.minimumHealthyPercent = dc.minimumHealthyPercent;
    }
  }
  fake.updateService(svc, {
    ...(taskDefinition !== undefined ? { taskDefinition } : {}),
    ...(desiredCount !== undefined ? { desiredCount } : {}),
    ...(forceNewDeployment !== undefined ? { forceNewDeployment } : {}),
  });
  return { service: serializeService(fake, svc) };
}

function listServices(fake: FakeAws, input: JsonObject) {
  const cluster = clusterOf(fake, input);
  const max = optInt(input, 'maxResults', 1, 100) ?? 10;
  const arns = [...fake.services.values()].filter((s) => s.cluster === cluster.name).map((s) => s.arn);
  const { page, nextToken } = paginate(arns, optString(input, 'nextToken'), max, `ListServices/${cluster.name}`);
  return { serviceArns: page, nextToken };
}

function listTasks(fake: FakeAws, input: JsonObject) {
  const cluster = clusterOf(fake, input);
  const serviceName = optString(input, 'serviceName');
  const desiredStatus = optString(input, 'desiredStatus') ?? 'RUNNING';
  if (!['RUNNING', 'PENDING', 'STOPPED'].includes(desiredStatus)) {
    throw new AwsError('InvalidParameterException', 'desiredStatus must be RUNNING, PENDING or STOPPED.');
  }
  const family = optString(input, 'family');
  const startedBy = optString(input, 'startedBy');
  const max = optInt(input, 'maxResults', 1, 100) ?? 100;
  if (serviceName !== undefined && !fake.findService(cluster.name, serviceName)) {
    throw new AwsError('ServiceNotFoundException', 'Service not found.');
  }
  const group = serviceName === undefined ? undefined : `service:${nameOf(serviceName)}`;
  const arns = [...fake.tasks.values()]
    .filter((t) => {
      if (t.cluster !== cluster.name) return false;
      if (group !== undefined && t.group !== group) return false;
      if (startedBy !== undefined && t.startedBy !== startedBy) return false;
      if (family !== undefined && fake.taskDefinition(t.taskDefinitionArn)?.family !== family) return false;
      if (desiredStatus === 'PENDING') return t.lastStatus === 'PENDING';
      return t.desiredStatus === desiredStatus;
    })
    .map((t) => t.arn);
  const scope = `ListTasks/${cluster.name}/${group ?? ''}/${desiredStatus}`;
  const { page, nextToken } = paginate(arns, optString(input, 'nextToken'), max, scope);
  return { taskArns: page, nextToken };
}

function describeTasks(fake: FakeAws, input: JsonObject) {
  const refs = reqStringArray(input, 'tasks');
  if (refs.length > 100) throw new AwsError('InvalidParameterException', 'tasks can have at most 100 items.');
  const cluster = clusterOf(fake, input);
  const tasks: JsonObject[] = [];
  const failures: JsonObject[] = [];
  for (const ref of refs) {
    const t = fake.findTask(ref, cluster.name);
    if (!t || t.cluster !== cluster.name) {
      failures.push({
        arn: ref.startsWith('arn:') ? ref : `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:task/${cluster.name}/${ref}`,
        reason: 'MISSING',
      });
    } else {
      tasks.push(serializeTask(fake, t));
    }
  }
  return { tasks, failures };
}

function stopTask(fake: FakeAws, input: JsonObject) {
  const cluster = clusterOf(fake, input);
  const ref = reqString(input, 'task');
  const t = fake.findTask(ref, cluster.name);
  if (!t || t.cluster !== cluster.name)
    throw new AwsError('InvalidParameterException', 'The referenced task was not found.');
  fake.stopTaskNow(t, {
    reason: optString(input, 'reason') ?? 'Task stopped by user',
    stopCode: 'UserInitiated',
    exitCode: 0,
  });
  const svc = fake.findService(t.cluster, t.service);
  if (svc) svc.steady = false;
  return { task: serializeTask(fake, t) };
}

function describeTaskDefinition(fake: FakeAws, input: JsonObject) {
  const ref = reqString(input, 'taskDefinition');
  const td = fake.taskDefinition(ref);
  if (!td) throw new AwsError('ClientException', 'Unable to describe task definition.');
  const include = optStringArray(input, 'include') ?? [];
  const tags = td.input.tags;
  return {
    taskDefinition: serializeTaskDefinition(td),
    ...(include.includes('TAGS') ? { tags: Array.isArray(tags) ? tags : [] } : {}),
  };
}

/** ECS: a revision (family:revision or ARN, never a bare family) becomes INACTIVE; running tasks are unaffected. */
function deregisterTaskDefinition(fake: FakeAws, input: JsonObject) {
  const ref = reqString(input, 'taskDefinition');
  const spec = ref.startsWith('arn:') ? ref.slice(ref.indexOf('task-definition/') + 'task-definition/'.length) : ref;
  if (!/:\d+$/.test(spec)) {
    throw new AwsError('InvalidParameterException', 'A revision must be specified to deregister a task definition.');
  }
  const td = fake.taskDefinition(ref);
  if (!td) throw new AwsError('ClientException', 'The specified task definition does not exist.');
  td.status = 'INACTIVE';
  return { taskDefinition: serializeTaskDefinition(td) };
}

function registerTaskDefinition(fake: FakeAws, input: JsonObject) {
  const td = fake.registerTaskDefinition(input);
  return { taskDefinition: serializeTaskDefinition(td), tags: Array.isArray(input.tags) ? input.tags : [] };
}

function listTaskDefinitions(fake: FakeAws, input: JsonObject) {
  const family = optString(input, 'familyPrefix');
  const status = optString(input, 'status') ?? 'ACTIVE';
  const sort = optString(input, 'sort') ?? 'ASC';
  if (sort !== 'ASC' && sort !== 'DESC') throw new AwsError('InvalidParameterException', 'sort must be ASC or DESC.');
  const max = optInt(input, 'maxResults', 1, 100) ?? 100;
  const all = [...fake.taskDefinitions.keys()]
    .sort()
    .filter((f) => family === undefined || f === family)
    .flatMap((f) => fake.taskDefinitions.get(f) ?? [])
    .filter((td) => td.status === status)
    .map((td) => td.arn);
  if (sort === 'DESC') all.reverse();
  const scope = `ListTaskDefinitions/${family ?? ''}/${status}/${sort}`;
  const { page, nextToken } = paginate(all, optString(input, 'nextToken'), max, scope);
  return { taskDefinitionArns: page, nextToken };
}

function describeClusters(fake: FakeAws, input: JsonObject) {
  const refs = optStringArray(input, 'clusters') ?? ['default'];
  if (refs.length > 100) throw new AwsError('InvalidParameterException', 'clusters can have at most 100 items.');
  const clusters: JsonObject[] = [];
  const failures: JsonObject[] = [];
  for (const ref of refs) {
    const c = fake.clusters.get(nameOf(ref));
    if (!c) {
      failures.push({ arn: clusterArn(nameOf(ref)), reason: 'MISSING' });
      continue;
    }
    const tasks = [...fake.tasks.values()].filter((t) => t.cluster === c.name);
    clusters.push({
      clusterArn: c.arn,
      clusterName: c.name,
      status: 'ACTIVE',
      registeredContainerInstancesCount: 0,
      runningTasksCount: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
      pendingTasksCount: tasks.filter((t) => t.lastStatus === 'PENDING').length,
      activeServicesCount: [...fake.services.values()].filter((s) => s.cluster === c.name && s.status === 'ACTIVE')
        .length,
      statistics: [],
      tags: [],
      settings: [{ name: 'containerInsights', value: 'disabled' }],
      capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
      defaultCapacityProviderStrategy: [],
    });
  }
  return { clusters, failures };
}

const SERVICE_DEPLOYMENT_STATUSES: readonly ServiceDeploymentStatus[] = [
  'PENDING',
  'IN_PROGRESS',
  'SUCCESSFUL',
  'STOPPED',
  'STOP_REQUESTED',
  'ROLLBACK_REQUESTED',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_SUCCESSFUL',
  'ROLLBACK_FAILED',
];
const SERVICE_DEPLOYMENT_ARN = /^arn:aws:ecs:[a-z0-9-]+:\d{12}:service-deployment\/[^/]+\/[^/]+\/[A-Za-z0-9_-]+$/;

function serializeRevision(fake: FakeAws, svc: ServiceState, rev: ServiceRevisionRef): JsonObject {
  const dep = svc.deployments.find((d) => d.id === rev.deploymentId);
  const c = dep ? fake.counts(svc, dep) : { running: 0, pending: 0 };
  return {
    arn: rev.arn,
    requestedTaskCount: dep?.desiredCount ?? 0,
    runningTaskCount: c.running,
    pendingTaskCount: c.pending,
  };
}

function serializeServiceDeploymentBrief(sd: ServiceDeploymentState): JsonObject {
  return {
    serviceDeploymentArn: sd.arn,
    serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:service/${sd.cluster}/${sd.service}`,
    clusterArn: clusterArn(sd.cluster),
    startedAt: sd.startedAt,
    createdAt: sd.createdAt,
    finishedAt: sd.finishedAt,
    targetServiceRevisionArn: sd.target.arn,
    status: sd.status,
    statusReason: sd.statusReason,
  };
}

function listServiceDeployments(fake: FakeAws, input: JsonObject) {
  fake.assertServiceDeploymentsAvailable();
  const cluster = clusterOf(fake, input);
  const svc = fake.findService(cluster.name, reqString(input, 'service'));
  if (!svc) throw new AwsError('ServiceNotFoundException', 'Service not found.');
  const statuses = optStringArray(input, 'status');
  for (const status of statuses ?? []) {
    if (!(SERVICE_DEPLOYMENT_STATUSES as readonly string[]).includes(status)) {
      throw new AwsError('InvalidParameterException', `Invalid service deployment status: ${status}.`);
    }
  }
  const createdAt = input.createdAt as JsonObject | undefined;
  if (createdAt !== undefined && (createdAt === null || typeof createdAt !== 'object' || Array.isArray(createdAt))) {
    throw new AwsError('InvalidParameterException', 'createdAt must be an object with before and/or after.');
  }
  const bound = (key: 'before' | 'after'): number | undefined => {
    const v = createdAt?.[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number') throw new AwsError('InvalidParameterException', `createdAt.${key} must be a timestamp.`);
    return v * 1000;
  };
  const before = bound('before');
  const after = bound('after');
  const max = optInt(input, 'maxResults', 1, 100) ?? 20;
  const matching = svc.serviceDeployments.filter(
    (sd) =>
      (statuses === undefined || statuses.includes(sd.status)) &&
      (before === undefined || sd.createdAt.getTime() < before) &&
      (after === undefined || sd.createdAt.getTime() > after),
  );
  const scope = `ListServiceDeployments/${svc.arn}/${(statuses ?? []).join(',')}/${before ?? ''}/${after ?? ''}`;
  const { page, nextToken } = paginate(matching, optString(input, 'nextToken'), max, scope);
  return { serviceDeployments: page.map(serializeServiceDeploymentBrief), nextToken };
}

function describeServiceDeployments(fake: FakeAws, input: JsonObject) {
  fake.assertServiceDeploymentsAvailable();
  const refs = reqStringArray(input, 'serviceDeploymentArns');
  if (refs.length > 20) {
    throw new AwsError('InvalidParameterException', 'serviceDeploymentArns can have at most 20 items.');
  }
  const serviceDeployments: JsonObject[] = [];
  const failures: JsonObject[] = [];
  for (const ref of refs) {
    const sd = fake.findServiceDeployment(ref);
    const svc = sd && fake.findService(sd.cluster, sd.service);
    if (!sd || !svc) {
      failures.push({ arn: ref, reason: 'MISSING' });
      continue;
    }
    const breaker = svc.deploymentConfiguration.deploymentCircuitBreaker;
    const failed = svc.deployments.find((d) => d.id === sd.target.deploymentId)?.failedTasks ?? 0;
    serviceDeployments.push({
      ...serializeServiceDeploymentBrief(sd),
      stoppedAt: sd.stoppedAt,
      updatedAt: sd.updatedAt,
      sourceServiceRevisions: sd.sources.map((rev) => serializeRevision(fake, svc, rev)),
      targetServiceRevision: serializeRevision(fake, svc, sd.target),
      deploymentConfiguration: structuredClone(svc.deploymentConfiguration),
      ...(sd.lifecycleStage ? { lifecycleStage: sd.lifecycleStage } : {}),
      ...(sd.rollback
        ? {
            rollback: {
              reason: sd.rollback.reason,
              startedAt: sd.rollback.startedAt,
              serviceRevisionArn: sd.rollback.revision.arn,
            },
          }
        : {}),
      ...(svc.deploymentConfiguration.alarms
        ? {
            alarms: {
              status: !svc.deploymentConfiguration.alarms.enable
                ? 'DISABLED'
                : sd.triggeredAlarms
                  ? 'TRIGGERED'
                  : ONGOING_SERVICE_DEPLOYMENT_STATUSES.includes(sd.status)
                    ? 'MONITORING'
                    : 'MONITORING_COMPLETE',
              alarmNames: [...svc.deploymentConfiguration.alarms.alarmNames],
              ...(sd.triggeredAlarms ? { triggeredAlarmNames: [...sd.triggeredAlarms] } : {}),
            },
          }
        : {}),
      deploymentCircuitBreaker: {
        status: breaker.enable ? 'MONITORING' : 'DISABLED',
        failureCount: failed,
        threshold: Math.min(200, Math.max(3, Math.ceil(svc.desiredCount / 2))),
      },
    });
  }
  return { serviceDeployments, failures };
}

function stopServiceDeployment(fake: FakeAws, input: JsonObject) {
  fake.assertServiceDeploymentsAvailable();
  const ref = reqString(input, 'serviceDeploymentArn');
  if (!SERVICE_DEPLOYMENT_ARN.test(ref)) {
    throw new AwsError('InvalidParameterException', 'serviceDeploymentArn is not a valid service deployment ARN.');
  }
  const stopType = optString(input, 'stopType');
  if (stopType !== undefined && stopType !== 'ROLLBACK' && stopType !== 'ABORT') {
    throw new AwsError('InvalidParameterException', 'stopType must be ROLLBACK or ABORT.');
  }
  const sd = fake.stopServiceDeployment(ref, stopType);
  return { serviceDeploymentArn: sd.arn };
}

export const ecsHandlers: Record<string, Handler> = {
  DescribeServices: describeServices,
  UpdateService: updateService,
  ListServices: listServices,
  ListTasks: listTasks,
  DescribeTasks: describeTasks,
  DescribeContainerInstances: describeContainerInstances,
  StopTask: stopTask,
  DescribeTaskDefinition: describeTaskDefinition,
  RegisterTaskDefinition: registerTaskDefinition,
  DeregisterTaskDefinition: deregisterTaskDefinition,
  ListTaskDefinitions: listTaskDefinitions,
  DescribeClusters: describeClusters,
  ListServiceDeployments: listServiceDeployments,
  DescribeServiceDeployments: describeServiceDeployments,
  StopServiceDeployment: stopServiceDeployment,
};
