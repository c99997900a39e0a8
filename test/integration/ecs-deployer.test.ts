/**
 * AwsEcsDeployer with the real SDK clients against the stateful fake AWS endpoint (test/support/fake-aws): the fake
 * advances each rollout by one step on every DescribeServices, so polling rolloutProgress walks a rollout to its end.
 */
import {
  DescribeServiceDeploymentsCommand,
  ListServiceDeploymentsCommand,
  StopServiceDeploymentCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsDeployer } from '../../src/adapters/aws/ecs-deployer.ts';
import { filterServiceLogs } from '../../src/adapters/aws/logs.ts';
import type { EcsDeployTarget, RolloutProgress } from '../../src/ports.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

const target: EcsDeployTarget = { cluster: 'prod', service: 'api', container: 'app' };
const MAX_POLLS = 40;

let fake: FakeAws;
let clients: AwsClients;
let deployer: AwsEcsDeployer;
const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
});

afterAll(() => {
  if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
  else process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
  if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  else process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
});

beforeEach(async () => {
  fake = new FakeAws();
  await fake.start();
  fake.seedService({
    cluster: 'prod',
    service: 'api',
    desiredCount: 2,
    containers: [
      {
        name: 'app',
        image: 'registry.example/api:1',
        environment: { NODE_ENV: 'production' },
        secrets: [{ name: 'DB_URL', valueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/db' }],
        portMappings: [{ containerPort: 8080 }],
      },
      { name: 'sidecar', image: 'registry.example/envoy:1.29', essential: false, environment: { MESH: 'api' } },
    ],
  });
  clients = createAwsClients({ endpoint: fake.url, region: 'us-east-1', maxAttempts: 2 });
  deployer = new AwsEcsDeployer({ clients });
});

afterEach(async () => {
  clients.destroy();
  await fake.stop();
});

const pollUntilDone = async (deploymentId: string): Promise<{ last: RolloutProgress; polls: number }> => {
  for (let polls = 1; polls <= MAX_POLLS; polls++) {
    const progress = await deployer.rolloutProgress(target, deploymentId);
    if (progress.outcome !== 'in_progress') return { last: progress, polls };
  }
  throw new Error(`deployment ${deploymentId} did not finish in ${MAX_POLLS} polls`);
};

describe('AwsEcsDeployer against the fake AWS endpoint', () => {
  it('plans, registers and rolls out a new image until the deployment is COMPLETED', async () => {
    const plan = await deployer.planImage(target, 'registry.example/api:2');
    expect(plan.current.revision).toBe(1);
    expect(plan.changes).toEqual([
      { field: 'containerDefinitions[app].image', from: 'registry.example/api:1', to: 'registry.example/api:2' },
    ]);

    const registered = await deployer.registerImage(target, 'registry.example/api:2');
    expect(registered.revision).toBe('api:2');
    expect(registered.previousTaskDefinitionArn).toMatch(/task-definition\/api:1$/);

    // Everything but the app image was carried over.
    const [previous, next] = fake.taskDefinitions.get('api') ?? [];
    const before = structuredClone(previous?.input) as { containerDefinitions: { image: string }[] };
    const after = structuredClone(next?.input) as { containerDefinitions: { image: string }[] };
    expect(after.containerDefinitions[0]?.image).toBe('registry.example/api:2');
    if (before.containerDefinitions[0]) before.containerDefinitions[0].image = 'registry.example/api:2';
    expect(after).toEqual(before);

    const { deploymentId } = await deployer.updateService(target, { taskDefinitionArn: registered.taskDefinitionArn });
    expect(deploymentId).toMatch(/^ecs-svc\//);

    const { last } = await pollUntilDone(deploymentId);
    expect(last.outcome).toBe('completed');
    expect(last.deployment).toMatchObject({ id: deploymentId, revision: 'api:2', running: 2, desired: 2 });
    expect(last.deployments.map((d) => d.id)).toEqual([deploymentId]);
    expect(last.tasks).toHaveLength(2);
    for (const task of last.tasks) {
      expect(task.revision).toBe('api:2');
      expect(task.publicIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    }
    expect(last.failureEvents).toEqual([]);
    expect(last.stoppedTasks).toEqual([]);

    await expect(deployer.currentTaskDefinition(target)).resolves.toMatchObject({ family: 'api', revision: 2 });
    await expect(deployer.listRevisions(target, 'api', 5)).resolves.toEqual([
      { arn: registered.taskDefinitionArn, revision: 2 },
      { arn: registered.previousTaskDefinitionArn, revision: 1 },
    ]);
  });

  it('finds the deployment an interrupted UpdateService created, only when ECS runs that revision', async () => {
    const registered = await deployer.registerImage(target, 'registry.example/api:2');
    const sent = new Date();
    // Nothing applied yet: the PRIMARY deployment is the seeded one, on revision 1.
    await expect(
      deployer.findRollout(target, { since: sent, taskDefinitionArn: registered.taskDefinitionArn }),
    ).resolves.toBeUndefined();
    const { deploymentId } = await deployer.updateService(target, { taskDefinitionArn: registered.taskDefinitionArn });
    await expect(
      deployer.findRollout(target, { since: sent, taskDefinitionArn: registered.taskDefinitionArn }),
    ).resolves.toEqual({ deploymentId });
    await expect(
      deployer.findRollout(target, { since: sent, taskDefinitionArn: registered.previousTaskDefinitionArn }),
    ).resolves.toBeUndefined();
    // A deployment created well before the UpdateService was sent is not its.
    await expect(deployer.findRollout(target, { since: new Date(Date.now() + 3_600_000) })).resolves.toBeUndefined();
  });

  it('deregisters a revision: it leaves the ACTIVE list; a bad revision is an AwsError naming it', async () => {
    const registered = await deployer.registerImage(target, 'registry.example/api:2');
    await deployer.deregisterRevision(target, registered.taskDefinitionArn);
    expect(fake.taskDefinitions.get('api')?.[1]?.status).toBe('INACTIVE');
    await expect(deployer.listRevisions(target, 'api', 5)).resolves.toEqual([
      { arn: registered.previousTaskDefinitionArn, revision: 1 },
    ]);
    expect(fake.requestsFor('ECS.DeregisterTaskDefinition')[0]?.input).toEqual({
      taskDefinition: registered.taskDefinitionArn,
    });
    await expect(deployer.deregisterRevision(target, 'api:9')).rejects.toThrow(/deregister api:9 of .*api/);
  });

  it('reports a circuit-breaker failure as failed, with the stopped tasks grouped by reason', async () => {
    fake.failNextRollout('prod', 'api', { stoppedReason: 'Essential container in task exited', exitCode: 3 });
    const registered = await deployer.registerImage(target, 'registry.example/api:broken');
    const { deploymentId } = await deployer.updateService(target, { taskDefinitionArn: registered.taskDefinitionArn });

    const { last } = await pollUntilDone(deploymentId);
    expect(last.outcome).toBe('failed');
    expect(last.reason).toMatch(/circuit breaker/);
    expect(last.stoppedTasks.length).toBeGreaterThan(0);
    expect(last.stoppedTasks[0]).toMatchObject({ reason: 'Essential container in task exited' });
    expect(last.stoppedTasks[0]?.exitCodes).toContain(3);
    expect(last.stoppedTasks.reduce((n, g) => n + g.count, 0)).toBeGreaterThanOrEqual(3);
    expect(last.failureEvents.some((e) => e.includes('deployment failed'))).toBe(true);

    // Keep polling as a naive watcher would: after the rollback the service is stable again on revision 1, yet the
    // deployment we created stays failed (its absence is not success).
    let progress = last;
    for (let i = 0; i < 15; i++) progress = await deployer.rolloutProgress(target, deploymentId);
    expect(progress.deployment).toBeUndefined();
    expect(progress.deployments.map((d) => [d.status, d.revision, d.rolloutState])).toEqual([
      ['PRIMARY', 'api:1', 'COMPLETED'],
    ]);
    expect(progress.outcome).toBe('failed');
    expect(progress.reason).toMatch(`ECS replaced deployment ${deploymentId}`);
    expect(progress.stoppedTasks[0]?.exitCodes).toContain(3);
  });

  it('costs at most DescribeServices + 2 ListTasks + DescribeTasks per poll, and EC2 only for new tasks', async () => {
    const registered = await deployer.registerImage(target, 'registry.example/api:2');
    const { deploymentId } = await deployer.updateService(target, { taskDefinitionArn: registered.taskDefinitionArn });
    fake.resetCalls();
    const { polls } = await pollUntilDone(deploymentId);
    const calls = fake.calls;
    expect(calls['ECS.DescribeServices']).toBe(polls);
    expect(calls['ECS.ListTasks'] ?? 0).toBeLessThanOrEqual(polls);
    expect(calls['ECS.DescribeTasks'] ?? 0).toBeLessThanOrEqual(polls);
    // Two new tasks, each looked up once at most.
    expect(calls['EC2.DescribeNetworkInterfaces'] ?? 0).toBeLessThanOrEqual(2);
  });

  it('filters the logs of the service tasks (CloudWatch Logs FilterLogEvents)', async () => {
    const [first, second] = fake.serviceTasks('prod', 'api');
    const idOf = (arn: string | undefined) => (arn ?? '').slice((arn ?? '').lastIndexOf('/') + 1);
    const a = idOf(first?.arn);
    const b = idOf(second?.arn);
    const now = Date.now();
    fake.putLogEvents('/ecs/api', `ecs/app/${a}`, [
      { timestamp: now - 3000, message: 'starting' },
      { timestamp: now - 1000, message: 'ERROR db timeout' },
    ]);
    fake.putLogEvents('/ecs/api', `ecs/app/${b}`, [{ timestamp: now - 2000, message: 'ERROR port in use' }]);
    const result = await filterServiceLogs({
      logs: clients.forRegion('us-east-1').logs,
      group: '/ecs/api',
      streamPrefix: 'ecs',
      container: 'app',
      taskIds: [a, b],
      startTime: new Date(now - 60_000),
      pattern: 'ERROR',
      limit: 10,
    });
    expect(result.lines.map((l) => [l.taskId, l.message])).toEqual([
      [b, 'ERROR port in use'],
      [a, 'ERROR db timeout'],
    ]);
  });
});

describe('Abort against the fake AWS endpoint', () => {
  /** Registers api:2 and starts rolling it out; one poll later its first tasks are starting. */
  const startRollout = async () => {
    const registered = await deployer.registerImage(target, 'registry.example/api:2');
    const { deploymentId } = await deployer.updateService(target, { taskDefinitionArn: registered.taskDefinitionArn });
    const progress = await deployer.rolloutProgress(target, deploymentId);
    expect(progress.outcome).toBe('in_progress');
    return {
      deploymentId,
      taskDefinitionArn: registered.taskDefinitionArn,
      previousTaskDefinitionArn: registered.previousTaskDefinitionArn,
    };
  };
  const settle = () => fake.step(12);
  const runningRevisions = () =>
    fake
      .serviceTasks('prod', 'api')
      .filter((t) => t.lastStatus === 'RUNNING')
      .map((t) => t.taskDefinitionArn.slice(t.taskDefinitionArn.lastIndexOf('/') + 1));

  it("rolls the rollout back with ECS's StopServiceDeployment, and the service ends on the previous revision", async () => {
    const rollout = await startRollout();
    fake.resetCalls();

    await expect(deployer.abort(target, rollout)).resolves.toEqual({ method: 'stop_service_deployment' });
    const [stop] = fake.requestsFor('ECS.StopServiceDeployment');
    expect(stop?.input).toMatchObject({ stopType: 'ROLLBACK' });
    expect(stop?.status).toBe(200);
    expect(fake.calls['ECS.UpdateService']).toBeUndefined();

    settle();
    await expect(deployer.currentTaskDefinition(target)).resolves.toMatchObject({ family: 'api', revision: 1 });
    expect(runningRevisions()).toEqual(['api:1', 'api:1']);
    const ecs = clients.forRegion('us-east-1').ecs;
    const arn = String(stop?.input.serviceDeploymentArn);
    const described = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
    expect(described.serviceDeployments?.[0]).toMatchObject({
      serviceDeploymentArn: arn,
      status: 'ROLLBACK_SUCCESSFUL',
      targetServiceRevision: { arn: expect.stringMatching(/:service-revision\/prod\/api\/\d{19}$/) },
      rollback: { serviceRevisionArn: expect.stringMatching(/:service-revision\/prod\/api\//) },
    });
    const listed = await ecs.send(new ListServiceDeploymentsCommand({ cluster: 'prod', service: 'api' }));
    expect(listed.serviceDeployments?.map((d) => d.status)).toEqual(['ROLLBACK_SUCCESSFUL', 'SUCCESSFUL']);
  });

  it('falls back to UpdateService to the previous revision when service deployments are not available', async () => {
    const rollout = await startRollout();
    fake.disableServiceDeployments();
    fake.resetCalls();

    const result = await deployer.abort(target, rollout);
    expect(result.method).toBe('update_service');
    expect(result.fallbackReason).toMatch(/UnsupportedFeatureException/);
    expect(fake.calls['ECS.StopServiceDeployment']).toBeUndefined();
    expect(fake.requestsFor('ECS.UpdateService').map((r) => r.input.taskDefinition)).toEqual([
      rollout.previousTaskDefinitionArn,
    ]);

    settle();
    await expect(deployer.currentTaskDefinition(target)).resolves.toMatchObject({ revision: 1 });
    expect(runningRevisions()).toEqual(['api:1', 'api:1']);
  });

  it('returns a rollout that already completed to the previous revision with UpdateService', async () => {
    const rollout = await startRollout();
    const { last } = await pollUntilDone(rollout.deploymentId);
    expect(last.outcome).toBe('completed');

    const result = await deployer.abort(target, rollout);
    expect(result).toEqual({
      method: 'update_service',
      fallbackReason: 'no service deployment of the service is in progress',
    });
    settle();
    expect(runningRevisions()).toEqual(['api:1', 'api:1']);
  });
});

describe("the fake's service deployments", () => {
  const ecs = () => clients.forRegion('us-east-1').ecs;
  const errorOf = (p: Promise<unknown>) => p.then(() => undefined).catch((e: { name?: string }) => e.name);

  it('follows a circuit-breaker rollback in one service deployment, and refuses to stop a finished one', async () => {
    fake.failNextRollout('prod', 'api');
    const registered = await deployer.registerImage(target, 'registry.example/api:broken');
    const { deploymentId } = await deployer.updateService(target, { taskDefinitionArn: registered.taskDefinitionArn });
    await pollUntilDone(deploymentId);
    fake.step(12);

    const listed = await ecs().send(new ListServiceDeploymentsCommand({ cluster: 'prod', service: 'api' }));
    const [rolledBack, seeded] = listed.serviceDeployments ?? [];
    expect(rolledBack).toMatchObject({ status: 'ROLLBACK_SUCCESSFUL', statusReason: expect.any(String) });
    expect(seeded).toMatchObject({ status: 'SUCCESSFUL' });
    const ongoing = await ecs().send(
      new ListServiceDeploymentsCommand({ cluster: 'prod', service: 'api', status: ['IN_PROGRESS', 'PENDING'] }),
    );
    expect(ongoing.serviceDeployments).toEqual([]);

    const arn = rolledBack?.serviceDeploymentArn ?? '';
    expect(await errorOf(ecs().send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn })))).toBe(
      'ConflictException',
    );
  });

  it('validates requests like ECS', async () => {
    const unknown = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/api/AAAAAAAAAAAAAAAAAAAAAA';
    expect(await errorOf(ecs().send(new StopServiceDeploymentCommand({ serviceDeploymentArn: unknown })))).toBe(
      'ServiceDeploymentNotFoundException',
    );
    expect(await errorOf(ecs().send(new StopServiceDeploymentCommand({ serviceDeploymentArn: 'nope' })))).toBe(
      'InvalidParameterException',
    );
    expect(await errorOf(ecs().send(new ListServiceDeploymentsCommand({ cluster: 'prod', service: 'web' })))).toBe(
      'ServiceNotFoundException',
    );
    const described = await ecs().send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [unknown] }));
    expect(described.failures).toEqual([{ arn: unknown, reason: 'MISSING' }]);

    fake.disableServiceDeployments('AccessDeniedException');
    expect(await errorOf(ecs().send(new ListServiceDeploymentsCommand({ cluster: 'prod', service: 'api' })))).toBe(
      'AccessDeniedException',
    );
  });
});
