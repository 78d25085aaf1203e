/**
 * `dfc consolidate --dry-run`: the consolidate plan the planner builds — the same steps, in the
 * same order, that `dfc consolidate` runs — with each step's description and estimates, plus per
 * table what moves and how, the conversion issues found, estimated duration and extra disk.
 * Reads only, in a READ ONLY transaction.
 */
import { describePlan, type StepDescription, type TxMode } from '../core/step.js';
import { Session } from '../db/session.js';
import { V2 } from '../schema/v2/index.js';
import { mappedTables } from './consolidate.js';
import { legacyLiveOf, q, SHADOW_SCHEMA } from './names.js';
import { planConsolidate } from './planner.js';
import { preflight } from './preflight.js';
import { columnTypeChanges, type TypeChange } from './sessions.js';
import { ASSUMED_INDEX_ROWS_PER_SECOND, ASSUMED_ROWS_PER_SECOND } from './steps/context.js';
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

export interface PlanStep {
  id: string;
  phase: string;
  tx: TxMode;
  /** runs beside its concurrent neighbours, one per session (`--lanes`) */
  concurrent?: true;
  description: StepDescription;
}

export interface ConsolidationPlan {
  tables: PlanTable[];
  conversionIssues: IssueCount[];
  totalRows: number;
  extraDiskBytes: number;
  estimatedSeconds: number;
  /** exactly the steps `dfc consolidate` runs (and journals), in order */
  steps: PlanStep[];
  assumptions: string[];
  /** column type changes: clients that cache prepared statements need `dfc cutover --reset-app-sessions` */
  typeChanges: TypeChange[];
}

export async function planConsolidation(
  url: string,
  opts: { backfillMode?: 'auto' | 'pk' } = {},
): Promise<ConsolidationPlan> {
  const s = await Session.open(url, 'dfc-plan');
  const c = s.client;
  try {
    await c.query('BEGIN READ ONLY');
    await preflight(c, { requireLegacy: true });
    const mapped = mappedTables(V2);
    const { plan, present, estimates } = await planConsolidate(s, {
      v2: V2,
      mapped,
      backfillMode: opts.backfillMode ?? 'auto',
    });
    const tables: PlanTable[] = [];
    for (const t of mapped) {
      const est = estimates.get(t.captureName.forward);
      const legacyCols = await c.query<{ attname: string }>(
        `SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
        [q(legacyLiveOf(t.def))],
      );
      const legacyNames = new Set(legacyCols.rows.map((x) => x.attname));
      tables.push({
        table: `${t.def.legacy.schema}.${t.def.legacy.name}`,
        shadow: `${SHADOW_SCHEMA[t.def.schema]}.${t.def.name}`,
        rowsEstimate: est?.rows ?? 0,
        bytes: est?.bytes ?? 0,
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
    const steps = describePlan(plan);
    const totalRows = tables.reduce((a, t) => a + t.rowsEstimate, 0);
    return {
      tables,
      typeChanges,
      conversionIssues,
      totalRows,
      extraDiskBytes: tables.reduce((a, t) => a + t.bytes, 0),
      estimatedSeconds: Math.ceil(steps.reduce((a, x) => a + (x.description.seconds ?? 0), 0)),
      steps,
      assumptions: [
        `copy rate ${ASSUMED_ROWS_PER_SECOND} rows/s and index build ${ASSUMED_INDEX_ROWS_PER_SECOND} rows/s (2 cores, data in memory)`,
        'extra disk ≈ the current size of the legacy tables (shadow copy with its indexes) plus the capture log',
        `PostgreSQL ${s.caps.major}: backfill by ${s.caps.blockRangeBackfill ? 'block ranges (TID range scans)' : 'keyset (block ranges need 14+)'}`,
      ],
    };
  } finally {
    await s.close();
  }
}
