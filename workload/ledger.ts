/**
 * `verifyLedger`: check the current database against a write ledger. Every key the ledger left
 * present must exist with its last written value in every column the ledger wrote; every key it
 * deleted (or whose parent it deleted, see CASCADE_RULES) must be absent.
 *
 * Values are compared in SQL after casting the ledger's text to the column's CURRENT type
 * (`col IS NOT DISTINCT FROM $v::text::<format_type now>`), so a column that changed type since the
 * write (text → uuid, text → inet) is compared by meaning, not spelling; NULL equals NULL. Checks
 * are batched per table and column with arrays (unnest), never one query per key.
 *
 * Like the traffic module, this never imports the engine.
 */
import type pg from 'pg';
import { withClient } from '../src/db/connection.js';
import { build, ident, join, type SqlFragment, sql, unsafeRawSql } from '../src/sql/sql.js';
import { type ExpectedRow, foldLedger, readLedger, type TextRow } from './ledger-format.js';

export interface LedgerMismatch {
  table: string;
  key: TextRow;
  column?: string;
  expected: string | null;
  actual: string | null;
  kind: 'missing' | 'unexpected' | 'value' | 'table_missing' | 'column_missing';
}

export interface LedgerVerifyReport {
  /** keys checked (present + absent) */
  checked: number;
  present: number;
  absent: number;
  /** (key, column) value comparisons made */
  valuesChecked: number;
  mismatches: LedgerMismatch[];
  /** uncertain writes (commit outcome unknown) in the ledger; what they touched is not checked */
  uncertainSkipped: number;
  ledgerEntries: number;
}

const CHUNK = 5000;

const splitName = (qualified: string) => {
  const dot = qualified.indexOf('.');
  return dot < 0
    ? { schema: 'public', name: qualified }
    : { schema: qualified.slice(0, dot), name: qualified.slice(dot + 1) };
};

