/** cutover:sequences — every v2 sequence continues where its legacy counterpart (now in the rollback schema) stopped. */
import type { Step } from '../../core/step.js';
import { build, ident, type SqlQuery, sql } from '../../sql/sql.js';
import { allTables } from '../build.js';
import { type Rel, ROLLBACK_SCHEMA } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

/** setval of the live sequence from the legacy one: the live name is a regclass parameter. */
export function setvalSql(live: Rel, legacy: Rel): SqlQuery {
  return build(
    sql`SELECT setval(${build(ident(live)).text}::regclass, last_value, is_called) FROM ${ident(legacy)}`,
  );
}

export function cutoverSequencesStep(): Step<CutoverContext> {
  return {
    id: 'cutover:sequences',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({ summary: 'setval of every v2 sequence from its legacy counterpart' }),
    async run(ctx) {
      const c = ctx.session.client;
      let advanced = 0;
      for (const t of allTables(ctx.v2))
        for (const col of t.columns) {
          if (!col.ownedSequence) continue;
          const legacy = { schema: ROLLBACK_SCHEMA[t.schema], name: col.ownedSequence };
          const exists = await c.query('SELECT to_regclass($1) IS NOT NULL AS ok', [
            build(ident(legacy)).text,
          ]);
          if (!exists.rows[0]?.ok) continue;
          await c.query(setvalSql({ schema: t.schema, name: col.ownedSequence }, legacy));
          advanced++;
        }
      return { advanced };
    },
  };
}
