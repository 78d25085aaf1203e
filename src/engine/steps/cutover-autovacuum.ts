/**
 * cutover:autovacuum — autovacuum back on for every v2 table (the shadow ran without it so no
 * worker could hold a lock the cutover needs). Owners and grants are not set here: cutover:carry
 * gives each v2 relation exactly legacy's owner and ACL (and column ACLs, RLS, policies…).
 */
import type { Step } from '../../core/step.js';
import { build, ident, sql } from '../../sql/sql.js';
import { allTables } from '../build.js';
import { liveOf } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export function autovacuumResetSql(ctx: Pick<CutoverContext, 'v2'>): string {
  return allTables(ctx.v2)
    .map(
      (t) =>
        build(sql`ALTER TABLE ${ident(liveOf(t))} RESET (autovacuum_enabled, toast.autovacuum_enabled)`).text,
    )
    .join(';\n');
}

export function cutoverAutovacuumStep(): Step<CutoverContext> {
  return {
    id: 'cutover:autovacuum',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({ summary: 'autovacuum back on for every v2 table (one round trip)' }),
    async run(ctx) {
      await ctx.session.client.query(autovacuumResetSql(ctx));
      return { tables: allTables(ctx.v2).length };
    },
  };
}
