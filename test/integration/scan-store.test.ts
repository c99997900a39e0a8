// The scan fact and the approval reasons in the real store, SQLite and Postgres (when DOCKHAND_TEST_POSTGRES_URL
// names a server we may create schemas on): what the plan writes reads back typed, and the audit keeps the reasons.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import type { ScanFindings } from '../../src/domain/scan.ts';
import type { Store } from '../../src/ports.ts';

const POSTGRES_URL = process.env.DOCKHAND_TEST_POSTGRES_URL;
const T0 = new Date('2026-11-20T10:00:00.000Z');

type Setup = () => Promise<{ url: string; cleanup(): Promise<void> }>;

const sqliteFile: Setup = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dockhand-scan-store-'));
  return { url: `sqlite:${join(dir, 'dockhand.db')}`, cleanup: () => rm(dir, { recursive: true, force: true }) };
};

const postgres =
  (baseUrl: string): Setup =>
  async () => {
    const schema = `dockhand_scan_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    return {
      url: `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
      cleanup: async () => {
        const client = new pg.Client({ connectionString: baseUrl });
        await client.connect();
        await client.query(`DROP SCHEMA ${schema} CASCADE`);
        await client.end();
      },
    };
  };

const describeStore = (name: string, setup: Setup) =>
  describe(name, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let url: string;
    beforeEach(async () => {
      ({ url, cleanup } = await setup());
      store = await openStore(url, { instance: 'scan-test' });
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it('reads the scan fact back as written, in a new connection too', async () => {
      const scan: ScanFindings = { status: 'complete', counts: { critical: 2, high: 3, medium: 5, low: 1 } };
      const created = await store.createDeployment(
        {
          kind: 'deploy',
          service: 'api',
          environment: 'production',
          state: 'requested',
          requestedBy: 'U0ALICE',
          request: { type: 'image', imageTag: '1.4.2' },
        },
        T0,
      );
      await store.transition(created.id, { to: 'awaiting_approval', actor: 'dockhand', facts: { scan } }, T0);
      const again = await openStore(url, { instance: 'scan-test-2' });
      try {
        expect((await again.getDeployment(created.id))?.facts.scan).toEqual(scan);
      } finally {
        await again.close();
      }
    });

    it('keeps each approval reason in the audit trail, found by its action', async () => {
      for (const [actor, reason] of [
        ['U0BOB', 'test-only dependency'],
        ['U0CAROL', 'accepted, SEC-12'],
      ] as const) {
        await store.appendAudit({
          at: T0,
          actor,
          action: 'deployment.approval_reason',
          service: 'api',
          environment: 'production',
          subject: 'dep_1',
          outcome: 'given',
          detail: { reason, blockOn: 'critical', findings: 2 },
        });
      }
      const reasons = await store.listAudit({ subject: 'dep_1', action: 'deployment.approval_reason' });
      expect(reasons.map((r) => [r.actor, r.detail?.reason]).sort()).toEqual([
        ['U0BOB', 'test-only dependency'],
        ['U0CAROL', 'accepted, SEC-12'],
      ]);
    });
  });

describeStore('the scan fact in SQLite', sqliteFile);
if (POSTGRES_URL) describeStore('the scan fact in Postgres', postgres(POSTGRES_URL));
else if (process.env.DOCKHAND_REQUIRE_POSTGRES === '1')
  describe('the scan fact in Postgres', () => {
    it('has a Postgres server', () => {
      throw new Error('DOCKHAND_REQUIRE_POSTGRES=1 but DOCKHAND_TEST_POSTGRES_URL is not set');
    });
  });
else
  describe.skip('the scan fact in Postgres (set DOCKHAND_TEST_POSTGRES_URL)', () => {
    it('needs a Postgres server', () => {});
  });
