/**
 * The benches' write probe: insert latency into generated_domains (single row and 100-row batch),
 * each insert in its own transaction rolled back, so the data does not change. Shared by
 * bench/consolidate (capture on ÷ off before cutover) and bench/cutover (reverse capture after).
 *
 * Paired: the same inserts alternately into generated_domains and into a twin of it made here
 * (same columns, rows, indexes, foreign keys and application triggers; no capture triggers), so
 * capture on and off are measured in the same seconds under the same load and follower. Made
 * from the catalog with SQL only (pg_get_indexdef, pg_get_constraintdef, pg_get_triggerdef): no
 * engine code.
 */
import type pg from 'pg';
import { connect, withClient } from '../src/db/connection.js';
import { quoteIdent } from '../src/sql/sql.js';

export interface Latency {
  p50: number;
  p99: number;
}
export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

const TWIN_SCHEMA = 'bench_capture_off';
/** The live table the probe writes to, and its twin without capture. */
const LIVE = 'public.generated_domains';
const TWIN = `${quoteIdent(TWIN_SCHEMA)}.generated_domains`;

/**
 * The twin of public.generated_domains: its rows, indexes, foreign keys (NOT VALID: checked on
 * insert as the live ones, without a validating scan) and every trigger that is not dfc's
 * capture (functions in the consolidation schema) or internal. Drop it (dropTwin) before a
 * cutover or rollback: a foreign key to campaigns is another application's object to them.
 */
export async function createTwin(url: string): Promise<void> {
  await withClient(url, async (c) => {
    await c.query(
      `DROP SCHEMA IF EXISTS ${quoteIdent(TWIN_SCHEMA)} CASCADE; CREATE SCHEMA ${quoteIdent(TWIN_SCHEMA)}`,
    );
    await c.query(`CREATE TABLE ${TWIN} (LIKE ${LIVE} INCLUDING ALL EXCLUDING INDEXES)`);
    const cols = await c.query<{ list: string }>(
      `SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS list FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''`,
      [LIVE],
    );
    await c.query(`INSERT INTO ${TWIN} (${cols.rows[0]!.list}) SELECT ${cols.rows[0]!.list} FROM ${LIVE}`);
    // catalog definitions re-pointed at the twin: index and constraint names may repeat in another schema
    const onTwin = (def: string) => def.replace(` ON ${LIVE} `, ` ON ${TWIN} `);
    const defs = await c.query<{ kind: string; def: string; name: string }>(
      `SELECT 'index' AS kind, pg_get_indexdef(indexrelid) AS def, '' AS name FROM pg_index WHERE indrelid = $1::regclass
       UNION ALL SELECT 'fk', pg_get_constraintdef(oid), conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'
       UNION ALL SELECT 'trigger', pg_get_triggerdef(t.oid), '' FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                 JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE t.tgrelid = $1::regclass AND NOT t.tgisinternal AND n.nspname <> 'consolidation'`,
      [LIVE],
    );
    for (const d of defs.rows) {
      if (d.kind === 'fk')
        await c.query(`ALTER TABLE ${TWIN} ADD CONSTRAINT ${quoteIdent(d.name)} ${d.def} NOT VALID`);
      else await c.query(onTwin(d.def));
    }
    await c.query(`ANALYZE ${TWIN}`);
  });
}

export async function dropTwin(url: string): Promise<void> {
  await withClient(url, (c) => c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(TWIN_SCHEMA)} CASCADE`));
}

type Probe = (table: string, rows: number, i: number) => Promise<number>;

/** One timed insert of `rows` rows into `table`, in a transaction rolled back. */
function probe(c: pg.Client): Probe {
  return async (table, rows, i) => {
    const tuples = Array.from(
      { length: rows },
      (_, r) =>
        `(gen_random_uuid(), $1, $2 || '-${r}.com', 'bench', 'prefix_variable', 'com', $3 + ${r}, now())`,
    );
    const text = `INSERT INTO ${table} (id, domain_generation_campaign_id, domain_name, source_keyword, source_pattern, tld, offset_index, generated_at) VALUES ${tuples.join(', ')}`;
    await c.query('BEGIN');
    try {
      // the traffic deletes campaigns: hold one for this insert (not timed)
      const camp = await c.query<{ id: string }>(
        'SELECT id FROM campaigns ORDER BY id LIMIT 1 FOR KEY SHARE',
      );
      const t0 = performance.now();
      await c.query({
        name: `bench_ins_${table}_${rows}`,
        text,
        values: [camp.rows[0]!.id, `bench${i}x${Date.now()}`, 1_500_000_000 + i * 1000],
      });
      return performance.now() - t0;
    } finally {
      await c.query('ROLLBACK');
    }
  };
}

const latency = (xs: number[]): Latency => ({ p50: pct(xs, 50), p99: pct(xs, 99) });
const batchSamples = (samples: number) => Math.max(20, Math.round(samples / 3));

/** Insert latency into generated_domains (single row, 100-row batch), each in a transaction rolled back. */
export async function writeLatency(
  url: string,
  samples: number,
): Promise<{ single: Latency; batch: Latency }> {
  const c = await connect(url, 'bench-writes');
  try {
    const insert = probe(c);
    const run = async (rows: number, n: number) => {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) xs.push(await insert(LIVE, rows, i));
      return latency(xs);
    };
    await run(1, 20); // warm the plan cache
    return { single: await run(1, samples), batch: await run(100, batchSamples(samples)) };
  } finally {
    await c.end();
  }
}

export interface PairedLatency {
  on: { single: Latency; batch: Latency };
  off: { single: Latency; batch: Latency };
}

/**
 * The same inserts into generated_domains (capture on) and its twin (createTwin: capture off),
 * alternating which goes first, so both sides share every moment of load.
 */
export async function pairedWriteLatency(url: string, samples: number): Promise<PairedLatency> {
  const c = await connect(url, 'bench-writes-paired');
  try {
    const insert = probe(c);
    const run = async (rows: number, n: number) => {
      const on: number[] = [];
      const off: number[] = [];
      for (let i = 0; i < n; i++) {
        const first = i % 2 === 0;
        if (first) on.push(await insert(LIVE, rows, i));
        off.push(await insert(TWIN, rows, i));
        if (!first) on.push(await insert(LIVE, rows, i));
      }
      return { on: latency(on), off: latency(off) };
    };
    await run(1, 20); // warm both plan caches
    const single = await run(1, samples);
    const batch = await run(100, batchSamples(samples));
    return { on: { single: single.on, batch: batch.on }, off: { single: single.off, batch: batch.off } };
  } finally {
    await c.end();
  }
}