/** Current columns → SQL type text (format_type) of a table, or undefined when it does not exist. */
async function columnTypes(c: pg.ClientBase, table: string): Promise<Map<string, string> | undefined> {
  const { schema, name } = splitName(table);
  const r = await c.query(
    `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_class k ON k.oid = a.attrelid JOIN pg_namespace n ON n.oid = k.relnamespace
      WHERE n.nspname = $1 AND k.relname = $2 AND k.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, name],
  );
  if (!r.rowCount) return undefined;
  return new Map(r.rows.map((x) => [x.attname as string, x.type as string]));
}

/**
 * A cast to a catalog type name. The type text comes from format_type() of the live catalog, never
 * from user input; json has no equality operator, so it is compared as jsonb.
 */
const castTo = (type: string) => unsafeRawSql(type === 'json' ? 'jsonb' : type);

export async function verifyLedger(url: string, ledgerPath: string): Promise<LedgerVerifyReport> {
  const entries = await readLedger(ledgerPath);
  const { rows, uncertainSkipped } = foldLedger(entries);
  const report: LedgerVerifyReport = {
    checked: 0,
    present: 0,
    absent: 0,
    valuesChecked: 0,
    mismatches: [],
    uncertainSkipped,
    ledgerEntries: entries.length,
  };
  const byTable = new Map<string, ExpectedRow[]>();
  for (const row of rows) {
    if (row.present === undefined) continue; // decided by an uncertain write
    const list = byTable.get(row.table) ?? [];
    list.push(row);
    byTable.set(row.table, list);
  }
  await withClient(
    url,
    async (c) => {
      await c.query(`SET TimeZone = 'UTC'`);
      for (const [table, list] of byTable) {
        for (let i = 0; i < list.length; i += CHUNK)
          await checkTable(c, table, list.slice(i, i + CHUNK), report);
      }
    },
    'dfc-ledger-verify',
  );
  return report;
}

async function checkTable(c: pg.ClientBase, table: string, rows: ExpectedRow[], report: LedgerVerifyReport) {
  report.checked += rows.length;
  for (const r of rows) report[r.present ? 'present' : 'absent'] += 1;
  const types = await columnTypes(c, table);
  const miss = (r: ExpectedRow, kind: LedgerMismatch['kind'], extra: Partial<LedgerMismatch> = {}) =>
    report.mismatches.push({ table, key: r.key, expected: null, actual: null, kind, ...extra });
  if (!types) {
    for (const r of rows)
      if (r.present) miss(r, 'table_missing', { expected: 'present', actual: 'no such table' });
    return;
  }
  // rows of one table share their key columns in practice; group anyway to stay correct
  const groups = new Map<string, ExpectedRow[]>();
  for (const r of rows) {
    const sig = Object.keys(r.key).sort().join(',');
    groups.set(sig, [...(groups.get(sig) ?? []), r]);
  }
  const rel = ident(splitName(table));
  for (const [sig, group] of groups) {
    const keyCols = sig.split(',');
    const lostKey = keyCols.find((k) => !types.has(k));
    if (lostKey) {
      for (const r of group) miss(r, 'column_missing', { column: lostKey, expected: r.key[lostKey] ?? null });
      continue;
    }
    // e(k0..kn, [v], i): the keys (and a value) as text arrays, joined to the table on the casted key
    const keyArrays = keyCols.map((k) => group.map((r) => r.key[k] ?? null));
    const aliases = keyCols.map((_, j) => unsafeRawSql(`k${j}`));
    const keyMatch = join(
      keyCols.map((k, j) => sql`t.${ident(k)} = e.${aliases[j]!}::${castTo(types.get(k)!)}`),
      ' AND ',
    );
    const unnest = (extra: SqlFragment[]) =>
      sql`unnest(${join([...keyArrays.map((a) => sql`${a}::text[]`), ...extra])})`;

    const found = await c.query(
      build(
        sql`SELECT e.i FROM ${unnest([])} WITH ORDINALITY AS e(${join(aliases)}, i) WHERE EXISTS (SELECT 1 FROM ${rel} t WHERE ${keyMatch})`,
      ),
    );
    const exists = new Set(found.rows.map((x) => Number(x.i) - 1));
    group.forEach((r, j) => {
      if (r.present && !exists.has(j)) miss(r, 'missing', { expected: 'present', actual: 'absent' });
      if (!r.present && exists.has(j)) miss(r, 'unexpected', { expected: 'absent', actual: 'present' });
    });

    const columns = new Set(group.filter((r) => r.present).flatMap((r) => Object.keys(r.values)));
    for (const col of columns) {
      const subset = group.filter((r, j) => r.present && exists.has(j) && col in r.values);
      if (!subset.length) continue;
      report.valuesChecked += subset.length;
      const type = types.get(col);
      if (!type) {
        for (const r of subset) miss(r, 'column_missing', { column: col, expected: r.values[col] ?? null });
        continue;
      }
      const keys = keyCols.map((k) => subset.map((r) => r.key[k] ?? null));
      const vals = subset.map((r) => r.values[col] ?? null);
      const arrays = join([...keys.map((a) => sql`${a}::text[]`), sql`${vals}::text[]`]);
      const colRef = sql`t.${ident(col)}`;
      const lhs = type === 'json' ? sql`${colRef}::jsonb` : colRef;
      const q = sql`SELECT e.i, ${colRef}::text AS actual FROM unnest(${arrays}) WITH ORDINALITY AS e(${join(aliases)}, v, i) JOIN ${rel} t ON ${keyMatch} WHERE ${lhs} IS DISTINCT FROM e.v::${castTo(type)}`;
      let diff: pg.QueryResult;
      try {
        diff = await c.query(build(q));
      } catch {
        // a written value that no longer casts to the column's type: compare the text forms instead
        diff = await c.query(
          build(
            sql`SELECT e.i, ${colRef}::text AS actual FROM unnest(${arrays}) WITH ORDINALITY AS e(${join(aliases)}, v, i) JOIN ${rel} t ON ${keyMatch} WHERE ${colRef}::text IS DISTINCT FROM e.v`,
          ),
        );
      }
      for (const d of diff.rows) {
        const r = subset[Number(d.i) - 1]!;
        miss(r, 'value', { column: col, expected: r.values[col] ?? null, actual: d.actual ?? null });
      }
    }
  }
}
