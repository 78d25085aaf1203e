/**
 * Rows that cannot convert and arrive after the conversion check (`check:conversion`). The change
 * applier always evaluates the definition's conversion issues and records every matching row in
 * consolidation.engine_quarantine (the shadow holds the nulled / kept-out version, which is never
 * live before cutover). What happens next is the run's policy:
 * - `abort` (default): the cutover refuses with CONSOLIDATION_04 naming the rows; nothing on the
 *   live side was nulled or excluded, and once the rows are fixed in legacy the applier re-applies
 *   them and drops their quarantine entries.
 * - `quarantine`: every quarantined row is reported, and the counts reconcile
 *   (legacy rows = v2 rows + rows kept out).
 */
import type pg from 'pg';
import { DfcError } from '../errors.js';
import type { MappedTable } from './mapping.js';
import { endpoints } from './mapping.js';
import { legacyRollbackOf, liveOf, q, type Rel } from './names.js';

export interface QuarantinedRow {
  table: string;
  key: unknown;
  issue: string;
  action: string;
  reason: string;
}

export interface TableReconciliation {
  table: string;
  legacyRows: number;
  v2Rows: number;
  /** rows quarantine kept out of v2 (exclude_row) */
  keptOut: number;
  /** rows in v2 with a column nulled (null_column) */
  nulled: number;
  reconciles: boolean;
}

export interface QuarantineReport {
  total: number;
  rows: QuarantinedRow[];
  tables: TableReconciliation[];
  reconciles: boolean;
}

async function rowsOf(c: pg.ClientBase, runId: string, tables: MappedTable[]): Promise<QuarantinedRow[]> {
  const reasons = new Map(tables.flatMap((t) => t.issues.map((i) => [i.id, i.reason] as const)));
  const r = await c.query<{ table_name: string; row_key: unknown; issue_id: string; action: string }>(
    `SELECT table_name, row_key, issue_id, action FROM consolidation.engine_quarantine
      WHERE run_id = $1 ORDER BY table_name, row_key::text, issue_id`,
    [runId],
  );
  return r.rows.map((x) => ({
    table: x.table_name,
    key: x.row_key,
    issue: x.issue_id,
    action: x.action,
    reason: reasons.get(x.issue_id) ?? '',
  }));
}

/**
 * Every quarantined row of the run and, per table with any, legacy vs v2 counts. `where` says
 * where the two sides are: before cutover legacy is live and v2 is the shadow; after it v2 is live
 * and legacy is the rollback copy. Exact only when the capture backlog is empty (inside the
 * cutover transaction, after the drain).
 */
export async function quarantineReport(
  c: pg.ClientBase,
  runId: string,
  tables: MappedTable[],
  where: 'before_cutover' | 'after_cutover',
): Promise<QuarantineReport> {
  const rows = await rowsOf(c, runId, tables);
  const out: TableReconciliation[] = [];
  for (const name of [...new Set(rows.map((r) => r.table))]) {
    const t = tables.find((x) => x.captureName.forward === name);
    if (!t) continue;
    const sides: { legacy: Rel; v2: Rel } =
      where === 'before_cutover'
        ? { legacy: endpoints(t, 'forward').source, v2: endpoints(t, 'forward').target }
        : { legacy: legacyRollbackOf(t.def), v2: liveOf(t.def) };
    const n = await c.query<{ l: string; v: string }>(
      `SELECT (SELECT count(*) FROM ${q(sides.legacy)}) AS l, (SELECT count(*) FROM ${q(sides.v2)}) AS v`,
    );
    const mine = rows.filter((r) => r.table === name);
    const distinct = (action: string) =>
      new Set(mine.filter((r) => r.action === action).map((r) => JSON.stringify(r.key))).size;
    const legacyRows = Number(n.rows[0]!.l);
    const v2Rows = Number(n.rows[0]!.v);
    const keptOut = distinct('exclude_row');
    out.push({
      table: name,
      legacyRows,
      v2Rows,
      keptOut,
      nulled: distinct('null_column'),
      reconciles: legacyRows === v2Rows + keptOut,
    });
  }
  return { total: rows.length, rows, tables: out, reconciles: out.every((t) => t.reconciles) };
}

/**
 * Under the abort policy, a quarantined row means one arrived after the check: refuse (the caller
 * rolls back), naming the rows. Called inside the cutover transaction after the final drain.
 */
export async function refuseLateRows(
  c: pg.ClientBase,
  runId: string,
  policy: string,
  tables: MappedTable[],
): Promise<void> {
  if (policy !== 'abort') return;
  const rows = await rowsOf(c, runId, tables);
  if (rows.length === 0) return;
  const shown = rows
    .slice(0, 20)
    .map((r) => `${r.table} ${JSON.stringify(r.key)} (${r.issue})`)
    .join('; ');
  throw new DfcError(
    'CONSOLIDATION_04',
    `${rows.length} row(s) that cannot be converted to v2 arrived after the conversion check: ${shown}${rows.length > 20 ? '; …' : ''}; the cutover was rolled back, nothing was nulled or excluded`,
    {
      fix: 'fix these rows in the live tables (the reasons are in --json details; the change applier re-applies them), then run `dfc cutover` again; or abort the run (`dfc consolidate abort`) and rerun with --on-invalid quarantine',
      details: { lateRows: rows },
    },
  );
}
