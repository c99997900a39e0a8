// A promote's record on both stores: SQLite, and Postgres when DOCKHAND_TEST_POSTGRES_URL names a server we may
// create schemas on. Stored as a deploy (no migration: only new rows carry it), read back through the parsers.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import type { Store } from '../../src/ports.ts';

const POSTGRES_URL = process.env.DOCKHAND_TEST_POSTGRES_URL;
const DIGEST = `sha256:${'d'.repeat(64)}`;
const T0 = new Date('2026-11-20T10:00:00.000Z');

const withPostgres = async (baseUrl: string, use: (store: Store) => Promise<void>): Promise<void> => {
  const schema = `dockhand_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const store = await openStore(url);
  try {
    await use(store);
  } finally {
    await store.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
};

const roundTrip = async (store: Store) => {
  const created = await store.createDeployment(
    {
      id: 'dep_promote1',
      kind: 'deploy',
      service: 'api',
      environment: 'production',
      state: 'requested',
      requestedBy: 'U0ALICE',
      request: {
        type: 'promote',
        from: 'staging',
        digest: DIGEST,
        emergency: 'checkout is down',
        emergencyCause: 'freeze',
      },
    },
    T0,
  );
  expect(created.kind).toBe('deploy');
  await store.updateDeployment(
    created.id,
    {
      facts: {
        digest: DIGEST,
        sourceImage: `127.0.0.1:5000/acme/api@${DIGEST}`,
        image: `127.0.0.1:5001/acme/api@${DIGEST}`,
        commitFrom: 'label',
        copyMethod: 'mount',
        copyBytes: 0,
      },
    },
    T0,
  );
  // approved → pushing is a move the table allows (the copy), written by the store's conditional update.
  expect(
    await store.transition(created.id, { to: 'approved', onlyFrom: ['requested'], actor: 'dockhand' }, T0),
  ).toBeTruthy();
  const pushing = await store.transition(created.id, { to: 'pushing', onlyFrom: ['approved'], actor: 'dockhand' }, T0);
  expect(pushing?.state).toBe('pushing');
  const read = await store.getDeployment(created.id);
  expect(read?.request).toEqual({
    type: 'promote',
    from: 'staging',
    digest: DIGEST,
    emergency: 'checkout is down',
    emergencyCause: 'freeze',
  });
  expect(read?.facts).toMatchObject({ commitFrom: 'label', copyMethod: 'mount', copyBytes: 0 });
};

describe('a promote in the store', () => {
  it('round-trips on SQLite', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      await roundTrip(store);
    } finally {
      await store.close();
    }
  });

  it.skipIf(!POSTGRES_URL)('round-trips on Postgres', async () => {
    await withPostgres(POSTGRES_URL ?? '', roundTrip);
  });
});
