/** cutover:grants — each legacy table's owner and table grants on its v2 table; autovacuum back on. */
import type { Step } from '../../core/step.js';
import { DfcError } from '../../errors.js';
import { build, ident, sql, unsafeRawSql } from '../../sql/sql.js';
import { allTables } from '../build.js';
import { legacyRollbackOf, liveOf } from '../names.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

/** aclexplode's privilege_type is one of a fixed set of keywords; anything else is refused, never inlined. */
const PRIVILEGE = /^(SELECT|INSERT|UPDATE|DELETE|TRUNCATE|REFERENCES|TRIGGER|MAINTAIN)$/;

export function cutoverGrantsStep(): Step<CutoverContext> {
  return {
    id: 'cutover:grants',
    phase: CUTOVER_PHASE,
    tx: 'cutover-locks',
    describe: () => ({
      summary: 'owner and table grants of each legacy table on its v2 table; autovacuum reset on v2',
    }),
    async run(ctx) {
      const c = ctx.session.client;
      let grants = 0;
      for (const t of ctx.present) {
        const legacy = legacyRollbackOf(t.def);
        const acl = await c.query<{ owner: string; grants: { grantee: string; privilege: string }[] | null }>(
          `SELECT pg_get_userbyid(cl.relowner) AS owner,
                  (SELECT jsonb_agg(jsonb_build_object('grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                                                       'privilege', a.privilege_type))
                     FROM aclexplode(cl.relacl) a WHERE a.grantee <> cl.relowner) AS grants
             FROM pg_class cl WHERE cl.oid = $1::regclass`,
          [build(ident(legacy)).text],
        );
        const row = acl.rows[0];
        if (!row) continue;
        const target = ident(liveOf(t.def));
        await c.query(build(sql`ALTER TABLE ${target} OWNER TO ${ident(row.owner)}`));
        for (const g of row.grants ?? []) {
          if (!PRIVILEGE.test(g.privilege))
            throw new DfcError('DFC_INTERNAL', `unknown privilege "${g.privilege}" on ${legacy.name}`, {
              fix: 'report this; the cutover rolled back and nothing changed',
            });
          const grantee = g.grantee === 'PUBLIC' ? unsafeRawSql('PUBLIC') : ident(g.grantee);
          await c.query(build(sql`GRANT ${unsafeRawSql(g.privilege)} ON ${target} TO ${grantee}`));
          grants++;
        }
      }
      for (const t of allTables(ctx.v2))
        await c.query(
          build(sql`ALTER TABLE ${ident(liveOf(t))} RESET (autovacuum_enabled, toast.autovacuum_enabled)`),
        );
      return { grants };
    },
  };
}
