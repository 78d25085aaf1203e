/**
 * `dfc backup create | verify | incremental | list | cleanup` (guide step 2). A backup is one
 * REPEATABLE READ snapshot of every DomainFlow table (public and auth, found in the catalog)
 * copied into the schema dfc_backup_<name> by the SQL functions of db/bookkeeping/0010, registered
 * in safety.backup_registry; with `toDir`, the same snapshot is also written as a portable archive.
 * Everything happens in one transaction and one staging directory: a failure leaves neither a
 * registry row, a schema, nor a directory behind.
 *
 * @example
 *   await createBackup(url, { name: 'before_v2', toDir: '/backups', onEvent: console.log });
 *   // BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT safety.backup_prepare('before_v2', ...);
 *   // SELECT safety.backup_table('dfc_backup_before_v2', 'public', 'campaigns', '{id}'); ... COMMIT
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { ensureBookkeeping, recordOperation } from '../bookkeeping.js';
import { connect } from '../db/connection.js';
import type { EventSink } from '../engine/events.js';
import { DfcError } from '../errors.js';
import { readCatalog } from '../schema/catalog.js';
import {
  ARCHIVE_FORMAT,
  type BackupManifest,
  type ManifestTable,
  renderSchemaSql,
  type SchemaDdl,
  startArchiveWriter,
  writeHashedFile,
} from './archive.js';
import { backupError, checkSpace, classifyBackupFailure, freeBytes, pretty, progress } from './common.js';

export interface CreateBackupOptions {
  /** default pre_consolidation_YYYYMMDD_HHMMSS (UTC) */
  name?: string;
  /** also write a portable archive to DIR/<name> */
  toDir?: string;
  onEvent?: EventSink;
}

export interface BackupResult {
  backupId: string;
  location: string;
  tables: number;
  rows: number;
  sizeBytes: number;
  archiveDir: string | null;
  seconds: number;
}

const NAME_RE = /^[a-z0-9_]{1,48}$/;

