/**
 * verify evaluates the forward conversion more cheaply (a lookup per distinct key, the inet
 * recogniser as an OR of its alternatives): the same function as before, checked on real
 * PostgreSQL, value by value and row by row, on hostile input.
 */
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { mapTable } from '../../src/engine/mapping.js';
import { legacyLiveOf, q } from '../../src/engine/names.js';
import { setChecksumSql } from '../../src/engine/support.js';
import { legacySideSql } from '../../src/engine/verify-compare.js';
import { INET_TEXT_RE, isInetText, isUuidText, UUID_TEXT_RE } from '../../src/schema/v2/helpers.js';
import { V2 } from '../../src/schema/v2/index.js';
import { quoteIdent } from '../../src/sql/sql.js';
import { freshDatabase } from '../helpers/db.js';

const HOSTILE_IPS = [
  '',
  ' ',
  '\t',
  '10.0.0.1',
  ' 10.0.0.1',
  '10.0.0.1 ',
  '10.0.0.1\n',
  '0.0.0.0',
  '255.255.255.255',
  '1.2.3.256',
  '01.2.3.4',
  '1.2.3',
  '1.2.3.4.5',
  '1.2.3.4/32',
  '1.2.3.4/33',
  '1.2.3.4/',
  '1.2.3.4/07',
  '::',
  '::1',
  ':::',
  '::ffff:1.2.3.4',
  '::FFFF:1.2.3.4',
  'fe80::1',
  'FE80::1',
  'fe80::1/64',
  'fe80::1/128',
  'fe80::1/129',
  '2001:db8::1',
  '2001:DB8:0:0:0:0:0:1',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8:9',
  '1::2::3',
  '12345::1',
  'g::1',
  '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8',
  'unknown',
  'localhost',
  '１.２.３.４',
  'ǅ::1',
  'abcd:',
  ':abcd',
];
const HOSTILE_UUIDS = [
  '',
  ' ',
  'system',
  'SYSTEM',
  '00000000-0000-0000-0000-000000000000',
  'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
  '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
  'a0eebc999c0b4ef8bb6d6bb9bd380a11',
  'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11',
  ' a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11x',
];

/** random strings over the characters the recogniser cares about, as data for the value-by-value check */
function randomStrings(n: number, alphabet: string, seed = 7): string[] {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x;
  };
  return Array.from({ length: n }, () =>
    Array.from({ length: 1 + (next() % 24) }, () => alphabet[next() % alphabet.length]).join(''),
  );
}

