import { randomBytes } from 'node:crypto';
import {
  canMove,
  type DeploymentFacts,
  isTerminal,
  KIND_OF_REQUEST,
  parseFacts,
  parseKind,
  parseRequest,
  parseState,
  sourcesOf,
} from '../../domain/deployment.ts';
import { quorumOf, quorumReached } from '../../domain/policy.ts';
import { DockhandError, errorMessage } from '../../errors.ts';
import type {
  ApprovalOutcome,
  AuditEvent,
  AuditQuery,
  DeploymentQuery,
  DeploymentRecord,
  Lock,
  LockKey,
  LockResult,
  NewAuditEvent,
  NewDeployment,
  Store,
  TransitionRequest,
} from '../../ports.ts';
import type { SqlDriver, SqlExecutor, SqlRow, SqlValue } from './driver.ts';

export const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1_000;

export interface SqlStoreOptions {
  /** Names this process in lock audit events. */
  instance: string;
}

const DEPLOYMENT_COLUMNS =
  'id, seq, kind, service, environment, state, requested_by, requested_at, updated_at, channel, message_ts, request, facts, expires_at, finished_at, reason';
const LOCK_COLUMNS = 'service, environment, owner, instance, holder, reason, acquired_at, expires_at';
const AUDIT_COLUMNS = 'id, at, actor, action, service, environment, subject, outcome, detail';

/** Cache entries not used for this long are dropped (a task stopped, a revision no longer running). */
export const CACHE_UNUSED_MS = 7 * 24 * 3_600_000;
/** How long a hook delivery id is remembered: far longer than a signed CI request stays fresh (5 minutes). */
export const DELIVERY_KEPT_MS = 7 * 24 * 3_600_000;
/** An entry's use is written at most this often. */
const CACHE_TOUCH_AFTER_MS = 24 * 3_600_000;
/** Well inside SQLite's and Postgres's limits on bound parameters. */
const CACHE_KEYS_PER_QUERY = 1_000;
const CACHE_ROWS_PER_INSERT = 500;

/** Expired leases are deleted this long after they ran out. */
export const LEASE_RETENTION_MS = 60 * 60_000;

export const newDeploymentId = (): string => `dep_${randomBytes(10).toString('hex')}`;

/**
 * The Store port over SQL, written once for SQLite and Postgres. Every decision (transition, approval, lock,
 * lease) is a conditional write inside a transaction, so two replicas or a double click can never both win.
 * Timestamps are stored as epoch milliseconds; JSON as text.
 */
export class SqlStore implements Store {
  readonly #db: SqlDriver;
  readonly #instance: string;
  /** Postgres locks the rows a transaction reads before deciding; SQLite's BEGIN IMMEDIATE already locked it all. */
  readonly #forUpdate: string;

  constructor(driver: SqlDriver, options: SqlStoreOptions) {
    this.#db = driver;
    this.#instance = options.instance;
    this.#forUpdate = driver.dialect === 'postgres' ? ' FOR UPDATE' : '';
  }