export function defaultBackupName(prefix = 'pre_consolidation', at = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${prefix}_${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}_${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
}

function checkName(name: string): void {
  if (!NAME_RE.test(name))
    throw new DfcError('DFC_CONFIG', `backup name "${name}" must be 1-48 characters of a-z, 0-9 and _`, {
      fix: 'pass e.g. --name before_v2',
    });
}

interface TableRow {
  schema_name: string;
  table_name: string;
  key_columns: string[] | null;
  bytes: string;
  estimate: string;
}

async function domainflowTables(c: pg.ClientBase): Promise<TableRow[]> {
  const r = await c.query<TableRow>(
    `SELECT t.schema_name, t.table_name, t.key_columns,
            pg_total_relation_size(format('%I.%I', t.schema_name, t.table_name)::regclass)::text AS bytes,
            greatest(c.reltuples, 0)::bigint::text AS estimate
       FROM safety.domainflow_tables() t
       JOIN pg_class c ON c.oid = format('%I.%I', t.schema_name, t.table_name)::regclass`,
  );
  return r.rows;
}

/** The server's data directory when it is on this machine (superuser or pg_read_all_settings), else null. */
async function localDataDirectory(c: pg.ClientBase): Promise<string | null> {
  const r = await c
    .query<{ d: string | null }>(`SELECT current_setting('data_directory', true) AS d`)
    .catch(() => null);
  const d = r?.rows[0]?.d;
  return d && existsSync(d) ? d : null;
}

/** Create a backup (and optionally its archive). Failures are CONSOLIDATION_02 and leave nothing. */
export async function createBackup(url: string, opts: CreateBackupOptions = {}): Promise<BackupResult> {
  const name = opts.name ?? defaultBackupName();
  checkName(name);
  const c = await connect(url, 'dfc-backup');
  const archiveDir = opts.toDir ? path.resolve(opts.toDir, name) : null;
  const staging = archiveDir ? `${archiveDir}.partial` : null;
  let stagingMade = false;
  let archive: ReturnType<typeof startArchiveWriter> | undefined;
  const t0 = Date.now();
  try {
    await ensureBookkeeping(c);
    const tables = await domainflowTables(c);
    const bytes = tables.reduce((s, t) => s + Number(t.bytes), 0);
    const rowsEstimate = tables.reduce((s, t) => s + Number(t.estimate), 0);
    // the copy, its row hashes (~100 bytes a row) and a margin
    const inDbEstimate = Math.round(bytes * 1.2 + rowsEstimate * 100);
    const dataDir = await localDataDirectory(c);
    if (dataDir) await checkSpace(dataDir, inDbEstimate, `backup ${name}`);
    if (opts.toDir && staging && archiveDir) {
      if (existsSync(archiveDir) || existsSync(staging))
        throw backupError(
          `backup ${name}: ${archiveDir} already exists`,
          'choose another --name or --to-dir',
        );
      await mkdir(opts.toDir, { recursive: true }).catch((e) => {
        throw classifyBackupFailure(`backup ${name}: cannot create ${opts.toDir}`, e);
      });
      // COPY text is about the heap size; checked before anything is written
      await checkSpace(opts.toDir, Math.round(bytes * 1.1), `backup ${name}`);
      await mkdir(path.join(staging, 'data'), { recursive: true }).catch((e) => {
        throw classifyBackupFailure(`backup ${name}: cannot write in ${opts.toDir}`, e);
      });
      stagingMade = true;
    }
    opts.onEvent?.({
      type: 'phase',
      phase: 'backup',
      message: `backup ${name}: ${tables.length} tables, ~${rowsEstimate} rows, ~${pretty(bytes)}`,
    });
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    // the archive's files are written from this snapshot by a second session meanwhile
    if (staging) {
      const snap = (await c.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
      archive = startArchiveWriter(
        () => connect(url, 'dfc-backup-archive'),
        snap,
        tables.map((t) => ({ schema: t.schema_name, name: t.table_name })),
        staging,
      );
    }
    const schema = (await c.query<{ s: string }>('SELECT safety.backup_prepare($1) AS s', [name])).rows[0]!.s;
    const prog = progress(opts.onEvent, 'backup', rowsEstimate);
    const entries: ManifestTable[] = [];
    for (const t of tables) {
      const e = (
        await c.query<{ e: ManifestTable }>('SELECT safety.backup_table($1, $2, $3, $4) AS e', [
          schema,
          t.schema_name,
          t.table_name,
          t.key_columns,
        ])
      ).rows[0]!.e;
      entries.push({ ...e, rows: Number(e.rows) });
      prog.add(Number(e.rows), e.table);
    }
    let catalog: BackupManifest['catalog'];
    if (staging && archiveDir) {
      catalog = await readCatalog(c, ['public', 'auth']);
      const files: BackupManifest['files'] = [];
      const written = await archive!.done;
      for (const e of entries) {
        const w = written.find((x) => x.table === e.table);
        // same snapshot, so the same rows; anything else is a bug, not a backup
        if (!w || w.rows !== e.rows)
          throw backupError(
            `backup ${name}: the archive of ${e.table} has ${w?.rows ?? 'no'} rows, the in-database copy ${e.rows}`,
            'report this; nothing was kept',
          );
        Object.assign(e, { columns: w.columns, file: w.file, bytes: w.bytes, sha256: w.sha256 });
        files.push({ file: w.file, bytes: w.bytes, sha256: w.sha256 });
      }
      opts.onEvent?.({
        type: 'phase',
        phase: 'backup',
        message: `archive ${archiveDir}: ${files.length} data files`,
      });
      const ddl = (await c.query<{ d: SchemaDdl }>('SELECT safety.schema_ddl() AS d')).rows[0]!.d;
      const seqs = (
        await c.query<{ s: BackupManifest['sequences'] }>('SELECT safety.sequence_positions() AS s')
      ).rows[0]!.s;
      files.push(await writeHashedFile(staging, 'schema.json', JSON.stringify(ddl)));
      files.push(await writeHashedFile(staging, 'schema.sql', renderSchemaSql(ddl)));
      const meta = (
        await c.query<{ db: string; v: number }>(
          `SELECT current_database() AS db, current_setting('server_version_num')::int AS v`,
        )
      ).rows[0]!;
      const manifest: BackupManifest = {
        format: ARCHIVE_FORMAT,
        backup_id: name,
        created_at: new Date().toISOString(),
        database: meta.db,
        server_version_num: meta.v,
        tables: entries,
        sequences: seqs,
        catalog,
        files,
      };
      await writeHashedFile(staging, 'manifest.json', JSON.stringify(manifest, null, 1));
    } else {
      catalog = await readCatalog(c, ['public', 'auth']);
    }
    const fin = (
      await c.query<{ f: { size_bytes: number; rows: number } }>(
        'SELECT safety.backup_finish($1, $2, $3) AS f',
        [name, JSON.stringify(entries), JSON.stringify({ made_by: 'dfc', archive_dir: archiveDir, catalog })],
      )
    ).rows[0]!.f;
    if (staging && archiveDir) await rename(staging, archiveDir);
    try {
      await c.query('COMMIT');
    } catch (e) {
      if (archiveDir) await rm(archiveDir, { recursive: true, force: true });
      throw e;
    }
    const seconds = (Date.now() - t0) / 1000;
    await recordOperation(c, {
      phase: 'backup',
      type: 'backup_create',
      target: name,
      status: 'completed',
      durationSeconds: seconds,
      rowsAffected: prog.done,
      details: { archive_dir: archiveDir, tables: entries.length },
    }).catch(() => {});
    return {
      backupId: name,
      location: schema,
      tables: entries.length,
      rows: prog.done,
      sizeBytes: Number(fin.size_bytes),
      archiveDir,
      seconds,
    };
  } catch (e) {
    await archive?.abort();
    await c.query('ROLLBACK').catch(() => {});
    if (stagingMade && staging) await rm(staging, { recursive: true, force: true }).catch(() => {});
    const err = classifyBackupFailure(`backup ${name} failed`, e);
    await recordOperation(c, {
      phase: 'backup',
      type: 'backup_create',
      target: name,
      status: 'failed',
      errorMessage: err.message,
    }).catch(() => {});
    throw err;
  } finally {
    await c.end().catch(() => {});
  }
}

export interface VerifyProblem {
  table?: string;
  problem: string;
  expected_rows?: number;
  actual_rows?: number;
  changed?: number;
  missing?: number;
  added?: number;
  samples?: { key: unknown; kind: 'changed' | 'missing' | 'added' }[];
  file?: string;
}

export interface BackupVerifyReport {
  backup_id: string;
  valid: boolean;
  tables_checked: number;
  problems: VerifyProblem[];
  archive?: { dir: string; valid: boolean; problem?: string };
}

/** `dfc backup verify NAME`: safety.verify_backup_integrity(), plus the archive's files when there is one. */
export async function verifyBackup(url: string, name: string): Promise<BackupVerifyReport> {
  const c = await connect(url, 'dfc-backup-verify');
  try {
    await ensureBookkeeping(c);
    const r = await c
      .query<{ v: BackupVerifyReport }>('SELECT safety.verify_backup_integrity($1) AS v', [name])
      .catch((e) => {
        throw classifyBackupFailure(`verify ${name}`, e);
      });
    const report = r.rows[0]!.v;
    const dir = (
      await c.query<{ d: string | null }>(
        `SELECT details->>'archive_dir' AS d FROM safety.backup_registry WHERE backup_id = $1`,
        [name],
      )
    ).rows[0]?.d;
    if (dir) {
      const { checkArchive } = await import('./archive.js');
      try {
        await checkArchive(dir);
        report.archive = { dir, valid: true };
      } catch (e) {
        report.archive = { dir, valid: false, problem: e instanceof Error ? e.message : String(e) };
        report.valid = false;
        await c.query(`UPDATE safety.backup_registry SET status = 'failed' WHERE backup_id = $1;`, [name]);
        await c.query(
          `INSERT INTO safety.backup_verification_log (backup_id, verification_type, status, details) VALUES ($1, 'archive', 'failed', $2)`,
          [name, JSON.stringify(report.archive)],
        );
      }
    }
    return report;
  } finally {
    await c.end().catch(() => {});
  }
}

export interface IncrementalResult {
  backup_id: string;
  base: string;
  location: string;
  changed_rows: number;
  removed_rows: number;
  size_bytes: number;
}

/** `dfc backup incremental --base NAME`: safety.create_incremental_backup() in one snapshot. */
export async function incrementalBackup(
  url: string,
  base: string,
  opts: { name?: string; onEvent?: EventSink } = {},
): Promise<IncrementalResult> {
  const name = opts.name ?? defaultBackupName('incremental');
  checkName(name);
  const c = await connect(url, 'dfc-backup');
  try {
    await ensureBookkeeping(c);
    opts.onEvent?.({
      type: 'phase',
      phase: 'backup',
      message: `incremental backup ${name} on top of ${base}`,
    });
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    const r = await c.query<{ r: IncrementalResult }>(
      'SELECT safety.create_incremental_backup($1, $2) AS r',
      [base, name],
    );
    // the catalog at this snapshot, so a restore of this incremental reports catalog differences
    const catalog = await readCatalog(c, ['public', 'auth']);
    await c.query(
      `UPDATE safety.backup_registry SET details = details || jsonb_build_object('catalog', $2::jsonb, 'made_by', 'dfc') WHERE backup_id = $1`,
      [name, JSON.stringify(catalog)],
    );
    await c.query('COMMIT');
    return r.rows[0]!.r;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw classifyBackupFailure(`incremental backup ${name} failed`, e);
  } finally {
    await c.end().catch(() => {});
  }
}

export interface BackupListEntry {
  backup_id: string;
  backup_type: string;
  created_at: string;
  status: string;
  location: string;
  schema_present: boolean;
  archive_dir: string | null;
  archive_present: boolean | null;
  tables: number;
  rows: number;
  size_bytes: number | null;
  verified_at: string | null;
  base: string | null;
}

/** `dfc backup list`: safety.list_backups(), plus whether each archive directory is on this machine. */
export async function listBackups(url: string): Promise<BackupListEntry[]> {
  const c = await connect(url, 'dfc-backup');
  try {
    await ensureBookkeeping(c);
    const r = await c.query<BackupListEntry>('SELECT * FROM safety.list_backups()');
    return r.rows.map((b) => ({
      ...b,
      rows: Number(b.rows),
      size_bytes: b.size_bytes === null ? null : Number(b.size_bytes),
      archive_present: b.archive_dir ? existsSync(path.join(b.archive_dir, 'manifest.json')) : null,
    }));
  } finally {
    await c.end().catch(() => {});
  }
}

/** Parse `30d`, `12h`, `90m` into days (fractional). */
export function parseAge(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([dhm])$/.exec(text.trim());
  if (!m)
    throw new DfcError('DFC_CONFIG', `cannot read the age "${text}"`, { fix: 'use e.g. 30d, 12h or 90m' });
  const n = Number(m[1]);
  return m[2] === 'd' ? n : m[2] === 'h' ? n / 24 : n / 1440;
}

/** `dfc backup cleanup --older-than 30d`: safety.cleanup_old_backups(days) and the archives it names. */
export async function cleanupBackups(
  url: string,
  olderThanDays: number,
): Promise<{ dropped: { backup_id: string; location: string; archive_dir: string | null }[] }> {
  const c = await connect(url, 'dfc-backup');
  try {
    await ensureBookkeeping(c);
    const r = await c.query<{
      r: { dropped: { backup_id: string; location: string; archive_dir: string | null }[] };
    }>('SELECT safety.cleanup_old_backups($1) AS r', [olderThanDays]);
    const out = r.rows[0]!.r;
    for (const d of out.dropped)
      if (d.archive_dir && existsSync(path.join(d.archive_dir, 'manifest.json')))
        await rm(d.archive_dir, { recursive: true, force: true });
    return out;
  } finally {
    await c.end().catch(() => {});
  }
}

export { freeBytes };
