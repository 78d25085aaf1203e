/**
 * rollback:validate — checks in the rollback transaction, cheap and independent of table size;
 * COMMIT only if every one passes (the fault seam's failValidation adds a failing one).
 */
import type pg from 'pg';
import type { Step } from '../../core/step.js';
import { captureCompleteSql, captureThatCanFireSql } from '../capture.js';
import type { MappedTable } from '../mapping.js';
import { legacyLiveOf, q, ROLLBACK_SCHEMA, SHADOW_SCHEMA } from '../names.js';
import type { RollbackCheck } from '../rollback-check.js';
import { CURRENT_FUNCTIONS_SQL, type RollbackPoint, relOf } from '../rollback-points.js';
import { requireValidation } from './cutover-context.js';
import { dependentsOutsideSql, rowsOf } from './cutover-validate.js';
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

/**
 * Checks in the rollback transaction; cheap and independent of table size, and read in one query
 * (one round trip under the locks, as the cutover's).
 */
export async function validateRollback(
  c: pg.ClientBase,
  point: RollbackPoint,
  tables: MappedTable[],
): Promise<RollbackCheck[]> {
  const rels = (where: 'live' | 'shadow', ms: RollbackPoint['details']['movedIn']) =>
    ms.map((m) => q(relOf(m, where)));
  const r = await c.query<{
    backlog: string;
    missing: { name: string }[];
    leftover: { nspname: string; relname: string }[];
    reverse: { rel: string }[];
    forward: string;
    invalid: { relname: string }[];
    dependents: { kind: string; objid: number; v2_relation: string }[];
    functions: { signature: string; def: string }[];
    migrations: { version: string; dirty: boolean }[];
  }>(
    `SELECT (SELECT count(*) FROM consolidation.capture_log WHERE direction = 'reverse') AS backlog,
       ${rowsOf('SELECT x.name FROM unnest($1::text[]) AS x(name) WHERE to_regclass(x.name) IS NULL')} AS missing,
       ${rowsOf(
         `SELECT n.nspname, cl.relname FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
           WHERE n.nspname = ANY ($2::text[]) AND cl.relkind IN ('r','p','v','m')`,
       )} AS leftover,
       -- v2, now the shadow, keeps its reverse triggers, dormant (their functions log only in public/auth)
       ${rowsOf(captureThatCanFireSql('reverse'))} AS reverse,
       (SELECT count(*) FROM unnest($3::text[]) AS x(rel) WHERE ${captureCompleteSql('to_regclass(x.rel)', 'forward')}) AS forward,
       ${rowsOf(
         `SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
           WHERE n.nspname IN ('public','auth') AND NOT (i.indisvalid AND i.indisready)`,
       )} AS invalid,
       -- nothing live may still point at a v2 relation now in the shadow (a view, an FK, a trigger)
       ${rowsOf(dependentsOutsideSql('$4::text[]', 'v2_relation'))} AS dependents,
       ${rowsOf(CURRENT_FUNCTIONS_SQL)} AS functions,
       ${rowsOf('SELECT version, dirty FROM public.schema_migrations')} AS migrations`,
    [
      [...rels('live', point.details.movedOut), ...rels('shadow', point.details.movedIn)],
      Object.values(ROLLBACK_SCHEMA),
      tables.map((t) => q(legacyLiveOf(t.def))),
      Object.values(SHADOW_SCHEMA),
    ],
  );
  const x = r.rows[0]!;
  const current = new Map(x.functions.map((f) => [f.signature, f.def]));
  const changed = point.details.functions
    .filter((f) => current.get(f.signature) !== f.def)
    .map((f) => f.signature);
  const sm = x.migrations;
  return [
    { check: 'reverse capture fully applied', passed: x.backlog === '0', details: { n: x.backlog } },
    {
      check: 'every legacy relation is live and every v2 relation is in the shadow',
      passed: x.missing.length === 0,
      details: x.missing,
    },
    { check: 'rollback schemas are empty', passed: x.leftover.length === 0, details: x.leftover },
    {
      check: 'no reverse capture can fire (none on a live relation, no row trigger on the shadow)',
      passed: x.reverse.length === 0,
      details: x.reverse,
    },
    {
      check: 'forward capture on every legacy table',
      passed: Number(x.forward) === tables.length,
      details: { expected: tables.length, found: Number(x.forward) },
    },
    { check: 'no invalid index', passed: x.invalid.length === 0, details: x.invalid },
    {
      check: 'no live object depends on a v2 relation',
      passed: x.dependents.length === 0,
      details: x.dependents,
    },
    {
      check: 'every legacy function as it was before cutover',
      passed: changed.length === 0,
      details: changed,
    },
    {
      check: 'schema_migrations is clean at 17',
      passed: sm.length === 1 && Number(sm[0]!.version) === 17 && !sm[0]!.dirty,
      details: sm,
    },
  ];
}
