/**
 * The one planner: builds the consolidate plan from the live catalog (which legacy tables exist,
 * their sizes, the server's capabilities) and the v2 definition. `consolidate` runs this plan;
 * `consolidate --dry-run` prints its describe() output.
 */
import type { Plan } from '../core/step.js';
import type { Session } from '../db/session.js';
import type { TableDef, V2Definition } from '../schema/v2/model.js';
import { build, ident, sql } from '../sql/sql.js';
import { allTables } from './build.js';
import type { MappedTable } from './mapping.js';
import { legacyLiveOf, relKey } from './names.js';
import { setRunState } from './state.js';
import { analyzeStartStep, analyzeStep } from './steps/analyze.js';
import { backfillStep } from './steps/backfill.js';
import { captureInstallStep, captureReverseStep } from './steps/capture-install.js';
import { catchUpStep } from './steps/catch-up.js';
import { checkConversionStep, conversionResultStep } from './steps/check-conversion.js';
import { constraintsStep } from './steps/constraints.js';
import type { ConsolidateContext, LegacyEstimate } from './steps/context.js';
import { finishTableStep } from './steps/finish-table.js';
import { indexesStep } from './steps/indexes.js';
import { primaryKeyStep } from './steps/primary-key.js';
import { readyStep } from './steps/ready.js';
import { shadowCreateStep } from './steps/shadow-create.js';
import { viewsStep } from './steps/views.js';

export interface PlannerInput {
  v2: V2Definition;
  /** every v2 table mapped from legacy (mappedTables(v2)) */
  mapped: MappedTable[];
  backfillMode: 'auto' | 'pk';
}

export interface ConsolidatePlanning {
  plan: Plan<ConsolidateContext>;
  /** mapped tables whose legacy table exists here */
  present: MappedTable[];
  estimates: Map<string, LegacyEstimate>;
}

/** Row estimate and size of every legacy table that exists, keyed by its capture name. */
export async function legacyEstimates(
  s: Session,
  mapped: MappedTable[],
): Promise<Map<string, LegacyEstimate>> {
  const out = new Map<string, LegacyEstimate>();
  for (const t of mapped) {
    const r = await s.query<{ rows: string; bytes: string }>(
      sql`SELECT greatest(cl.reltuples, 0)::bigint AS rows, pg_total_relation_size(cl.oid) AS bytes
            FROM pg_class cl WHERE cl.oid = to_regclass(${build(ident(legacyLiveOf(t.def))).text})`,
    );
    const row = r.rows[0];
    if (row) out.set(t.captureName.forward, { rows: Number(row.rows), bytes: Number(row.bytes) });
  }
  return out;
}

export async function planConsolidate(s: Session, input: PlannerInput): Promise<ConsolidatePlanning> {
  const { v2, mapped } = input;
  const estimates = await legacyEstimates(s, mapped);
  const present = mapped.filter((t) => estimates.has(t.captureName.forward));
  const walk = s.caps.blockRangeBackfill && input.backfillMode === 'auto' ? 'block ranges' : 'keyset';
  // by schema.name: a mapped table's def is mapTable's copy of the v2 table, not the same object
  const byName = new Map(present.map((m) => [relKey(m.def), m]));
  const sourceOf = (t: TableDef) => byName.get(relKey(t));
  const rowsOf = (t: TableDef) => {
    const m = sourceOf(t);
    return m ? (estimates.get(m.captureName.forward)?.rows ?? 0) : 0;
  };
  // every concurrent group runs biggest table first (so it does not start last on one lane);
  // Array.sort is stable, so tables of equal size keep the definition's order
  const tables = allTables(v2).sort((a, b) => rowsOf(b) - rowsOf(a));
  const copied = tables.flatMap((t) => sourceOf(t) ?? []);
  const plan: Plan<ConsolidateContext> = {
    name: 'consolidate',
    phases: [
      {
        id: 'phase1_validation',
        title: 'phase 1: rows that cannot convert',
        steps: [checkConversionStep(present.reduce((a, t) => a + t.issues.length, 0))],
      },
      {
        id: 'phase2_shadow',
        title: 'phase 2: shadow tables and change capture',
        enter: async (ctx) =>
          ctx.emit({ type: 'phase', phase: 'shadow', message: 'phase 2: shadow tables and change capture' }),
        steps: [
          shadowCreateStep(v2),
          captureInstallStep(present),
          ...copied.map((t) => backfillStep(t, estimates.get(t.captureName.forward)!, walk)),
        ],
      },
      {
        id: 'phase3_optimization',
        title: 'phase 3: indexes, constraints, views',
        enter: async (ctx) => {
          ctx.emit({ type: 'phase', phase: 'optimize', message: 'phase 3: indexes, constraints, views' });
          await setRunState(ctx.session.client, ctx.runId, 'optimizing');
        },
        steps: [
          // the copy went into bare heaps; now the keys, then the changes captured meanwhile
          ...tables.map((t) => primaryKeyStep(t, sourceOf(t) !== undefined)),
          catchUpStep('capture:catch-up', 'before the indexes'),
          ...tables.map((t) => indexesStep(t, rowsOf(t))),
          analyzeStartStep(),
          ...tables.map((t) => constraintsStep(t, 'check')),
          catchUpStep('capture:catch-up-2', 'before the foreign keys'),
          ...tables.map((t) => constraintsStep(t, 'fk')),
          ...tables.map((t) => finishTableStep(t)),
          viewsStep(),
          conversionResultStep(),
          analyzeStep(),
          captureReverseStep(present),
          readyStep(),
        ],
      },
    ],
  };
  return { plan, present, estimates };
}
