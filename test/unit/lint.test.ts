/**
 * `dfc migrate lint`: every rule has a failing and a passing example, acknowledgements work and
 * need a reason, and an unparsable file is a coded error with the parser's line and column.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DfcError } from '../../src/errors.js';
import { lintMigrations, lintSql } from '../../src/lint/lint.js';
import { ALL_RULES } from '../../src/lint/rules.js';

const LT = "SET lock_timeout = '5s';\n";

/** Rule ids of the unacknowledged findings. */
async function open(sql: string, opts: { downExists?: boolean } = {}): Promise<string[]> {
  const f = await lintSql('000018_x.up.sql', sql, opts);
  return f.filter((x) => x.acknowledged === undefined).map((x) => x.rule);
}

const cases: { rule: string; bad: string; good: string }[] = [
  {
    rule: 'index-not-concurrent',
    bad: `${LT}CREATE INDEX i ON campaigns (status);`,
    good: 'CREATE INDEX CONCURRENTLY i ON campaigns (status);',
  },
  {
    rule: 'index-not-concurrent',
    bad: `${LT}DROP INDEX idx_campaigns_status;`,
    good: 'DROP INDEX CONCURRENTLY idx_campaigns_status;',
  },
  {
    rule: 'concurrently-in-transaction',
    bad: 'BEGIN;\nCREATE INDEX CONCURRENTLY i ON campaigns (status);\nCOMMIT;',
    good: 'CREATE INDEX CONCURRENTLY i ON campaigns (status);',
  },
  {
    rule: 'concurrently-multi-statement',
    bad: `${LT}ALTER TABLE campaigns ADD COLUMN x int;\nCREATE INDEX CONCURRENTLY i ON campaigns (x);`,
    good: 'CREATE INDEX CONCURRENTLY i ON campaigns (x);',
  },
  {
    rule: 'add-column-volatile-default',
    bad: `${LT}ALTER TABLE campaigns ADD COLUMN token uuid DEFAULT uuid_generate_v4();`,
    good: `${LT}ALTER TABLE campaigns ADD COLUMN flag boolean DEFAULT false, ADD COLUMN at timestamptz DEFAULT now();`,
  },
  {
    rule: 'add-column-volatile-default',
    bad: `${LT}ALTER TABLE campaigns ADD COLUMN n bigserial;`,
    good: `${LT}CREATE TABLE t (n bigserial PRIMARY KEY);`,
  },
  {
    rule: 'add-column-not-null-without-default',
    bad: `${LT}ALTER TABLE campaigns ADD COLUMN region text NOT NULL;`,
    good: `${LT}ALTER TABLE campaigns ADD COLUMN region text NOT NULL DEFAULT 'eu';`,
  },
  {
    rule: 'alter-column-type-rewrite',
    bad: `${LT}ALTER TABLE campaigns ALTER COLUMN total_items TYPE numeric;`,
    good: `${LT}ALTER TABLE campaigns ALTER COLUMN name TYPE varchar;`,
  },
  {
    rule: 'constraint-missing-not-valid',
    bad: `${LT}ALTER TABLE campaigns ADD CONSTRAINT c CHECK (total_items >= 0);`,
    good: `${LT}ALTER TABLE campaigns ADD CONSTRAINT c CHECK (total_items >= 0) NOT VALID;`,
  },
  {
    rule: 'constraint-missing-not-valid',
    bad: `${LT}ALTER TABLE campaign_jobs ADD CONSTRAINT f FOREIGN KEY (campaign_id) REFERENCES campaigns (id);`,
    good: `${LT}ALTER TABLE campaign_jobs ADD CONSTRAINT f FOREIGN KEY (campaign_id) REFERENCES campaigns (id) NOT VALID;`,
  },
  {
    rule: 'set-not-null-without-check',
    bad: `${LT}ALTER TABLE campaigns ALTER COLUMN user_id SET NOT NULL;`,
    good:
      `${LT}ALTER TABLE campaigns ADD CONSTRAINT u_nn CHECK (user_id IS NOT NULL) NOT VALID;\n` +
      'ALTER TABLE campaigns VALIDATE CONSTRAINT u_nn;\nALTER TABLE campaigns ALTER COLUMN user_id SET NOT NULL;',
  },
  {
    rule: 'unique-without-concurrent-index',
    bad: `${LT}ALTER TABLE campaigns ADD CONSTRAINT u UNIQUE (name);`,
    good: `${LT}ALTER TABLE campaigns ADD CONSTRAINT u UNIQUE USING INDEX campaigns_name_uidx;`,
  },
  {
    rule: 'rename-service-object',
    bad: `${LT}ALTER TABLE campaigns RENAME COLUMN name TO title;`,
    good: `${LT}ALTER TABLE campaign_analytics RENAME COLUMN metric_name TO metric;`,
  },
  {
    rule: 'rename-service-object',
    bad: `${LT}ALTER TABLE campaigns RENAME TO campaign;`,
    good: `${LT}ALTER TABLE campaign_analytics RENAME TO campaign_metrics;`,
  },
  {
    rule: 'drop-service-object',
    bad: `${LT}ALTER TABLE campaigns DROP COLUMN total_items;`,
    good: `${LT}ALTER TABLE campaigns DROP COLUMN analytics_enabled;`,
  },
  {
    rule: 'drop-service-object',
    bad: `${LT}DROP TABLE auth.sessions;`,
    good: `${LT}DROP TABLE campaign_analytics;`,
  },
  {
    rule: 'missing-lock-timeout',
    bad: 'ALTER TABLE campaigns ADD COLUMN x int;',
    good: "SELECT set_config('lock_timeout', '3s', false);\nALTER TABLE campaigns ADD COLUMN x int;",
  },
  {
    rule: 'missing-lock-timeout',
    bad: 'CREATE TABLE a (id uuid PRIMARY KEY, c uuid REFERENCES campaigns (id));',
    good: 'CREATE TABLE a (id uuid PRIMARY KEY, b text);\nCREATE INDEX a_b ON a (b);',
  },
];

