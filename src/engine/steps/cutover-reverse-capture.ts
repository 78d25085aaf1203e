/** cutover:reverse-capture — writes to v2 flow back to the rollback copy from the commit on; schema_version_info says 2.0. */
import type { Step } from '../../core/step.js';
import { createCaptureTriggerSql, ensureCaptureFunctions } from '../capture.js';
import { liveOf } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverReverseCaptureStep(): Step<CutoverContext> {
  return {
    id: 'cutover:reverse-capture',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary:
        'reverse capture (statement triggers with transition tables, ENABLE ALWAYS) on every v2 table with a rollback copy; schema_version_info 2.0',
    }),
    async run(ctx) {
      const c = ctx.session.client;
      // the functions are normally current already (capture:install creates both directions'): one lookup
      await ensureCaptureFunctions(c, ctx.present, 'reverse');
      // one round trip for all of them (DDL without parameters); the v2 tables were shadows a moment
      // ago and carry no capture trigger, so no drops first
      if (ctx.present.length)
        await c.query(
          ctx.present
            .map((t) => createCaptureTriggerSql(t, liveOf(t.def), 'reverse', { fresh: true }))
            .join(';\n'),
        );
      await c.query(
        `DO $$ BEGIN
           IF to_regclass('public.schema_version_info') IS NOT NULL THEN
             INSERT INTO public.schema_version_info (version_number, version_name, baseline_date, migration_count, consolidation_completed, notes)
             VALUES ('2.0', 'Consolidated Schema v2 (online consolidation)', now(), 17, true,
                     'consolidated from legacy 000001-000017 by dfc; legacy tables kept in dfc_rollback_public/dfc_rollback_auth')
             ON CONFLICT (version_number) DO UPDATE SET consolidation_completed = true, baseline_date = now(), notes = EXCLUDED.notes;
           END IF;
         END $$`,
      );
      return { tables: ctx.present.length };
    },
  };
}
