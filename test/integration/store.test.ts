// The SQL store (src/adapters/store) against real databases: SQLite in memory, SQLite in a file (as one or several
// replicas would share it), and Postgres when DOCKHAND_TEST_POSTGRES_URL names a server we may create schemas on.
// One suite, run against each; the decisions (transition, approval, lock, lease) are raced on purpose.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlDriver } from '../../src/adapters/store/driver.ts';
import {
  LATEST_VERSION,
  MIGRATIONS,
  maskDatabaseUrl,
  openStore,
  parseDatabaseUrl,
} from '../../src/adapters/store/index.ts';
import { migrate } from '../../src/adapters/store/migrations.ts';
import { openPostgresDriver } from '../../src/adapters/store/postgres-driver.ts';
import { SqlStore } from '../../src/adapters/store/sql-store.ts';
import { MEMORY, openSqliteDriver, toSqliteParams } from '../../src/adapters/store/sqlite-driver.ts';
import { type DeploymentState, TRANSITIONS } from '../../src/domain/deployment.ts';
import { ConfigError, DockhandError } from '../../src/errors.ts';
import type { DeploymentRecord, NewDeployment, Store } from '../../src/ports.ts';
import {
  insertOldDeployment,
  migrateAsBeforeTypedModel,
  OLD_ROWS,
  type OldDeploymentRow,
} from '../support/old-store.ts';

const run = promisify(execFile);
const POSTGRES_URL = process.env.DOCKHAND_TEST_POSTGRES_URL;
const STORE_MODULE = pathToFileURL(join(import.meta.dirname, '../../src/adapters/store/index.ts')).href;

