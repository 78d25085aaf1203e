/**
 * Count the rows that break each foreign key, for every FK the catalog knows in the given schemas.
 * Generic on purpose: it reads pg_constraint, so it checks the FKs the database really has (not
 * the ones we expect), and a table added by a later migration is covered without a code change.
 *
 * @example
 *   await countForeignKeyOrphans(client)
 *   // [{ constraint: 'generated_domains_domain_generation_campaign_id_fkey', table: 'public.generated_domains',
 *   //    references: 'public.campaigns', columns: ['domain_generation_campaign_id'], orphans: 0 }, ...]
 *   // per FK:  SELECT count(*) FROM "public"."generated_domains" c WHERE c."domain_generation_campaign_id" IS NOT NULL
 *   //            AND NOT EXISTS (SELECT 1 FROM "public"."campaigns" p WHERE p."id" = c."domain_generation_campaign_id")
 */
import type pg from 'pg';
import { query } from '../../src/db/connection.js';
import { ident, join, type SqlFragment, sql } from '../../src/sql/sql.js';

export interface FkOrphans {
  constraint: string;
  table: string;
  references: string;
  columns: string[];
  orphans: number;
}

interface FkRow {
  conname: string;
  schema: string;
  table: string;
  fschema: string;
  ftable: string;
  cols: string[];
  fcols: string[];
}

/** MATCH SIMPLE semantics (PostgreSQL's default): a row with any NULL key column is not checked. */
export async function countForeignKeyOrphans(
  client: pg.ClientBase,
  schemas: readonly string[] = ['public', 'auth'],
): Promise<FkOrphans[]> {
  const fks = await client.query<FkRow>(
    `SELECT c.conname, n.nspname AS schema, t.relname AS table, fn.nspname AS fschema, ft.relname AS ftable,
            array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(attnum, i)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.i)::text[] AS cols,
            array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(attnum, i)
                    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.i)::text[] AS fcols
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_class ft ON ft.oid = c.confrelid JOIN pg_namespace fn ON fn.oid = ft.relnamespace
      WHERE c.contype = 'f' AND n.nspname = ANY($1::text[])
      ORDER BY n.nspname, t.relname, c.conname`,
    [schemas],
  );
  const out: FkOrphans[] = [];
  for (const fk of fks.rows) {
    const child = (col: string) => sql`c.${ident(col)}`;
    const notNull: SqlFragment[] = fk.cols.map((col) => sql`${child(col)} IS NOT NULL`);
    const match: SqlFragment[] = fk.cols.map((col, i) => sql`p.${ident(fk.fcols[i]!)} = ${child(col)}`);
    const r = await query<{ n: string }>(
      client,
      sql`SELECT count(*) AS n FROM ${ident({ schema: fk.schema, name: fk.table })} c
           WHERE ${join(notNull, ' AND ')}
             AND NOT EXISTS (SELECT 1 FROM ${ident({ schema: fk.fschema, name: fk.ftable })} p WHERE ${join(match, ' AND ')})`,
    );
    out.push({
      constraint: fk.conname,
      table: `${fk.schema}.${fk.table}`,
      references: `${fk.fschema}.${fk.ftable}`,
      columns: fk.cols,
      orphans: Number(r.rows[0]!.n),
    });
  }
  return out;
}
