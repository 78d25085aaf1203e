/**
 * Restoring an incremental backup. Its chain — the incremental, its base, the base's base … down to
 * a full backup — is resolved in the source database and checked before the target is touched: every
 * link registered, not dropped, its schema present, and every copy's count and checksum equal to what
 * was recorded when it was taken (a changed link is a broken chain: CONSOLIDATION_02, nothing
 * restored). Each table's rows at the incremental's time are then composed in one query, streamed by
 * COPY: a link's row counts unless a newer link holds the same key (added or changed again) or
 * removed it (dfc_removed). The restore compares the result with the counts and checksums the
 * incremental recorded of the source (details.state), so "exactly the source" is checked, not assumed.
 *
 * @example
 *   // chain inc2 -> inc1 -> base, table public.personas keyed by id:
 *   // SELECT cols FROM dfc_backup_inc2.public__personas r
 *   // UNION ALL SELECT cols FROM dfc_backup_inc1.public__personas r
 *   //   WHERE NOT EXISTS (SELECT 1 FROM dfc_backup_inc2.public__personas x WHERE jsonb_build_object('id', x.id) = jsonb_build_object('id', r.id))
 *   //     AND NOT EXISTS (SELECT 1 FROM dfc_backup_inc2.dfc_removed d WHERE d.tbl = 'public.personas' AND d.k = jsonb_build_object('id', r.id))
 *   // UNION ALL SELECT cols FROM dfc_backup_base.public__personas r WHERE … (the same for inc2 and inc1)
 */
import type pg from 'pg';
import { build, ident, join, literal, type SqlFragment, sql } from '../sql/sql.js';
import type { ManifestTable } from './archive.js';
import { backupError } from './common.js';

export interface ChainLink {
  backup_id: string;
  backup_type: string;
  location: string;
  tables: ManifestTable[];
  details: Record<string, unknown>;
}

const MAX_CHAIN = 1000;

/** The chain of `name`, newest first, ending at a full backup. Throws CONSOLIDATION_02 if broken. */
export async function resolveChain(c: pg.ClientBase, name: string): Promise<ChainLink[]> {
  const chain: ChainLink[] = [];
  const seen = new Set<string>();
  let id: string | undefined = name;
  while (id !== undefined) {
    if (seen.has(id) || chain.length >= MAX_CHAIN) throw broken(name, `the chain loops back to "${id}"`);
    seen.add(id);
    const r: pg.QueryResult<ChainLink & { status: string; present: boolean }> = await c.query(
      `SELECT backup_id, backup_type, status, location, tables, details,
              to_regnamespace(location) IS NOT NULL AS present
         FROM safety.backup_registry WHERE backup_id = $1`,
      [id],
    );
    const b: (ChainLink & { status: string; present: boolean }) | undefined = r.rows[0];
    const what = id === name ? `backup "${id}"` : `its base "${id}"`;
    if (!b) throw broken(name, `${what} is not registered`);
    if (b.status === 'dropped' || !b.present)
      throw broken(name, `${what} was dropped (schema ${b.location} ${b.present ? 'kept' : 'gone'})`);
    if (b.status !== 'completed' && b.status !== 'verified')
      throw broken(name, `${what} is ${b.status} (dfc backup verify ${id} says why)`);
    chain.push({
      backup_id: b.backup_id,
      backup_type: b.backup_type,
      location: b.location,
      tables: b.tables,
      details: b.details,
    });
    const base = (b.details as { base?: string | null }).base;
    id = b.backup_type === 'incremental' && base ? base : undefined;
  }
  return chain;
}

function broken(name: string, why: string) {
  return backupError(
    `restore ${name}: the backup chain is broken: ${why}`,
    'nothing was restored; restore a full backup (dfc backup list), or take a new one with dfc backup create',
  );
}

/** Every copy of every link against the count and checksum recorded when it was taken. */
export async function checkChain(c: pg.ClientBase, name: string, chain: ChainLink[]): Promise<void> {
  for (const link of chain)
    for (const t of link.tables) {
      const r = await c.query<{ s: { rows: number; checksum: string } | null }>(
        `SELECT CASE WHEN to_regclass(format('%I.%I', $1::text, $2::text)) IS NULL THEN NULL
                     ELSE safety.table_checksum($1, $2) END AS s`,
        [link.location, t.copy],
      );
      const got = r.rows[0]!.s;
      const label = link.backup_id === name ? `backup "${name}"` : `its base "${link.backup_id}"`;
      if (!got) throw broken(name, `${label} lost its copy of ${t.table}`);
      if (Number(got.rows) !== Number(t.rows) || got.checksum !== t.checksum)
        throw broken(
          name,
          `${label} was changed after it was taken: ${t.table} has ${got.rows} rows / checksum ${got.checksum}, recorded ${t.rows} / ${t.checksum} (dfc backup verify ${link.backup_id} lists the rows)`,
        );
    }
}

