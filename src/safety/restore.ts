/**
 * `dfc backup restore NAME --into-database DB [--from-dir DIR]`: rebuild DomainFlow's schemas and
 * rows in an empty database from an in-database backup (streamed from its dfc_backup_* schema) or
 * from an archive (checked file by file against its manifest first); an incremental backup from its
 * chain (base + incrementals, src/safety/chain.ts). Everything is one transaction
 * on the target; the row counts and checksums are compared inside it and it commits only when every
 * table matches the backup. A database this call created is dropped again on failure.
 *
 * @example
 *   await restoreBackup(url, 'before_v2', { intoDatabase: 'domainflow_restored' });
 *   // target: BEGIN; CREATE EXTENSION ...; CREATE TABLE ...; COPY ... FROM STDIN; ALTER TABLE ... ADD CONSTRAINT ...;
 *   //         SELECT setval(...); checksums compared; COMMIT
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { connect, withClient } from '../db/connection.js';
import { databaseUrl, dropDatabase } from '../db/databases.js';
import type { EventSink } from '../engine/events.js';
import { type Catalog, diffCatalogs, readCatalog } from '../schema/catalog.js';
import { build, ident, join, quoteIdent, type SqlFragment, sql } from '../sql/sql.js';
import {
  type BackupManifest,
  checkArchive,
  copyableColumns,
  type ManifestTable,
  type SchemaDdl,
} from './archive.js';
import { chainState, checkChain, composedSelect, resolveChain } from './chain.js';
import { backupError, classifyBackupFailure, progress, tableChecksum } from './common.js';

export interface RestoreOptions {
  intoDatabase: string;
  /** restore from the archive DIR/NAME (or DIR itself when it holds manifest.json) instead of the database */
  fromDir?: string;
  onEvent?: EventSink;
}

export interface RestoreResult {
  backupId: string;
  database: string;
  tables: number;
  rows: number;
  seconds: number;
  /** every table's count and checksum equal the backup's (checked before COMMIT) */
  checksumsMatch: true;
  /** differences between the restored catalog and the one recorded at backup time */
  catalogDifferences: string[] | null;
  /** owner/grant/policy statements that could not apply here (e.g. a role that does not exist) */
  skipped: string[];
  /** an incremental backup: the backups it was composed from, newest first (null for a full one) */
  chain: string[] | null;
}

interface Source {
  tables: ManifestTable[];
  ddl: SchemaDdl;
  sequences: BackupManifest['sequences'];
  catalog?: Catalog;
  /** an incremental's chain, newest first */
  chain?: string[];
  /** stream one table's rows into the target's COPY */
  copyInto(t: ManifestTable, columns: string[], target: pg.ClientBase): Promise<void>;
  close(): Promise<void>;
}

async function archiveSource(dir: string): Promise<Source> {
  const { manifest, ddl } = await checkArchive(dir);
  return {
    tables: manifest.tables,
    ddl,
    sequences: manifest.sequences,
    catalog: manifest.catalog,
    async copyInto(t, columns, target) {
      if (JSON.stringify(columns) !== JSON.stringify(t.columns))
        throw backupError(
          `table ${t.table}: the archive's columns differ from the restored table's`,
          'report this',
        );
      const q = build(
        sql`COPY ${ident({ schema: t.schema, name: t.name })} (${join(columns.map((x) => ident(x)))}) FROM STDIN`,
      );
      await pipeline(createReadStream(path.join(dir, t.file!)), target.query(copyFrom(q.text)));
    },
    close: async () => {},
  };
}

async function databaseSource(url: string, name: string): Promise<Source> {
  const c = await connect(url, 'dfc-restore-source');
  try {
    const r = await c.query<{
      status: string;
      location: string;
      tables: ManifestTable[];
      details: Record<string, unknown>;
    }>('SELECT status, location, tables, details FROM safety.backup_registry WHERE backup_id = $1', [name]);
    const b = r.rows[0];
    if (!b)
      throw backupError(
        `no backup named "${name}" in safety.backup_registry`,
        'dfc backup list shows the backups',
      );
    if (b.status !== 'completed' && b.status !== 'verified')
      throw backupError(
        `backup "${name}" is ${b.status}; only a completed or verified backup is restored`,
        'run dfc backup verify NAME, or restore another backup',
      );
    const d = b.details as { ddl?: SchemaDdl; sequences?: BackupManifest['sequences']; catalog?: Catalog };
    if (!d.ddl)
      throw backupError(
        `backup "${name}" has no recorded schema`,
        'take a new backup with dfc backup create',
      );
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const close = async () => {
      await c.query('COMMIT').catch(() => {});
      await c.end().catch(() => {});
    };
    const stream = async (
      select: SqlFragment,
      t: ManifestTable,
      columns: string[],
      target: pg.ClientBase,
    ) => {
      const cols = join(columns.map((x) => ident(x)));
      const inn = build(sql`COPY ${ident({ schema: t.schema, name: t.name })} (${cols}) FROM STDIN`);
      await pipeline(
        c.query(copyTo(build(sql`COPY (${select}) TO STDOUT`).text)),
        target.query(copyFrom(inn.text)),
      );
    };
    if ((b.details as { base?: string }).base) {
      // incremental: base + chain, checked before the target is touched
      const chain = await resolveChain(c, name);
      await checkChain(c, name, chain);
      const state = await chainState(c, chain[0]!);
      return {
        tables: b.tables.map((t) => ({ ...t, ...(state[t.table] ?? { rows: 0, checksum: '0' }) })),
        ddl: d.ddl,
        sequences: d.sequences ?? [],
        catalog: d.catalog,
        chain: chain.map((l) => l.backup_id),
        async copyInto(t, columns, target) {
          await stream(await composedSelect(c, name, chain, t.table, columns), t, columns, target);
        },
        close,
      };
    }
    return {
      tables: b.tables,
      ddl: d.ddl,
      sequences: d.sequences ?? [],
      catalog: d.catalog,
      async copyInto(t, columns, target) {
        const cols = join(columns.map((x) => ident(x)));
        await stream(
          sql`SELECT ${cols} FROM ${ident({ schema: b.location, name: t.copy })}`,
          t,
          columns,
          target,
        );
      },
      close,
    };
  } catch (e) {
    await c.end().catch(() => {});
    throw e;
  }
}

