/**
 * bench/capture: what change capture costs the application's writes. On a legacy table (forward
 * capture, before cutover) and on a v2 table (reverse capture, after cutover) — generated_domains
 * in both — p50/p99 of single-row and 100-row batch INSERT / UPDATE / DELETE, each statement in its
 * own transaction rolled back, with capture
 *   off      no capture trigger on the table
 *   row      the earlier version: its row trigger (consolidation.capture_change's body, SECURITY DEFINER +
 *            SET search_path) into a log with both indexes, as before 0030
 *   stmt     what dfc installs now (src/engine/capture.ts: statement triggers, one function per table)
 * and with --explore the levers measured on the way:
 *   stmt-noset   the same per-table function without SET search_path (no proconfig)
 *   stmt-2idx    stmt writing to a copy of the log that still has the (direction, id) index (dropped by 0030)
 *   stmt-agg     one log row per statement holding all its keys as a jsonb array
 *   stmt-generic one generic function fed by TG_ARGV (dynamic EXECUTE), with SET search_path
 * Variants are measured side by side in one run, interleaved (rounds × shuffled variants); the
 * load average is printed before and after. Goal: capture on ÷ off ≤ 1.1 at p50 and p99.
 * --server times the executor (EXPLAIN ANALYZE Execution Time, trigger time included) instead of the client.
 * Usage: npx tsx bench/capture.ts [--domains 20000] [--rounds 6] [--samples 50] [--explore] [--server] [--database-url URL]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { ensureBookkeeping } from '../src/bookkeeping.js';
import { connect, resolveTarget, withClient } from '../src/db/connection.js';
import {
  captureFunctionSql,
  createCaptureTriggerSql,
  SECURE_CAPTURE_FUNCTION_SQL,
} from '../src/engine/capture.js';
import { consolidate, mappedTables } from '../src/engine/consolidate.js';
import { cutover } from '../src/engine/cutover.js';
import type { Direction } from '../src/engine/mapping.js';
import type { Rel } from '../src/engine/names.js';
import { createLegacyDatabase } from '../src/migrate/legacy-database.js';
import { seedDatabase } from '../workload/seed.js';
import { EXPLORE, VARIANTS, type Variant } from './capture-variants.js';
import { pct } from './write-latency.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '6' },
    samples: { type: 'string', default: '50' },
    explore: { type: 'boolean', default: false },
    server: { type: 'boolean', default: false },
    'database-url': { type: 'string' },
  },
});
const server = values.server === true;
const load = () =>
  execFileSync('uptime', { encoding: 'utf8' })
    .trim()
    .replace(/^.*load average: /, 'load ');

const OPS = ['insert', 'update', 'delete'] as const;
type Op = (typeof OPS)[number];

/** One timed statement of `op` on `rows` rows, in a transaction rolled back. */
async function sample(
  c: pg.Client,
  op: Op,
  rows: number,
  campaign: string,
  ids: string[],
  i: number,
): Promise<number> {
  const tuples = Array.from(
    { length: rows },
    (_, r) =>
      `(gen_random_uuid(), $1, $2 || '-${r}.com', 'bench', 'prefix_variable', 'com', $3 + ${r}, now())`,
  );
  const insert = {
    name: `cap_ins_${rows}`,
    text: `INSERT INTO generated_domains (id, domain_generation_campaign_id, domain_name, source_keyword, source_pattern, tld, offset_index, generated_at) VALUES ${tuples.join(', ')} RETURNING id`,
    values: [campaign, `capbench${i}x${Date.now()}`, 1_900_000_000 + i * 1000],
  };
  // client-side wall time, or with --server the executor's own time (EXPLAIN ANALYZE, triggers
  // included): less of the shared machine's scheduling noise, none of the round trip
  const timed = async (q: { name: string; text: string; values: unknown[] }) => {
    if (server) {
      const r = await c.query({
        ...q,
        name: `x_${q.name}`,
        text: `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${q.text}`,
      });
      return Number(
        (r.rows[0] as { 'QUERY PLAN': { 'Execution Time': number }[] })['QUERY PLAN'][0]!['Execution Time'],
      );
    }
    const t0 = performance.now();
    await c.query(q);
    return performance.now() - t0;
  };
  await c.query('BEGIN');
  try {
    if (op === 'insert') return await timed(insert);
    if (op === 'update') {
      const pick = Array.from({ length: rows }, (_, r) => ids[(i * rows + r) % ids.length]!);
      return await timed({
        name: 'cap_upd',
        text: 'UPDATE generated_domains SET source_keyword = $2 WHERE id = ANY ($1::uuid[])',
        values: [pick, `k${i}`],
      });
    }
    const mine = (await c.query<{ id: string }>(insert)).rows.map((r) => r.id);
    return await timed({
      name: 'cap_del',
      text: 'DELETE FROM generated_domains WHERE id = ANY ($1::uuid[])',
      values: [mine],
    });
  } finally {
    await c.query('ROLLBACK');
  }
}

