/** The exact SQL of representative steps, as node-pg-migrate's operation specs assert it. */
import { describe, expect, it } from 'vitest';
import { indexBuildSql, shadowCreateSql } from '../../src/engine/build.js';
import { createCaptureTriggerSql, dropCaptureSql } from '../../src/engine/capture.js';
import { mappedTables } from '../../src/engine/consolidate.js';
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

  it('capture:install: the AFTER ROW trigger with its arguments as literals, ENABLE ALWAYS', () => {
    const t = mappedTables(V2).find((m) => m.def.name === 'campaigns')!;
    expect(createCaptureTriggerSql(t, { schema: 'public', name: 'campaigns' }, 'forward')).toBe(
      `CREATE TRIGGER "dfc_capture_forward" AFTER INSERT OR UPDATE OR DELETE ON "public"."campaigns"
    FOR EACH ROW EXECUTE FUNCTION consolidation.capture_change('forward', 'public.campaigns', 'id');
  ALTER TABLE "public"."campaigns" ENABLE ALWAYS TRIGGER "dfc_capture_forward"`,
    );
    expect(dropCaptureSql({ schema: 'public', name: "o'dd" }, 'forward')).toBe(
      `DROP TRIGGER IF EXISTS "dfc_capture_forward" ON "public"."o'dd"`,
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
});