/** Count and checksum of each table at the incremental's time: recorded (0014), else from its row hashes. */
export async function chainState(
  c: pg.ClientBase,
  newest: ChainLink,
): Promise<Record<string, { rows: number; checksum: string }>> {
  const recorded = newest.details.state as Record<string, { rows: number; checksum: string }> | undefined;
  if (recorded) return recorded;
  const r = await c.query<{ tbl: string; rows: string; checksum: string }>(
    build(
      sql`SELECT tbl, count(*)::text AS rows, coalesce(sum(('x' || substr(h, 1, 15))::bit(60)::bigint::numeric), 0)::text AS checksum
            FROM ${ident({ schema: newest.location, name: 'dfc_row_hashes' })} GROUP BY tbl`,
    ),
  );
  const out: Record<string, { rows: number; checksum: string }> = {};
  for (const t of newest.tables) out[t.table] = { rows: 0, checksum: '0' };
  for (const x of r.rows) out[x.tbl] = { rows: Number(x.rows), checksum: x.checksum };
  return out;
}

/** The row's key as the backups record it (safety.row_key_sql): its primary key as jsonb, or the row. */
function keyJson(alias: string, key: string[] | null): SqlFragment {
  if (!key?.length) return sql`to_jsonb(${ident(alias)})`;
  return sql`jsonb_build_object(${join(key.map((k) => sql`${literal(k)}, ${ident(alias)}.${ident(k)}`))})`;
}

async function copyColumns(c: pg.ClientBase, schema: string, copy: string): Promise<string[] | null> {
  const r = await c.query<{ cols: string[] | null }>(
    `SELECT array_agg(a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attname) AS cols
       FROM pg_attribute a
      WHERE a.attrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, copy],
  );
  return r.rows[0]?.cols ?? null;
}

/**
 * The SELECT producing `table`'s rows at the newest link's time. Links are used from the newest down
 * to the first that lacks the table. An older link whose copy has another shape (a migration between
 * links) may only be used when none of its rows survive; otherwise CONSOLIDATION_02.
 */
export async function composedSelect(
  c: pg.ClientBase,
  name: string,
  chain: ChainLink[],
  table: string,
  columns: string[],
): Promise<SqlFragment> {
  const cols = join(columns.map((x) => sql`r.${ident(x)}`));
  const links = [];
  for (const link of chain) {
    const t = link.tables.find((x) => x.table === table);
    if (!t) break;
    links.push({ link, t });
  }
  const newestShape = await copyColumns(c, links[0]!.link.location, links[0]!.t.copy);
  const parts: SqlFragment[] = [];
  for (const [i, { link, t }] of links.entries()) {
    const conds: SqlFragment[] = [];
    for (const { link: newer, t: nt } of links.slice(0, i)) {
      conds.push(
        sql`NOT EXISTS (SELECT 1 FROM ${ident({ schema: newer.location, name: nt.copy })} x WHERE ${keyJson('x', nt.key)} = ${keyJson('r', t.key)})`,
      );
      if (newer.backup_type === 'incremental')
        conds.push(
          sql`NOT EXISTS (SELECT 1 FROM ${ident({ schema: newer.location, name: 'dfc_removed' })} d WHERE d.tbl = ${literal(table)} AND d.k = ${keyJson('r', t.key)})`,
        );
    }
    const from = sql`FROM ${ident({ schema: link.location, name: t.copy })} r${conds.length ? sql` WHERE ${join(conds, ' AND ')}` : sql``}`;
    const shape = await copyColumns(c, link.location, t.copy);
    if (i > 0 && JSON.stringify(shape) !== JSON.stringify(newestShape)) {
      const n = await c.query<{ n: string }>(build(sql`SELECT count(*)::text AS n ${from}`));
      if (Number(n.rows[0]!.n) > 0)
        throw broken(
          name,
          `${table} changed shape between "${link.backup_id}" and "${links[0]!.link.backup_id}" and ${n.rows[0]!.n} of its rows from "${link.backup_id}" are still needed`,
        );
      continue;
    }
    parts.push(sql`SELECT ${cols} ${from}`);
  }
  return join(parts, ' UNION ALL ');
}
