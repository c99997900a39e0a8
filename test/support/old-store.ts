import type { SqlDriver, SqlValue } from '../../src/adapters/store/driver.ts';
import { MIGRATIONS, migrate } from '../../src/adapters/store/migrations.ts';

/**
 * A store as dockhand wrote it before the typed deployment model (schema version 2): the deployments table with
 * the loose JSON `request` and `facts` of that code, written with its own SQL, never through today's store.
 */

/** The schema of that dockhand: migrations 1 and 2 only. */
export const migrateAsBeforeTypedModel = (driver: SqlDriver, at: Date): Promise<number[]> =>
  migrate(
    driver,
    at,
    MIGRATIONS.filter((m) => m.version <= 2),
  );

export interface OldDeploymentRow {
  id: string;
  kind: 'deploy' | 'restart' | 'rollback' | 'scale';
  service: string;
  environment: string;
  state: string;
  requestedBy: string;
  requestedAt: number;
  channel?: string;
  messageTs?: string;
  /** Exactly the JSON that code stored. */
  request: Record<string, unknown>;
  facts: Record<string, unknown>;
  finishedAt?: number;
  reason?: string;
}

/** That code's createDeployment (counter, INSERT, audit), with the record already in its later state. */
export const insertOldDeployment = async (driver: SqlDriver, row: OldDeploymentRow): Promise<number> =>
  driver.transaction(async (tx) => {
    const counter = await tx.query('UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value', [
      'deployment_seq',
    ]);
    const seq = Number(counter.rows[0]?.value);
    const values: SqlValue[] = [
      row.id,
      seq,
      row.kind,
      row.service,
      row.environment,
      row.state,
      row.requestedBy,
      row.requestedAt,
      row.requestedAt,
      row.channel ?? null,
      row.messageTs ?? null,
      JSON.stringify(row.request),
      JSON.stringify(row.facts),
      null, // that code never wrote expires_at: the expiry lived in facts.expiresAt
      row.finishedAt ?? null,
      row.reason ?? null,
    ];
    await tx.query(
      `INSERT INTO deployments (id, seq, kind, service, environment, state, requested_by, requested_at, updated_at, channel, message_ts, request, facts, expires_at, finished_at, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
      values,
    );
    await tx.query(
      `INSERT INTO audit_events (at, actor, action, service, environment, subject, outcome, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        row.requestedAt,
        row.requestedBy,
        'deployment.requested',
        row.service,
        row.environment,
        row.id,
        'requested',
        JSON.stringify({ seq, kind: row.kind, request: row.request }),
      ],
    );
    return seq;
  });

/** That code's lock of a deployment (owner: its id). */
export const insertOldLock = async (
  driver: SqlDriver,
  lock: { service: string; environment: string; owner: string; holder: string; acquiredAt: number },
): Promise<void> => {
  await driver.query(
    `INSERT INTO locks (service, environment, owner, instance, holder, reason, acquired_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)`,
    [lock.service, lock.environment, lock.owner, 'old-dockhand', lock.holder, 'deploy requested', lock.acquiredAt],
  );
};

const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const T = Date.parse('2026-11-20T10:00:00Z');

/**
 * One row per shape that code wrote, each with the facts its pipeline had gathered by that state, and the typed
 * record today's dockhand must read back from it.
 */
