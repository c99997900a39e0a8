import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/adapters/store/index.ts';
import {
  checkChangeWindow,
  currentFreeze,
  freezeEnvironment,
  unfreezeEnvironment,
} from '../../src/core/operate/freeze.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { Refusal } from '../../src/domain/policy.ts';
import type { Store } from '../../src/ports.ts';
import { refusalReason } from '../../src/slack/replies.ts';
import { deployConfig, FakeClock, fakeDirectory } from '../support/deploy-fakes.ts';

/**
 * Two replicas agree on a freeze: two stores on one database (a SQLite file, and Postgres when
 * DOCKHAND_TEST_POSTGRES_URL is set), one freezes, the other refuses; the other unfreezes, the first sees it.
 */
const POSTGRES_URL = process.env.DOCKHAND_TEST_POSTGRES_URL;

const sqliteFile = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dockhand-freeze-'));
  return { url: `sqlite:${join(dir, 'dockhand.db')}`, cleanup: () => rm(dir, { recursive: true, force: true }) };
};

const postgresSchema = (baseUrl: string) => async () => {
  const schema = `dockhand_test_${randomBytes(6).toString('hex')}`;
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

const cases: [string, () => Promise<{ url: string; cleanup: () => Promise<void> }>][] = [
  ['SQLite file', sqliteFile],
  ...(POSTGRES_URL ? [['Postgres', postgresSchema(POSTGRES_URL)] as [string, ReturnType<typeof postgresSchema>]] : []),
];
if (!POSTGRES_URL) console.warn('⚠ freeze-replicas: DOCKHAND_TEST_POSTGRES_URL is not set; Postgres case skipped.');

describe.each(cases)('a freeze shared by two replicas (%s)', (_name, setup) => {
  const opened: Store[] = [];
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await cleanup?.();
  });

  it('is seen by the other replica, refuses its deploys, and is lifted from either', async () => {
    const db = await setup();
    cleanup = db.cleanup;
    const [one, two] = [await openStore(db.url), await openStore(db.url)] as [Store, Store];
    opened.push(one, two);
    const clock = new FakeClock();
    const config = deployConfig();
    const directory = fakeDirectory();
    const target = resolveTarget(config, 'api', 'production');

    await freezeEnvironment({ config, store: one, clock, directory }, 'production', 'U0BOB', { for: 3_600_000 }, 'x');
    const refused = await checkChangeWindow({ store: two, clock }, target, 'deploy', undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused instanceof Refusal ? refusalReason(refused) : refused).toContain(
      '`production` is frozen (x) by <@U0BOB>',
    );
    const outcome = await unfreezeEnvironment({ config, store: two, clock, directory }, 'production', 'U0BOB');
    expect(outcome.result).toBe('unfrozen');
    expect(await currentFreeze({ store: one, clock }, 'production')).toBeUndefined();
    await expect(checkChangeWindow({ store: one, clock }, target, 'deploy', undefined)).resolves.toBeUndefined();
  });
});
