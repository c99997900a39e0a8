import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { ConfigError, DockhandError, errorMessage } from '../../errors.ts';
import type { Store } from '../../ports.ts';
import type { SqlDriver } from './driver.ts';
import { migrate } from './migrations.ts';
import { SqlStore } from './sql-store.ts';
import { MEMORY, openSqliteDriver } from './sqlite-driver.ts';

export { LATEST_VERSION, MIGRATIONS } from './migrations.ts';
export { SqlStore } from './sql-store.ts';

export const DEFAULT_DATABASE_URL = 'sqlite:./data/dockhand.db';

export interface OpenStoreOptions {
  /** Names this process in lock audit events (default "<hostname>:<pid>"). */
  instance?: string;
}

export type DatabaseLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** Hides the password of a database URL, for messages and logs. */
export const maskDatabaseUrl = (url: string): string => {
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      parsed.password = '***';
      return parsed.toString();
    }
  } catch {
    // Not a URL we can parse: fall back to the pattern below.
  }
  return url.replace(/(\/\/[^/:@]*:)[^@/]*@/, '$1***@');
};

/**
 * `sqlite:./data/dockhand.db` (relative to the working directory), `sqlite:/abs/path.db`, `sqlite:///abs/path.db`,
 * `sqlite::memory:`, `postgres://…` or `postgresql://…`.
 */
export const parseDatabaseUrl = (url: string): DatabaseLocation => {
  const value = url.trim();
  if (/^postgres(ql)?:\/\//i.test(value)) return { kind: 'postgres', url: value };
  if (/^sqlite:/i.test(value)) {
    let path = value.slice('sqlite:'.length);
    if (path.startsWith('///')) path = path.slice(2);
    if (path === MEMORY || (path.length > 0 && !path.startsWith('//'))) return { kind: 'sqlite', path };
  }
  const shown = value === '' ? '(empty)' : `"${maskDatabaseUrl(value)}"`;
  throw new ConfigError('DOCKHAND_DATABASE_URL', [
    `DOCKHAND_DATABASE_URL: cannot use ${shown}; expected sqlite:<path> (e.g. ${DEFAULT_DATABASE_URL}), sqlite::memory:, or postgres://user:password@host:5432/database`,
  ]);
};

/** Opens the store that DOCKHAND_DATABASE_URL names and brings its schema up to date. */
export const openStore = async (url: string, options: OpenStoreOptions = {}): Promise<Store> => {
  const location = parseDatabaseUrl(url);
  const driver = await openDriver(location);
  try {
    await migrate(driver, new Date());
  } catch (error) {
    await driver.close().catch(() => undefined);
    if (error instanceof DockhandError) throw error;
    throw new DockhandError('store', `open the database ${maskDatabaseUrl(url)}: ${errorMessage(error)}`, {
      cause: error,
      hint:
        location.kind === 'postgres'
          ? 'Check DOCKHAND_DATABASE_URL: host, port, user, password and database name, and that the server is up.'
          : 'Check that the directory of the file in DOCKHAND_DATABASE_URL is writable.',
    });
  }
  return new SqlStore(driver, { instance: options.instance ?? `${hostname()}:${process.pid}` });
};

/** `pg` (12 MiB, 40 ms to import) is loaded only for a Postgres URL; the default SQLite store never needs it. */
const openDriver = async (location: DatabaseLocation): Promise<SqlDriver> => {
  if (location.kind === 'postgres') return (await import('./postgres-driver.ts')).openPostgresDriver(location.url);
  try {
    if (location.path !== MEMORY) mkdirSync(dirname(location.path), { recursive: true });
    return openSqliteDriver(location.path);
  } catch (error) {
    throw new DockhandError('store', `open the SQLite database ${location.path}: ${errorMessage(error)}`, {
      cause: error,
      hint: 'Check that the directory of the file in DOCKHAND_DATABASE_URL exists and is writable.',
    });
  }
};
