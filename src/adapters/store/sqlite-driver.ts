import { resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { Mutex, type SqlDriver, type SqlExecutor, type SqlResult, type SqlRow, type SqlValue } from './driver.ts';

export const MEMORY = ':memory:';

export interface SqliteOptions {
  /** How long a writer waits for another process's write lock before failing (ms). */
  busyTimeoutMs?: number;
}

/**
 * `DatabaseSync` is synchronous while the store's code is async, so two operations on one connection could
 * interleave between their awaits. Every operation therefore runs under a mutex, shared by all connections of
 * this process to the same file (two stores on one file would otherwise block each other inside SQLite's busy
 * handler, which sleeps the whole thread). Other processes are kept out by SQLite's own file lock.
 */
const fileMutexes = new Map<string, { mutex: Mutex; users: number }>();

const takeMutex = (key: string | undefined): { mutex: Mutex; release: () => void } => {
  if (key === undefined) return { mutex: new Mutex(), release: () => {} };
  let entry = fileMutexes.get(key);
  if (!entry) {
    entry = { mutex: new Mutex(), users: 0 };
    fileMutexes.set(key, entry);
  }
  entry.users += 1;
  const taken = entry;
  return {
    mutex: taken.mutex,
    release: () => {
      taken.users -= 1;
      if (taken.users === 0) fileMutexes.delete(key);
    },
  };
};

/** `$1` → `?1`: SQLite's numbered parameters bind positionally, so the same array works for both. */
export const toSqliteParams = (sql: string): string => sql.replace(/\$(\d+)/g, '?$1');

export const openSqliteDriver = (path: string, options: SqliteOptions = {}): SqlDriver => {
  const memory = path === MEMORY;
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5_000)}`);
  db.exec('PRAGMA foreign_keys = ON');
  if (!memory) {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
  }
  const { mutex, release } = takeMutex(memory ? undefined : resolve(path));
  const statements = new Map<string, StatementSync>();

  const prepare = (sql: string): StatementSync => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(toSqliteParams(sql));
      statements.set(sql, statement);
    }
    return statement;
  };

  const run = (sql: string, params: readonly SqlValue[]): SqlResult => {
    const statement = prepare(sql);
    if (statement.columns().length > 0) {
      const rows = statement.all(...params) as SqlRow[];
      return { rows, rowCount: rows.length };
    }
    const { changes } = statement.run(...params);
    return { rows: [], rowCount: Number(changes) };
  };

  const direct: SqlExecutor = {
    query: async (sql, params = []) => run(sql, params),
    exec: async (sql) => db.exec(sql),
  };

  let closed = false;
  return {
    dialect: 'sqlite',
    query: (sql, params = []) => mutex.run(async () => run(sql, params)),
    exec: (sql) => mutex.run(async () => db.exec(sql)),
    transaction: (fn) =>
      mutex.run(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(direct);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.isTransaction) db.exec('ROLLBACK');
          throw error;
        }
      }),
    close: () =>
      mutex.run(async () => {
        if (closed) return;
        closed = true;
        statements.clear();
        db.close();
        release();
      }),
  };
};
