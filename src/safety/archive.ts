/**
 * The portable archive of a backup: a directory with one COPY text file per table, the schema
 * (schema.json for restore, schema.sql for people) and manifest.json holding row counts, the SQL
 * checksum and the SHA-256 and size of every file. `checkArchive` reads every file against the
 * manifest, so a corrupted or truncated archive is refused before anything is restored.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Catalog } from '../schema/catalog.js';
import { build, ident, join, literal, sql } from '../sql/sql.js';
import { backupError } from './common.js';

export const ARCHIVE_FORMAT = 'dfc-backup/1';

export interface SchemaDdl {
  extensions: { name: string; schema: string }[];
  pre: string[];
  post: string[];
  acl: string[];
  refresh: string[];
  skipped: string[];
}

export interface ManifestTable {
  table: string;
  schema: string;
  name: string;
  /** the copy's name in the backup schema */
  copy: string;
  key: string[] | null;
  rows: number;
  checksum: string;
  /** columns in the data file (generated columns are recomputed on restore) */
  columns?: string[];
  file?: string;
  bytes?: number;
  sha256?: string;
}

export interface BackupManifest {
  format: typeof ARCHIVE_FORMAT;
  backup_id: string;
  created_at: string;
  database: string;
  server_version_num: number;
  tables: ManifestTable[];
  sequences: { sequence: string; last_value: string | number; is_called: boolean }[];
  catalog?: Catalog;
  files: { file: string; bytes: number; sha256: string }[];
}

/** Hashing pass-through that also counts bytes and lines. */
function hasher() {
  const h = createHash('sha256');
  let bytes = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  return { t, digest: () => h.digest('hex'), bytes: () => bytes };
}

/** Columns a COPY can write: everything but stored generated columns, in table order. */
export async function copyableColumns(c: pg.ClientBase, table: { schema: string; name: string }) {
  const r = await c.query<{ attname: string }>(
    `SELECT a.attname FROM pg_attribute a
      WHERE a.attrelid = to_regclass(quote_ident($1) || '.' || quote_ident($2)) AND a.attnum > 0
        AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`,
    [table.schema, table.name],
  );
  return r.rows.map((x) => x.attname);
}

/** COPY one table to `file` (streamed); returns its rows, size and SHA-256. */
export async function writeTableFile(
  c: pg.ClientBase,
  source: { schema: string; name: string },
  columns: string[],
  file: string,
): Promise<{ rows: number; bytes: number; sha256: string }> {
  const cols = join(columns.map((x) => ident(x)));
  const q = build(sql`COPY (SELECT ${cols} FROM ${ident(source)}) TO STDOUT`);
  const h = hasher();
  const stream = c.query(copyTo(q.text));
  await pipeline(stream, h.t, createWriteStream(file, { flags: 'wx' }));
  return {
    rows: Number((stream as { rowCount?: number }).rowCount ?? 0),
    bytes: h.bytes(),
    sha256: h.digest(),
  };
}

export interface ArchivedTable {
  table: string;
  file: string;
  columns: string[];
  rows: number;
  bytes: number;
  sha256: string;
}

/**
 * Write the archive's data files from the source tables in a second session that imports the
 * backup transaction's snapshot (pg_export_snapshot), so the files are the same snapshot as the
 * in-database copy and are written while that session copies and hashes. `abort()` ends the
 * session (a failed backup) and waits for the writer to stop.
 */
export function startArchiveWriter(
  open: () => Promise<pg.Client>,
  snapshot: string,
  tables: { schema: string; name: string }[],
  dir: string,
): { done: Promise<ArchivedTable[]>; abort(): Promise<void> } {
  let client: pg.Client | undefined;
  let aborted = false;
  const run = async () => {
    client = await open();
    if (aborted) throw new Error('archive writer aborted');
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(build(sql`SET TRANSACTION SNAPSHOT ${literal(snapshot)}`).text);
    const out: ArchivedTable[] = [];
    for (const [i, t] of tables.entries()) {
      const file = `data/${String(i).padStart(3, '0')}_${t.schema}.${t.name}.copy`;
      const columns = await copyableColumns(client, t);
      const w = await writeTableFile(client, t, columns, path.join(dir, file));
      out.push({ table: `${t.schema}.${t.name}`, file, columns, ...w });
    }
    await client.query('COMMIT');
    return out;
  };
  const done = run().finally(() => client?.end().catch(() => {}));
  // the caller awaits `done` later; until then a rejection is not unhandled
  done.catch(() => {});
  return {
    done,
    async abort() {
      aborted = true;
      await client?.end().catch(() => {});
      await done.catch(() => {});
    },
  };
}

/** Write a small file and return its manifest entry. */
export async function writeHashedFile(dir: string, file: string, text: string) {
  const full = path.join(dir, file);
  await writeFile(full, text, { flag: 'wx' });
  const fh = await open(full, 'r');
  await fh.sync();
  await fh.close();
  return { file, bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') };
}

async function sha256OfFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Read and check an archive: manifest parses, has the right format, and every file it lists is
 * present with the recorded size and SHA-256. Throws CONSOLIDATION_02 naming the first problem.
 */
export async function checkArchive(dir: string): Promise<{ manifest: BackupManifest; ddl: SchemaDdl }> {
  const refuse = (what: string) =>
    backupError(
      `archive ${dir} is corrupted or incomplete: ${what}`,
      'nothing was restored; use another copy of the archive, or restore the in-database backup',
    );
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
  } catch (e) {
    throw refuse(`manifest.json unreadable (${e instanceof Error ? e.message : String(e)})`);
  }
  if (manifest.format !== ARCHIVE_FORMAT || !Array.isArray(manifest.tables) || !Array.isArray(manifest.files))
    throw refuse(`manifest.json is not a ${ARCHIVE_FORMAT} manifest`);
  for (const f of manifest.files) {
    const full = path.join(dir, f.file);
    const st = await stat(full).catch(() => null);
    if (!st) throw refuse(`${f.file} is missing`);
    if (st.size !== f.bytes) throw refuse(`${f.file} has ${st.size} bytes, the manifest says ${f.bytes}`);
    const sha = await sha256OfFile(full);
    if (sha !== f.sha256) throw refuse(`${f.file} SHA-256 ${sha} differs from the manifest's ${f.sha256}`);
  }
  for (const t of manifest.tables)
    if (!t.file || !manifest.files.some((f) => f.file === t.file))
      throw refuse(`table ${t.table} has no data file in the manifest`);
  const ddl = JSON.parse(await readFile(path.join(dir, 'schema.json'), 'utf8')) as SchemaDdl;
  return { manifest, ddl };
}

/** The human-readable schema file. */
export function renderSchemaSql(ddl: SchemaDdl): string {
  const part = (title: string, stmts: string[]) => [`-- ${title}`, ...stmts.map((s) => `${s};`)].join('\n');
  return [
    '-- dfc backup schema (restore uses schema.json; this file is for reading)',
    part(
      'extensions',
      ddl.extensions.map((e) => `CREATE EXTENSION IF NOT EXISTS "${e.name}" WITH SCHEMA "${e.schema}"`),
    ),
    part('before data', ddl.pre),
    part('after data', ddl.post),
    part('owners, grants, policies', ddl.acl),
    '',
  ].join('\n\n');
}
