/** cutover:sequences — every v2 sequence continues where its legacy counterpart (now in the rollback schema) stopped. */
import type { Step } from '../../core/step.js';
import { build, ident, join, type SqlFragment, type SqlQuery, sql } from '../../sql/sql.js';
import { allTables } from '../build.js';
import { type Rel, ROLLBACK_SCHEMA } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

/** setval of the live sequence from the legacy one: the live name is a regclass parameter. */
export function setvalSql(live: Rel, legacy: Rel): SqlQuery {
  return build(setvalFragment(live, legacy));
}

function setvalFragment(live: Rel, legacy: Rel): SqlFragment {
  return sql`SELECT setval(${build(ident(live)).text}::regclass, last_value, is_called) FROM ${ident(legacy)}`;
}

/** Every setval in one statement (UNION ALL), the live names as parameters. */
export function setvalsSql(pairs: { live: Rel; legacy: Rel }[]): SqlQuery {
  return build(
    join(
      pairs.map((p) => setvalFragment(p.live, p.legacy)),
      ' UNION ALL ',
    ),
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
      const pairs = allTables(ctx.v2).flatMap((t) =>
        t.columns
          .filter((col) => col.ownedSequence)
          .map((col) => ({
            live: { schema: t.schema, name: col.ownedSequence! },
            legacy: { schema: ROLLBACK_SCHEMA[t.schema], name: col.ownedSequence! },
          })),
      );
      // two round trips: which legacy sequences exist, then every setval
      const exists = await c.query<{ i: number }>(
        'SELECT x.i::int AS i FROM unnest($1::text[]) WITH ORDINALITY AS x(name, i) WHERE to_regclass(x.name) IS NOT NULL',
        [pairs.map((p) => build(ident(p.legacy)).text)],
      );
      const present = exists.rows.map((r) => pairs[r.i - 1]!);
      if (present.length) await c.query(setvalsSql(present));
      return { advanced: present.length };
    },
  };
}
