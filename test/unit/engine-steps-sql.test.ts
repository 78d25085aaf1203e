/** The exact SQL of representative steps, as node-pg-migrate's operation specs assert it. */
import { describe, expect, it } from 'vitest';
import { indexBuildSql, shadowCreateSql } from '../../src/engine/build.js';
import { captureFunctionSql, createCaptureTriggerSql, dropCaptureSql } from '../../src/engine/capture.js';
import { mappedTables } from '../../src/engine/consolidate.js';
import { lockSql } from '../../src/engine/steps/cutover-lock.js';
import { rollbackSchemasSql } from '../../src/engine/steps/cutover-matviews.js';
import { moveSql, moveStatements } from '../../src/engine/steps/cutover-move.js';
import { setvalSql } from '../../src/engine/steps/cutover-sequences.js';
import { V2 } from '../../src/schema/v2/index.js';

const table = (name: string) => V2.tables.find((t) => t.name === name)!;

describe('engine step SQL', () => {
  it('shadow:create: fresh shadow schemas, then bare tables with autovacuum off', () => {
    const q = shadowCreateSql(V2);
    expect(q.slice(0, 5).map((x) => x.text)).toEqual([
      'DROP SCHEMA IF EXISTS "dfc_shadow_public" CASCADE',
      'CREATE SCHEMA "dfc_shadow_public"',
      'DROP SCHEMA IF EXISTS "dfc_shadow_auth" CASCADE',
      'CREATE SCHEMA "dfc_shadow_auth"',
      'SET LOCAL search_path = public',
    ]);
    const create = q.find((x) => x.text.startsWith('CREATE TABLE "dfc_shadow_public"."campaigns"'))!;
    expect(create.text).not.toMatch(/PRIMARY KEY|REFERENCES|CHECK \(/);
    expect(q[q.indexOf(create) + 1]!.text).toBe(
      'ALTER TABLE "dfc_shadow_public"."campaigns" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)',
    );
    expect(q.every((x) => x.values.length === 0)).toBe(true);
  });

  it('capture:install: four statement triggers (transition tables, BEFORE TRUNCATE), ENABLE ALWAYS, one function per table', () => {
    const t = mappedTables(V2).find((m) => m.def.name === 'campaigns')!;
    const fn = 'consolidation."capture_forward__public__campaigns"()';
    expect(
      createCaptureTriggerSql(t, { schema: 'public', name: 'campaigns' }, 'forward').split(';\n'),
    ).toEqual([
      'DROP TRIGGER IF EXISTS "dfc_capture_forward" ON "public"."campaigns"',
      'DROP TRIGGER IF EXISTS "dfc_capture_forward_update" ON "public"."campaigns"',
      'DROP TRIGGER IF EXISTS "dfc_capture_forward_delete" ON "public"."campaigns"',
      'DROP TRIGGER IF EXISTS "dfc_capture_forward_truncate" ON "public"."campaigns"',
      `CREATE TRIGGER "dfc_capture_forward" AFTER INSERT ON "public"."campaigns" REFERENCING NEW TABLE AS dfc_new FOR EACH STATEMENT EXECUTE FUNCTION ${fn}`,
      `CREATE TRIGGER "dfc_capture_forward_update" AFTER UPDATE ON "public"."campaigns" REFERENCING OLD TABLE AS dfc_old NEW TABLE AS dfc_new FOR EACH STATEMENT EXECUTE FUNCTION ${fn}`,
      `CREATE TRIGGER "dfc_capture_forward_delete" AFTER DELETE ON "public"."campaigns" REFERENCING OLD TABLE AS dfc_old FOR EACH STATEMENT EXECUTE FUNCTION ${fn}`,
      `CREATE TRIGGER "dfc_capture_forward_truncate" BEFORE TRUNCATE ON "public"."campaigns" FOR EACH STATEMENT EXECUTE FUNCTION ${fn}`,
      'ALTER TABLE "public"."campaigns" ENABLE ALWAYS TRIGGER "dfc_capture_forward", ENABLE ALWAYS TRIGGER "dfc_capture_forward_update", ENABLE ALWAYS TRIGGER "dfc_capture_forward_delete", ENABLE ALWAYS TRIGGER "dfc_capture_forward_truncate"',
    ]);
    // at cutover the v2 tables have no capture yet: no drops under the locks
    expect(
      createCaptureTriggerSql(t, { schema: 'public', name: 'campaigns' }, 'reverse', { fresh: true }),
    ).not.toContain('DROP TRIGGER');
    const body = captureFunctionSql(t, 'forward');
    expect(body).toContain(
      `CREATE OR REPLACE FUNCTION ${fn.slice(0, -2)}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp`,
    );
    expect(body).toContain(`REVOKE EXECUTE ON FUNCTION ${fn} FROM PUBLIC`);
    // every function and operator schema-qualified: nothing for a caller's search_path to steer
    expect(body.match(/jsonb_build_object/g)!.length).toBe(
      body.match(/pg_catalog\.jsonb_build_object/g)!.length,
    );
    expect(body).not.toMatch(/TG_OP =/);
    expect(dropCaptureSql({ schema: 'public', name: "o'dd" }, 'forward')).toContain(
      `DROP TRIGGER IF EXISTS "dfc_capture_forward_truncate" ON "public"."o'dd"`,
    );
  });

  it("indexes: plain CREATE INDEX on the shadow (in the step's transaction)", () => {
    const t = table('generated_domains');
    const index = t.indexes[0]!;
    const text = indexBuildSql(t, index);
    expect(text.startsWith(`CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX "`)).toBe(true);
    expect(text).toContain(`"${index.name}" ON "dfc_shadow_public"."generated_domains" ${index.using}`);
    expect(text).not.toContain('CONCURRENTLY');
  });

  it('cutover:lock: one LOCK of every relation, identifiers quoted, no parameter', () => {
    expect(
      lockSql([
        { schema: 'public', name: 'campaigns' },
        { schema: 'public', name: 'v"x' },
        { schema: 'dfc_shadow_public', name: 'campaigns' },
      ]),
    ).toEqual({
      text: 'LOCK TABLE "public"."campaigns", "public"."v""x", "dfc_shadow_public"."campaigns" IN ACCESS EXCLUSIVE MODE',
      values: [],
    });
    expect(rollbackSchemasSql().map((x) => x.text)).toEqual([
      'DROP SCHEMA IF EXISTS "dfc_rollback_public" CASCADE',
      'CREATE SCHEMA "dfc_rollback_public"',
      'DROP SCHEMA IF EXISTS "dfc_rollback_auth" CASCADE',
      'CREATE SCHEMA "dfc_rollback_auth"',
    ]);
  });

  it('cutover:move: legacy out first (views, matviews, tables), then every shadow relation in, by SET SCHEMA only', () => {
    const shadow = [
      { schema: 'dfc_shadow_public', name: 'campaigns', kind: 'r' as const },
      { schema: 'dfc_shadow_public', name: 'campaign_statistics', kind: 'm' as const },
      { schema: 'dfc_shadow_auth', name: 'users', kind: 'r' as const },
      { schema: 'dfc_shadow_public', name: 'v_active', kind: 'v' as const },
      { schema: 'dfc_shadow_public', name: 'new_in_v2', kind: 'r' as const },
    ];
    const live = [
      { schema: 'public', name: 'campaigns', kind: 'r' as const },
      { schema: 'auth', name: 'users', kind: 'r' as const },
      { schema: 'public', name: 'v_active', kind: 'v' as const },
      { schema: 'public', name: 'unrelated', kind: 'r' as const },
    ];
    const statements = moveStatements(shadow, live);
    expect(statements.map((x) => x.text)).toEqual([
      'ALTER VIEW "public"."v_active" SET SCHEMA "dfc_rollback_public"',
      'ALTER TABLE "public"."campaigns" SET SCHEMA "dfc_rollback_public"',
      'ALTER TABLE "auth"."users" SET SCHEMA "dfc_rollback_auth"',
      'ALTER TABLE "dfc_shadow_public"."campaigns" SET SCHEMA "public"',
      'ALTER MATERIALIZED VIEW "dfc_shadow_public"."campaign_statistics" SET SCHEMA "public"',
      'ALTER TABLE "dfc_shadow_auth"."users" SET SCHEMA "auth"',
      'ALTER VIEW "dfc_shadow_public"."v_active" SET SCHEMA "public"',
      'ALTER TABLE "dfc_shadow_public"."new_in_v2" SET SCHEMA "public"',
    ]);
    expect(statements.every((x) => x.values.length === 0)).toBe(true);
    expect(moveSql('m', { schema: 'public', name: "o'dd" }, 'dfc_rollback_public').text).toBe(
      `ALTER MATERIALIZED VIEW "public"."o'dd" SET SCHEMA "dfc_rollback_public"`,
    );
  });

  it('cutover:sequences: setval with the live sequence as a regclass parameter', () => {
    expect(
      setvalSql({ schema: 'public', name: "s'q" }, { schema: 'dfc_rollback_public', name: "s'q" }),
    ).toEqual({
      text: `SELECT setval($1::regclass, last_value, is_called) FROM "dfc_rollback_public"."s'q"`,
      values: [`"public"."s'q"`],
    });
  });
});