async function measure(
  url: string,
  on: Rel,
  d: Direction,
  variants: Variant[],
  rounds: number,
  samples: number,
) {
  const t = mappedTables().find((m) => m.def.schema === 'public' && m.def.name === 'generated_domains')!;
  const c = await connect(url, 'bench-capture');
  const xs = new Map<string, number[]>();
  try {
    await c.query(SECURE_CAPTURE_FUNCTION_SQL);
    const campaign = (await c.query<{ id: string }>('SELECT id FROM campaigns ORDER BY id LIMIT 1')).rows[0]!
      .id;
    const ids = (
      await c.query<{ id: string }>('SELECT id FROM generated_domains ORDER BY random() LIMIT 5000')
    ).rows.map((r) => r.id);
    let i = 0;
    for (let round = 0; round < rounds; round++) {
      const order = [...variants].sort(() => Math.random() - 0.5);
      for (const v of order) {
        await c.query(v.install(t, on, d));
        for (const op of OPS)
          for (const rows of [1, 100]) {
            const n = rows === 1 ? samples : Math.max(10, Math.round(samples / 3));
            for (let w = 0; w < 5; w++) await sample(c, op, rows, campaign, ids, i++); // plans, caches
            const key = `${v.name}|${op}|${rows}`;
            const list = xs.get(key) ?? [];
            for (let k = 0; k < n; k++) list.push(await sample(c, op, rows, campaign, ids, i++));
            xs.set(key, list);
          }
      }
    }
    // leave the table as dfc would have it
    await c.query(`${captureFunctionSql(t, d)};\n${createCaptureTriggerSql(t, on, d)}`);
  } finally {
    await c.end();
  }
  return xs;
}

function report(title: string, xs: Map<string, number[]>, variants: Variant[]) {
  process.stdout.write(`\n== ${title}${server ? ' — executor time (EXPLAIN ANALYZE)' : ' — client time'}\n`);
  const stat = (k: string) => ({ p50: pct(xs.get(k)!, 50), p99: pct(xs.get(k)!, 99), n: xs.get(k)!.length });
  for (const op of OPS)
    for (const rows of [1, 100]) {
      const off = stat(`off|${op}|${rows}`);
      const line = variants.map((v) => {
        const s = stat(`${v.name}|${op}|${rows}`);
        const r =
          v.name === 'off' ? '' : ` (÷off ${(s.p50 / off.p50).toFixed(2)} / ${(s.p99 / off.p99).toFixed(2)})`;
        return `${v.name} ${s.p50.toFixed(3)}/${s.p99.toFixed(3)}${r}`;
      });
      process.stdout.write(
        `${op} ${rows === 1 ? 'single' : '100-row'} (p50/p99 ms, n=${off.n}): ${line.join('; ')}\n`,
      );
    }
}

const { url: serverUrl } = await resolveTarget({ databaseUrl: values['database-url'], database: 'postgres' });
const domains = Number(values.domains);
const variants = values.explore ? [...VARIANTS, ...EXPLORE] : VARIANTS;
process.stdout.write(`setting up ${domains.toLocaleString('en')} domains, legacy and cut over (${load()})\n`);
const legacyUrl = await createLegacyDatabase(serverUrl, 'dfc_bench_capture_legacy');
await seedDatabase(legacyUrl, { domains, seed: 1 });
await withClient(legacyUrl, async (c) => {
  await ensureBookkeeping(c);
  await c.query('VACUUM ANALYZE');
});
const v2Url = await createLegacyDatabase(serverUrl, 'dfc_bench_capture_v2');
await seedDatabase(v2Url, { domains, seed: 1 });
await consolidate(v2Url);
await cutover(v2Url);
await withClient(v2Url, (c) => c.query('VACUUM ANALYZE'));
const rounds = Number(values.rounds);
const samples = Number(values.samples);
const gd = { schema: 'public', name: 'generated_domains' };
process.stdout.write(`${load()} before\n`);
const fwd = await measure(legacyUrl, gd, 'forward', variants, rounds, samples);
const rev = await measure(v2Url, gd, 'reverse', variants, rounds, samples);
report('legacy generated_domains, forward capture (before cutover)', fwd, variants);
report('v2 generated_domains, reverse capture (after cutover)', rev, variants);
process.stdout.write(`${load()} after; ${rounds} rounds interleaved\n`);