  ping(): Promise<void> {
    return this.#attempt('ping the database', async () => {
      await this.#db.query('SELECT 1 AS ok');
    });
  }

  close(): Promise<void> {
    return this.#attempt('close the database', () => this.#db.close());
  }

  // -------------------------------------------------------------------------------------------------------------
  // Audit

  appendAudit(event: NewAuditEvent): Promise<void> {
    return this.#attempt('append an audit event', () => insertAudit(this.#db, event));
  }

  listAudit(query: AuditQuery): Promise<AuditEvent[]> {
    return this.#attempt('list audit events', async () => {
      const where = new Conditions();
      where.equal('service', query.service);
      where.equal('environment', query.environment);
      where.equal('subject', query.subject);
      where.equal('action', query.action);
      const limit = where.param(clampLimit(query.limit));
      const { rows } = await this.#db.query(
        `SELECT ${AUDIT_COLUMNS} FROM audit_events${where.sql()} ORDER BY at DESC, id DESC LIMIT ${limit}`,
        where.params,
      );
      return rows.map(toAuditEvent);
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Deployments

  createDeployment(input: NewDeployment, at: Date): Promise<DeploymentRecord> {
    return this.#attempt(`create a ${input.kind} of ${input.service} in ${input.environment}`, () =>
      this.#db.transaction(async (tx) => {
        if (KIND_OF_REQUEST[input.request.type] !== input.kind)
          throw new DockhandError('internal', `A ${input.request.type} request cannot make a ${input.kind} record.`);
        const counter = await tx.query('UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value', [
          'deployment_seq',
        ]);
        const seq = Number(first(counter.rows, 'deployment_seq counter').value);
        const id = input.id ?? newDeploymentId();
        await tx.query(
          `INSERT INTO deployments (${DEPLOYMENT_COLUMNS})
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, $10, $11, $12, $13, NULL)`,
          [
            id,
            seq,
            input.kind,
            input.service,
            input.environment,
            input.state,
            input.requestedBy,
            at.getTime(),
            at.getTime(),
            JSON.stringify(input.request),
            JSON.stringify(input.facts ?? {}),
            input.expiresAt?.getTime() ?? null,
            isTerminal(input.state) ? at.getTime() : null,
          ],
        );
        await insertAudit(tx, {
          at,
          actor: input.requestedBy,
          action: 'deployment.requested',
          service: input.service,
          environment: input.environment,
          subject: id,
          outcome: input.state,
          detail: { seq, kind: input.kind, request: input.request },
        });
        return required(await this.#read(tx, id), id);
      }),
    );
  }

  getDeployment(id: string): Promise<DeploymentRecord | undefined> {
    return this.#attempt(`read deployment ${id}`, () => this.#read(this.#db, id));
  }

  transition(id: string, request: TransitionRequest, at: Date): Promise<DeploymentRecord | undefined> {
    return this.#attempt(`move deployment ${id} to ${request.to}`, () =>
      this.#db.transaction(async (tx) => {
        // The sources come from the transition table (narrowed by onlyFrom): a move it does not list is never written.
        const sources = sourcesOf(request.to, request.onlyFrom);
        if (sources.length === 0) return undefined;
        const current = await this.#read(tx, id, { lock: true });
        if (!current) return undefined;
        const facts = request.facts ? { ...current.facts, ...request.facts } : current.facts;
        const finishedAt = isTerminal(request.to) ? at.getTime() : (current.finishedAt?.getTime() ?? null);
        const from = sources.map((_, i) => `$${i + 7}`).join(', ');
        const changed = await tx.query(
          `UPDATE deployments SET state = $2, updated_at = $3, finished_at = $4, reason = $5, facts = $6
           WHERE id = $1 AND state IN (${from})`,
          [id, request.to, at.getTime(), finishedAt, request.reason ?? null, JSON.stringify(facts), ...sources],
        );
        if (changed.rowCount !== 1) return undefined;
        await insertAudit(tx, {
          at,
          actor: request.actor,
          action: `deployment.${request.to}`,
          service: current.service,
          environment: current.environment,
          subject: id,
          outcome: request.to,
          detail: { from: current.state, ...(request.reason === undefined ? {} : { reason: request.reason }) },
        });
        return this.#read(tx, id);
      }),
    );
  }

  updateDeployment(
    id: string,
    patch: { facts?: DeploymentFacts; channel?: string; messageTs?: string },
    at: Date,
  ): Promise<DeploymentRecord> {
    return this.#attempt(`update deployment ${id}`, () =>
      this.#db.transaction(async (tx) => {
        const current = required(await this.#read(tx, id, { lock: true }), id);
        await tx.query(
          'UPDATE deployments SET facts = $2, channel = $3, message_ts = $4, updated_at = $5 WHERE id = $1',
          [
            id,
            JSON.stringify(patch.facts ? { ...current.facts, ...patch.facts } : current.facts),
            patch.channel ?? current.channel ?? null,
            patch.messageTs ?? current.messageTs ?? null,
            at.getTime(),
          ],
        );
        return required(await this.#read(tx, id), id);
      }),
    );
  }

  approve(id: string, user: string, requiredApprovals: number, at: Date): Promise<ApprovalOutcome> {
    return this.#attempt(`record ${user}'s approval of deployment ${id}`, () =>
      this.#db.transaction(async (tx): Promise<ApprovalOutcome> => {
        // Locks the row (Postgres) so that concurrent approvals count one after the other.
        const current = required(await this.#read(tx, id, { lock: true }), id);
        if (current.state !== 'awaiting_approval') return { result: 'not_pending', deployment: current };
        const inserted = await tx.query(
          'INSERT INTO approvals (deployment_id, user_id, at) VALUES ($1, $2, $3) ON CONFLICT (deployment_id, user_id) DO NOTHING',
          [id, user, at.getTime()],
        );
        if (inserted.rowCount === 0) return { result: 'duplicate', deployment: current };
        const counted = await tx.query('SELECT COUNT(*) AS n FROM approvals WHERE deployment_id = $1', [id]);
        const count = Number(first(counted.rows, 'approval count').n);
        const needed = quorumOf(requiredApprovals);
        const audit = { at, actor: user, service: current.service, environment: current.environment, subject: id };
        if (!quorumReached(count, needed)) {
          await tx.query('UPDATE deployments SET updated_at = $2 WHERE id = $1', [id, at.getTime()]);
          await insertAudit(tx, {
            ...audit,
            action: 'approval.recorded',
            outcome: 'recorded',
            detail: { approvals: count, required: needed },
          });
          return { result: 'recorded', deployment: required(await this.#read(tx, id), id) };
        }
        if (!canMove('awaiting_approval', 'approved'))
          throw new DockhandError('internal', 'The transition table does not let an approval approve.');
        const changed = await tx.query(
          `UPDATE deployments SET state = 'approved', updated_at = $2, reason = NULL WHERE id = $1 AND state = 'awaiting_approval'`,
          [id, at.getTime()],
        );
        if (changed.rowCount !== 1)
          return { result: 'not_pending', deployment: required(await this.#read(tx, id), id) };
        await insertAudit(tx, {
          ...audit,
          action: 'deployment.approved',
          outcome: 'approved',
          detail: { from: 'awaiting_approval', approvals: count, required: needed },
        });
        return { result: 'approved', deployment: required(await this.#read(tx, id), id) };
      }),
    );
  }

  listDeployments(query: DeploymentQuery): Promise<DeploymentRecord[]> {
    return this.#attempt('list deployments', async () => {
      const tx = this.#db;
      const where = new Conditions();
      where.equal('service', query.service);
      where.equal('environment', query.environment);
      where.oneOf('state', query.states);
      where.oneOf('kind', query.kinds);
      const limit = where.param(clampLimit(query.limit));
      const { rows } = await tx.query(
        `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments${where.sql()} ORDER BY seq DESC LIMIT ${limit}`,
        where.params,
      );
      if (rows.length === 0) return [];
      const ids = rows.map((row) => String(row.id));
      const approvals = await tx.query(
        `SELECT deployment_id, user_id, at FROM approvals WHERE deployment_id IN (${ids.map((_, i) => `$${i + 1}`).join(', ')})
           ORDER BY at, user_id`,
        ids,
      );
      return rows.map((row) =>
        toDeployment(
          row,
          approvals.rows.filter((a) => a.deployment_id === row.id),
        ),
      );
    });
  }

  async #read(tx: SqlExecutor, id: string, options: { lock?: boolean } = {}): Promise<DeploymentRecord | undefined> {
    const { rows } = await tx.query(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments WHERE id = $1${options.lock ? this.#forUpdate : ''}`,
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    const approvals = await tx.query(
      'SELECT deployment_id, user_id, at FROM approvals WHERE deployment_id = $1 ORDER BY at, user_id',
      [id],
    );
    return toDeployment(row, approvals.rows);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Locks and leases

  acquireLock(lock: Omit<Lock, 'acquiredAt'>, at: Date): Promise<LockResult> {
    return this.#attempt(`lock ${lock.service} in ${lock.environment}`, () =>
      this.#db.transaction(async (tx): Promise<LockResult> => {
        const before = await readLock(tx, lock);
        // Inserts, or takes over a row that has expired or is already ours; a live lock of someone else stays.
        await tx.query(
          `INSERT INTO locks (${LOCK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (service, environment) DO UPDATE SET
             owner = excluded.owner, instance = excluded.instance, holder = excluded.holder, reason = excluded.reason,
             acquired_at = CASE WHEN locks.owner = excluded.owner THEN locks.acquired_at ELSE excluded.acquired_at END,
             expires_at = excluded.expires_at
           WHERE locks.owner = excluded.owner OR (locks.expires_at IS NOT NULL AND locks.expires_at <= $9)`,
          [
            lock.service,
            lock.environment,
            lock.owner,
            lock.instance,
            lock.holder,
            lock.reason ?? null,
            at.getTime(),
            lock.expiresAt?.getTime() ?? null,
            at.getTime(),
          ],
        );
        const after = required(await readLock(tx, lock), `lock ${lock.service}/${lock.environment}`);
        if (after.owner !== lock.owner) return { acquired: false, held: after };
        await insertAudit(tx, {
          at,
          actor: actorOf(lock.owner),
          action: 'lock.acquired',
          service: lock.service,
          environment: lock.environment,
          subject: lockSubject(lock),
          outcome: 'ok',
          detail: {
            owner: lock.owner,
            holder: lock.holder,
            instance: lock.instance,
            ...(lock.reason === undefined ? {} : { reason: lock.reason }),
            ...(lock.expiresAt === undefined ? {} : { expiresAt: lock.expiresAt.toISOString() }),
            ...(before && before.owner !== lock.owner ? { tookOverExpiredFrom: before.owner } : {}),
            ...(before && before.owner === lock.owner ? { renewed: true } : {}),
          },
        });
        return { acquired: true, lock: after };
      }),
    );
  }

  releaseLock(key: LockKey, owner: string): Promise<boolean> {
    return this.#attempt(`unlock ${key.service} in ${key.environment}`, () =>
      this.#db.transaction(async (tx) => {
        const deleted = await tx.query(
          'DELETE FROM locks WHERE service = $1 AND environment = $2 AND owner = $3 RETURNING holder',
          [key.service, key.environment, owner],
        );
        const row = deleted.rows[0];
        if (!row) return false;
        await insertAudit(tx, {
          at: new Date(),
          actor: actorOf(owner),
          action: 'lock.released',
          service: key.service,
          environment: key.environment,
          subject: lockSubject(key),
          outcome: 'ok',
          detail: { owner, holder: String(row.holder), instance: this.#instance },
        });
        return true;
      }),
    );
  }

  getLock(key: LockKey, at: Date): Promise<Lock | undefined> {
    return this.#attempt(`read the lock of ${key.service} in ${key.environment}`, async () => {
      const { rows } = await this.#db.query(
        `SELECT ${LOCK_COLUMNS} FROM locks WHERE service = $1 AND environment = $2 AND (expires_at IS NULL OR expires_at > $3)`,
        [key.service, key.environment, at.getTime()],
      );
      return rows[0] ? toLock(rows[0]) : undefined;
    });
  }

  listLocks(at: Date): Promise<Lock[]> {
    return this.#attempt('list locks', async () => {
      const { rows } = await this.#db.query(
        `SELECT ${LOCK_COLUMNS} FROM locks WHERE expires_at IS NULL OR expires_at > $1 ORDER BY service, environment`,
        [at.getTime()],
      );
      return rows.map(toLock);
    });
  }

  tryLease(name: string, holder: string, ttlMs: number, at: Date): Promise<boolean> {
    return this.#attempt(`take the ${name} lease`, async () => {
      // RETURNING yields the row only when it was inserted or taken over/renewed, i.e. when `holder` owns it now.
      const { rows } = await this.#db.query(
        `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
         RETURNING holder`,
        [name, holder, at.getTime() + Math.max(0, ttlMs), at.getTime()],
      );
      // Per-tick lease names (watch:<job>:<minute>) would pile up: forget those that expired over an hour ago.
      await this.#db.query('DELETE FROM leases WHERE expires_at < $1', [at.getTime() - LEASE_RETENTION_MS]);
      return rows[0]?.holder === holder;
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Small persistent state

  getState<T>(key: string): Promise<T | undefined> {
    return this.#attempt(`read state ${key}`, async () => {
      const { rows } = await this.#db.query('SELECT value FROM state WHERE key = $1', [key]);
      return rows[0] ? (JSON.parse(String(rows[0].value)) as T) : undefined;
    });
  }

  getStates<T>(keys: readonly string[]): Promise<Map<string, T>> {
    return this.#attempt(`read the state of ${keys.length} keys`, async () => {
      const found = new Map<string, T>();
      for (const batch of chunk([...new Set(keys)], CACHE_KEYS_PER_QUERY)) {
        const where = new Conditions();
        where.oneOf('key', batch);
        const { rows } = await this.#db.query(`SELECT key, value FROM state${where.sql()}`, where.params);
        for (const row of rows) found.set(String(row.key), JSON.parse(String(row.value)) as T);
      }
      return found;
    });
  }

  putState(key: string, value: unknown, at: Date): Promise<void> {
    return this.#attempt(`write state ${key}`, async () => {
      if (value === undefined) {
        await this.#db.query('DELETE FROM state WHERE key = $1', [key]);
        return;
      }
      await this.#db.query(
        `INSERT INTO state (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [key, JSON.stringify(value), at.getTime()],
      );
    });
  }

  recordDelivery(source: string, id: string, at: Date): Promise<boolean> {
    return this.#attempt(`record a ${source} hook delivery`, async () => {
      // Two replicas receiving the same delivery at once: the primary key lets exactly one insert it.
      const { rowCount } = await this.#db.query(
        'INSERT INTO hook_deliveries (source, id, received_at) VALUES ($1, $2, $3) ON CONFLICT (source, id) DO NOTHING',
        [source, id, at.getTime()],
      );
      if (rowCount > 0) {
        await this.#db.query('DELETE FROM hook_deliveries WHERE received_at < $1', [at.getTime() - DELIVERY_KEPT_MS]);
      }
      return rowCount > 0;
    });
  }

  forgetDelivery(source: string, ids: readonly string[]): Promise<void> {
    return this.#attempt(`forget a ${source} hook delivery`, async () => {
      if (ids.length === 0) return;
      const where = new Conditions();
      where.equal('source', source);
      where.oneOf('id', ids);
      await this.#db.query(`DELETE FROM hook_deliveries${where.sql()}`, where.params);
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Cache of immutable facts

  cacheGet(kind: string, keys: readonly string[], at: Date): Promise<Map<string, string>> {
    return this.#attempt(`read the ${kind} cache`, async () => {
      const found = new Map<string, string>();
      const stale: string[] = [];
      for (const batch of chunk([...new Set(keys)], CACHE_KEYS_PER_QUERY)) {
        const where = new Conditions();
        where.equal('kind', kind);
        where.oneOf('key', batch);
        const { rows } = await this.#db.query(`SELECT key, value, used_at FROM cache${where.sql()}`, where.params);
        for (const row of rows) {
          found.set(String(row.key), String(row.value));
          if (Number(row.used_at) < at.getTime() - CACHE_TOUCH_AFTER_MS) stale.push(String(row.key));
        }
      }
      // Marking use is a write: done at most once a day per entry, so a steady tick only reads.
      for (const batch of chunk(stale, CACHE_KEYS_PER_QUERY)) {
        const where = new Conditions();
        const usedAt = where.param(at.getTime());
        where.equal('kind', kind);
        where.oneOf('key', batch);
        await this.#db.query(`UPDATE cache SET used_at = ${usedAt}${where.sql()}`, where.params);
      }
      return found;
    });
  }

  cachePut(kind: string, entries: ReadonlyMap<string, string>, at: Date): Promise<void> {
    return this.#attempt(`write the ${kind} cache`, async () => {
      if (entries.size === 0) return;
      for (const batch of chunk([...entries], CACHE_ROWS_PER_INSERT)) {
        const params: SqlValue[] = [];
        const rows = batch.map(([key, value]) => {
          params.push(kind, key, value, at.getTime());
          const n = params.length;
          return `($${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
        });
        // Two replicas may learn the same fact at once: the first one stored wins, and they are equal anyway.
        await this.#db.query(
          `INSERT INTO cache (kind, key, value, used_at) VALUES ${rows.join(', ')} ON CONFLICT (kind, key) DO NOTHING`,
          params,
        );
      }
      // New entries are rare (new revisions, new tasks), so pruning here costs nothing in a steady state.
      await this.#db.query('DELETE FROM cache WHERE kind = $1 AND used_at < $2', [
        kind,
        at.getTime() - CACHE_UNUSED_MS,
      ]);
    });
  }

  /** Wraps driver failures once, with what we were doing; DockhandErrors (not found…) pass through. */
  async #attempt<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof DockhandError) throw error;
      throw new DockhandError('store', `${action}: ${errorMessage(error)}`, {
        cause: error,
        hint: 'Check that the database in DOCKHAND_DATABASE_URL is reachable and writable.',
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Builds a WHERE clause with numbered parameters. */
class Conditions {
  readonly params: SqlValue[] = [];
  readonly #clauses: string[] = [];

  param(value: SqlValue): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  equal(column: string, value: string | undefined): void {
    if (value !== undefined) this.#clauses.push(`${column} = ${this.param(value)}`);
  }

  oneOf(column: string, values: readonly string[] | undefined): void {
    if (values === undefined) return;
    // An empty list matches nothing, as `IN ()` would if SQL allowed it.
    if (values.length === 0) this.#clauses.push('1 = 0');
    else this.#clauses.push(`${column} IN (${values.map((v) => this.param(v)).join(', ')})`);
  }

  sql(): string {
    return this.#clauses.length === 0 ? '' : ` WHERE ${this.#clauses.join(' AND ')}`;
  }
}

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
};

const clampLimit = (limit: number | undefined): number =>
  limit === undefined || !Number.isFinite(limit) ? DEFAULT_LIMIT : Math.min(MAX_LIMIT, Math.max(1, Math.trunc(limit)));

const insertAudit = async (tx: SqlExecutor, event: NewAuditEvent): Promise<void> => {
  await tx.query(
    `INSERT INTO audit_events (at, actor, action, service, environment, subject, outcome, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      event.at.getTime(),
      event.actor,
      event.action,
      event.service ?? null,
      event.environment ?? null,
      event.subject ?? null,
      event.outcome,
      event.detail === undefined ? null : JSON.stringify(event.detail),
    ],
  );
};

const readLock = async (tx: SqlExecutor, key: LockKey): Promise<Lock | undefined> => {
  const { rows } = await tx.query(`SELECT ${LOCK_COLUMNS} FROM locks WHERE service = $1 AND environment = $2`, [
    key.service,
    key.environment,
  ]);
  return rows[0] ? toLock(rows[0]) : undefined;
};

const lockSubject = (key: LockKey): string => `lock:${key.service}/${key.environment}`;

/** "manual:<user>" locks are a person's; the others are dockhand's own (a deployment's). */
const actorOf = (owner: string): string => (owner.startsWith('manual:') ? owner.slice('manual:'.length) : 'dockhand');

const first = (rows: SqlRow[], what: string): SqlRow => {
  const row = rows[0];
  if (!row) throw new DockhandError('store', `The database returned no ${what}.`);
  return row;
};

function required<T>(value: T | undefined, id: string): T {
  if (value === undefined) throw new DockhandError('not_found', `There is no deployment ${id}.`);
  return value;
}

// Rows → domain. Postgres returns BIGINT as strings, SQLite as numbers: Number() reads both.
const text = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);
const date = (value: unknown): Date => new Date(Number(value));
const optionalDate = (value: unknown): Date | undefined =>
  value === null || value === undefined ? undefined : new Date(Number(value));
const json = (value: unknown): Record<string, unknown> => JSON.parse(String(value)) as Record<string, unknown>;

const toAuditEvent = (row: SqlRow): AuditEvent => ({
  id: Number(row.id),
  at: date(row.at),
  actor: String(row.actor),
  action: String(row.action),
  service: text(row.service),
  environment: text(row.environment),
  subject: text(row.subject),
  outcome: String(row.outcome),
  detail: row.detail === null || row.detail === undefined ? undefined : json(row.detail),
});

/** Narrows a stored row with the model's parsers: a record that does not read as one is refused, not cast. */
const toDeployment = (row: SqlRow, approvals: SqlRow[]): DeploymentRecord => {
  const id = String(row.id);
  const kind = parseKind(id, row.kind);
  return {
    id,
    seq: Number(row.seq),
    kind,
    service: String(row.service),
    environment: String(row.environment),
    state: parseState(id, row.state),
    requestedBy: String(row.requested_by),
    requestedAt: date(row.requested_at),
    updatedAt: date(row.updated_at),
    channel: text(row.channel),
    messageTs: text(row.message_ts),
    request: parseRequest(id, kind, JSON.parse(String(row.request))),
    facts: parseFacts(id, JSON.parse(String(row.facts))),
    approvals: approvals.map((a) => ({ user: String(a.user_id), at: date(a.at) })),
    expiresAt: optionalDate(row.expires_at),
    finishedAt: optionalDate(row.finished_at),
    reason: text(row.reason),
  };
};

const toLock = (row: SqlRow): Lock => ({
  service: String(row.service),
  environment: String(row.environment),
  owner: String(row.owner),
  instance: String(row.instance),
  holder: String(row.holder),
  reason: text(row.reason),
  acquiredAt: date(row.acquired_at),
  expiresAt: optionalDate(row.expires_at),
});
