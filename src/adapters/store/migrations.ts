import { DockhandError } from '../../errors.ts';
import type { Dialect, SqlDriver, SqlExecutor } from './driver.ts';
import { typeDeploymentRows } from './typed-deployments-migration.ts';

/**
 * The schema, as an ordered list of steps. Append new steps; never edit one that has shipped.
 * Types are kept portable: TEXT, INTEGER, BIGINT. Timestamps are epoch milliseconds (BIGINT); JSON is TEXT.
 * The only dialect difference is how an auto-numbered key is spelled.
 */
export interface Migration {
  version: number;
  name: string;
  /** Schema statements. */
  sql?: (dialect: Dialect) => string;
  /** Rewrites rows that SQL alone cannot (JSON columns), in the same transaction, after `sql`. */
  rewrite?: (tx: SqlExecutor) => Promise<void>;
}

const autoId = (dialect: Dialect): string =>
  dialect === 'postgres' ? 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: (dialect) => `
      CREATE TABLE audit_events (
        id ${autoId(dialect)},
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        service TEXT,
        environment TEXT,
        subject TEXT,
        outcome TEXT NOT NULL,
        detail TEXT
      );
      CREATE INDEX audit_events_service_environment_at ON audit_events (service, environment, at);
      CREATE INDEX audit_events_subject ON audit_events (subject);

      CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
      );
      INSERT INTO counters (name, value) VALUES ('deployment_seq', 0);

      CREATE TABLE deployments (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        service TEXT NOT NULL,
        environment TEXT NOT NULL,
        state TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        channel TEXT,
        message_ts TEXT,
        request TEXT NOT NULL,
        facts TEXT NOT NULL,
        expires_at BIGINT,
        finished_at BIGINT,
        reason TEXT
      );
      CREATE INDEX deployments_service_environment_seq ON deployments (service, environment, seq);
      CREATE INDEX deployments_state ON deployments (state);

      CREATE TABLE approvals (
        deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (deployment_id, user_id)
      );

      CREATE TABLE locks (
        service TEXT NOT NULL,
        environment TEXT NOT NULL,
        owner TEXT NOT NULL,
        instance TEXT NOT NULL,
        holder TEXT NOT NULL,
        reason TEXT,
        acquired_at BIGINT NOT NULL,
        expires_at BIGINT,
        PRIMARY KEY (service, environment)
      );

      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );

      CREATE TABLE state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'cache of immutable AWS facts',
    // Task definitions by ARN, task public IPs by task ARN: facts that never change, kept so that a restart or
    // another replica does not ask AWS again. `used_at` bounds it: entries unused for a while are dropped.
    sql: () => `
      CREATE TABLE cache (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        used_at BIGINT NOT NULL,
        PRIMARY KEY (kind, key)
      );
      CREATE INDEX cache_used_at ON cache (used_at);
    `,
  },
  {
    version: 3,
    name: 'typed deployment requests and facts',
    // Requests and facts were loose JSON bags; the typed model reads them with a parser, so old rows are rewritten
    // into its shape once (typed-deployments-migration.ts says what changes).
    rewrite: typeDeploymentRows,
  },
];

export const LATEST_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** An arbitrary constant: Postgres replicas starting at once take turns migrating. */
const MIGRATION_LOCK_KEY = 4_242_017;

/**
 * Applies the steps the database has not seen, in one transaction, and records each in `schema_migrations`.
 * Re-running is a no-op. A database migrated by a newer dockhand is refused rather than misread.
 * Returns the versions applied.
 */
export const migrate = async (
  driver: SqlDriver,
  at: Date,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> =>
  driver.transaction(async (tx) => {
    if (driver.dialect === 'postgres') await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const { rows } = await tx.query('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => Number(row.version)));
    const known = Math.max(0, ...migrations.map((m) => m.version));
    const newest = Math.max(0, ...applied);
    if (newest > known)
      throw new DockhandError(
        'store',
        `The database's schema is at version ${newest}, but this dockhand knows versions up to ${known} only.`,
        { hint: 'A newer dockhand has migrated this database: run that version (or newer), or restore a backup.' },
      );
    const pending = [...migrations].filter((m) => !applied.has(m.version)).sort((a, b) => a.version - b.version);
    for (const migration of pending) {
      if (migration.sql) await tx.exec(migration.sql(driver.dialect));
      if (migration.rewrite) await migration.rewrite(tx);
      await tx.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        at.getTime(),
      ]);
    }
    return pending.map((m) => m.version);
  });
