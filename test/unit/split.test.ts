import { describe, expect, it } from 'vitest';
import { codeOnly, containsKeyword, lineAt, splitStatements } from '../../src/migrate/split.js';
import { golangMigrateLockId } from '../../src/migrate/state.js';

const texts = (src: string) => splitStatements(src).map((s) => s.text);

describe('splitStatements', () => {
  it('splits on top-level semicolons and records where each statement starts', () => {
    const src = 'CREATE TABLE a (x int);\n\n  CREATE TABLE b (y int);\nDROP TABLE c';
    expect(splitStatements(src)).toEqual([
      { text: 'CREATE TABLE a (x int)', start: 0, line: 1 },
      { text: 'CREATE TABLE b (y int)', start: 27, line: 3 },
      { text: 'DROP TABLE c', start: 51, line: 4 },
    ]);
  });

  it('ignores semicolons in single-quoted strings, with doubled quotes', () => {
    expect(texts("INSERT INTO t VALUES ('a;b', 'it''s; fine');SELECT 1;")).toEqual([
      "INSERT INTO t VALUES ('a;b', 'it''s; fine')",
      'SELECT 1',
    ]);
  });

  it('understands E-strings with backslash escapes', () => {
    expect(texts("SELECT E'\\';still';SELECT 2")).toEqual(["SELECT E'\\';still'", 'SELECT 2']);
    // without the E prefix a backslash is an ordinary character (standard_conforming_strings)
    expect(texts("SELECT '\\';SELECT 3")).toEqual(["SELECT '\\'", 'SELECT 3']);
  });

  it('ignores semicolons in double-quoted identifiers', () => {
    expect(texts('CREATE TABLE "we;ird""name" (x int); SELECT 1')).toEqual([
      'CREATE TABLE "we;ird""name" (x int)',
      'SELECT 1',
    ]);
  });

  it('keeps dollar-quoted function bodies whole, with and without a tag', () => {
    const fn = `CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now(); -- a comment; with a semicolon
  RETURN NEW;
END;
$$`;
    const tagged = `DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$'; END $body$`;
    expect(texts(`${fn};\n${tagged};\nSELECT $1::int`)).toEqual([fn, tagged, 'SELECT $1::int']);
  });

  it('does not take $1 or an identifier containing $ for a dollar quote', () => {
    expect(texts('SELECT a$b$c FROM t; SELECT $1; SELECT 2')).toEqual([
      'SELECT a$b$c FROM t',
      'SELECT $1',
      'SELECT 2',
    ]);
  });

  it('ignores semicolons in line and nested block comments and drops comment-only pieces', () => {
    const src =
      '-- header; comment\n/* outer /* inner; */ still; */\nSELECT 1; -- trailing;\n/* only a comment; */';
    const out = splitStatements(src);
    expect(out.map((s) => s.text)).toEqual(['-- header; comment\n/* outer /* inner; */ still; */\nSELECT 1']);
    expect(out[0]!.line).toBe(1);
  });

  it('keeps parentheses and BEGIN ATOMIC … END bodies whole, like psql', () => {
    const rule =
      'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))';
    const atomic = `CREATE FUNCTION g(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC
  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;
  SELECT x;
END`;
    expect(texts(`${rule};\n${atomic};\nBEGIN;\nCOMMIT;`)).toEqual([rule, atomic, 'BEGIN', 'COMMIT']);
  });

  it('returns an unterminated literal as the rest of the script', () => {
    expect(texts("SELECT 'open; forever")).toEqual(["SELECT 'open; forever"]);
  });
});

describe('containsKeyword / codeOnly', () => {
  it('finds CONCURRENTLY only outside comments and literals', () => {
    expect(containsKeyword('CREATE INDEX CONCURRENTLY i ON t (a);', 'CONCURRENTLY')).toBe(true);
    expect(containsKeyword('create unique index concurrently\ni on t(a)', 'CONCURRENTLY')).toBe(true);
    expect(containsKeyword('-- CREATE INDEX CONCURRENTLY\nCREATE INDEX i ON t (a);', 'CONCURRENTLY')).toBe(
      false,
    );
    expect(
      containsKeyword("/* CONCURRENTLY */ COMMENT ON TABLE t IS 'built CONCURRENTLY'", 'CONCURRENTLY'),
    ).toBe(false);
    expect(containsKeyword('CREATE TABLE "CONCURRENTLY" (x int)', 'CONCURRENTLY')).toBe(false);
    expect(containsKeyword('SELECT $$ CONCURRENTLY $$', 'CONCURRENTLY')).toBe(false);
    expect(containsKeyword('SELECT not_concurrently_x FROM t', 'CONCURRENTLY')).toBe(false);
  });

  it('blanks comments and literals but keeps length and line breaks', () => {
    const src = "a -- x\n'y;'\n/* z */b";
    const code = codeOnly(src);
    expect(code.length).toBe(src.length);
    expect(code).toBe('a     \n    \n       b');
  });

  it('counts lines from offsets', () => {
    expect(lineAt('a\nb\nc', 0)).toBe(1);
    expect(lineAt('a\nb\nc', 2)).toBe(2);
    expect(lineAt('a\nb\nc', 4)).toBe(3);
  });
});

describe('golangMigrateLockId', () => {
  // expected values from golang-migrate's database/util_test.go (TestGenerateAdvisoryLockId)
  it('matches golang-migrate for the database name alone and with additional names', () => {
    expect(golangMigrateLockId('database_name')).toBe('1764327054');
    expect(golangMigrateLockId('database_name', 'schema_name_1')).toBe('2453313553');
    expect(golangMigrateLockId('database_name', 'schema_name_2')).toBe('235207038');
    expect(golangMigrateLockId('database_name', 'schema_name_1', 'schema_name_2')).toBe('3743845847');
  });
});
