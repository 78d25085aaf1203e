/**
 * cutover:reverse-capture — writes to v2 flow back to the rollback copy from the commit on: the
 * triggers cutover:capture-ready made on the shadow start by themselves now that the tables are
 * live, so this only proves it (one query; a table whose triggers were dropped in between gets
 * them here); schema_version_info says 2.0.
 */
import type { Step } from '../../core/step.js';
import { ensureCaptureUnderLock } from '../capture.js';
import { liveOf } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function cutoverReverseCaptureStep(): Step<CutoverContext> {
  return {
    id: 'cutover:reverse-capture',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary:
        'reverse capture (statement triggers with transition tables, ENABLE ALWAYS, made before the locks) live on every v2 table with a rollback copy; schema_version_info 2.0',
    }),
    async run(ctx) {
      const c = ctx.session.client;
      const created = await ensureCaptureUnderLock(c, ctx.present, (t) => liveOf(t.def), 'reverse');
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
      return { tables: ctx.present.length, createdUnderLock: created };
    },
  };
}
