/** rollback:move — reverse capture and v2's triggers off; v2 to the shadow schemas, the copy back to public/auth (SET SCHEMA only). */
import type { Step } from '../../core/step.js';
import { build, ident, sql } from '../../sql/sql.js';
import { allTables } from '../build.js';
import { captureTriggerName, dropCaptureSql } from '../capture.js';
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
        `drop reverse capture (${captureTriggerName('reverse')}) and the v2 triggers on the v2 tables`,
        `SET SCHEMA to ${Object.values(SHADOW_SCHEMA).join('/')}: ${list(movedIn.map((m) => q(relOf(m, 'live'))))}`,
        `SET SCHEMA to public/auth: ${list(movedOut.map((m) => q(relOf(m, 'rollback'))))}`,
      ].join('; '),
    }),
    async run(ctx) {
      const c = ctx.session.client;
      for (const t of ctx.tables) await c.query(dropCaptureSql(liveOf(t.def), 'reverse'));
      // v2's triggers leave with v2: the next cutover creates them again
      for (const t of allTables(ctx.v2))
        for (const trg of t.triggers)
          await c.query(build(sql`DROP TRIGGER IF EXISTS ${ident(trg.name)} ON ${ident(liveOf(t))}`));
      for (const m of byKind(movedIn.filter((x) => x.kind !== 'm')))
        await c.query(moveSql(m.kind, relOf(m, 'live'), SHADOW_SCHEMA[m.schema]));
      for (const m of byKind(movedOut)) await c.query(moveSql(m.kind, relOf(m, 'rollback'), m.schema));
      return { movedIn: movedIn.length, movedOut: movedOut.length };
    },
  };
}
