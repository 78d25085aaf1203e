/** capture:install — the forward capture trigger on every legacy table, before any row is copied. */
import type { Step } from '../../core/step.js';
import { build, ident, sql } from '../../sql/sql.js';
import { captureTriggerNames, dropCaptureSql, ensureCaptureFunctions, installCapture } from '../capture.js';
import type { MappedTable } from '../mapping.js';
import { legacyLiveOf } from '../names.js';
import { setRunState } from '../state.js';
import type { ConsolidateContext } from './context.js';

export function captureInstallStep(tables: MappedTable[]): Step<ConsolidateContext> {
  return {
    id: 'capture:install',
    phase: 'phase2_shadow',
    tx: 'none',
    describe: () => ({
      summary: `install change capture (statement triggers with transition tables + BEFORE TRUNCATE, ENABLE ALWAYS) on ${tables.length} legacy tables, each under the short lock_timeout with retries`,
    }),
    async run(ctx) {
      const c = ctx.session.client;
      await setRunState(c, ctx.runId, 'capturing');
      // the reverse functions too, outside any lock: the cutover then only checks they are current
      await ensureCaptureFunctions(c, ctx.tables, 'reverse');
      for (const t of ctx.tables) {
        const on = legacyLiveOf(t.def);
        await installCapture(ctx.session, t, on, 'forward', (attempt, waitMs) =>
          ctx.emit({ type: 'retry', what: `capture trigger on ${on.schema}.${on.name}`, attempt, waitMs }),
        );
        await c.query(
          build(sql`INSERT INTO consolidation.engine_tables (run_id, table_name, rows_estimate)
           SELECT ${ctx.runId}, ${t.captureName.forward}, greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = ${build(ident(on)).text}::regclass
           ON CONFLICT DO NOTHING`),
        );
      }
      return { tables: ctx.tables.length };
    },
    /** remove every forward capture trigger the catalog shows, whichever run put it there */
    async undo(ctx) {
      const triggers = await ctx.session.client.query<{ schema: string; name: string }>(
        `SELECT n.nspname AS schema, cl.relname AS name FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid
           JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE tg.tgname = ANY ($1) AND n.nspname IN ('public','auth') GROUP BY 1, 2`,
        [captureTriggerNames('forward')],
      );
      for (const t of triggers.rows)
        await ctx.session.retry(`removing capture from ${t.schema}.${t.name}`, () =>
          ctx.session.client.query(dropCaptureSql(t, 'forward')),
        );
      return { triggersRemoved: triggers.rows.length };
    },
  };
}
