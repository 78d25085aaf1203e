/**
 * COPY … FROM STDIN in text format, streamed: rows are joined into ~1 MB chunks and written with
 * backpressure, so a million-row table never sits in memory. For bulk tables the secondary indexes
 * and outgoing foreign keys are dropped before the COPY and recreated from their own catalog
 * definitions afterwards (what pg_restore does): one sorted index build beats a million random
 * b-tree inserts, and ADD FOREIGN KEY validates every row with one anti-join instead of a trigger
 * call per row. All of it happens inside the caller's transaction, so a failure leaves nothing.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { query } from '../../src/db/connection.js';
import { DfcError } from '../../src/errors.js';
import { build, ident, join, literal, sql, unsafeRawSql } from '../../src/sql/sql.js';
import type { TableLoad } from './table.js';

const CHUNK_BYTES = 1 << 20;

/** COPY one table's lines; calls onRows after each chunk; returns the server's row count. */
export async function copyTable(
  client: pg.ClientBase,
  t: TableLoad,
  onRows: (n: number) => void,
): Promise<number> {
  const text = build(
    sql`COPY ${ident({ schema: t.schema, name: t.name })} (${join(t.columns.map((c) => ident(c)))}) FROM STDIN`,
  ).text;
  const stream = client.query(copyFrom(text));
  async function* chunks() {
    let parts: string[] = [];
    let bytes = 0;
    for (const line of t.lines()) {
      parts.push(line);
      bytes += line.length;
      if (bytes >= CHUNK_BYTES) {
        yield parts.join('');
        onRows(parts.length);
        parts = [];
        bytes = 0;
      }
    }
    if (parts.length > 0) {
      yield parts.join('');
      onRows(parts.length);
    }
  }
  await pipeline(Readable.from(chunks(), { objectMode: false }), stream);
  const n = stream.rowCount;
  if (n !== t.rows)
    throw new DfcError(
      'DFC_INTERNAL',
      `COPY into ${t.schema}.${t.name} wrote ${n} rows, the plan said ${t.rows}`,
      {
        fix: 'this is a bug in the seed generator; report the seed and --domains used',
      },
    );
  return n;
}

interface Deferred {
  indexes: { name: string; def: string; comment: string | null }[];
  fks: { name: string; def: string; comment: string | null }[];
}

/** Drop a table's non-constraint indexes and outgoing FKs; returns what is needed to recreate them. */
export async function deferIndexesAndForeignKeys(client: pg.ClientBase, t: TableLoad): Promise<Deferred> {
  const rel = ident({ schema: t.schema, name: t.name });
  const oid = sql`(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${t.schema} AND c.relname = ${t.name})`;
  const indexes = await query<{ name: string; def: string; comment: string | null }>(
    client,
    sql`SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS def, obj_description(i.indexrelid, 'pg_class') AS comment
          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = ${oid}
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)
         ORDER BY ic.relname`,
  );
  const fks = await query<{ name: string; def: string; comment: string | null }>(
    client,
    sql`SELECT conname AS name, pg_get_constraintdef(oid) AS def, obj_description(oid, 'pg_constraint') AS comment
          FROM pg_constraint WHERE conrelid = ${oid} AND contype = 'f' ORDER BY conname`,
  );
  for (const fk of fks.rows) await query(client, sql`ALTER TABLE ${rel} DROP CONSTRAINT ${ident(fk.name)}`);
  for (const ix of indexes.rows)
    await query(client, sql`DROP INDEX ${ident({ schema: t.schema, name: ix.name })}`);
  return { indexes: indexes.rows, fks: fks.rows };
}

/**
 * Recreate what {@link deferIndexesAndForeignKeys} dropped. The definitions are PostgreSQL's own
 * (pg_get_indexdef / pg_get_constraintdef), read from this database a moment ago, so they are
 * inlined as raw SQL. ADD CONSTRAINT … FOREIGN KEY validates all rows (23503 on an orphan).
 */
export async function restoreIndexesAndForeignKeys(
  client: pg.ClientBase,
  t: TableLoad,
  d: Deferred,
): Promise<void> {
  const rel = ident({ schema: t.schema, name: t.name });
  for (const ix of d.indexes) {
    await query(client, unsafeRawSql(ix.def));
    if (ix.comment !== null)
      await query(
        client,
        sql`COMMENT ON INDEX ${ident({ schema: t.schema, name: ix.name })} IS ${literal(ix.comment)}`,
      );
  }
  for (const fk of d.fks) {
    await query(client, sql`ALTER TABLE ${rel} ADD CONSTRAINT ${ident(fk.name)} ${unsafeRawSql(fk.def)}`);
    if (fk.comment !== null)
      await query(client, sql`COMMENT ON CONSTRAINT ${ident(fk.name)} ON ${rel} IS ${literal(fk.comment)}`);
  }
}
