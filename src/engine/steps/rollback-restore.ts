/**
 * rollback:sequences, rollback:functions, rollback:forward-capture — legacy as it was: sequences
 * past every value v2 handed out, the legacy function bodies and comments, forward capture on
 * every legacy table (the shadow, v2's former tables, stays current for the next cutover).
 */
import type pg from 'pg';
import type { Step } from '../../core/step.js';
import { sqlstate } from '../../errors.js';
import type { V2Definition } from '../../schema/v2/model.js';
import { build, ident, literal, sql } from '../../sql/sql.js';
import { allTables } from '../build.js';
import { ensureCaptureUnderLock } from '../capture.js';
import { legacyLiveOf, SHADOW_SCHEMA, shadowOf } from '../names.js';
import { currentFunctions, type RollbackPoint } from '../rollback-points.js';
import { ROLLBACK_PHASE, type RollbackContext } from './rollback-context.js';

/** Sequences of v2 tables with a legacy counterpart of the same name. */
export function sequencePairs(v2: V2Definition): { schema: 'public' | 'auth'; name: string }[] {
  const out: { schema: 'public' | 'auth'; name: string }[] = [];
  for (const t of allTables(v2))
    for (const col of t.columns)
      if (col.ownedSequence) out.push({ schema: t.schema, name: col.ownedSequence });
  return out;
}

export function rollbackSequencesStep(count: number): Step<RollbackContext> {
  return {
    id: 'rollback:sequences',
    phase: ROLLBACK_PHASE,
    tx: 'cutover-locks',
    describe: () => ({ summary: `advance ${count} legacy sequences past every value v2 handed out` }),
    async run(ctx) {
      const c = ctx.session.client;
      let advanced = 0;
      for (const s of sequencePairs(ctx.v2)) {
        const legacy = { schema: s.schema, name: s.name };
        const shadow = { schema: SHADOW_SCHEMA[s.schema], name: s.name };
        const ok = await c.query('SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS ok', [
          build(ident(legacy)).text,
          build(ident(shadow)).text,
        ]);
        if (!ok.rows[0]?.ok) continue;
        // the copy got v2's ids verbatim: continue past the larger of both
        await c.query(
          build(sql`SELECT setval(${build(ident(legacy)).text}::regclass, greatest(
                (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM ${ident(legacy)}),
                (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM ${ident(shadow)})), false)`),
        );
        advanced++;
      }
      return { advanced };
    },
  };
}

/** Legacy function bodies and comments as recorded; functions only v2 defines are dropped where nothing uses them. */
async function restoreFunctions(c: pg.ClientBase, point: RollbackPoint): Promise<string[]> {
  const recorded = new Map(point.details.functions.map((f) => [f.signature, f]));
  const kept: string[] = [];
  for (const f of await currentFunctions(c)) {
    const was = recorded.get(f.signature);
    if (!was) {
      await c.query('SAVEPOINT dfc_drop_fn');
      try {
        // the signature is pg's own quote_ident/identity-arguments rendering of an existing function
        await c.query(`DROP FUNCTION ${f.signature}`);
        await c.query('RELEASE SAVEPOINT dfc_drop_fn');
      } catch (e) {
        if (sqlstate(e) !== '2BP01') throw e;
        await c.query('ROLLBACK TO SAVEPOINT dfc_drop_fn');
        kept.push(f.signature);
      }
      continue;
    }
    if (f.def !== was.def) await c.query(was.def);
    if (f.comment !== was.comment || f.def !== was.def)
      await c.query(`COMMENT ON FUNCTION ${f.signature} IS ${build(literal(was.comment)).text}`);
  }
  return kept;
}

export function rollbackFunctionsStep(count: number): Step<RollbackContext> {
  return {
    id: 'rollback:functions',
    phase: ROLLBACK_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary: `restore ${count} legacy function definitions and comments; drop the functions only v2 has`,
    }),
    async run(ctx) {
      ctx.attempt.keptFunctions = await restoreFunctions(ctx.session.client, ctx.point);
      return { kept: ctx.attempt.keptFunctions.length };
    },
  };
}

export function rollbackForwardCaptureStep(count: number): Step<RollbackContext> {
  return {
    id: 'rollback:forward-capture',
    phase: ROLLBACK_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary: `forward capture on ${count} legacy tables (the copy kept its triggers, dormant: live again in public/auth; the shadow stays current for the next cutover)`,
    }),
    async run(ctx) {
      const c = ctx.session.client;
      // a copy made by an earlier version has none: created here
      const created = await ensureCaptureUnderLock(c, ctx.tables, (t) => legacyLiveOf(t.def), 'forward');
      // as before the first cutover: no autovacuum worker may hold a shadow lock the next cutover
      // needs (one round trip)
      await c.query(
        allTables(ctx.v2)
          .map(
            (t) =>
              build(
                sql`ALTER TABLE ${ident(shadowOf(t))} SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)`,
              ).text,
          )
          .join(';\n'),
      );
      return { tables: ctx.tables.length, createdUnderLock: created };
    },
  };
}
