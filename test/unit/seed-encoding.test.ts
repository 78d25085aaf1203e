import { describe, expect, it } from 'vitest';
import { array, bool, bytea, json, NULL, num, row, text, ts } from '../../workload/seed/copy-text.js';
import { buildPlan, domainName } from '../../workload/seed/plan.js';
import { IdSpace, Rng } from '../../workload/seed/prng.js';

describe('COPY text encoders', () => {
  it('escape backslash, tab, newline and carriage return, and write NULL as \\N', () => {
    expect(text('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(text("O'Brien, São Paulo")).toBe("O'Brien, São Paulo");
    expect(text(null)).toBe(NULL);
    expect(NULL).toBe('\\N');
    expect(row([text('x\ty'), NULL, bool(true), bool(false), num(3)])).toBe('x\\ty\t\\N\tt\tf\t3\n');
  });
  it('encode jsonb, bytea, arrays and timestamps', () => {
    expect(json({ p: '\\bbuy\\b' })).toBe('{"p":"\\\\\\\\bbuy\\\\\\\\b"}');
    expect(bytea('c30d')).toBe('\\\\xc30d');
    expect(array(['a', 'b c', 'x"y', 'NULL', ''])).toBe('{a,"b c","x\\\\"y","NULL",""}');
    expect(array([80, 443])).toBe('{80,443}');
    expect(ts(Date.UTC(2025, 5, 1, 12))).toBe('2025-06-01T12:00:00.000Z');
    expect(ts(null)).toBe(NULL);
    const rng = new Rng(3, 'ts');
    for (let i = 0; i < 10_000; i++) {
      const ms = Date.UTC(2023, 0, 1) + rng.u32() * 20 + (i % 7);
      expect(ts(ms)).toBe(new Date(ms).toISOString());
    }
    expect(() => num(Number.NaN)).toThrow();
  });
});

describe('seeded randomness', () => {
  const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  it('gives the same stream for the same seed and stream name, another for another', () => {
    const a = new Rng(1, 'users');
    const b = new Rng(1, 'users');
    const seqA = Array.from({ length: 5 }, () => a.u32());
    expect(Array.from({ length: 5 }, () => b.u32())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => new Rng(2, 'users').u32())).not.toEqual(seqA);
    expect(new Rng(1, 'sessions').u32()).not.toBe(seqA[0]);
  });
  it('makes version-4 UUIDs, unique within an id space', () => {
    const ids = new IdSpace(1, 'generated_domains');
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(ids.uuid(i));
    expect(seen.size).toBe(100_000);
    expect(ids.uuid(42)).toMatch(UUID_V4);
    expect(new IdSpace(1, 'generated_domains').uuid(42)).toBe(ids.uuid(42));
    expect(new IdSpace(2, 'generated_domains').uuid(42)).not.toBe(ids.uuid(42));
    expect(new Rng(9, 'x').uuid()).toMatch(UUID_V4);
  });
});

describe('seed plan', () => {
  it('spreads exactly N domains over generation campaigns with room for their offsets', () => {
    for (const n of [0, 1, 2000, 123_457]) {
      const plan = buildPlan(5, n);
      const gens = plan.campaigns.filter((c) => c.type === 'domain_generation');
      expect(gens.reduce((a, c) => a + c.rows, 0)).toBe(n);
      for (const c of gens) {
        expect(BigInt(c.gen!.startOffset + c.gen!.numToGenerate)).toBeLessThanOrEqual(c.gen!.totalPossible);
        expect(c.rows).toBeLessThanOrEqual(c.gen!.numToGenerate);
      }
    }
  });
  it('names domain k of a configuration by its base-|charset| digits', () => {
    const g = {
      patternType: 'prefix' as const,
      variableLength: 3,
      charset: 'ab',
      constant: 'shop',
      tld: 'com',
      totalPossible: 8n,
      startOffset: 0,
      numToGenerate: 8,
      configKey: '',
    };
    expect([0, 1, 2, 7].map((k) => domainName(g, k))).toEqual([
      'aaashop.com',
      'aabshop.com',
      'abashop.com',
      'bbbshop.com',
    ]);
    expect(domainName({ ...g, patternType: 'suffix' }, 1)).toBe('shopaab.com');
    expect(domainName({ ...g, patternType: 'both', totalPossible: 64n }, 1)).toBe('aaashopaab.com');
  });
});
