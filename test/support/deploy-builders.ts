import type { DeploymentRecord, RolloutProgress } from '../../src/ports.ts';
import type { DeploymentView, PlanView } from '../../src/slack/blocks/deploy.ts';
import { aDeployment, aTask, at } from './builders.ts';

/** Test-data builders for deployments and their cards: a sensible default, overridden where a test cares. */

export const IMAGE_NOW = '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:2f1e0d9';
export const IMAGE_NEW = '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:3f2a1bc';

export const aDeploymentRecord = (overrides: Partial<DeploymentRecord> = {}): DeploymentRecord => ({
  id: 'dep_01JD4S6Q8Z3XK2M5N7P9R1T3V5',
  seq: 42,
  kind: 'deploy',
  service: 'api',
  environment: 'production',
  state: 'awaiting_approval',
  requestedBy: 'U0REQUESTER',
  requestedAt: at('2026-11-20T10:00:00Z'),
  updatedAt: at('2026-11-20T10:00:05Z'),
  channel: 'C0DEPLOYS',
  messageTs: '1795168800.000100',
  request: { type: 'git', ref: 'main' },
  facts: {
    commitSha: '3f2a1bc9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3',
    commitSubject: 'Fix login redirect loop for <@here> users',
  },
  approvals: [],
  expiresAt: at('2026-11-20T10:30:00Z'),
  ...overrides,
});

export const aPlan = (overrides: Partial<PlanView> = {}): PlanView => ({
  currentRevision: 'api:42',
  currentImage: IMAGE_NOW,
  newImage: IMAGE_NEW,
  changes: [{ field: 'containerDefinitions[app].image', from: IMAGE_NOW, to: IMAGE_NEW }],
  commits: {
    commits: [
      { sha: '3f2a1bc9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3', subject: 'Fix login redirect loop', author: 'Ada' },
      {
        sha: '9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b',
        subject: 'Bump pg to 8.13 & tidy `pool` config',
        author: 'Lin',
      },
      { sha: '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b', subject: 'Add /healthz timeout', author: 'Sam' },
    ],
    total: 7,
  },
  ...overrides,
});

/** The card's view: the record plus live data. */
export const aDeploymentView = (overrides: Partial<DeploymentView> = {}): DeploymentView => ({
  ...aDeploymentRecord(),
  approvalPolicy: { required: 2, approvers: ['U0APPROVER', 'S0PLATFORM'] },
  ...overrides,
});

/** Facts of a deployment that registered api:43 and started an ECS deployment. */
export const rolloutFacts = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...aDeploymentRecord().facts,
  image: IMAGE_NEW,
  digest: 'sha256:7d5e1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d',
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
  revision: 'api:43',
  previousRevision: 'api:42',
  ecsDeploymentId: 'ecs-svc/9876543210987654321',
  ...extra,
});

export const aRollout = (overrides: Partial<RolloutProgress> = {}): RolloutProgress => {
  const ours = aDeployment({
    id: 'ecs-svc/9876543210987654321',
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
    revision: 'api:43',
    rolloutState: 'IN_PROGRESS',
    desired: 4,
    running: 1,
    pending: 2,
    failed: 3,
  });
  return {
    deployment: ours,
    deployments: [ours, aDeployment({ status: 'ACTIVE', desired: 4, running: 4 })],
    outcome: 'in_progress',
    failureEvents: [
      '(service api) (task 5c4b3a2f) failed container health checks.',
      '(service api) (deployment ecs-svc/9876543210987654321) deployment failed: tasks failed to start.',
    ],
    stoppedTasks: [
      {
        reason: 'Essential container in task exited',
        count: 3,
        exampleTaskId: '5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a09',
        exitCodes: [137],
      },
      {
        reason: 'Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:…/api/abc)',
        count: 1,
        exampleTaskId: '6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a',
        exitCodes: [],
      },
    ],
    tasks: [aTask({ revision: 'api:43' })],
    ...overrides,
  };
};
