/**
 * SQL that turns rows of one side into rows of the other, built only from the shipped v2
 * definition (never from user input). Forward = legacy → v2 (alias `s`), reverse = v2 → legacy
 * (alias `t`). Rows that cannot convert are handled by the definition's quarantine actions.
 */
import type { ColumnMapping, ConversionIssue, TableDef } from '../schema/v2/model.js';
import { quoteIdent, quoteLiteral } from '../sql/sql.js';
import { legacyLiveOf, legacyRollbackOf, liveOf, type Rel, relKey, shadowOf } from './names.js';

export type Direction = 'forward' | 'reverse';

export interface MappedTable {
  def: TableDef;
  /** capture_log.table_name for each direction */
  captureName: Record<Direction, string>;
  /** columns written on the target side and the expressions that compute them from the source alias */
  targetColumns: Record<Direction, { column: string; expr: string }[]>;
  /** SQL predicate (over `s`) that keeps a legacy row out of v2; `false` when none */
  excludePredicate: string;
  /** `(issue id, predicate, action)` for quarantine bookkeeping */
  issues: TableDef['conversionIssues'];
  primaryKey: string[];
}

const IDENTITY = /^s\.("?)([a-z_][a-z0-9_]*)\1$/;

/** The legacy column a v2 column writes back to, and how. */
function reverseOf(column: string, m: ColumnMapping): { legacyColumn: string; expr: string } | undefined {
  if (m.legacyColumn) return { legacyColumn: m.legacyColumn, expr: m.reverse ?? `t.${quoteIdent(column)}` };
  const id = IDENTITY.exec(m.forward.trim());
  if (id) return { legacyColumn: id[2]!, expr: m.reverse ?? `t.${quoteIdent(column)}` };
  return undefined;
}

const or = (preds: string[]) =>
  preds.length === 0 ? 'false' : preds.map((p) => `coalesce((${p}), false)`).join(' OR ');

/**
 * Tables whose rows the quarantine policy can exclude: those with an exclude_row issue, and —
 * transitively — those with a NOT NULL foreign key to such a table.
 */
function excludableTables(all: TableDef[]): Set<string> {
  const out = new Set(
    all.filter((t) => t.conversionIssues.some((i) => i.quarantine.action === 'exclude_row')).map(relKey),
  );
  for (let changed = true; changed; ) {
    changed = false;
    for (const t of all) {
      if (out.has(relKey(t))) continue;
      const viaFk = t.foreignKeys.some(
        (fk) =>
          out.has(`${fk.references.schema}.${fk.references.table}`) &&
          fk.columns.every((c) => t.columns.find((x) => x.name === c)?.notNull),
      );
      if (viaFk) {
        out.add(relKey(t));
        changed = true;
      }
    }
  }
  return out;
}

/**
 * When quarantine keeps a parent row out of v2, its children must follow (or lose the reference):
 * one synthetic issue per foreign key to an excludable parent, answered from the quarantine table
 * itself, so the cascade needs no rewriting of the parent's predicates.
 */
function cascadeIssues(def: TableDef, all: TableDef[]): ConversionIssue[] {
  const excludable = excludableTables(all);
  const out: ConversionIssue[] = [];
  for (const fk of def.foreignKeys) {
    const parentName = `${fk.references.schema}.${fk.references.table}`;
    const parent = all.find((t) => relKey(t) === parentName);
    if (!parent || !excludable.has(parentName)) continue;
    if (parent.primaryKey.columns.join(',') !== fk.references.columns.join(',')) continue;
    const key = `jsonb_build_object(${fk.references.columns.map((rc, i) => `${quoteLiteral(rc)}, s.${quoteIdent(fk.columns[i]!)}`).join(', ')})`;
    const notNull = fk.columns.every((c) => def.columns.find((x) => x.name === c)?.notNull);
    out.push({
      id: `${def.name}.${fk.name}.parent_quarantined`,
      predicate: `EXISTS (SELECT 1 FROM consolidation.engine_quarantine q WHERE q.table_name = ${quoteLiteral(relKey(parent.legacy))} AND q.action = 'exclude_row' AND q.row_key = ${key})`,
      reason: `references a ${fk.references.table} row that quarantine kept out of v2`,
      fix: `resolve the quarantined ${fk.references.table} row (consolidation.engine_quarantine) and reinsert`,
      quarantine: notNull ? { action: 'exclude_row' } : { action: 'null_column', column: fk.columns[0]! },
    });
  }
  return out;
}

export function mapTable(input: TableDef, all: TableDef[] = [input]): MappedTable {
  const def: TableDef = {
    ...input,
    conversionIssues: [...input.conversionIssues, ...cascadeIssues(input, all)],
  };
  const forward = def.columns.map((col) => {
    const m = def.mapping[col.name];
    if (!m) throw new Error(`v2 definition: ${def.schema}.${def.name}.${col.name} has no mapping`);
    const nulling = def.conversionIssues.filter(
      (i) => i.quarantine.action === 'null_column' && i.quarantine.column === col.name,
    );
    const expr = nulling.length
      ? `CASE WHEN ${or(nulling.map((i) => i.predicate))} THEN NULL ELSE (${m.forward}) END`
      : `(${m.forward})`;
    return { column: col.name, expr };
  });
  const reverse: { column: string; expr: string }[] = [];
  for (const col of def.columns) {
    const r = reverseOf(col.name, def.mapping[col.name]!);
    if (r) reverse.push({ column: r.legacyColumn, expr: r.expr });
  }
  return {
    def,
    captureName: { forward: relKey(def.legacy), reverse: relKey(def) },
    targetColumns: { forward, reverse },
    excludePredicate: or(
      def.conversionIssues.filter((i) => i.quarantine.action === 'exclude_row').map((i) => i.predicate),
    ),
    issues: def.conversionIssues,
    primaryKey: def.primaryKey.columns,
  };
}

/** Source and target of a direction, before or after the cutover moved things. */
export function endpoints(
  t: MappedTable,
  direction: Direction,
): { source: Rel; target: Rel; alias: 's' | 't' } {
  if (direction === 'forward') return { source: legacyLiveOf(t.def), target: shadowOf(t.def), alias: 's' };
  return { source: liveOf(t.def), target: legacyRollbackOf(t.def), alias: 't' };
}

export const pkList = (t: MappedTable, alias?: string) =>
  t.primaryKey.map((c) => (alias ? `${alias}.${quoteIdent(c)}` : quoteIdent(c))).join(', ');

/** every key column descending: `a, b DESC` would sort only the last one down (keyset resumed inside the batch) */
export const pkDescending = (t: MappedTable, alias: string) =>
  t.primaryKey.map((c) => `${alias}.${quoteIdent(c)} DESC`).join(', ');

export const pkJoin = (t: MappedTable, a: string, b: string) =>
  t.primaryKey.map((c) => `${a}.${quoteIdent(c)} = ${b}.${quoteIdent(c)}`).join(' AND ');

export const pkObject = (t: MappedTable, alias: string) =>
  `jsonb_build_object(${t.primaryKey.map((c) => `${quoteLiteral(c)}, ${alias}.${quoteIdent(c)}`).join(', ')})`;

/**
 * INSERT of the original legacy rows that match any of the table's conversion issues into
 * consolidation.engine_quarantine, one statement for all issues. `rowsSql` yields legacy rows
 * aliased `s` (a table joined to keys, or a CTE of the batch). Nothing the quarantine policy nulls
 * or keeps out is ever lost.
 */
export function quarantineInsertSql(t: MappedTable, runId: string | undefined, rowsSql: string): string {
  return `INSERT INTO consolidation.engine_quarantine (run_id, table_name, row_key, issue_id, action, original_row)
    SELECT ${runId ? Number(runId) : 'NULL'}, i.table_name, ${pkObject(t, 's')}, i.issue_id, i.action, to_jsonb(s)
      FROM ${rowsSql} JOIN (VALUES ${t.issues
        .map(
          (i, n) =>
            `(${n}, ${quoteLiteral(t.captureName.forward)}, ${quoteLiteral(i.id)}, ${quoteLiteral(i.quarantine.action)})`,
        )
        .join(', ')}) AS i(n, table_name, issue_id, action)
        ON ${t.issues.map((i, n) => `(i.n = ${n} AND coalesce((${i.predicate}), false))`).join(' OR ')}
    ON CONFLICT (table_name, row_key, issue_id) DO UPDATE SET original_row = EXCLUDED.original_row, quarantined_at = now()`;
}
