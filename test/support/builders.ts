import type { Config } from '../../src/config/schema.ts';
import { configSchema } from '../../src/config/schema.ts';
import type { DeploymentSnapshot, ServiceSnapshot, TaskSnapshot } from '../../src/ports.ts';

/** Test-data builders: a sensible default, overridden where a test cares. */

export const at = (iso: string): Date => new Date(iso);

export const aTask = (overrides: Partial<TaskSnapshot> = {}): TaskSnapshot => {
  const id = overrides.id ?? '0f5a1c2b3d4e5f60718293a4b5c6d7e8';
  return {
    arn: `arn:aws:ecs:us-east-1:123456789012:task/prod/${id}`,
    id,
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42',
    revision: 'api:42',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    health: 'HEALTHY',
    startedAt: at('2026-11-20T10:00:00Z'),
    containers: [{ name: 'app', lastStatus: 'RUNNING', health: 'HEALTHY' }],
    eniId: 'eni-0a1b2c3d',
    privateIp: '10.0.1.17',
    publicIp: '203.0.113.17',
    ...overrides,
  };
};

export const aDeployment = (overrides: Partial<DeploymentSnapshot> = {}): DeploymentSnapshot => ({
  id: 'ecs-svc/1234567890123456789',
  status: 'PRIMARY',
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42',
  revision: 'api:42',
  rolloutState: 'COMPLETED',
  desired: 2,
  running: 2,
  pending: 0,
  failed: 0,
  createdAt: at('2026-11-20T09:58:00Z'),
  updatedAt: at('2026-11-20T10:01:00Z'),
  ...overrides,
});

export const aSnapshot = (overrides: Partial<ServiceSnapshot> = {}): ServiceSnapshot => ({
  ref: { cluster: 'prod', service: 'api' },
  status: 'ACTIVE',
  taskDefinition: {
    arn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42',
    family: 'api',
    revision: 42,
    containers: [
      { name: 'app', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api@sha256:4f2a' },
      { name: 'sidecar', image: 'public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0' },
    ],
  },
  desired: 2,
  running: 2,
  pending: 0,
  deployments: [aDeployment()],
  events: [
    { id: 'e2', at: at('2026-11-20T10:01:00Z'), message: '(service api) has reached a steady state.' },
    {
      id: 'e1',
      at: at('2026-11-20T09:59:00Z'),
      message: '(service api) has started 2 tasks: (task 0f5a1c2b) (task 9e8d7c6b).',
    },
  ],
  tasks: [aTask(), aTask({ id: '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b', privateIp: '10.0.2.9', publicIp: '198.51.100.9' })],
  ...overrides,
});

/** A valid config, built through the real schema so defaults apply. */
export const aConfig = (overrides: Record<string, unknown> = {}): Config =>
  configSchema.parse({
    defaults: { channel: '#deploys', region: 'us-east-1' },
    registries: { ecr: { type: 'ecr' } },
    approvals: { prod: { approvers: ['U0APPROVER'], required: 1 } },
    services: {
      api: {
        image: { registry: 'ecr', repository: 'acme/api' },
        environments: {
          staging: { target: { type: 'ecs', cluster: 'staging', service: 'api', container: 'app' } },
          production: {
            target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' },
            approval: 'prod',
            scale: { min: 2, max: 12 },
          },
        },
      },
      web: {
        environments: {
          box: { target: { type: 'docker', host: 'ssh://ec2-user@203.0.113.10', container: 'web' } },
        },
      },
    },
    ...overrides,
  });
