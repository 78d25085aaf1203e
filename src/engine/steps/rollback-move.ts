/**
 * rollback:move — v2's own triggers off; v2 to the shadow schemas (its reverse capture goes
 * dormant there, capture.ts), the copy back to public/auth (its forward capture starts again);
 * SET SCHEMA only, in one round trip.
 */
import type { Step } from '../../core/step.js';
import { build, ident, sql } from '../../sql/sql.js';
import { allTables } from '../build.js';
import { captureTriggerName, ensureCaptureFunctions, rowCaptureDropsSql } from '../capture.js';
import { liveOf, q, SHADOW_SCHEMA } from '../names.js';
import { type MovedRel, relOf } from '../rollback-points.js';
import { moveSql } from './cutover-move.js';
import { ROLLBACK_PHASE, type RollbackContext } from './rollback-context.js';

const list = (xs: string[]) =>
  xs.length > 8 ? `${xs.slice(0, 8).join(', ')} … (${xs.length})` : xs.join(', ');
const order = (k: string) => (k === 'v' ? 0 : k === 'm' ? 1 : 2);
// views first: they follow OIDs, so they move independently of their tables
const byKind = (xs: MovedRel[]) => [...xs].sort((a, b) => order(a.kind) - order(b.kind));

export function rollbackMoveStep(movedIn: MovedRel[], movedOut: MovedRel[]): Step<RollbackContext> {
  return {
    id: 'rollback:move',
    phase: ROLLBACK_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary: [
        `drop the v2 triggers on the v2 tables (reverse capture, ${captureTriggerName('reverse')}, stays: dormant in the shadow)`,
        `SET SCHEMA to ${Object.values(SHADOW_SCHEMA).join('/')}: ${list(movedIn.map((m) => q(relOf(m, 'live'))))}`,
        `SET SCHEMA to public/auth: ${list(movedOut.map((m) => q(relOf(m, 'rollback'))))}`,
      ].join('; '),
    }),
    async run(ctx) {
      const c = ctx.session.client;
      // reverse capture functions current (an earlier version's had no dormancy guard), and an
      // earlier version's row trigger, which has none either, dropped
      await ensureCaptureFunctions(c, ctx.tables, 'reverse');
      const rowDrops = await rowCaptureDropsSql(
        c,
        ctx.tables.map((t) => liveOf(t.def)),
        'reverse',
      );
      const statements = [
        ...(rowDrops ? [rowDrops] : []),
        // v2's triggers leave with v2: the next cutover creates them again
        ...allTables(ctx.v2).flatMap((t) =>
          t.triggers.map(
            (trg) => build(sql`DROP TRIGGER IF EXISTS ${ident(trg.name)} ON ${ident(liveOf(t))}`).text,
          ),
        ),
        ...byKind(movedIn.filter((x) => x.kind !== 'm')).map(
          (m) => moveSql(m.kind, relOf(m, 'live'), SHADOW_SCHEMA[m.schema]).text,
        ),
        ...byKind(movedOut).map((m) => moveSql(m.kind, relOf(m, 'rollback'), m.schema).text),
      ];
      // one round trip: none takes a parameter
      await c.query(statements.join(';\n'));
      return { movedIn: movedIn.length, movedOut: movedOut.length };
    },
  };
}
