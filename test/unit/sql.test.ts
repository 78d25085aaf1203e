import { describe, expect, it } from 'vitest';
import { build, ident, join, literal, sql } from '../../src/sql/sql.js';

describe('sql', () => {
  it('turns values into numbered parameters and quotes identifiers', () => {
    const q = build(
      sql`SELECT count(*) FROM ${ident({ schema: 'auth', name: 'users' })} WHERE email = ${'a@b'} AND id > ${3}`,
    );
    expect(q.text).toBe('SELECT count(*) FROM "auth"."users" WHERE email = $1 AND id > $2');
    expect(q.values).toEqual(['a@b', 3]);
  });
  it('renumbers parameters of nested fragments', () => {
    const where = sql`a = ${1} AND b = ${2}`;
    const q = build(sql`SELECT ${ident('x')} FROM t WHERE ${where} OR c = ${3}`);
    expect(q.text).toBe('SELECT "x" FROM t WHERE a = $1 AND b = $2 OR c = $3');
    expect(q.values).toEqual([1, 2, 3]);
  });
  it('escapes quotes inside identifiers and literals', () => {
    expect(build(ident('we"ird')).text).toBe('"we""ird"');
    expect(build(literal("it's")).text).toBe("'it''s'");
    expect(() => ident('')).toThrow();
  });
  it('joins fragments', () => {
    expect(build(join([ident('a'), ident('b')])).text).toBe('"a", "b"');
  });
});
