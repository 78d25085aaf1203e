/**
 * cutover:move-matviews — fresh rollback schemas, and the legacy materialized views v2 replaces
 * moved into them. LOCK refuses materialized views, so this takes their lock, under the short
 * lock_timeout the lock step left in force.
 */
import type { Step } from '../../core/step.js';
import { build, ident, type SqlQuery, sql } from '../../sql/sql.js';
import { DF_SCHEMAS, ROLLBACK_SCHEMA } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';
import { moveSql } from './cutover-move.js';

/** Fresh rollback schemas (an earlier cutover's were emptied by its rollback). */
export function rollbackSchemasSql(): SqlQuery[] {
  return DF_SCHEMAS.flatMap((s) => [
    build(sql`DROP SCHEMA IF EXISTS ${ident(ROLLBACK_SCHEMA[s])} CASCADE`),
    build(sql`CREATE SCHEMA ${ident(ROLLBACK_SCHEMA[s])}`),
  ]);
}

export function cutoverMatviewsStep(count: number): Step<CutoverContext> {
  return {
    id: 'cutover:move-matviews',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary: `fresh ${Object.values(ROLLBACK_SCHEMA).join('/')}; ${count} legacy materialized views moved there (their lock under the short lock_timeout)`,
    }),
    async run(ctx) {
      const c = ctx.session.client;
      for (const q of rollbackSchemasSql()) await c.query(q);
      for (const m of ctx.matviews) await c.query(moveSql('m', m.rel, ROLLBACK_SCHEMA[m.schema]));
      // every lock of the attempt is held: nothing left to wait for
      ctx.blockers?.locking(false);
      return { matviews: ctx.matviews.length };
    },
  };
}
