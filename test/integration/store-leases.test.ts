import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'dockhand-leases-'));

describe('leases over time', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('forgets per-tick leases an hour after they expired, so the table stays small', async () => {
    const path = join(dir, 'store.db');
    const store = await openStore(`sqlite:${path}`);
    const t0 = Date.parse('2026-11-21T12:00:00Z');
    // a day of per-minute tick leases, as the watches take them
    for (let minute = 0; minute < 24 * 60; minute += 1) {
      expect(await store.tryLease(`watch:health:${minute}`, 'replica-a', 55_000, new Date(t0 + minute * 60_000))).toBe(
        true,
      );
    }
    await store.close();
    const db = new DatabaseSync(path);
    const { n } = db.prepare('SELECT COUNT(*) AS n FROM leases').get() as { n: number };
    db.close();
    expect(n).toBeLessThanOrEqual(62);
    expect(n).toBeGreaterThanOrEqual(60);
  });
});
