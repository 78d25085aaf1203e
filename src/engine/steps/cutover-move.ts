/**
 * cutover:move — the legacy relations a shadow relation replaces move to the
 * rollback schemas, then every shadow relation moves into public/auth: SET SCHEMA only, nothing
 * renamed, so v2's names (tables, constraints, indexes, sequences) are final.
 */
import type { Step } from '../../core/step.js';
import { build, ident, type SqlQuery, sql } from '../../sql/sql.js';
import { DF_SCHEMAS, type Rel, ROLLBACK_SCHEMA, SHADOW_SCHEMA } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

export type RelKind = 'r' | 'p' | 'v' | 'm';

/** ALTER TABLE|VIEW|MATERIALIZED VIEW <rel> SET SCHEMA <schema>. */
export function moveSql(kind: string, rel: Rel, toSchema: string): SqlQuery {
  const target = ident(rel);
  const to = ident(toSchema);
  if (kind === 'v') return build(sql`ALTER VIEW ${target} SET SCHEMA ${to}`);
  if (kind === 'm') return build(sql`ALTER MATERIALIZED VIEW ${target} SET SCHEMA ${to}`);
  return build(sql`ALTER TABLE ${target} SET SCHEMA ${to}`);
}

interface Relation {
  schema: string;
  name: string;
  kind: RelKind;
}

/**
 * The moves, in order, from the relations in the shadow schemas and those live in public/auth:
 * first the live relations a shadow one replaces (views, then materialized views, then tables:
 * views follow OIDs, so they move independently of their tables), then every shadow relation in.
 */
export function moveStatements(shadow: Relation[], live: Relation[]): SqlQuery[] {
  const liveSchemaOf = (s: string) => DF_SCHEMAS.find((d) => SHADOW_SCHEMA[d] === s)!;
  const liveKind = new Map(live.map((r) => [`${r.schema}.${r.name}`, r.kind]));
  const order = (k: string) => (k === 'v' ? 0 : k === 'm' ? 1 : 2);
  const out: SqlQuery[] = [];
  for (const r of [...shadow].sort((a, b) => order(a.kind) - order(b.kind))) {
    const s = liveSchemaOf(r.schema);
    const kind = liveKind.get(`${s}.${r.name}`);
    if (kind) out.push(moveSql(kind, { schema: s, name: r.name }, ROLLBACK_SCHEMA[s]));
  }
  for (const r of shadow) out.push(moveSql(r.kind, r, liveSchemaOf(r.schema)));
  return out;
}

export function cutoverMoveStep(): Step<CutoverContext> {
  return {
    id: 'cutover:move',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary: `legacy relations v2 replaces to ${Object.values(ROLLBACK_SCHEMA).join('/')} (their forward capture goes dormant there), the shadow into public/auth (its reverse capture starts) — SET SCHEMA, no rename`,
    }),
    async run(ctx) {
      const c = ctx.session.client;
      const rels = await c.query<Relation>(
        `SELECT n.nspname AS schema, cl.relname AS name, cl.relkind AS kind FROM pg_class cl
           JOIN pg_namespace n ON n.oid = cl.relnamespace
          WHERE n.nspname = ANY ($1) AND cl.relkind IN ('r','p','v','m')`,
        [[...Object.values(SHADOW_SCHEMA), ...DF_SCHEMAS]],
      );
      const shadowSchemas: string[] = Object.values(SHADOW_SCHEMA);
      const shadow = rels.rows.filter((r) => shadowSchemas.includes(r.schema));
      const live = rels.rows.filter((r) => !shadowSchemas.includes(r.schema));
      const statements = moveStatements(shadow, live);
      // one round trip: none of them takes a parameter, and each is a simple catalog update under our locks
      await c.query(statements.map((q) => q.text).join(';\n'));
      return { moved: statements.length };
    },
  };
}
