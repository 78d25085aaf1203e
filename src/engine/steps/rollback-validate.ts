/**
 * rollback:validate — checks in the rollback transaction, cheap and independent of table size;
 * COMMIT only if every one passes (the fault seam's failValidation adds a failing one).
 */
import type pg from 'pg';
import type { Step } from '../../core/step.js';
import { captureCompleteSql, captureThatCanFire } from '../capture.js';
import type { MappedTable } from '../mapping.js';
import { legacyLiveOf, q, ROLLBACK_SCHEMA, SHADOW_SCHEMA } from '../names.js';
import type { RollbackCheck } from '../rollback-check.js';
import { currentFunctions, type RollbackPoint, relOf } from '../rollback-points.js';
import { requireValidation } from './cutover-context.js';
import { ROLLBACK_PHASE, type RollbackContext } from './rollback-context.js';

export function rollbackValidateStep(): Step<RollbackContext> {
  return {
    id: 'rollback:validate',
    phase: ROLLBACK_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary:
        'validate in the transaction (backlog empty, every relation in place, capture swapped, no invalid index, schema_migrations clean at 17); COMMIT only if it passes',
    }),
    async run(ctx) {
      const validation = await validateRollback(ctx.session.client, ctx.point, ctx.tables);
      ctx.attempt.validation = validation;
      requireValidation(
        'rollback',
        validation,
        ctx.faults,
        `inspect the failed checks (details in --json), fix the cause, then run \`dfc rollback execute ${ctx.point.id} --reason …\` again`,
      );
      return { checks: validation.length };
    },
  };
}

/** Checks in the rollback transaction; cheap and independent of table size. */
export async function validateRollback(
  c: pg.ClientBase,
  point: RollbackPoint,
  tables: MappedTable[],
): Promise<RollbackCheck[]> {
  const checks: RollbackCheck[] = [];
  const backlog = await c.query<{ n: string }>(
    `SELECT count(*) AS n FROM consolidation.capture_log WHERE direction = 'reverse'`,
  );
  checks.push({
    check: 'reverse capture fully applied',
    passed: backlog.rows[0]?.n === '0',
    details: backlog.rows[0],
  });
  const rels = (where: 'live' | 'shadow', ms: RollbackPoint['details']['movedIn']) =>
    ms.map((m) => q(relOf(m, where)));
  const missing = await c.query<{ name: string }>(
    'SELECT x.name FROM unnest($1::text[]) AS x(name) WHERE to_regclass(x.name) IS NULL',
    [[...rels('live', point.details.movedOut), ...rels('shadow', point.details.movedIn)]],
  );
  checks.push({
    check: 'every legacy relation is live and every v2 relation is in the shadow',
    passed: missing.rows.length === 0,
    details: missing.rows,
  });
  const leftover = await c.query(
    `SELECT n.nspname, cl.relname FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = ANY ($1) AND cl.relkind IN ('r','p','v','m')`,
    [Object.values(ROLLBACK_SCHEMA)],
  );
  checks.push({
    check: 'rollback schemas are empty',
    passed: leftover.rows.length === 0,
    details: leftover.rows,
  });
  // v2, now the shadow, keeps its reverse triggers, dormant (their functions log only in public/auth)
  const reverse = await captureThatCanFire(c, 'reverse');
  checks.push({
    check: 'no reverse capture can fire (none on a live relation, no row trigger on the shadow)',
    passed: reverse.length === 0,
    details: reverse,
  });
  const forward = await c.query<{ n: string }>(
    `SELECT count(*) AS n FROM unnest($1::regclass[]) AS x(rel) WHERE ${captureCompleteSql('x.rel', 'forward')}`,
    [tables.map((t) => q(legacyLiveOf(t.def)))],
  );
  checks.push({
    check: 'forward capture on every legacy table',
    passed: Number(forward.rows[0]?.n) === tables.length,
    details: { expected: tables.length, found: Number(forward.rows[0]?.n) },
  });
  const invalid = await c.query(
    `SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
      WHERE n.nspname IN ('public','auth') AND NOT (i.indisvalid AND i.indisready)`,
  );
  checks.push({ check: 'no invalid index', passed: invalid.rows.length === 0, details: invalid.rows });
  // nothing live may still point at a v2 relation now in the shadow (a view, an FK, a trigger)
  const dependents = await c.query(
    `SELECT DISTINCT d.classid::regclass::text AS kind, d.objid, ref.relname AS v2_relation
       FROM pg_depend d JOIN pg_class ref ON ref.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = ref.relnamespace
      WHERE d.refclassid = 'pg_class'::regclass AND rn.nspname = ANY ($1) AND d.deptype IN ('n','a')
        AND COALESCE(
          (SELECT xn.nspname FROM pg_class o JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_class'::regclass AND o.oid = d.objid),
          (SELECT xn.nspname FROM pg_rewrite rw JOIN pg_class o ON o.oid = rw.ev_class JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_rewrite'::regclass AND rw.oid = d.objid),
          (SELECT xn.nspname FROM pg_constraint k JOIN pg_class o ON o.oid = k.conrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_constraint'::regclass AND k.oid = d.objid),
          (SELECT xn.nspname FROM pg_trigger tg JOIN pg_class o ON o.oid = tg.tgrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_trigger'::regclass AND tg.oid = d.objid),
          (SELECT xn.nspname FROM pg_policy po JOIN pg_class o ON o.oid = po.polrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_policy'::regclass AND po.oid = d.objid),
          (SELECT xn.nspname FROM pg_attrdef ad JOIN pg_class o ON o.oid = ad.adrelid JOIN pg_namespace xn ON xn.oid = o.relnamespace WHERE d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid),
          '') <> ALL ($1)`,
    [Object.values(SHADOW_SCHEMA)],
  );
  checks.push({
    check: 'no live object depends on a v2 relation',
    passed: dependents.rows.length === 0,
    details: dependents.rows,
  });
  const current = new Map((await currentFunctions(c)).map((f) => [f.signature, f.def]));
  const changed = point.details.functions
    .filter((f) => current.get(f.signature) !== f.def)
    .map((f) => f.signature);
  checks.push({
    check: 'every legacy function as it was before cutover',
    passed: changed.length === 0,
    details: changed,
  });
  const sm = await c.query<{ version: string; dirty: boolean }>(
    'SELECT version, dirty FROM public.schema_migrations',
  );
  checks.push({
    check: 'schema_migrations is clean at 17',
    passed: sm.rows.length === 1 && Number(sm.rows[0]!.version) === 17 && !sm.rows[0]!.dirty,
    details: sm.rows,
  });
  return checks;
}
