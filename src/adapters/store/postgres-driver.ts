import pg from 'pg';
import type { SqlDriver, SqlExecutor, SqlResult, SqlRow, SqlValue } from './driver.ts';

export interface PostgresOptions {
  /** Pool size (default 10). */
  max?: number;
  /**
   * Milliseconds to get a connection, TCP and authentication included (default 10 s): a server that accepts and
   * never answers (or a pool that stays exhausted) fails the call instead of hanging it.
   */
  connectionTimeoutMs?: number;
  /** Called when an idle pooled connection fails (the pool drops it and reconnects on demand). */
  onIdleError?: (error: Error) => void;
}

export const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;

interface Queryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: SqlRow[]; rowCount: number | null }>;
}

const executor = (client: Queryable): SqlExecutor => ({
  query: async (sql, params: readonly SqlValue[] = []): Promise<SqlResult> => {
    const result = await client.query(sql, [...params]);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  },
  exec: async (sql) => {
    await client.query(sql);
  },
});

export const openPostgresDriver = (connectionString: string, options: PostgresOptions = {}): SqlDriver => {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    // A server that vanished without closing the connection is noticed by TCP keepalive.
    keepAlive: true,
  });
  // Without a listener, an idle client's error (a restarted server) would crash the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  const direct = executor(pool);
  let closed = false;

  return {
    dialect: 'postgres',
    query: direct.query,
    exec: direct.exec,
    transaction: async (fn) => {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        throw error;
      } finally {
        // A client whose ROLLBACK failed is in an unknown state: destroy it instead of returning it to the pool.
        client.release(broken);
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
};
