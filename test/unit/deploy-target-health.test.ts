import { describe, expect, it } from 'vitest';
import { assessRollout } from '../../src/core/deploy/rollout-rule.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import type { DeploymentRecord, DeploymentSnapshot, RolloutProgress } from '../../src/ports.ts';
import { deployConfig, deployHarness, FakeEcs } from '../support/deploy-fakes.ts';

const staging = resolveTarget(deployConfig(), 'api', 'staging');

const completed: DeploymentSnapshot = {
  id: 'ecs-svc/1',
  status: 'PRIMARY',
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
  revision: 'api:43',
  rolloutState: 'COMPLETED',
  desired: 1,
  running: 1,
  pending: 0,
  failed: 0,
};

/** ECS says COMPLETED; the load balancer says the one new task's target is unhealthy, forever. */
const unhealthyForever = (): RolloutProgress =>
  assessRollout({
    deploymentId: completed.id,
    deployments: [completed],
    events: [],
    since: undefined,
    running: [
      {
        arn: 'arn:t1',
        id: 'abcdef0123456789',
        taskDefinitionArn: completed.taskDefinitionArn,
        revision: 'api:43',
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        health: 'UNKNOWN',
        containers: [],
        privateIp: '10.0.0.9',
      },
    ],
    stopped: [],
    targetHealth: [
      {
        targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/0123456789abcdef',
        name: 'api-tg',
        targets: [
          {
            id: '10.0.0.9',
            port: 8080,
            state: 'unhealthy',
            reason: 'Target.FailedHealthChecks',
            taskId: 'abcdef0123456789',
          },
        ],
      },
    ],
  });

describe('a rollout behind a load balancer', () => {
  it('fails at the rollout timeout, naming the target it waited for and why', async () => {
    const ecs = new FakeEcs();
    ecs.script = [unhealthyForever()];
    const h = await deployHarness({ ecs });
    const result = await h.service.request({
      kind: 'restart',
      target: staging,
      user: 'U0ALICE',
      request: { type: 'restart' },
    });
    if (result.result !== 'started') throw new Error(`not started: ${result.result}`);
    const deployment: DeploymentRecord = result.deployment;
    await h.settle();
    const current = await h.store.getDeployment(deployment.id);
    expect(current?.state).toBe('failed');
    expect(current?.reason).toBe(
      'The rollout did not finish within 30m: 1 target is not healthy: task abcdef01 in target group api-tg is unhealthy (Target.FailedHealthChecks).',
    );
  });
});
