import { describe, expect, it } from 'vitest';
import { type Catalog, diffCatalogs, indexKeys, normalizeExpr } from '../../src/schema/catalog.js';

describe('normalizeExpr', () => {
  it('drops casts and grouping parentheses, keeps calls and literals', () => {
    expect(normalizeExpr("CHECK ((status = ANY (ARRAY['a'::text, 'b'::text])))")).toBe(
      "CHECK status = ANY ARRAY['a', 'b']",
    );
    expect(normalizeExpr("(current_setting('app.x'::text, true) IS NOT NULL)")).toBe(
      "current_setting('app.x', true) IS NOT NULL",
    );
    expect(normalizeExpr("nextval('auth.s'::regclass)")).toBe("nextval('auth.s')");
    expect(normalizeExpr('(progress_percentage >= (0)::double precision)')).toBe('progress_percentage >= 0');
    expect(normalizeExpr('"timestamp" DESC')).toBe('timestamp DESC');
    // text inside a literal is never touched
    expect(normalizeExpr("'(a)::text'::text")).toBe("'(a)::text'");
  });
});

describe('indexKeys', () => {
  it('returns the balanced key list of a definition', () => {
    expect(
      indexKeys("CREATE INDEX i ON public.t USING btree (lower((a)::text), b DESC) WHERE (c = 'x)')"),
    ).toBe('lower((a)::text), b DESC');
  });
});

describe('diffCatalogs', () => {
  const base = (): Catalog => ({
    schemas: ['public'],
    extensions: [],
    views: [],
    sequences: [],
    functions: [],
    tables: [
      {
        schema: 'public',
        name: 't',
        comment: null,
        rls: { enabled: false, forced: false },
        columns: [
          {
            name: 'a',
            type: 'text',
            nullable: true,
            default: null,
            identity: null,
            generated: null,
            comment: null,
          },
          {
            name: 'b',
            type: 'text',
            nullable: true,
            default: null,
            identity: null,
            generated: null,
            comment: null,
          },
        ],
        constraints: [],
        indexes: [],
        triggers: [],
        policies: [],
        grants: [],
      },
    ],
  });

  it('is empty for equal catalogs and names object and field otherwise', () => {
    expect(diffCatalogs(base(), base())).toEqual([]);
    const b = base();
    const t = b.tables[0]!;
    t.columns = [t.columns[1]!, { ...t.columns[0]!, type: 'uuid' }];
    t.rls.enabled = true;
    b.tables.push({ ...t, name: 'u' });
    expect(diffCatalogs(base(), b, { a: 'expected', b: 'live' })).toEqual([
      'table public.u: only in live',
      'table public.t: rls: enabled: expected false, live true',
      'table public.t: column a: type: expected "text", live "uuid"',
      'table public.t: column order: expected (a, b), live (b, a)',
    ]);
  });
});