describe('verify: cheaper conversion predicates compute the same function', () => {
  it('the inet recogniser split into alternatives accepts exactly what the single regex accepts', async () => {
    const url = await freshDatabase('empty', 'vcmp');
    const values = [
      ...HOSTILE_IPS,
      ...randomStrings(20_000, '0123456789abcdefABCDEF:./ '),
      ...randomStrings(20_000, '0123:.12/8'),
    ];
    await withClient(url, async (c) => {
      const r = await c.query<{ v: string | null; old: boolean | null; new: boolean | null; casts: boolean }>(
        `SELECT v, v ~* $2 AS old, ${isInetText('v')} AS new FROM unnest($1::text[] || ARRAY[NULL]) v`,
        [values, INET_TEXT_RE],
      );
      expect(r.rows.length).toBe(values.length + 1);
      const differ = r.rows.filter((x) => x.old !== x.new);
      expect(differ).toEqual([]);
      // the data exercises both answers (and NULL stays NULL)
      expect(r.rows.filter((x) => x.new === true).length).toBeGreaterThan(50);
      expect(r.rows.filter((x) => x.new === false).length).toBeGreaterThan(50);
      expect(r.rows.find((x) => x.v === null)?.new).toBeNull();
      // and what it accepts casts to inet (the reason the recogniser exists)
      const accepted = r.rows.filter((x) => x.new).map((x) => x.v);
      await c.query('SELECT v::inet FROM unnest($1::text[]) v', [accepted]);
      // the uuid recogniser is unchanged
      expect(isUuidText('x')).toBe(`(x ~* '${UUID_TEXT_RE}')`);
    });
  });

  it('a lookup per distinct key gives every row of the forward conversion the value it had', async () => {
    const url = await freshDatabase('seeded', 'vcmp');
    await withClient(url, async (c) => {
      const users = await c.query<{ id: string }>('SELECT id::text FROM auth.users ORDER BY id LIMIT 3');
      const ids = users.rows.map((x) => x.id);
      // user_id: hostile uuid texts, real users (also uppercase), an unknown uuid, NULL; few distinct
      // values over 12,000 rows so the lookup is used; client_ip hostile (per row)
      const userValues = [...HOSTILE_UUIDS, ...ids, ...ids.map((x) => x.toUpperCase()), `{${ids[0]}}`, null];
      await c.query(
        `INSERT INTO audit_logs (id, "timestamp", user_id, action, client_ip)
         SELECT uuid_generate_v4(), now(), ($1::text[])[1 + g % $3], 'test', ($2::text[])[1 + g % $4]
           FROM generate_series(1, 12000) g`,
        [userValues, [...HOSTILE_IPS, null], userValues.length, HOSTILE_IPS.length + 1],
      );
      await c.query('ANALYZE audit_logs');
      const t = mapTable(V2.tables.find((x) => x.name === 'audit_logs')!, V2.tables);
      const legacy = legacyLiveOf(t.def);
      const columns = t.def.columns.map((x) => x.name);
      const side = await legacySideSql(c, t, legacy, columns);
      // few distinct values of both here: both go through a lookup
      expect(side.lookups).toEqual([
        { columns: ['user_id'], expressions: 1 },
        { columns: ['client_ip'], expressions: 1 },
      ]);
      // row by row: the old per-row expressions against the lookup's
      const forward = new Map(t.targetColumns.forward.map((x) => [x.column, x.expr]));
      const types = new Map(t.def.columns.map((x) => [x.name, x.type]));
      const oldRows = `SELECT s.id AS k, ROW(${columns.map((x) => `(${forward.get(x)})::${types.get(x)}`).join(', ')})::text AS r
                         FROM ${q(legacy)} s WHERE NOT (${t.excludePredicate})`;
      const newRows = (await legacySideSql(c, t, legacy, columns, { perRow: true })).sql;
      const diff = await c.query(
        `SELECT o.k, o.r AS old, n.r AS new FROM (${oldRows}) o FULL JOIN (${newRows}) n ON n.k = ROW(o.k)::text
          WHERE o.r IS DISTINCT FROM n.r LIMIT 5`,
      );
      expect(diff.rows).toEqual([]);
      // the hostile values really went through both branches of the conversion
      const nulled = await c.query<{ user_nulled: number; ip_nulled: number; kept: number }>(
        `SELECT count(*) FILTER (WHERE ${quoteIdent('user_id')} IS NOT NULL AND (${forward.get('user_id')}) IS NULL)::int AS user_nulled,
                count(*) FILTER (WHERE client_ip IS NOT NULL AND (${forward.get('client_ip')}) IS NULL)::int AS ip_nulled,
                count(*) FILTER (WHERE (${forward.get('user_id')}) IS NOT NULL)::int AS kept
           FROM ${q(legacy)} s`,
      );
      expect(nulled.rows[0]!.user_nulled).toBeGreaterThan(0);
      expect(nulled.rows[0]!.ip_nulled).toBeGreaterThan(0);
      expect(nulled.rows[0]!.kept).toBeGreaterThan(0);
      // and the aggregate verify compares equals the old per-row one
      const sum = await c.query<{ n: string; sum: string }>(side.sql);
      const before = await c.query<{ n: string; sum: string }>(
        `SELECT count(*) AS n, ${setChecksumSql('o.r')} AS sum FROM (${oldRows}) o`,
      );
      expect(sum.rows[0]).toEqual(before.rows[0]);
    });
  });
});