const T0 = new Date('2025-03-01T12:00:00.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1_000);

/** One fresh, empty database per test, and ways to reach it again. */
interface Harness {
  url: string;
  /** A raw driver on the same database (for SQLite in memory: a new, empty one). */
  openDriver(): SqlDriver;
  /** Whether another store (or process) opening `url` sees the same data. */
  shared: boolean;
  cleanup(): Promise<void>;
}

const sqliteMemory = async (): Promise<Harness> => ({
  url: 'sqlite::memory:',
  openDriver: () => openSqliteDriver(MEMORY),
  shared: false,
  cleanup: async () => {},
});

const sqliteFile = async (): Promise<Harness> => {
  const dir = await mkdtemp(join(tmpdir(), 'dockhand-store-'));
  // A directory that does not exist yet: openStore creates it.
  const path = join(dir, 'data', 'dockhand.db');
  return {
    url: `sqlite:${path}`,
    openDriver: () => openSqliteDriver(path),
    shared: true,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
};

const postgres = (baseUrl: string) => async (): Promise<Harness> => {
  const schema = `dockhand_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    url,
    openDriver: () => openPostgresDriver(url),
    shared: true,
    cleanup: async () => {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
      await client.end();
    },
  };
};

const deployment = (overrides: Partial<NewDeployment> = {}): NewDeployment => ({
  kind: 'deploy',
  service: 'api',
  environment: 'production',
  state: 'awaiting_approval',
  requestedBy: 'U_DEV',
  request: { type: 'git', ref: 'main' },
  ...overrides,
});

const oldRow = (id: string): OldDeploymentRow => ({
  id,
  kind: 'scale',
  service: 'api',
  environment: 'production',
  state: 'requested',
  requestedBy: 'U_DEV',
  requestedAt: at(0).getTime(),
  request: {},
  facts: {},
});

/** Approves every id, in order, from a separate Node process (a replica) starting at `startAt`; resolves to each result. */
const approveInChildProcess = async (
  url: string,
  ids: readonly string[],
  user: string,
  startAt: number,
): Promise<Record<string, string>> => {
  const script = `
    const [storeModule, url, user, idsJson, startAt] = process.argv.slice(1);
    const { openStore } = await import(storeModule);
    const store = await openStore(url, { instance: user });
    while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
    const results = {};
    for (const id of JSON.parse(idsJson)) results[id] = (await store.approve(id, user, 1, new Date())).result;
    await store.close();
    process.stdout.write(JSON.stringify(results));
  `;
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', script, STORE_MODULE, url, user, JSON.stringify(ids), String(startAt)],
    { timeout: 30_000 },
  );
  return JSON.parse(stdout) as Record<string, string>;
};

const describeStore = (name: string, setup: () => Promise<Harness>): void => {
  describe(name, () => {
    let harness: Harness;
    let store: Store;
    const extra: Array<{ close(): Promise<void> }> = [];
    const track = <T extends { close(): Promise<void> }>(thing: T): T => {
      extra.push(thing);
      return thing;
    };

    beforeEach(async () => {
      harness = await setup();
      store = await openStore(harness.url, { instance: 'test-1' });
    });

    afterEach(async () => {
      await store.close();
      for (const thing of extra.splice(0)) await thing.close();
      await harness.cleanup();
    });

    describe('migrations', () => {
      it('applies every step once and re-running them is a no-op', async () => {
        const driver = track(harness.openDriver());
        const first = await migrate(driver, at(0));
        expect(first).toEqual(harness.shared ? [] : MIGRATIONS.map((m) => m.version));
        expect(await migrate(driver, at(1))).toEqual([]);
        const { rows } = await driver.query('SELECT version FROM schema_migrations ORDER BY version');
        expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
        if (harness.shared) {
          const again = track(await openStore(harness.url));
          await again.ping();
        }
      });

      it('refuses a database that a newer dockhand has migrated', async () => {
        const driver = track(harness.openDriver());
        await migrate(driver, at(0));
        await driver.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          999,
          'from the future',
          at(0).getTime(),
        ]);
        await expect(migrate(driver, at(1))).rejects.toThrow(
          new RegExp(`schema is at version 999.*up to ${LATEST_VERSION} only`),
        );
        if (harness.shared)
          await expect(openStore(harness.url)).rejects.toMatchObject({ code: 'store', hint: /newer dockhand/ });
      });
    });

    describe('migration 3: typed deployment requests and facts', () => {
      it('rewrites the rows of the dockhand before it, written with its SQL, into records read by the parsers', async () => {
        const driver = track(harness.openDriver());
        // A shared database was already migrated by beforeEach: migration 3 changes no schema, so forgetting it
        // (and dropping what the later ones made) leaves exactly the database of the dockhand before it.
        if (harness.shared) {
          await driver.query('DELETE FROM schema_migrations WHERE version > 2');
          await driver.query('DROP TABLE IF EXISTS hook_deliveries');
        }
        expect(await migrateAsBeforeTypedModel(driver, at(0))).toEqual(harness.shared ? [] : [1, 2]);
        for (const { row } of OLD_ROWS) await insertOldDeployment(driver, row);

        // Migration 3 and every later one (4: hook deliveries).
        const typedAndLater = MIGRATIONS.map((m) => m.version).filter((v) => v >= 3);
        expect(typedAndLater[0]).toBe(3);
        expect(await migrate(driver, at(1))).toEqual(typedAndLater);
        const typed = new SqlStore(driver, { instance: 'test-1' });
        for (const { row, reads } of OLD_ROWS) {
          const record = await typed.getDeployment(row.id);
          expect({ id: row.id, kind: record?.kind, state: record?.state }).toEqual({
            id: row.id,
            kind: row.kind,
            state: row.state,
          });
          expect({ id: row.id, request: record?.request }).toEqual({ id: row.id, request: reads.request });
          expect({ id: row.id, facts: record?.facts }).toEqual({ id: row.id, facts: reads.facts });
          expect(record?.expiresAt).toEqual(reads.expiresAt);
        }
        // Running it again changes nothing.
        expect(await migrate(driver, at(2))).toEqual([]);
        const listed = await typed.listDeployments({});
        expect(listed.map((d) => d.id).sort()).toEqual(OLD_ROWS.map((r) => r.row.id).sort());

        // A migrated record moves on under the table: the waiting deploy can be approved, the finished ones cannot move.
        expect((await typed.approve('dep_old_git_waiting', 'U0BOB', 1, at(3))).result).toBe('approved');
        expect(await typed.transition('dep_old_git_default', { to: 'building', actor: 'dockhand' }, at(3))).toBe(
          undefined,
        );
      });

      it('refuses to read a row the parsers do not accept, naming it', async () => {
        const driver = track(harness.openDriver());
        await migrate(driver, at(0));
        await insertOldDeployment(driver, { ...oldRow('dep_unreadable'), request: { desiredCount: 'four' } });
        const typed = new SqlStore(driver, { instance: 'test-1' });
        await expect(typed.getDeployment('dep_unreadable')).rejects.toMatchObject({
          code: 'store',
          message: /dep_unreadable has a request/,
          hint: /newest one/,
        });
      });
    });

    describe('the transition table', () => {
      it('writes exactly the moves TRANSITIONS lists, from every state to every state', async () => {
        const states = Object.keys(TRANSITIONS) as DeploymentState[];
        const written: string[] = [];
        for (const from of states) {
          for (const to of states) {
            const d = await store.createDeployment(deployment({ state: from }), at(0));
            const moved = await store.transition(d.id, { to, actor: 'dockhand' }, at(1));
            const stored = await store.getDeployment(d.id);
            if (moved) written.push(`${from} → ${to}`);
            expect(stored?.state).toBe(moved ? to : from);
          }
        }
        const table = states.flatMap((from) => TRANSITIONS[from].map((to) => `${from} → ${to}`));
        expect(written.sort()).toEqual(table.sort());
        expect(written).not.toContain('succeeded → rolling_out');
        expect(written).not.toContain('awaiting_approval → building');
      });

      it('narrows the sources with onlyFrom, and refuses a narrowing the table does not allow', async () => {
        const d = await store.createDeployment(deployment({ state: 'building' }), at(0));
        expect(
          await store.transition(d.id, { to: 'rolling_out', onlyFrom: ['approved', 'registering'], actor: 'x' }, at(1)),
        ).toBeUndefined();
        await expect(
          store.transition(d.id, { to: 'rolling_out', onlyFrom: ['building', 'succeeded'], actor: 'x' }, at(1)),
        ).rejects.toMatchObject({ code: 'internal' });
        expect((await store.getDeployment(d.id))?.state).toBe('building');
        expect(
          (await store.transition(d.id, { to: 'rolling_out', onlyFrom: ['approved', 'building'], actor: 'x' }, at(2)))
            ?.state,
        ).toBe('rolling_out');
      });

      it('refuses to create a record whose request is not of its kind', async () => {
        await expect(
          store.createDeployment(deployment({ kind: 'scale', request: { type: 'git', ref: 'main' } }), at(0)),
        ).rejects.toMatchObject({ code: 'internal' });
        expect(await store.listDeployments({})).toEqual([]);
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('audit', () => {
      it('round-trips events, newest first, with filters and a default limit of 50', async () => {
        await store.appendAudit({ at: at(1), actor: 'U1', action: 'command', outcome: 'ok', detail: { text: '/x' } });
        await store.appendAudit({
          at: at(2),
          actor: 'U2',
          action: 'lock.acquired',
          service: 'api',
          environment: 'staging',
          subject: 'lock:api/staging',
          outcome: 'ok',
        });
        await store.appendAudit({
          at: at(3),
          actor: 'dockhand',
          action: 'deployment.failed',
          service: 'api',
          environment: 'production',
          subject: 'dep_1',
          outcome: 'failed',
          detail: { nested: { n: 1, list: [1, 'two'] } },
        });

        const all = await store.listAudit({});
        expect(all.map((e) => e.action)).toEqual(['deployment.failed', 'lock.acquired', 'command']);
        const [newest] = all;
        expect(newest).toEqual({
          id: expect.any(Number),
          at: at(3),
          actor: 'dockhand',
          action: 'deployment.failed',
          service: 'api',
          environment: 'production',
          subject: 'dep_1',
          outcome: 'failed',
          detail: { nested: { n: 1, list: [1, 'two'] } },
        });
        expect(newest?.at).toBeInstanceOf(Date);
        expect(all[2]?.service).toBeUndefined();

        expect((await store.listAudit({ service: 'api' })).map((e) => e.at)).toEqual([at(3), at(2)]);
        expect((await store.listAudit({ service: 'api', environment: 'staging' })).map((e) => e.actor)).toEqual(['U2']);
        expect((await store.listAudit({ subject: 'dep_1' })).map((e) => e.outcome)).toEqual(['failed']);
        expect((await store.listAudit({ action: 'command' })).map((e) => e.actor)).toEqual(['U1']);
        expect(await store.listAudit({ service: 'web' })).toEqual([]);
        expect((await store.listAudit({ limit: 2 })).map((e) => e.action)).toEqual([
          'deployment.failed',
          'lock.acquired',
        ]);

        for (let i = 0; i < 55; i++)
          await store.appendAudit({ at: at(10 + i), actor: 'U1', action: 'command', outcome: 'ok' });
        const page = await store.listAudit({});
        expect(page).toHaveLength(50);
        expect(page[0]?.at).toEqual(at(64));
      });
    });

    describe('deployments', () => {
      it('assigns increasing numbers and writes the "requested" audit event with the record', async () => {
        const a = await store.createDeployment(deployment({ facts: { commitSha: 'abc' } }), at(1));
        const b = await store.createDeployment(deployment({ service: 'web', state: 'requested' }), at(2));
        const c = await store.createDeployment(
          deployment({ kind: 'scale', request: { type: 'scale', desiredCount: 4 } }),
          at(3),
        );
        expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3]);
        expect(new Set([a.id, b.id, c.id]).size).toBe(3);
        expect(a.id).toMatch(/^dep_[0-9a-f]{20}$/);
        expect(a).toEqual({
          id: a.id,
          seq: 1,
          kind: 'deploy',
          service: 'api',
          environment: 'production',
          state: 'awaiting_approval',
          requestedBy: 'U_DEV',
          requestedAt: at(1),
          updatedAt: at(1),
          request: { type: 'git', ref: 'main' },
          facts: { commitSha: 'abc' },
          approvals: [],
        });
        expect(await store.getDeployment(a.id)).toEqual(a);
        expect(await store.getDeployment('dep_missing')).toBeUndefined();

        const [event] = await store.listAudit({ subject: a.id });
        expect(event).toMatchObject({
          actor: 'U_DEV',
          action: 'deployment.requested',
          service: 'api',
          environment: 'production',
          outcome: 'awaiting_approval',
          detail: { seq: 1, kind: 'deploy', request: { type: 'git', ref: 'main' } },
        });
      });

      it('keeps numbers unique when many are created at once', async () => {
        const created = await Promise.all(
          Array.from({ length: 12 }, (_, i) => store.createDeployment(deployment(), at(i))),
        );
        expect(created.map((d) => d.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      });

      it('transitions only from a state the table allows, and writes nothing otherwise', async () => {
        const d = await store.createDeployment(deployment({ state: 'approved' }), at(0));
        const auditBefore = await store.listAudit({ subject: d.id });

        expect(await store.transition(d.id, { to: 'succeeded', actor: 'dockhand' }, at(1))).toBe(undefined);
        expect(
          await store.transition(d.id, { to: 'rolling_out', onlyFrom: ['registering'], actor: 'dockhand' }, at(1)),
        ).toBeUndefined();
        // A narrowing wider than the table is a programming error, refused before anything is read or written.
        await expect(
          store.transition(d.id, { to: 'building', onlyFrom: ['approved', 'pushing'], actor: 'dockhand' }, at(1)),
        ).rejects.toMatchObject({ code: 'internal', message: /from pushing to building/ });
        expect(await store.transition('dep_missing', { to: 'building', actor: 'x' }, at(1))).toBe(undefined);
        expect(await store.getDeployment(d.id)).toEqual(d);
        expect(await store.listAudit({ subject: d.id })).toEqual(auditBefore);

        const building = await store.transition(
          d.id,
          { onlyFrom: ['approved'], to: 'building', actor: 'dockhand', facts: { image: 'api:1' } },
          at(2),
        );
        expect(building).toMatchObject({ state: 'building', updatedAt: at(2), facts: { image: 'api:1' } });
        expect(building?.finishedAt).toBeUndefined();

        const failed = await store.transition(
          d.id,
          { to: 'failed', actor: 'dockhand', reason: 'RUN step 3 failed', facts: { failedIn: 'building' } },
          at(3),
        );
        expect(failed).toMatchObject({
          state: 'failed',
          reason: 'RUN step 3 failed',
          finishedAt: at(3),
          facts: { image: 'api:1', failedIn: 'building' },
        });
        expect(failed?.finishedAt).toBeInstanceOf(Date);

        const events = await store.listAudit({ subject: d.id });
        expect(events.slice(0, 2)).toMatchObject([
          {
            action: 'deployment.failed',
            actor: 'dockhand',
            outcome: 'failed',
            detail: { from: 'building', reason: 'RUN step 3 failed' },
          },
          { action: 'deployment.building', outcome: 'building', detail: { from: 'approved' } },
        ]);
      });

      it('lets exactly one of several concurrent transitions from the same state win', async () => {
        const d = await store.createDeployment(deployment({ state: 'rolling_out' }), at(0));
        const results = await Promise.all(
          (['succeeded', 'failed', 'aborted', 'succeeded'] as const).map((to) =>
            store.transition(d.id, { to, actor: 'dockhand' }, at(1)),
          ),
        );
        expect(results.filter((r) => r !== undefined)).toHaveLength(1);
        const terminalEvents = (await store.listAudit({ subject: d.id })).filter(
          (e) => e.action !== 'deployment.requested',
        );
        expect(terminalEvents).toHaveLength(1);
      });

      it('merges facts and records where the card lives', async () => {
        const d = await store.createDeployment(deployment({ facts: { commitSha: 'abc' } }), at(0));
        const updated = await store.updateDeployment(d.id, { channel: 'C1', messageTs: '1700.01' }, at(1));
        expect(updated).toMatchObject({
          channel: 'C1',
          messageTs: '1700.01',
          facts: { commitSha: 'abc' },
          updatedAt: at(1),
        });
        const again = await store.updateDeployment(d.id, { facts: { runningCount: 2 } }, at(2));
        expect(again).toMatchObject({
          channel: 'C1',
          messageTs: '1700.01',
          facts: { commitSha: 'abc', runningCount: 2 },
        });
        await expect(store.updateDeployment('dep_missing', { channel: 'C1' }, at(3))).rejects.toMatchObject({
          code: 'not_found',
        });
      });

      it('lists newest first with filters and a limit, approvals included', async () => {
        const api = await store.createDeployment(deployment(), at(1));
        await store.createDeployment(deployment({ environment: 'staging', state: 'succeeded' }), at(2));
        await store.createDeployment(
          deployment({ service: 'web', kind: 'restart', request: { type: 'restart' }, state: 'requested' }),
          at(3),
        );
        await store.approve(api.id, 'U_OK', 2, at(4));

        expect((await store.listDeployments({})).map((d) => d.seq)).toEqual([3, 2, 1]);
        expect((await store.listDeployments({ service: 'api' })).map((d) => d.seq)).toEqual([2, 1]);
        expect((await store.listDeployments({ service: 'api', environment: 'production' })).map((d) => d.seq)).toEqual([
          1,
        ]);
        expect((await store.listDeployments({ states: ['succeeded', 'requested'] })).map((d) => d.seq)).toEqual([3, 2]);
        expect((await store.listDeployments({ kinds: ['restart'] })).map((d) => d.seq)).toEqual([3]);
        expect(await store.listDeployments({ states: [] })).toEqual([]);
        expect((await store.listDeployments({ limit: 1 })).map((d) => d.seq)).toEqual([3]);
        const [listed] = await store.listDeployments({ service: 'api', environment: 'production' });
        expect(listed?.approvals).toEqual([{ user: 'U_OK', at: at(4) }]);
        expect(listed?.requestedAt).toBeInstanceOf(Date);
      });
    });

    describe('approvals', () => {
      it('needs the required number of distinct approvers, and counts each one once', async () => {
        const d = await store.createDeployment(deployment(), at(0));
        const first = await store.approve(d.id, 'U1', 2, at(1));
        expect(first.result).toBe('recorded');
        expect(first.deployment).toMatchObject({ state: 'awaiting_approval', approvals: [{ user: 'U1', at: at(1) }] });

        const twice = await store.approve(d.id, 'U1', 2, at(2));
        expect(twice.result).toBe('duplicate');
        expect(twice.deployment.approvals).toHaveLength(1);

        const second = await store.approve(d.id, 'U2', 2, at(3));
        expect(second.result).toBe('approved');
        expect(second.deployment).toMatchObject({
          state: 'approved',
          updatedAt: at(3),
          approvals: [
            { user: 'U1', at: at(1) },
            { user: 'U2', at: at(3) },
          ],
        });

        const late = await store.approve(d.id, 'U3', 2, at(4));
        expect(late.result).toBe('not_pending');
        expect(late.deployment.approvals).toHaveLength(2);

        const events = await store.listAudit({ subject: d.id });
        expect(events.map((e) => [e.action, e.actor, e.outcome])).toEqual([
          ['deployment.approved', 'U2', 'approved'],
          ['approval.recorded', 'U1', 'recorded'],
          ['deployment.requested', 'U_DEV', 'awaiting_approval'],
        ]);
      });

      it('refuses approvals after a rejection, and of unknown deployments', async () => {
        const d = await store.createDeployment(deployment(), at(0));
        await store.transition(d.id, { to: 'rejected', actor: 'U_BOSS', reason: 'not today' }, at(1));
        const outcome = await store.approve(d.id, 'U1', 1, at(2));
        expect(outcome.result).toBe('not_pending');
        expect(outcome.deployment).toMatchObject({ state: 'rejected', approvals: [], reason: 'not today' });
        await expect(store.approve('dep_missing', 'U1', 1, at(2))).rejects.toBeInstanceOf(DockhandError);
      });

      it('approves exactly once when many approvers click at the same moment', async () => {
        const d = await store.createDeployment(deployment(), at(0));
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.approve(d.id, `U${i}`, 1, at(1))),
        );
        expect(outcomes.filter((o) => o.result === 'approved')).toHaveLength(1);
        expect(outcomes.filter((o) => o.result === 'not_pending')).toHaveLength(9);
        expect((await store.getDeployment(d.id))?.approvals).toHaveLength(1);
        expect(await store.listAudit({ subject: d.id, action: 'deployment.approved' })).toHaveLength(1);
      });

      it('reaches a quorum of two when three approvers click at once (no approval is lost)', async () => {
        const d = await store.createDeployment(deployment(), at(0));
        const outcomes = await Promise.all(['U1', 'U2', 'U3'].map((u) => store.approve(d.id, u, 2, at(1))));
        expect(outcomes.map((o) => o.result).sort()).toEqual(['approved', 'not_pending', 'recorded']);
        expect((await store.getDeployment(d.id))?.state).toBe('approved');
      });

      it('approves exactly once when the clicks reach two store instances (two replicas)', async (ctx) => {
        if (!harness.shared) ctx.skip();
        const other = track(await openStore(harness.url, { instance: 'test-2' }));
        const ids: string[] = [];
        for (let i = 0; i < 15; i++) ids.push((await store.createDeployment(deployment(), at(i))).id);
        const outcomes = await Promise.all(
          ids.flatMap((id) => [store.approve(id, 'U_A', 1, at(20)), other.approve(id, 'U_B', 1, at(20))]),
        );
        for (const id of ids) {
          const mine = outcomes.filter((o) => o.deployment.id === id).map((o) => o.result);
          expect(mine.sort()).toEqual(['approved', 'not_pending']);
          expect(await other.listAudit({ subject: id, action: 'deployment.approved' })).toHaveLength(1);
        }
      });

      it('approves exactly once when two separate processes race on every deployment', async (ctx) => {
        if (!harness.shared) ctx.skip();
        const ids: string[] = [];
        for (let i = 0; i < 20; i++) ids.push((await store.createDeployment(deployment(), at(i))).id);
        const startAt = Date.now() + 1_500;
        const [a, b] = await Promise.all([
          approveInChildProcess(harness.url, ids, 'U_A', startAt),
          approveInChildProcess(harness.url, ids, 'U_B', startAt),
        ]);
        for (const id of ids) expect([a[id], b[id]].sort()).toEqual(['approved', 'not_pending']);
        const approved = await store.listDeployments({ states: ['approved'] });
        expect(approved).toHaveLength(20);
        expect(approved.every((d: DeploymentRecord) => d.approvals.length === 1)).toBe(true);
      });
    });

    describe('locks', () => {
      const key = { service: 'api', environment: 'production' };
      const lockFor = (owner: string, expiresAt?: Date) => ({
        ...key,
        owner,
        instance: 'test-1',
        holder: owner === 'dep_a' ? '#1 by U_DEV' : 'someone else',
        reason: 'deploying',
        ...(expiresAt ? { expiresAt } : {}),
      });

      it('is held until released by its owner, and reacquired by the same owner', async () => {
        const taken = await store.acquireLock(lockFor('dep_a', at(600)), at(0));
        expect(taken).toEqual({
          acquired: true,
          lock: { ...lockFor('dep_a', at(600)), acquiredAt: at(0) },
        });

        const refused = await store.acquireLock(lockFor('dep_b', at(900)), at(10));
        expect(refused).toEqual({ acquired: false, held: { ...lockFor('dep_a', at(600)), acquiredAt: at(0) } });

        const again = await store.acquireLock({ ...lockFor('dep_a', at(1200)), instance: 'test-restarted' }, at(20));
        expect(again).toMatchObject({ acquired: true, lock: { instance: 'test-restarted', expiresAt: at(1200) } });
        expect(again.acquired && again.lock.acquiredAt).toEqual(at(0));

        expect(await store.getLock(key, at(30))).toMatchObject({ owner: 'dep_a' });
        expect(await store.listLocks(at(30))).toHaveLength(1);

        expect(await store.releaseLock(key, 'dep_b')).toBe(false);
        expect(await store.getLock(key, at(31))).toMatchObject({ owner: 'dep_a' });
        expect(await store.releaseLock(key, 'dep_a')).toBe(true);
        expect(await store.releaseLock(key, 'dep_a')).toBe(false);
        expect(await store.getLock(key, at(32))).toBeUndefined();

        const events = await store.listAudit({ service: 'api', environment: 'production' });
        expect(events.map((e) => e.action)).toEqual(['lock.released', 'lock.acquired', 'lock.acquired']);
        expect(events[0]).toMatchObject({
          subject: 'lock:api/production',
          actor: 'dockhand',
          detail: { owner: 'dep_a' },
        });
      });

      it('is taken over once expired, and ignored by getLock and listLocks after expiry', async () => {
        await store.acquireLock(lockFor('dep_a', at(60)), at(0));
        expect(await store.getLock(key, at(60))).toBeUndefined();
        expect(await store.listLocks(at(61))).toEqual([]);
        const taken = await store.acquireLock(lockFor('dep_b'), at(61));
        expect(taken).toMatchObject({ acquired: true, lock: { owner: 'dep_b', acquiredAt: at(61) } });
        expect(taken.acquired && taken.lock.expiresAt).toBeUndefined();
        const [event] = await store.listAudit({ action: 'lock.acquired' });
        expect(event?.detail).toMatchObject({ owner: 'dep_b', tookOverExpiredFrom: 'dep_a' });

        // A lock without an expiry never expires.
        expect(await store.acquireLock(lockFor('dep_c'), at(1_000_000))).toMatchObject({
          acquired: false,
          held: { owner: 'dep_b' },
        });
        expect(await store.listLocks(at(1_000_000))).toHaveLength(1);
        expect(await store.releaseLock(key, 'dep_a')).toBe(false);
      });

      it('names the person as actor for manual locks', async () => {
        await store.acquireLock({ ...key, owner: 'manual:U_OPS', instance: 'i', holder: 'U_OPS' }, at(0));
        expect(await store.releaseLock(key, 'manual:U_OPS')).toBe(true);
        expect((await store.listAudit({})).map((e) => e.actor)).toEqual(['U_OPS', 'U_OPS']);
      });

      it('goes to exactly one of many concurrent takers', async () => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.acquireLock(lockFor(`dep_${i}`, at(600)), at(0))),
        );
        expect(results.filter((r) => r.acquired)).toHaveLength(1);
        const winner = results.find((r) => r.acquired);
        const owner = winner?.acquired ? winner.lock.owner : 'none';
        for (const r of results) if (!r.acquired) expect(r.held.owner).toBe(owner);
      });
    });

    describe('leases', () => {
      it('belongs to one holder until it expires; the holder renews it', async () => {
        expect(await store.tryLease('watch.health', 'replica-a', 30_000, at(0))).toBe(true);
        expect(await store.tryLease('watch.health', 'replica-b', 30_000, at(10))).toBe(false);
        expect(await store.tryLease('watch.health', 'replica-a', 30_000, at(20))).toBe(true);
        expect(await store.tryLease('watch.health', 'replica-b', 30_000, at(49))).toBe(false);
        expect(await store.tryLease('watch.health', 'replica-b', 30_000, at(50))).toBe(true);
        expect(await store.tryLease('watch.health', 'replica-a', 30_000, at(51))).toBe(false);
        expect(await store.tryLease('digest', 'replica-a', 30_000, at(51))).toBe(true);
      });

      it('goes to exactly one of many concurrent holders', async () => {
        const won = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.tryLease('watch.ips', `replica-${i}`, 10_000, at(0))),
        );
        expect(won.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('state', () => {
      it('stores small JSON values by key', async () => {
        expect(await store.getState('watch.ips')).toBeUndefined();
        await store.putState('watch.ips', { 'arn:task/1': '203.0.113.10' }, at(0));
        await store.putState('counter', 3, at(0));
        expect(await store.getState('watch.ips')).toEqual({ 'arn:task/1': '203.0.113.10' });
        await store.putState('watch.ips', { 'arn:task/2': '203.0.113.11' }, at(1));
        expect(await store.getState('watch.ips')).toEqual({ 'arn:task/2': '203.0.113.11' });
        expect(await store.getState<number>('counter')).toBe(3);
        await store.putState('counter', undefined, at(2));
        expect(await store.getState('counter')).toBeUndefined();
      });

      it('reads the states of many keys at once, more than one query holds, leaving out keys without one', async () => {
        const keys = Array.from({ length: 1_005 }, (_, i) => `watch:svc-${i}`);
        for (const [i, key] of keys.entries()) if (i % 2 === 0) await store.putState(key, { i }, at(0));
        const states = await store.getStates<{ i: number }>([...keys, keys[0] as string, 'watch:none']);
        expect(states.size).toBe(503);
        expect(states.get('watch:svc-0')).toEqual({ i: 0 });
        expect(states.get('watch:svc-1004')).toEqual({ i: 1004 });
        expect(states.has('watch:svc-1')).toBe(false);
        expect(states.has('watch:none')).toBe(false);
        expect(await store.getStates([])).toEqual(new Map());
      });
    });

    describe('cache', () => {
      const DAY = 24 * 3_600_000;

      it('returns the known keys of a kind in one batch and keeps the first value stored', async () => {
        expect(await store.cacheGet('task-definition', ['arn:td/api:1'], at(0))).toEqual(new Map());
        await store.cachePut('task-definition', new Map([['arn:td/api:1', '{"revision":1}']]), at(0));
        await store.cachePut(
          'task-definition',
          new Map([
            ['arn:td/api:1', '{"revision":"other"}'],
            ['arn:td/api:2', '{"revision":2}'],
          ]),
          at(1),
        );
        await store.cachePut('public-ip', new Map([['arn:task/1', '{"ip":"203.0.113.10"}']]), at(1));
        const asked = ['arn:td/api:1', 'arn:td/api:2', 'arn:td/api:3', 'arn:task/1', 'arn:td/api:1'];
        expect(await store.cacheGet('task-definition', asked, at(2))).toEqual(
          new Map([
            ['arn:td/api:1', '{"revision":1}'],
            ['arn:td/api:2', '{"revision":2}'],
          ]),
        );
        expect(await store.cacheGet('public-ip', asked, at(2))).toEqual(
          new Map([['arn:task/1', '{"ip":"203.0.113.10"}']]),
        );
        expect(await store.cacheGet('public-ip', [], at(2))).toEqual(new Map());
      });

      it('holds thousands of entries written and read at once', async () => {
        const entries = new Map(Array.from({ length: 2_500 }, (_, i) => [`arn:task/${i}`, JSON.stringify({ i })]));
        await store.cachePut('public-ip', entries, at(0));
        const found = await store.cacheGet('public-ip', [...entries.keys()], at(1));
        expect(found.size).toBe(2_500);
        expect(found.get('arn:task/2499')).toBe('{"i":2499}');
      });

      it('drops entries unused for a week, and keeps those still read', async () => {
        const t0 = at(0).getTime();
        await store.cachePut(
          'public-ip',
          new Map([
            ['used', '1'],
            ['unused', '2'],
          ]),
          new Date(t0),
        );
        // Read every few days: its use is written (at most daily), so it outlives the week.
        for (const day of [3, 6, 9]) await store.cacheGet('public-ip', ['used'], new Date(t0 + day * DAY));
        await store.cachePut('public-ip', new Map([['new', '3']]), new Date(t0 + 10 * DAY));
        expect(await store.cacheGet('public-ip', ['used', 'unused', 'new'], new Date(t0 + 10 * DAY))).toEqual(
          new Map([
            ['used', '1'],
            ['new', '3'],
          ]),
        );
      });

      it('is shared by every store on the same database (replicas)', async (ctx) => {
        if (!harness.shared) ctx.skip();
        const other = track(await openStore(harness.url, { instance: 'test-2' }));
        await Promise.all([
          store.cachePut('task-definition', new Map([['arn:td/api:7', 'a']]), at(0)),
          other.cachePut('task-definition', new Map([['arn:td/api:7', 'a']]), at(0)),
        ]);
        expect(await other.cacheGet('task-definition', ['arn:td/api:7'], at(1))).toEqual(
          new Map([['arn:td/api:7', 'a']]),
        );
      });
    });

    describe('hook deliveries', () => {
      it('accepts a delivery id once per source, even when two arrive at once, and forgets it after a week', async () => {
        expect(await store.recordDelivery('ci', 'd1', at(0))).toBe(true);
        expect(await store.recordDelivery('ci', 'd1', at(1))).toBe(false);
        expect(await store.recordDelivery('github', 'd1', at(1))).toBe(true);
        const raced = await Promise.all([1, 2, 3].map(() => store.recordDelivery('ci', 'd2', at(2))));
        expect(raced.filter(Boolean)).toHaveLength(1);
        // A new delivery a week later prunes the old ones: d1 is accepted again (its timestamp would be stale).
        const weekLater = new Date(at(3).getTime() + 7 * 24 * 3_600_000);
        expect(await store.recordDelivery('ci', 'd3', weekLater)).toBe(true);
        expect(await store.recordDelivery('ci', 'd1', weekLater)).toBe(true);
        expect(await store.recordDelivery('ci', 'd3', weekLater)).toBe(false);
      });

      it('forgets the ids of a delivery that started nothing, only those and only for that source', async () => {
        expect(await store.recordDelivery('github', 'g1', at(0))).toBe(true);
        expect(await store.recordDelivery('github', 'body:h1', at(0))).toBe(true);
        expect(await store.recordDelivery('github', 'g2', at(0))).toBe(true);
        expect(await store.recordDelivery('ci', 'g1', at(0))).toBe(true);
        await store.forgetDelivery('github', ['g1', 'body:h1']);
        await store.forgetDelivery('github', []);
        // The same delivery sent again is accepted once more, and its primary key still lets in exactly one.
        const raced = await Promise.all([1, 2, 3].map(() => store.recordDelivery('github', 'g1', at(1))));
        expect(raced.filter(Boolean)).toHaveLength(1);
        expect(await store.recordDelivery('github', 'body:h1', at(1))).toBe(true);
        expect(await store.recordDelivery('github', 'g2', at(1))).toBe(false);
        expect(await store.recordDelivery('ci', 'g1', at(1))).toBe(false);
      });
    });

    it('keeps everything across closing and reopening (durability)', async (ctx) => {
      if (!harness.shared) ctx.skip();
      const d = await store.createDeployment(deployment({ facts: { image: 'api@sha256:1' } }), at(0));
      await store.approve(d.id, 'U1', 2, at(1));
      await store.acquireLock(
        { service: 'api', environment: 'production', owner: d.id, instance: 'i', holder: '#1' },
        at(1),
      );
      await store.tryLease('digest', 'replica-a', 60_000, at(1));
      await store.putState('k', { v: [1, 2] }, at(1));
      await store.close();

      store = await openStore(harness.url, { instance: 'test-1' });
      expect(await store.getDeployment(d.id)).toMatchObject({
        seq: 1,
        facts: { image: 'api@sha256:1' },
        approvals: [{ user: 'U1', at: at(1) }],
      });
      expect(await store.getLock({ service: 'api', environment: 'production' }, at(2))).toMatchObject({ owner: d.id });
      expect(await store.tryLease('digest', 'replica-b', 60_000, at(2))).toBe(false);
      expect(await store.getState('k')).toEqual({ v: [1, 2] });
      expect(await store.listAudit({ subject: d.id })).toHaveLength(2);
      expect((await store.createDeployment(deployment(), at(3))).seq).toBe(2);
    });

    it('reports failures after close as store errors', async () => {
      const other = await openStore(harness.url);
      await other.close();
      await expect(other.ping()).rejects.toMatchObject({ code: 'store', message: /^ping the database: / });
    });
  });
};

describeStore('SQLite store in memory', sqliteMemory);
describeStore('SQLite store in a file', sqliteFile);
const HOW_TO_START_POSTGRES =
  'start one with: bash scripts/test-postgres.sh start && export DOCKHAND_TEST_POSTGRES_URL=$(bash scripts/test-postgres.sh url)';
if (POSTGRES_URL) describeStore(`Postgres store (${maskDatabaseUrl(POSTGRES_URL)})`, postgres(POSTGRES_URL));
else if (process.env.DOCKHAND_REQUIRE_POSTGRES === '1') {
  // CI: a Postgres that did not come up must fail the run, not quietly skip the suite replicas depend on.
  describe('Postgres store', () => {
    it('has a Postgres server', () => {
      throw new Error(
        `DOCKHAND_REQUIRE_POSTGRES=1 but DOCKHAND_TEST_POSTGRES_URL is not set; ${HOW_TO_START_POSTGRES}`,
      );
    });
  });
} else {
  console.warn(
    `\n⚠ Skipping the Postgres store suite: DOCKHAND_TEST_POSTGRES_URL is not set.\n  ${HOW_TO_START_POSTGRES}\n`,
  );
  describe.skip('Postgres store (set DOCKHAND_TEST_POSTGRES_URL to run)', () => {
    it('runs the store suite against Postgres', () => {});
  });
}

describe('DOCKHAND_DATABASE_URL', () => {
  it('accepts the documented forms', () => {
    expect(parseDatabaseUrl('sqlite:./data/dockhand.db')).toEqual({ kind: 'sqlite', path: './data/dockhand.db' });
    expect(parseDatabaseUrl('sqlite:/var/lib/dockhand.db')).toEqual({ kind: 'sqlite', path: '/var/lib/dockhand.db' });
    expect(parseDatabaseUrl('sqlite:///var/lib/dockhand.db')).toEqual({ kind: 'sqlite', path: '/var/lib/dockhand.db' });
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ kind: 'sqlite', path: ':memory:' });
    expect(parseDatabaseUrl('postgres://u:p@db:5432/dockhand')).toMatchObject({ kind: 'postgres' });
    expect(parseDatabaseUrl('postgresql://db/dockhand')).toMatchObject({ kind: 'postgres' });
  });

  it.each([
    ['mysql://admin:hunter2@db:3306/dockhand', '"mysql://admin:***@db:3306/dockhand"'],
    ['mongodb://admin:hunter2@db', '"mongodb://admin:***@db"'],
    ['sqlite:', '"sqlite:"'],
    ['./data/dockhand.db', '"./data/dockhand.db"'],
    ['', '(empty)'],
  ])('refuses %j with a message that names the variable and the accepted forms', async (url, shown) => {
    const error = await openStore(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('DOCKHAND_DATABASE_URL');
    expect(message).toContain(shown);
    expect(message).toContain('sqlite::memory:');
    expect(message).toContain('postgres://');
    expect(message).toContain('sqlite:./data/dockhand.db');
    expect(message).not.toContain('hunter2');
  });

  it('explains an unreachable Postgres without showing its password', async () => {
    const error = await openStore('postgres://dockhand:hunter2@127.0.0.1:1/dockhand').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'store', hint: expect.stringContaining('DOCKHAND_DATABASE_URL') });
    expect((error as Error).message).toContain('postgres://dockhand:***@127.0.0.1:1/dockhand');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('gives up on a Postgres that accepts the connection and never answers, instead of hanging', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => {}); // accepts, says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      const error = await openStore(`postgres://dockhand:hunter2@127.0.0.1:${port}/dockhand`).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'store' });
      expect((error as Error).message).not.toContain('hunter2');
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      silent.close();
    }
  }, 20_000);

  it('creates the parent directory of a SQLite file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dockhand-store-'));
    try {
      const path = join(dir, 'a', 'b', 'dockhand.db');
      const store = await openStore(`sqlite:${path}`);
      await store.close();
      expect(existsSync(path)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rewrites $n placeholders to SQLite numbered parameters', () => {
    expect(toSqliteParams('SELECT * FROM t WHERE a = $1 AND b IN ($2, $10) OR c = $1')).toBe(
      'SELECT * FROM t WHERE a = ?1 AND b IN (?2, ?10) OR c = ?1',
    );
  });
});
