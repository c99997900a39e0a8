/**
 * Blue/green rollouts through the ECS runtime's deployer, with the real SDK clients against the fake AWS: the look
 * follows the service deployment's lifecycle stage (one DescribeServiceDeployments per look, none for a rolling
 * service), succeeds only when the service deployment is SUCCESSFUL, and Abort during bake rolls back with
 * StopServiceDeployment (ROLLBACK), which the next look reports as a failure with ECS's reason.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsDeployer } from '../../src/adapters/aws/ecs-deployer.ts';
import type { EcsDeployTarget, RolloutProgress } from '../../src/ports.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

const blueGreen: EcsDeployTarget = { cluster: 'prod', service: 'api', container: 'app' };
const rolling: EcsDeployTarget = { cluster: 'prod', service: 'worker', container: 'app' };
const REVISION_1 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:1';
const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

describe('ECS blue/green rollouts (deployer over the fake AWS)', () => {
  let clock: Date;
  let fake: FakeAws;
  let clients: AwsClients;
  let deployer: AwsEcsDeployer;

  beforeAll(() => {
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
    clock = new Date('2026-12-01T10:00:00Z');
    fake = new FakeAws({ now: () => clock });
    await fake.start();
    fake.seedService({
      cluster: 'prod',
      service: 'api',
      desiredCount: 2,
      revisions: 2,
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 10,
      containers: [{ name: 'app', image: 'acme/api:2' }],
    });
    fake.seedService({
      cluster: 'prod',
      service: 'worker',
      desiredCount: 2,
      revisions: 2,
      containers: [{ name: 'app', image: 'acme/worker:2' }],
    });
    clients = createAwsClients({ endpoint: fake.url, region: 'us-east-1', maxAttempts: 1 });
    deployer = new AwsEcsDeployer({ clients, now: () => clock });
  });
  afterEach(async () => {
    clients.destroy();
    await fake.stop();
  });

  const looks = async (target: EcsDeployTarget, id: string, n: number): Promise<RolloutProgress[]> => {
    const seen: RolloutProgress[] = [];
    for (let i = 0; i < n; i++) seen.push(await deployer.rolloutProgress(target, id));
    return seen;
  };

  it('follows the lifecycle stages with one DescribeServiceDeployments per look, bakes, and succeeds', async () => {
    const { deploymentId } = await deployer.updateService(blueGreen, { taskDefinitionArn: REVISION_1 });
    fake.resetCalls();
    const walked = await looks(blueGreen, deploymentId, 8);
    expect(walked.map((p) => p.staged?.stage)).toEqual([
      'scale_up',
      'post_scale_up',
      'test_traffic',
      'post_test_traffic',
      'production_traffic',
      'post_production_traffic',
      'bake',
      'bake',
    ]);
    expect(walked.every((p) => p.outcome === 'in_progress')).toBe(true);
    expect(fake.calls['ECS.DescribeServiceDeployments']).toBe(8);
    expect(fake.calls['ECS.DescribeServices']).toBe(8);
    expect(walked[6]?.staged).toMatchObject({ status: 'in_progress', bakeMinutes: 10, bakeLeftMs: 10 * 60_000 });

    clock = new Date(clock.getTime() + 4 * 60_000);
    expect((await deployer.rolloutProgress(blueGreen, deploymentId)).staged?.bakeLeftMs).toBe(6 * 60_000);
    clock = new Date(clock.getTime() + 6 * 60_000);
    const cleaning = await deployer.rolloutProgress(blueGreen, deploymentId);
    expect(cleaning.staged?.stage).toBe('clean_up');
    expect(cleaning.outcome).toBe('in_progress');
    const done = await deployer.rolloutProgress(blueGreen, deploymentId);
    expect(done).toMatchObject({ outcome: 'completed', staged: { status: 'succeeded' } });
    expect(done.reason).toBeUndefined();
  });

  it('asks nothing more of a rolling service (no DescribeServiceDeployments) and reports no stages', async () => {
    const { deploymentId } = await deployer.updateService(rolling, {
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/worker:1',
    });
    fake.resetCalls();
    let last: RolloutProgress | undefined;
    for (let i = 0; i < 10 && last?.outcome !== 'completed'; i++) {
      last = await deployer.rolloutProgress(rolling, deploymentId);
      expect(last.staged).toBeUndefined();
    }
    expect(last?.outcome).toBe('completed');
    expect(fake.calls['ECS.DescribeServiceDeployments']).toBeUndefined();
  });

  it('Abort during bake rolls back with StopServiceDeployment ROLLBACK; the look then reports the rollback', async () => {
    const { deploymentId } = await deployer.updateService(blueGreen, { taskDefinitionArn: REVISION_1 });
    const baking = (await looks(blueGreen, deploymentId, 7)).at(-1);
    expect(baking?.staged?.stage).toBe('bake');
    fake.resetCalls();
    const result = await deployer.abort(blueGreen, {
      deploymentId,
      taskDefinitionArn: REVISION_1,
      previousTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:2',
    });
    expect(result).toEqual({ method: 'stop_service_deployment' });
    expect(fake.requestsFor('ECS.StopServiceDeployment').map((r) => r.input)).toEqual([
      { serviceDeploymentArn: baking?.staged?.id, stopType: 'ROLLBACK' },
    ]);
    expect(fake.calls['ECS.UpdateService']).toBeUndefined();
    const after = await deployer.rolloutProgress(blueGreen, deploymentId);
    expect(after.outcome).toBe('failed');
    expect(after.staged).toMatchObject({ status: 'rolling_back', stage: 'bake' });
    expect(after.reason).toBe(
      'the blue/green deployment is rolling back: Service deployment rollback requested by the user.',
    );
    fake.step(5);
    const service = fake.service('prod', 'api');
    expect(service.taskDefinition).toContain('api:2');
    expect(service.serviceDeployments[0]?.status).toBe('ROLLBACK_SUCCESSFUL');
  });

  it('reports a rollback ECS made when the green tasks fail, with its reason, until it is rolled back', async () => {
    fake.failNextRollout('prod', 'api', { reason: 'tasks failed to start: exec format error' });
    const { deploymentId } = await deployer.updateService(blueGreen, { taskDefinitionArn: REVISION_1 });
    const [scaling, failed] = await looks(blueGreen, deploymentId, 2);
    expect(scaling).toMatchObject({ outcome: 'in_progress', staged: { stage: 'scale_up' } });
    expect(failed).toMatchObject({
      outcome: 'failed',
      reason: 'the blue/green deployment is rolling back: tasks failed to start: exec format error',
      staged: { status: 'rolling_back', stage: 'scale_up' },
    });
    fake.step(4);
    const rolledBack = await deployer.rolloutProgress(blueGreen, deploymentId);
    expect(rolledBack.staged?.status).toBe('rolled_back');
    // ECS's reason now is the rollback's own; the follow loop failed the rollout at the first look above.
    expect(rolledBack.reason).toBe(
      'the blue/green deployment was rolled back: Service deployment rolled back successfully.',
    );
    expect(fake.service('prod', 'api').taskDefinition).toContain('api:2');
  });

  it('follows a new count on a blue/green service by its tasks, not by the previous service deployment', async () => {
    // A desiredCount-only UpdateService makes no service deployment: the PRIMARY ECS deployment is the previous
    // rollout's, and the service's currentServiceDeployment is that rollout's SUCCESSFUL one.
    const { deploymentId } = await deployer.updateService(blueGreen, { desiredCount: 6 });
    fake.resetCalls();
    const first = await deployer.rolloutProgress(blueGreen, deploymentId, { countOnly: true });
    expect(first.outcome).toBe('in_progress');
    expect(first.staged).toBeUndefined();
    expect(fake.calls['ECS.DescribeServiceDeployments'] ?? 0).toBe(0);
    fake.step(4);
    const done = await deployer.rolloutProgress(blueGreen, deploymentId, { countOnly: true });
    expect(done).toMatchObject({ outcome: 'completed', deployment: { running: 6, desired: 6 } });
  });

  it('never completes a count change on the word of the previous rollout’s service deployment', async () => {
    // Even without the hint, the previous rollout's SUCCESSFUL service deployment completes nothing still starting.
    const { deploymentId } = await deployer.updateService(blueGreen, { desiredCount: 6 });
    const first = await deployer.rolloutProgress(blueGreen, deploymentId);
    expect(first).toMatchObject({ outcome: 'in_progress', deployment: { running: 2, desired: 6 } });
  });

  it('does not adopt a service deployment that began before the rollout’s ECS deployment', async () => {
    const { deploymentId } = await deployer.updateService(blueGreen, { taskDefinitionArn: REVISION_1 });
    // ECS still names the earlier rollout's service deployment as current (it had not caught up).
    const svc = fake.service('prod', 'api');
    const [mine, earlier] = svc.serviceDeployments;
    if (!mine || !earlier) throw new Error('the fake made no service deployment');
    earlier.startedAt = new Date(clock.getTime() - 60_000);
    earlier.createdAt = earlier.startedAt;
    svc.serviceDeployments = [earlier, mine];
    const early = await deployer.rolloutProgress(blueGreen, deploymentId);
    expect(early.staged).toBeUndefined();
    svc.serviceDeployments = [mine, earlier];
    expect((await deployer.rolloutProgress(blueGreen, deploymentId)).staged?.id).toBe(mine.arn);
  });

  it('leaves the verdict to the deployments when service deployments may not be read, and stops asking', async () => {
    const { deploymentId } = await deployer.updateService(blueGreen, { taskDefinitionArn: REVISION_1 });
    fake.faults({ failNext: { op: 'ECS.DescribeServiceDeployments', code: 'AccessDeniedException', status: 400 } });
    fake.resetCalls();
    const seen = await looks(blueGreen, deploymentId, 3);
    expect(seen.map((p) => p.staged)).toEqual([undefined, undefined, undefined]);
    expect(seen.map((p) => p.outcome)).toEqual(['in_progress', 'in_progress', 'in_progress']);
    expect(fake.calls['ECS.DescribeServiceDeployments']).toBe(1);
  });

  it('repeats a throttled look instead of deciding without the service deployment', async () => {
    const { deploymentId } = await deployer.updateService(blueGreen, { taskDefinitionArn: REVISION_1 });
    fake.faults({ failNext: { op: 'ECS.DescribeServiceDeployments', code: 'ThrottlingException', status: 400 } });
    await expect(deployer.rolloutProgress(blueGreen, deploymentId)).rejects.toThrow(/ThrottlingException/);
    expect((await deployer.rolloutProgress(blueGreen, deploymentId)).staged?.stage).toBe('post_scale_up');
  });
});
