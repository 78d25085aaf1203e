/**
 * capture:install — the forward capture triggers on every legacy table, before any row is copied;
 * capture:reverse — the reverse ones on every shadow table once it is built, dormant until the
 * cutover moves it into public/auth (capture.ts), so the cutover's locks do no trigger DDL.
 */
import type { Step } from '../../core/step.js';
import type { Session } from '../../db/session.js';
import { build, ident, sql } from '../../sql/sql.js';
import {
  captureTriggerNames,
  dropCaptureSql,
  ensureCaptureFunctions,
  installCapture,
  installCaptures,
} from '../capture.js';
import type { EventSink } from '../events.js';
import type { MappedTable } from '../mapping.js';
import { legacyLiveOf, q, shadowOf } from '../names.js';
import { setRunState } from '../state.js';
import type { ConsolidateContext } from './context.js';
import { BlockerWatch } from './cutover-blockers.js';

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
      const watch = await blockerWatch(ctx);
      try {
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
      } finally {
        await watch?.stop();
      }
      // journaled without the statements' text (the events carry it): who, and what was done
      const blockers = watch?.reports.map(({ pid, user, application, action, reason }) => ({
        pid,
        user,
        application,
        action,
        ...(reason ? { reason } : {}),
      }));
      return { tables: ctx.tables.length, ...(blockers ? { blockers } : {}) };
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

/**
 * With --cancel-blockers-after: the cutover's blocker watch on this session, armed for the whole
 * step (pg_blocking_pids is empty whenever the session is not waiting), its clock started now.
 */
async function blockerWatch(ctx: ConsolidateContext): Promise<BlockerWatch | undefined> {
  if (ctx.cancelBlockersAfterMs === undefined || !ctx.url) return undefined;
  const rels = ctx.tables.map((t) => legacyLiveOf(t.def));
  const watch = await BlockerWatch.start(
    ctx.url,
    ctx.session.client,
    rels,
    ctx.cancelBlockersAfterMs,
    ctx.emit,
  );
  watch.trying();
  watch.locking(true);
  return watch;
}

export function captureReverseStep(tables: MappedTable[]): Step<ConsolidateContext> {
  return {
    id: 'capture:reverse',
    phase: 'phase3_optimization',
    tx: 'none',
    describe: () => ({
      summary: `reverse capture on ${tables.length} shadow tables, dormant until the cutover moves them into public/auth (after the copy: a bulk load never builds their transition tables)`,
    }),
    async run(ctx) {
      const created = await installReverseOnShadow(ctx.session, ctx.tables, ctx.emit);
      return { tables: ctx.tables.length, created };
    },
    async undo(ctx) {
      const c = ctx.session.client;
      for (const t of ctx.tables) {
        const on = shadowOf(t.def);
        const there = await c.query<{ e: boolean }>('SELECT to_regclass($1) IS NOT NULL AS e', [q(on)]);
        if (!there.rows[0]!.e) continue;
        await ctx.session.retry(`removing reverse capture from ${on.schema}.${on.name}`, () =>
          c.query(dropCaptureSql(on, 'reverse')),
        );
      }
      return { tables: ctx.tables.length };
    },
  };
}

/** Reverse capture on the shadow of every table (consolidate's capture:reverse, the cutover's check). */
export function installReverseOnShadow(s: Session, tables: MappedTable[], emit: EventSink): Promise<number> {
  return installCaptures(
    s,
    tables,
    (t) => shadowOf(t.def),
    'reverse',
    (rel, attempt, waitMs) =>
      emit({ type: 'retry', what: `reverse capture on ${rel.schema}.${rel.name}`, attempt, waitMs }),
  );
}