describe('lint rules: a failing and a passing example each', () => {
  for (const c of cases) {
    it(`${c.rule}: ${c.bad.split('\n').at(-1)}`, async () => {
      expect(await open(c.bad)).toContain(c.rule);
      expect(await open(c.good)).not.toContain(c.rule);
    });
  }

  it('missing-down-file: an up file without its down half', async () => {
    expect(await open(`${LT}SELECT 1;`, { downExists: false })).toContain('missing-down-file');
    expect(await open(`${LT}SELECT 1;`, { downExists: true })).not.toContain('missing-down-file');
  });

  it('every rule has a failing example here, and a why, an instead and its squawk mapping', () => {
    const tested = new Set([...cases.map((c) => c.rule), 'missing-down-file']);
    for (const r of ALL_RULES) {
      expect(tested.has(r.id), r.id).toBe(true);
      expect(r.why.length).toBeGreaterThan(20);
      expect(r.instead.length).toBeGreaterThan(10);
    }
  });

  it('statements on a table created in the same file are not flagged', async () => {
    const sql =
      'CREATE TABLE t (id uuid PRIMARY KEY, v text);\nCREATE INDEX t_v ON t (v);\n' +
      'ALTER TABLE t ADD COLUMN w uuid NOT NULL DEFAULT uuid_generate_v4();\nALTER TABLE t ALTER COLUMN v SET NOT NULL;';
    expect(await open(sql)).toEqual([]);
  });
});

describe('acknowledgements', () => {
  it('-- dfc-lint-ignore: rule reason acknowledges the next statement only', async () => {
    const sql =
      `${LT}-- dfc-lint-ignore: index-not-concurrent table has 10 rows, built in 2 ms\n` +
      'CREATE INDEX a ON campaigns (status);\nCREATE INDEX b ON campaigns (name);';
    const f = await lintSql('x.sql', sql);
    const idx = f.filter((x) => x.rule === 'index-not-concurrent');
    expect(idx.map((x) => [x.line, x.acknowledged])).toEqual([
      [3, 'table has 10 rows, built in 2 ms'],
      [4, undefined],
    ]);
  });

  it('an ignore without a reason or with an unknown rule is itself an error', async () => {
    expect(
      await open(`${LT}-- dfc-lint-ignore: index-not-concurrent\nCREATE INDEX a ON campaigns (status);`),
    ).toEqual(expect.arrayContaining(['invalid-lint-ignore', 'index-not-concurrent']));
    expect(await open(`${LT}-- dfc-lint-ignore: no-such-rule because\nSELECT 1;`)).toEqual([
      'invalid-lint-ignore',
    ]);
  });

  it('a file-level finding is acknowledged anywhere in the file', async () => {
    const sql = `${LT}SELECT 1;\n-- dfc-lint-ignore: missing-down-file irreversible data fix, see runbook`;
    expect(await open(sql, { downExists: false })).toEqual([]);
  });
});

describe('files, directories and parse errors', () => {
  it('lints a directory: pairs up files, counts errors, ok only without open errors', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dfc-lint-'));
    await writeFile(path.join(dir, '000018_a.up.sql'), `${LT}ALTER TABLE campaigns ADD COLUMN x int;`);
    await writeFile(path.join(dir, '000018_a.down.sql'), `${LT}ALTER TABLE campaigns DROP COLUMN x;`);
    await writeFile(path.join(dir, '000019_b.up.sql'), 'CREATE INDEX CONCURRENTLY b ON campaigns (x);');
    const r = await lintMigrations([dir]);
    expect(r.files.map((f) => path.basename(f))).toEqual([
      '000018_a.down.sql',
      '000018_a.up.sql',
      '000019_b.up.sql',
    ]);
    expect(r.findings.map((f) => [path.basename(f.file), f.rule])).toEqual([
      ['000019_b.up.sql', 'missing-down-file'],
    ]);
    expect(r.ok).toBe(false);
    expect(r.errors).toBe(1);
  });

  it('a file the parser rejects is DFC_CONFIG with its line and column', async () => {
    let err: unknown;
    try {
      await lintSql('bad.sql', "SET lock_timeout = '1s';\nALTER TABLE campaigns ADD COLUMN ;");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DfcError);
    const e = err as DfcError;
    expect(e.code).toBe('DFC_CONFIG');
    expect(e.message).toBe('bad.sql:2:34: syntax error at or near ";"');
    expect(e.details).toMatchObject({ file: 'bad.sql', line: 2, column: 34 });
  });

  it('positions count characters, not bytes, after multi-byte text', async () => {
    const f = await lintSql(
      'u.sql',
      "COMMENT ON TABLE campaigns IS 'Kampagnen – Übersicht';\nCREATE INDEX i ON campaigns (name);",
    );
    expect(f.find((x) => x.rule === 'index-not-concurrent')).toMatchObject({ line: 2, column: 1 });
    let err: DfcError | undefined;
    await lintSql('u.sql', "SELECT 'é'  FROM;").catch((e) => {
      err = e;
    });
    expect(err?.details).toMatchObject({ line: 1, column: 17 });
  });
});
