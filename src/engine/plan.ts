/**
 * `dfc consolidate --dry-run`: the full plan from the live catalog and the v2 definition —
 * every object to create, every table to copy with its row estimate and transformation, every
 * index and constraint, estimated duration and extra disk. Reads only.
 */
import { connect } from '../db/connection.js';
import { V2 } from '../schema/v2/index.js';
import { mapTable } from './mapping.js';
import { legacyLiveOf, q, SHADOW_SCHEMA } from './names.js';
import { preflight } from './preflight.js';
import { columnTypeChanges, type TypeChange } from './sessions.js';
import { countConversionIssues, type IssueCount } from './support.js';

export interface PlanTable {
  table: string;
  shadow: string;
  rowsEstimate: number;
  bytes: number;
  transformedColumns: { column: string; expression: string }[];
  newColumns: string[];
  indexes: string[];
  uniques: string[];
  checks: string[];
  foreignKeys: string[];
  triggers: string[];
}

export interface ConsolidationPlan {
  tables: PlanTable[];
  conversionIssues: IssueCount[];
  totalRows: number;
  extraDiskBytes: number;
  estimatedSeconds: number;
  steps: string[];
  assumptions: string[];
  /** column type changes: clients that cache prepared statements need `dfc cutover --reset-app-sessions` */
  typeChanges: TypeChange[];
}

/** Copy rate assumed for the estimate (rows/s); measured by bench/consolidate on a 2-core machine. */
const ASSUMED_ROWS_PER_SECOND = 150_000;
const ASSUMED_INDEX_ROWS_PER_SECOND = 1_000_000;

export async function planConsolidation(url: string): Promise<ConsolidationPlan> {
  const c = await connect(url, 'dfc-plan');
  try {
    await c.query('BEGIN READ ONLY');
    await preflight(c, { requireLegacy: true });
    const tables: PlanTable[] = [];
    const mapped = V2.tables.map((t) => mapTable(t, V2.tables));
    const present = [];
    for (const t of mapped) {
      const r = await c.query<{ rows: string; bytes: string }>(
        `SELECT greatest(cl.reltuples, 0)::bigint AS rows, pg_total_relation_size(cl.oid) AS bytes
           FROM pg_class cl WHERE cl.oid = to_regclass($1)`,
        [q(legacyLiveOf(t.def))],
      );
      const row = r.rows[0];
      if (row) present.push(t);
      const legacyCols = await c.query<{ attname: string }>(
        `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
        [q(legacyLiveOf(t.def))],
      );
      const legacyNames = new Set(legacyCols.rows.map((x) => x.attname));
      tables.push({
        table: `${t.def.legacy.schema}.${t.def.legacy.name}`,
        shadow: `${SHADOW_SCHEMA[t.def.schema]}.${t.def.name}`,
        rowsEstimate: Number(row?.rows ?? 0),
        bytes: Number(row?.bytes ?? 0),
        transformedColumns: t.targetColumns.forward
          .filter((x) => !/^\(s\."?[a-z_0-9]+"?\)$/.test(x.expr) && legacyNames.has(x.column))
          .map((x) => ({ column: x.column, expression: x.expr })),
        newColumns: t.def.columns.filter((col) => !legacyNames.has(col.name)).map((col) => col.name),
        indexes: t.def.indexes.map((i) => i.name),
        uniques: t.def.uniques.map((u) => u.name),
        checks: t.def.checks.map((k) => k.name),
        foreignKeys: t.def.foreignKeys.map((f) => f.name),
        triggers: t.def.triggers.map((g) => g.name),
      });
    }
    const conversionIssues = (await countConversionIssues(c, present)).filter((i) => i.count > 0);
    const typeChanges = await columnTypeChanges(c, V2);
    await c.query('ROLLBACK');
    const totalRows = tables.reduce((a, t) => a + t.rowsEstimate, 0);
    const indexCount = tables.reduce((a, t) => a + t.indexes.length + t.uniques.length, 0);
    return {
      tables,
      typeChanges,
      conversionIssues,
      totalRows,
      extraDiskBytes: tables.reduce((a, t) => a + t.bytes, 0),
      estimatedSeconds: Math.ceil(
        totalRows / ASSUMED_ROWS_PER_SECOND +
          (totalRows * 2) / ASSUMED_INDEX_ROWS_PER_SECOND +
          indexCount * 0.05,
      ),
      steps: [
        'check conversion issues (abort or quarantine)',
        `create schemas ${Object.values(SHADOW_SCHEMA).join(', ')} and ${tables.length} shadow tables (primary keys only)`,
        `install change capture on ${present.length} legacy tables`,
        'backfill every table in keyset batches, applying captured changes between batches',
        `build ${indexCount} indexes CONCURRENTLY, one at a time, outside transactions`,
        'add CHECK and FK constraints NOT VALID, then VALIDATE',
        'row-level security, comments, views and materialized views on the shadow; ANALYZE',
        'state ready_for_cutover (capture keeps running); then `dfc cutover`',
      ],
      assumptions: [
        `copy rate ${ASSUMED_ROWS_PER_SECOND} rows/s and index build ${ASSUMED_INDEX_ROWS_PER_SECOND} rows/s (2 cores, data in memory)`,
        'extra disk ≈ the current size of the legacy tables (shadow copy with its indexes) plus the capture log',
      ],
    };
  } finally {
    await c.end().catch(() => {});
  }
}
