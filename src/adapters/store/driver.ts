/**
 * The little SQL surface the store is written against. SQL is written once, with `$1, $2…` placeholders
 * (the SQLite driver rewrites them to its numbered `?1, ?2…` form); each driver maps values both ways.
 */

export type SqlValue = string | number | null;
export type SqlRow = Record<string, unknown>;

export interface SqlResult {
  rows: SqlRow[];
  /** Rows changed by INSERT/UPDATE/DELETE; rows returned by SELECT or RETURNING. */
  rowCount: number;
}

export type Dialect = 'sqlite' | 'postgres';

export interface SqlExecutor {
  query(sql: string, params?: readonly SqlValue[]): Promise<SqlResult>;
  /** Runs one or more statements without parameters (DDL). */
  exec(sql: string): Promise<void>;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: Dialect;
  /**
   * Runs `fn` in a transaction that is serialized against every other writer: SQLite takes the database write
   * lock up front (BEGIN IMMEDIATE); Postgres runs on one client, where `SELECT … FOR UPDATE` locks rows.
   * Everything inside must go through `tx`, never through the driver itself.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Serializes async sections: the next one starts when the previous one has settled. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
