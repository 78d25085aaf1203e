/**
 * The instrument does not lie: a ledger write that fails ends the load with DFC_LEDGER (non-zero
 * exit), `ledger verify` refuses empty, malformed and truncated ledgers, and an existing ledger is
 * never overwritten unless --force is given.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readLedger } from '../../workload/ledger-format.js';
import { dfc, lastJson } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';

let url: string;
let dir: string;
let good: string;

beforeAll(async () => {
  url = await freshDatabase('seeded', 'ledg');
  dir = await mkdtemp(path.join(tmpdir(), 'dfc-ledger-'));
  good = path.join(dir, 'good.jsonl');
  const r = await dfc([
    '--database-url',
    url,
    '--json',
    'load',
    '--rate',
    '40',
    '--duration',
    '2',
    '--ledger',
    good,
  ]);
  expect(r.code, r.all).toBe(0);
});

describe('dfc load --ledger', () => {
  it('writes a complete ledger that verifies (header, numbered entries, end line)', async () => {
    const entries = await readLedger(good);
    expect(entries.length).toBeGreaterThan(5);
    const v = await dfc(['--database-url', url, '--json', 'ledger', 'verify', '--ledger', good]);
    expect(v.code, v.all).toBe(0);
    expect(lastJson(v.stdout)).toMatchObject({ ok: true, ledgerEntries: entries.length });
  });

  it('fails loudly when a ledger write fails (/dev/full): DFC_LEDGER, exit 1', async () => {
    const r = await dfc([
      '--database-url',
      url,
      'load',
      '--rate',
      '40',
      '--duration',
      '2',
      '--ledger',
      '/dev/full',
      '--force',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error DFC_LEDGER: writing the ledger \/dev\/full failed/m);
    expect(r.stderr).toMatch(/^ {2}fix: .*incomplete/m);
    expect(r.stdout).not.toMatch(/committed writes/);
  });

  it('refuses to overwrite an existing ledger unless --force', async () => {
    const before = await readFile(good, 'utf8');
    const r = await dfc(['--database-url', url, 'load', '--rate', '20', '--duration', '1', '--ledger', good]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error DFC_CONFIG: the ledger .* already exists/m);
    expect(r.stderr).toMatch(/fix: .*--force/);
    expect(await readFile(good, 'utf8')).toBe(before);
    const copy = path.join(dir, 'again.jsonl');
    await writeFile(copy, 'old');
    const f = await dfc([
      '--database-url',
      url,
      'load',
      '--rate',
      '20',
      '--duration',
      '1',
      '--ledger',
      copy,
      '--force',
    ]);
    expect(f.code, f.all).toBe(0);
    expect((await readLedger(copy)).length).toBeGreaterThan(0);
  });
});

describe('dfc ledger verify refuses a ledger that cannot prove anything', () => {
  const cases: [string, (text: string) => string, RegExp][] = [
    ['empty', () => '', /is empty/],
    ['garbage', () => 'hello\nworld\n', /line 1 is not a ledger line/],
    ['no header', (t) => t.split('\n').slice(1).join('\n'), /does not start with a version-1 header/],
    ['torn last line', (t) => t.slice(0, t.length - 20), /truncated: its last line is incomplete/],
    ['cut at a line boundary', (t) => `${t.split('\n').slice(0, 4).join('\n')}\n`, /truncated: no end line/],
    [
      'a line lost in the middle',
      (t) => {
        const l = t.split('\n');
        l.splice(2, 1);
        return l.join('\n');
      },
      /seq \d+, expected \d+ \(entries lost or reordered\)/,
    ],
    [
      'an entry of the wrong shape',
      (t) => t.replace(/"op":"(insert|update|delete)"/, '"op":"upsert"'),
      /is not a ledger entry/,
    ],
  ];
  for (const [name, mutate, message] of cases)
    it(`${name}: DFC_LEDGER, exit 1, no "0 mismatches"`, async () => {
      const p = path.join(dir, `${name.replaceAll(' ', '-')}.jsonl`);
      await writeFile(p, mutate(await readFile(good, 'utf8')));
      const r = await dfc(['--database-url', url, 'ledger', 'verify', '--ledger', p]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error DFC_LEDGER: /m);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^ {2}fix: /m);
      expect(r.all).not.toMatch(/0 mismatches/);
      const j = await dfc(['--database-url', url, '--json', 'ledger', 'verify', '--ledger', p]);
      expect(lastJson(j.stdout)).toMatchObject({ error: true, code: 'DFC_LEDGER' });
    });

  it('a missing file is DFC_CONFIG', async () => {
    const p = path.join(dir, 'nope.jsonl');
    expect(existsSync(p)).toBe(false);
    const r = await dfc(['--database-url', url, 'ledger', 'verify', '--ledger', p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error DFC_CONFIG: cannot read the ledger/m);
  });
});
