/**
 * bench/seed: how fast `dfc seed` fills a fresh legacy database. Prints rows/s for generated_domains
 * (COPY + key/index rebuild + FK validation), every table's COPY and rebuild times, the whole
 * seed's rate, and — to tell generator from server — the generator alone (no database).
 * The machine's load average is printed too: on shared cores the figures move with it.
 * Usage: npx tsx bench/seed.ts [--domains 1000000] [--seed 1] [--database-url URL] [--keep] [--json]
 */
import { parseArgs } from 'node:util';
import { resolveTarget } from '../src/db/connection.js';
import { dropDatabase } from '../src/db/databases.js';
import { createLegacyDatabase } from '../src/migrate/legacy-database.js';
import { buildPlan } from '../workload/seed/plan.js';
import { resultTables } from '../workload/seed/rows-results.js';
import { seedDatabase } from '../workload/seed.js';
import { load } from './load.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    'database-url': { type: 'string' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const domains = Number(values.domains);
const seed = Number(values.seed);

/** Lines of generated_domains per second, generator only (no database, no socket). */
function generatorRate(): number {
  const t = resultTables(buildPlan(seed, domains)).find((x) => x.name === 'generated_domains')!;
  const t0 = performance.now();
  let n = 0;
  for (const _ of t.lines()) n++;
  return n / ((performance.now() - t0) / 1000);
}

const { url: serverUrl } = await resolveTarget({ databaseUrl: values['database-url'] });
const name = `dfc_bench_seed_${domains}`;
const url = await createLegacyDatabase(serverUrl, name);

const loadBefore = load();
const report = await seedDatabase(url, { domains, seed });
const loadAfter = load();
const genOnly = generatorRate();

const gd = report.tables.find((t) => t.table === 'public.generated_domains' && !t.dirty)!;
const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
const result = {
  domains,
  seed,
  generatedDomains: {
    rows: gd.rows,
    copySeconds: +gd.copySeconds.toFixed(2),
    rebuildSeconds: +gd.rebuildSeconds.toFixed(2),
    rowsPerSec: Math.round(gd.rows / (gd.copySeconds + gd.rebuildSeconds)),
    copyOnlyRowsPerSec: Math.round(gd.rows / gd.copySeconds),
    generatorOnlyRowsPerSec: Math.round(genOnly),
  },
  totalRows: total,
  totalSeconds: +report.seconds.toFixed(2),
  totalRowsPerSec: Math.round(total / report.seconds),
  phases: report.phases,
  tables: report.tables,
  loadAverage: { before: loadBefore, after: loadAfter, cpus: (await import('node:os')).cpus().length },
};

if (values.json) {
  console.log(JSON.stringify(result));
} else {
  const g = result.generatedDomains;
  console.log(
    `bench/seed: ${domains} generated domains, seed ${seed} (load average ${loadBefore} → ${loadAfter} on ${result.loadAverage.cpus} cpus)`,
  );
  console.log(
    `  generated_domains  ${g.rowsPerSec} rows/s  (COPY ${g.copySeconds} s + keys/indexes/FK ${g.rebuildSeconds} s; COPY alone ${g.copyOnlyRowsPerSec} rows/s; generator alone ${g.generatorOnlyRowsPerSec} rows/s)`,
  );
  console.log(
    `  all tables         ${result.totalRowsPerSec} rows/s  (${total} rows in ${result.totalSeconds} s)`,
  );
  const p = report.phases;
  console.log(
    `  phases: copy ${p.copySeconds.toFixed(2)} s, rebuild ${p.rebuildSeconds.toFixed(2)} s, FK check ${p.verifySeconds.toFixed(2)} s, ANALYZE ${p.analyzeSeconds.toFixed(2)} s, campaign_statistics refresh ${p.refreshSeconds.toFixed(2)} s`,
  );
  console.log('  per table:                                  rows    copy s  rebuild s      rows/s');
  for (const t of report.tables) {
    const s = t.copySeconds + t.rebuildSeconds;
    console.log(
      `    ${t.table.padEnd(40)} ${String(t.rows).padStart(9)} ${t.copySeconds.toFixed(3).padStart(9)} ${t.rebuildSeconds.toFixed(3).padStart(10)} ${String(Math.round(t.rows / s)).padStart(11)}`,
    );
  }
}

if (!values.keep) await dropDatabase(serverUrl, name);
process.exit(0);
