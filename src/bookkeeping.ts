/**
 * The bookkeeping schemas the guide's monitoring, safety and benchmark queries read
 * (`consolidation`, `monitoring`, `safety`, `benchmarks`). Shipped as numbered SQL files in
 * db/bookkeeping (`NNNN_name.sql`); each is applied once, in its own transaction, under a
 * transaction-level advisory lock, and recorded in `consolidation.bookkeeping_version`. A later
 * release adds objects by adding a file; released files are never edited (a changed checksum is
 * reported, not re-applied).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { inTransaction } from './db/connection.js';
import { advisoryKey } from './db/lock.js';
import { DfcError, isConnectionLost, toDfcError } from './errors.js';
import { PACKAGE_ROOT } from './package-root.js';
import { renderValidateFunction } from './validate/render.js';

/** Absolute path of the shipped bookkeeping SQL (db/bookkeeping). */
export const BOOKKEEPING_DIR: string = path.join(PACKAGE_ROOT, 'db', 'bookkeeping');

/** Lock name shared by every process that installs or upgrades bookkeeping. */
export const BOOKKEEPING_LOCK = 'dfc:bookkeeping';

export interface BookkeepingFile {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** The numbered files, in version order. Duplicate versions are a packaging bug. */
export function loadBookkeepingFiles(dir = BOOKKEEPING_DIR): BookkeepingFile[] {
  const files = readdirSync(dir)
    .map((f) => /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const sql = readFileSync(path.join(dir, m[0]), 'utf8');
      return {
        version: Number(m[1]),
        name: m[2]!,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
  for (let i = 1; i < files.length; i++) {
    if (files[i]!.version === files[i - 1]!.version)
      throw new DfcError('DFC_INTERNAL', `two bookkeeping files share version ${files[i]!.version}`, {
        fix: 'renumber one of them in db/bookkeeping',
      });
  }
  return files;
}

export interface BookkeepingResult {
  /** versions applied by this call */
  applied: number[];
  /** highest version now installed */
  version: number;
  /** installed files whose shipped text changed since they were applied */
  checksumMismatches: { version: number; name: string }[];
  /** whether consolidation.validate_current_schema() was (re)created by this call */
  validateFunctionReplaced: boolean;
}

const BOOTSTRAP_SQL = `
CREATE SCHEMA IF NOT EXISTS consolidation;
CREATE TABLE IF NOT EXISTS consolidation.bookkeeping_version (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL DEFAULT current_user
)`;

async function inLockedTransaction<T>(c: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  return inTransaction(c, async () => {
    // transaction-level: released by COMMIT/ROLLBACK even if this process dies mid-way
    await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryKey(BOOKKEEPING_LOCK).toString()]);
    return fn();
  });
}

/**
 * Install or upgrade the bookkeeping schemas; a no-op when everything is current. Safe to call
 * from several processes at once (they serialise on the advisory lock and re-read the version).
 *
 * @example
 *   await withClient(url, (c) => ensureBookkeeping(c)); // → { applied: [1, 2, 3, 4], version: 4, ... }
 */
export async function ensureBookkeeping(c: pg.ClientBase, dir = BOOKKEEPING_DIR): Promise<BookkeepingResult> {
  const files = loadBookkeepingFiles(dir);
  try {
    await inLockedTransaction(c, () => c.query(BOOTSTRAP_SQL));
    const applied: number[] = [];
    for (const f of files) {
      const done = await inLockedTransaction(c, async () => {
        const have = await c.query('SELECT 1 FROM consolidation.bookkeeping_version WHERE version = $1', [
          f.version,
        ]);
        if (have.rowCount) return false;
        await c.query(f.sql);
        await c.query(
          'INSERT INTO consolidation.bookkeeping_version (version, name, checksum) VALUES ($1, $2, $3)',
          [f.version, f.name, f.checksum],
        );
        return true;
      }).catch((cause) => {
        // a server that went away is not a broken file: DFC_CONNECTION says re-run
        if (isConnectionLost(cause)) throw toDfcError(cause);
        throw new DfcError(
          'DFC_MIGRATION',
          `bookkeeping file ${f.version}_${f.name}.sql failed: ${errText(cause)}`,
          {
            fix: 'nothing of that file was applied (it runs in one transaction); fix the reported problem (e.g. a schema of the same name left by other tooling) and rerun',
            cause,
          },
        );
      });
      if (done) applied.push(f.version);
    }
    const rows = await c.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM consolidation.bookkeeping_version ORDER BY version',
    );
    const shipped = new Map(files.map((f) => [f.version, f.checksum]));
    const checksumMismatches = rows.rows
      .filter((r) => shipped.has(r.version) && shipped.get(r.version) !== r.checksum)
      .map((r) => ({ version: r.version, name: r.name }));
    const validateFunctionReplaced = await inLockedTransaction(c, () => ensureValidateFunction(c));
    return {
      applied,
      version: rows.rows.at(-1)?.version ?? 0,
      checksumMismatches,
      validateFunctionReplaced,
    };
  } catch (e) {
    if (e instanceof DfcError) throw e;
    if (isConnectionLost(e)) throw toDfcError(e);
    throw new DfcError('DFC_MIGRATION', `installing the bookkeeping schemas failed: ${errText(e)}`, {
      fix: 'the role needs CREATE on the database; rerun after fixing the reported problem',
      cause: e,
    });
  }
}

/**
 * consolidation.validate_current_schema() is rendered from the same check list `dfc validate`
 * runs (src/validate/checks.ts), so it is not a numbered file: it is replaced whenever the shipped
 * text differs from the installed one, and left alone otherwise.
 */
async function ensureValidateFunction(c: pg.ClientBase): Promise<boolean> {
  const { body, createSql } = renderValidateFunction();
  const r = await c.query<{ src: string }>(
    `SELECT p.prosrc AS src FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'consolidation' AND p.proname = 'validate_current_schema' AND p.pronargs = 0`,
  );
  if (r.rows[0]?.src === body) return false;
  await c.query(createSql);
  return true;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export interface OperationRecord {
  /** consolidation.engine_runs.run_id, if the operation belongs to a run */
  runId?: string | number | bigint;
  phase: string;
  type: string;
  target: string;
  status: 'started' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';
  durationSeconds?: number;
  rowsAffected?: number;
  errorMessage?: string;
  details?: Record<string, unknown>;
}

/**
 * Append one row to monitoring.migration_operations (the guide's "Monitor Active Operations").
 * Returns the new row's id.
 *
 * @example
 *   await recordOperation(c, { phase: 'backfill', type: 'data_copy', target: 'public.campaigns',
 *                              status: 'completed', durationSeconds: 1.2, details: { rows: 500 } });
 *   // INSERT INTO monitoring.migration_operations (run_id, migration_phase, ...) VALUES ($1, $2, ...)
 */
export async function recordOperation(c: pg.ClientBase, op: OperationRecord): Promise<string> {
  const r = await c.query<{ id: string }>(
    `INSERT INTO monitoring.migration_operations
       (run_id, migration_phase, operation_type, operation_target, operation_status, duration_seconds,
        rows_affected, error_message, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      op.runId === undefined ? null : String(op.runId),
      op.phase,
      op.type,
      op.target,
      op.status,
      op.durationSeconds ?? null,
      op.rowsAffected ?? null,
      op.errorMessage ?? null,
      JSON.stringify(op.details ?? {}),
    ],
  );
  return r.rows[0]!.id;
}
