/**
 * The one session a migration run uses: application_name 'dfc-migrate', both advisory locks
 * (ours, and golang-migrate's own id so a concurrent `migrate up` from the Go side and we exclude
 * each other), then the run's lock_timeout.
 *
 * Advisory locks are scoped to one database in PostgreSQL, which is the scope a migration history
 * has: two runners on the same database exclude each other; runs on other databases do not wait.
 */
import type pg from 'pg';
import { connect } from '../db/connection.js';
import { acquireAdvisoryLock } from '../db/lock.js';
import { DfcError } from '../errors.js';
import { golangMigrateLockId, MIGRATIONS_TABLE } from './state.js';

export const APPLICATION_NAME = 'dfc-migrate';
/** Name of our own advisory lock (src/db/lock.ts hashes it). */
export const MIGRATE_LOCK = 'dfc:migrate';

/**
 * Default lock_timeout for migration statements: 10 s. A DDL statement waiting for its lock makes
 * every later query on that table queue behind it, so an unbounded wait (PostgreSQL's default) can
 * stall the application indefinitely; 10 s still lets ordinary short transactions finish on a busy
 * database, and a timed-out file fails cleanly (its transaction rolls back). Statements with
 * CONCURRENTLY are exempt (see runner.ts).
 */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

export interface SessionOptions {
  /** wait for another runner instead of failing with DFC_LOCKED */
  wait?: boolean;
  lockTimeoutMs?: number;
  onWait?: (message: string) => void;
}

export interface MigrateSession {
  client: pg.Client;
  /** current_schema(): where schema_migrations lives */
  schema: string;
  database: string;
  lockTimeoutMs: number;
  /** record each file in monitoring.migration_operations (set by the runner) */
  record?: boolean;
  close(): Promise<void>;
}

async function holderOf(c: pg.ClientBase, key: string): Promise<string> {
  // golang-migrate's id is < 2^32: classid 0, objid = key, objsubid 1 (the bigint form)
  const r = await c.query<{ pid: number; application_name: string; backend_start: Date }>(
    `SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid)
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1::bigint::oid
        AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [key],
  );
  const h = r.rows[0];
  return h
    ? ` (pid ${h.pid}, ${h.application_name || 'no application_name'}, since ${h.backend_start.toISOString()})`
    : '';
}

async function acquireGolangMigrateLock(c: pg.ClientBase, key: string, opts: SessionOptions): Promise<void> {
  const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
  if (r.rows[0]?.ok) return;
  const message = `another migration run (golang-migrate's lock ${key}) is in progress${await holderOf(c, key)}`;
  if (!opts.wait) {
    throw new DfcError('DFC_LOCKED', message, {
      fix: 'wait for it to finish (or pass --wait), or stop that process if it is stuck',
      details: { lock: key },
    });
  }
  opts.onWait?.(message);
  await c.query('SELECT pg_advisory_lock($1::bigint)', [key]);
}

/** Connect, take both locks (fail fast unless wait), then set the run's lock_timeout. */
export async function openSession(url: string, opts: SessionOptions = {}): Promise<MigrateSession> {
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 0) {
    throw new DfcError('DFC_CONFIG', `invalid lock timeout ${lockTimeoutMs}`, {
      fix: 'give the lock timeout in whole milliseconds (0 = wait forever)',
    });
  }
  const client = await connect(url, APPLICATION_NAME);
  try {
    // waiting for an advisory lock is subject to lock_timeout too; --wait means wait
    await client.query("SELECT set_config('lock_timeout', '0', false)");
    const r = await client.query<{ schema: string | null; database: string }>(
      'SELECT current_schema() AS schema, current_database() AS database',
    );
    const { schema, database } = r.rows[0]!;
    if (!schema) {
      throw new DfcError('DFC_CONFIG', 'the session has no current schema (empty search_path)', {
        fix: 'set search_path (e.g. ?options=-c%20search_path%3Dpublic in the URL) so schema_migrations has a home',
      });
    }
    try {
      await acquireAdvisoryLock(client, MIGRATE_LOCK, false, { waitOption: true });
    } catch (e) {
      if (!(opts.wait && e instanceof DfcError && e.code === 'DFC_LOCKED')) throw e;
      opts.onWait?.(e.message);
      await acquireAdvisoryLock(client, MIGRATE_LOCK, true);
    }
    await acquireGolangMigrateLock(client, golangMigrateLockId(database, schema, MIGRATIONS_TABLE), opts);
    await client.query("SELECT set_config('lock_timeout', $1, false)", [`${lockTimeoutMs}ms`]);
    return {
      client,
      schema,
      database,
      lockTimeoutMs,
      // ending the session releases both session-level locks
      close: () => client.end().catch(() => {}),
    };
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
}
