/**
 * cutover:autovacuum — after the commit, autovacuum back on for every v2 table (the shadow ran
 * without it so no worker could hold a lock the cutover needs). Out of the locks: RESET of a
 * storage option takes SHARE UPDATE EXCLUSIVE, which no application read or write waits for.
 * Owners and grants are not set here: cutover:carry gives each v2 relation exactly legacy's owner and ACL (and column ACLs, RLS, policies…).
 */
import type { Step } from '../../core/step.js';
import { allTables } from '../build.js';
import { legacyRollbackOf, liveOf, q } from '../names.js';
import { AFTER_CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

/**
 * Per v2 table, which of autovacuum_enabled / toast.autovacuum_enabled legacy set explicitly
 * (cutover:carry gave v2 those values: they stay); the others are reset.
 */
async function autovacuumResetSql(ctx: CutoverContext): Promise<string> {
  const copyOf = new Map(ctx.present.map((t) => [q(liveOf(t.def)), q(legacyRollbackOf(t.def))]));
  const v2 = allTables(ctx.v2).map((t) => q(liveOf(t)));
  const set = await ctx.session.client.query<{ v2: string; own: boolean; toast: boolean }>(
    `SELECT x.v2,
            coalesce((SELECT bool_or(split_part(o, '=', 1) = 'autovacuum_enabled') FROM pg_class cl, unnest(cl.reloptions) o
                       WHERE cl.oid = to_regclass(x.copy)), false) AS own,
            coalesce((SELECT bool_or(split_part(o, '=', 1) = 'autovacuum_enabled') FROM pg_class cl JOIN pg_class tc ON tc.oid = cl.reltoastrelid,
                             unnest(tc.reloptions) o WHERE cl.oid = to_regclass(x.copy)), false) AS toast
       FROM unnest($1::text[], $2::text[]) AS x(v2, copy)`,
    [v2, v2.map((r) => copyOf.get(r) ?? null)],
  );
  return set.rows
    .map((r) => {
      const reset = [
        ...(r.own ? [] : ['autovacuum_enabled']),
        ...(r.toast ? [] : ['toast.autovacuum_enabled']),
      ];
      // names from the shipped definition and fixed option names: no input in this DDL
      return reset.length ? `ALTER TABLE ${r.v2} RESET (${reset.join(', ')})` : '';
    })
    .filter(Boolean)
    .join(';\n');
}

export function cutoverAutovacuumStep(): Step<CutoverContext> {
  return {
    id: 'cutover:autovacuum',
    phase: AFTER_CUTOVER_PHASE,
    tx: 'none',
    describe: () => ({
      summary:
        'autovacuum back on for every v2 table (after the commit; where legacy set autovacuum_enabled itself, its value, carried, stays)',
    }),
    async run(ctx) {
      const reset = await autovacuumResetSql(ctx);
      // one implicit transaction; a GRANT committed beside it (it waited for the cutover's locks on
      // PostgreSQL 18) makes it lose a catalog race: retried with the cutover's lock discipline
      if (reset) await ctx.session.retry('autovacuum reset', () => ctx.session.client.query(reset));
      return { tables: allTables(ctx.v2).length };
    },
  };
}