export const OLD_ROWS: { row: OldDeploymentRow; reads: { request: unknown; facts: unknown; expiresAt?: Date } }[] = [
  {
    // /deploy api main, waiting for approval (the expiry lived in facts only).
    row: {
      id: 'dep_old_git_waiting',
      kind: 'deploy',
      service: 'api',
      environment: 'production',
      state: 'awaiting_approval',
      requestedBy: 'U0ALICE',
      requestedAt: T,
      request: { ref: 'main' },
      facts: {
        commitSha: '3f2a1bc9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3',
        commitSubject: 'Fix login',
        ref: 'main',
        image: `${REGISTRY}/acme/api:3f2a1bc`,
        previousRevision: 'api:42',
        previousTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42',
        expiresAt: '2026-11-20T10:30:00.000Z',
      },
    },
    reads: {
      request: { type: 'git', ref: 'main' },
      facts: {
        commitSha: '3f2a1bc9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3',
        commitSubject: 'Fix login',
        ref: 'main',
        image: `${REGISTRY}/acme/api:3f2a1bc`,
        previousRevision: 'api:42',
        previousTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42',
        expiresAt: '2026-11-20T10:30:00.000Z',
      },
      expiresAt: new Date('2026-11-20T10:30:00.000Z'),
    },
  },
  {
    // /deploy api (the default ref: stored as null), failed while building.
    row: {
      id: 'dep_old_git_default',
      kind: 'deploy',
      service: 'api',
      environment: 'staging',
      state: 'failed',
      requestedBy: 'U0ALICE',
      requestedAt: T + 1000,
      request: { ref: null },
      facts: { commitSha: 'abc1234', commitSubject: '', ref: 'main', image: 'acme/api:abc1234', failedIn: 'building' },
      finishedAt: T + 5000,
      reason: 'RUN step 3 failed',
    },
    reads: {
      request: { type: 'git' },
      facts: { commitSha: 'abc1234', ref: 'main', image: 'acme/api:abc1234', failedIn: 'building' },
    },
  },
  {
    // /deploy api image:1.4.2, rolling out on ECS.
    row: {
      id: 'dep_old_image_rolling',
      kind: 'deploy',
      service: 'api',
      environment: 'canary',
      state: 'rolling_out',
      requestedBy: 'U0ALICE',
      requestedAt: T + 2000,
      request: { imageTag: '1.4.2' },
      facts: {
        imageTag: '1.4.2',
        digest: `sha256:${'7'.repeat(64)}`,
        image: `${REGISTRY}/acme/api@sha256:${'7'.repeat(64)}`,
        previousRevision: 'api:42',
        previousTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42',
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
        revision: 'api:43',
        updateServiceSentAt: '2026-11-20T10:00:04.000Z',
        ecsDeploymentId: 'ecs-svc/1234567890123456789',
        rolloutStartedAt: '2026-11-20T10:00:04.000Z',
      },
    },
    reads: {
      request: { type: 'image', imageTag: '1.4.2' },
      facts: {
        imageTag: '1.4.2',
        digest: `sha256:${'7'.repeat(64)}`,
        image: `${REGISTRY}/acme/api@sha256:${'7'.repeat(64)}`,
        previousRevision: 'api:42',
        previousTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:42',
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:43',
        revision: 'api:43',
        updateServiceSentAt: '2026-11-20T10:00:04.000Z',
        ecsDeploymentId: 'ecs-svc/1234567890123456789',
        rolloutStartedAt: '2026-11-20T10:00:04.000Z',
      },
    },
  },
  {
    // /deploy api --restart on a Docker host, succeeded.
    row: {
      id: 'dep_old_restart',
      kind: 'restart',
      service: 'web',
      environment: 'box',
      state: 'succeeded',
      requestedBy: 'U0ALICE',
      requestedAt: T + 3000,
      request: { restart: true },
      facts: {
        previousImage: 'acme/web:1.0',
        previousRevision: 'web:1.0',
        rolloutStartedAt: '2026-11-20T10:00:05.000Z',
        image: 'acme/web:1.0',
        revision: 'web:1.0',
        publicIps: ['203.0.113.10:80'],
        runningCount: 2,
        containers: ['web-1', 'web-2'],
        gap: true,
        durationMs: 9000,
        rolloutDurationMs: 7000,
      },
      finishedAt: T + 12_000,
    },
    reads: {
      request: { type: 'restart' },
      facts: {
        previousImage: 'acme/web:1.0',
        previousRevision: 'web:1.0',
        rolloutStartedAt: '2026-11-20T10:00:05.000Z',
        image: 'acme/web:1.0',
        revision: 'web:1.0',
        publicIps: ['203.0.113.10:80'],
        runningCount: 2,
        containers: ['web-1', 'web-2'],
        gap: true,
        durationMs: 9000,
        rolloutDurationMs: 7000,
      },
    },
  },
  {
    // The Rollback button of a deployment on ECS, rejected.
    row: {
      id: 'dep_old_rollback_ecs',
      kind: 'rollback',
      service: 'api',
      environment: 'production',
      state: 'rejected',
      requestedBy: 'U0ALICE',
      requestedAt: T + 4000,
      request: {
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:41',
        revision: 'api:41',
        rule: 'the revision before #7',
        undoes: 'dep_old_git_waiting',
      },
      facts: { previousRevision: 'api:42', rejectedBy: 'U0BOB' },
      finishedAt: T + 6000,
    },
    reads: {
      request: {
        type: 'rollback',
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:41',
        revision: 'api:41',
        rule: 'the revision before #7',
        undoes: 'dep_old_git_waiting',
      },
      facts: { previousRevision: 'api:42', rejectedBy: 'U0BOB' },
    },
  },
  {
    // /rollback on a Docker host; its revision once stored as a bare number, and a key no code reads any more.
    row: {
      id: 'dep_old_rollback_host',
      kind: 'rollback',
      service: 'web',
      environment: 'box',
      state: 'cancelled',
      requestedBy: 'U0ALICE',
      requestedAt: T + 5000,
      request: { image: 'acme/web:0.9', revision: 9, rule: 'the image that ran before deployment #3' },
      facts: { cancelledBy: 'U0ALICE', step: 3 },
      finishedAt: T + 7000,
    },
    reads: {
      request: {
        type: 'rollback',
        image: 'acme/web:0.9',
        revision: '9',
        rule: 'the image that ran before deployment #3',
      },
      facts: { cancelledBy: 'U0ALICE' },
    },
  },
  {
    // A rollback that names neither a task definition nor an image, with an empty rule: ECS takes family:revision.
    row: {
      id: 'dep_old_rollback_bare',
      kind: 'rollback',
      service: 'api',
      environment: 'staging',
      state: 'expired',
      requestedBy: 'U0ALICE',
      requestedAt: T + 5500,
      request: { revision: 'api:40', rule: '' },
      facts: {},
      finishedAt: T + 8000,
    },
    reads: {
      request: { type: 'rollback', revision: 'api:40', rule: 'the revision asked for', taskDefinitionArn: 'api:40' },
      facts: {},
    },
  },
  {
    // /scale api 4, aborted while rolling out.
    row: {
      id: 'dep_old_scale',
      kind: 'scale',
      service: 'api',
      environment: 'staging',
      state: 'aborted',
      requestedBy: 'U0ALICE',
      requestedAt: T + 6000,
      request: { desiredCount: 4 },
      facts: { updateServiceSentAt: '2026-11-20T10:00:07.000Z', abortedBy: 'U0BOB', abortMethod: 'rollback' },
      finishedAt: T + 9000,
    },
    reads: {
      request: { type: 'scale', desiredCount: 4 },
      facts: { updateServiceSentAt: '2026-11-20T10:00:07.000Z', abortedBy: 'U0BOB', abortMethod: 'rollback' },
    },
  },
];
