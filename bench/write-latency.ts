/**
 * The benches' write probe: insert latency into generated_domains (single row and 100-row batch),
 * each insert in its own transaction rolled back, so the data does not change. Shared by
 * bench/consolidate (capture on ÷ off before cutover) and bench/cutover (reverse capture after).
 */
import { connect } from '../src/db/connection.js';

export interface Latency {
  p50: number;
  p99: number;
}
export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

/** Insert latency into generated_domains (single row, 100-row batch), each in a transaction rolled back. */
export async function writeLatency(
  url: string,
  samples: number,
): Promise<{ single: Latency; batch: Latency }> {
  const c = await connect(url, 'bench-writes');
  try {
    const run = async (rows: number, n: number) => {
      const tuples = Array.from(
        { length: rows },
        (_, r) =>
          `(gen_random_uuid(), $1, $2 || '-${r}.com', 'bench', 'prefix_variable', 'com', $3 + ${r}, now())`,
      );
      const text = `INSERT INTO generated_domains (id, domain_generation_campaign_id, domain_name, source_keyword, source_pattern, tld, offset_index, generated_at) VALUES ${tuples.join(', ')}`;
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        await c.query('BEGIN');
        // the traffic deletes campaigns: hold one for this insert (not timed)
        const camp = await c.query<{ id: string }>(
          'SELECT id FROM campaigns ORDER BY id LIMIT 1 FOR KEY SHARE',
        );
        const t0 = performance.now();
        await c.query({
          name: `bench_ins_${rows}`,
          text,
          values: [camp.rows[0]!.id, `bench${i}x${Date.now()}`, 1_500_000_000 + i * 1000],
        });
        xs.push(performance.now() - t0);
        await c.query('ROLLBACK');
      }
      return { p50: pct(xs, 50), p99: pct(xs, 99) };
    };
    await run(1, 20); // warm the plan cache
    return { single: await run(1, samples), batch: await run(100, Math.max(20, Math.round(samples / 3))) };
  } finally {
    await c.end();
  }
}