/** Relations, schemas and non-extension functions a restore would collide with. */
async function userObjects(target: pg.ClientBase): Promise<number> {
  const r = await target.query<{ n: string }>(
    `SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e'))
          + (SELECT count(*) FROM pg_namespace n WHERE n.nspname NOT IN ('public', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_%')
          + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')) AS n`,
  );
  return Number(r.rows[0]!.n);
}

/** Restore a backup into an empty (or new) database. Failures are CONSOLIDATION_02 and change nothing. */
export async function restoreBackup(url: string, name: string, opts: RestoreOptions): Promise<RestoreResult> {
  const t0 = Date.now();
  // an archive is checked completely before the target is touched
  const source = opts.fromDir
    ? await archiveSource(
        (await import('node:fs')).existsSync(path.join(opts.fromDir, 'manifest.json'))
          ? opts.fromDir
          : path.join(opts.fromDir, name),
      )
    : await databaseSource(url, name);
  const targetUrl = databaseUrl(url, opts.intoDatabase);
  let created = false;
  try {
    const exists = await withClient(databaseUrl(url, 'postgres'), async (c) => {
      const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [opts.intoDatabase]);
      if (r.rowCount) return true;
      await c.query(`CREATE DATABASE ${quoteIdent(opts.intoDatabase)}`);
      return false;
    }).catch((e) => {
      throw classifyBackupFailure(`restore ${name}: cannot create database ${opts.intoDatabase}`, e);
    });
    created = !exists;
    const t = await connect(targetUrl, 'dfc-restore');
    try {
      const objects = await userObjects(t);
      if (objects > 0)
        throw backupError(
          `restore ${name}: database ${opts.intoDatabase} is not empty (${objects} schema objects)`,
          'restore into a new database name (it is created) or an empty one; nothing was changed',
        );
      opts.onEvent?.({
        type: 'phase',
        phase: 'restore',
        message: `restore ${name} into ${opts.intoDatabase}`,
      });
      const skipped: string[] = [];
      await t.query('BEGIN');
      await t.query(`SET LOCAL check_function_bodies = off`);
      for (const e of source.ddl.extensions) {
        await t.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(e.schema)}`);
        await t.query(
          `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} WITH SCHEMA ${quoteIdent(e.schema)}`,
        );
      }
      for (const s of source.ddl.pre) await t.query(s);
      const prog = progress(
        opts.onEvent,
        'restore',
        source.tables.reduce((n, x) => n + Number(x.rows), 0),
      );
      for (const tb of source.tables) {
        const columns = await copyableColumns(t, { schema: tb.schema, name: tb.name });
        await source.copyInto(tb, columns, t);
        prog.add(Number(tb.rows), tb.table);
      }
      for (const s of source.ddl.post) await t.query(s);
      for (const s of source.ddl.acl) {
        await t.query('SAVEPOINT acl');
        try {
          await t.query(s);
          await t.query('RELEASE SAVEPOINT acl');
        } catch (e) {
          await t.query('ROLLBACK TO SAVEPOINT acl');
          skipped.push(`${s} (${e instanceof Error ? e.message : String(e)})`);
        }
      }
      for (const q of source.sequences)
        await t.query('SELECT setval($1::regclass, $2::bigint, $3)', [
          q.sequence,
          String(q.last_value),
          q.is_called,
        ]);
      for (const m of source.ddl.refresh) await t.query(`REFRESH MATERIALIZED VIEW ${m}`);
      const mismatches: string[] = [];
      for (const tb of source.tables) {
        const got = await tableChecksum(t, { schema: tb.schema, name: tb.name });
        if (got.rows !== Number(tb.rows) || got.checksum !== tb.checksum)
          mismatches.push(
            `${tb.table}: ${got.rows} rows / ${got.checksum}, backup ${tb.rows} rows / ${tb.checksum}`,
          );
      }
      if (mismatches.length)
        throw backupError(
          `restore ${name}: restored rows differ from the backup in ${mismatches.length} table(s): ${mismatches.slice(0, 3).join('; ')}`,
          'nothing was kept; run dfc backup verify NAME — the backup itself may be damaged',
        );
      await t.query('COMMIT');
      const catalogDifferences = source.catalog
        ? diffCatalogs(source.catalog, await readCatalog(t, ['public', 'auth']), {
            a: 'backup',
            b: 'restored',
          })
        : null;
      return {
        backupId: name,
        database: opts.intoDatabase,
        tables: source.tables.length,
        rows: prog.done,
        seconds: (Date.now() - t0) / 1000,
        checksumsMatch: true,
        catalogDifferences,
        skipped: [...skipped, ...source.ddl.skipped],
        chain: source.chain ?? null,
      };
    } catch (e) {
      await t.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      await t.end().catch(() => {});
    }
  } catch (e) {
    if (created) await dropDatabase(url, opts.intoDatabase).catch(() => {});
    throw classifyBackupFailure(`restore ${name} failed`, e);
  } finally {
    await source.close();
  }
}
