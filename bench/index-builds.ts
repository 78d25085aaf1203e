/**
 * bench/index-builds: the lever "index builds in parallel sessions and with parallel maintenance
 * workers", measured side by side on one database (no traffic: the builds alone). The one-shot
 * limit's copy and plain builds (one-shot.ts) with 1 or 2 sessions (each takes the next table,
 * biggest first, as the run's lanes do) × max_parallel_maintenance_workers 0 or the server's
 * default, interleaved over --rounds in a shuffled order; medians printed with the load.
 * What consolidate does today: 2 lanes and the server's default.
 * Usage: npx tsx bench/index-builds.ts [--domains 1000000] [--rounds 3] [--database-url URL]
 */
import { parseArgs } from 'node:util';
import { resolveTarget, withClient } from '../src/db/connection.js';
import { createLegacyDatabase } from '../src/migrate/legacy-database.js';
import { seedDatabase } from '../workload/seed.js';
import { load } from './load.js';
import { oneShotLimit } from './one-shot.js';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
    'database-url': { type: 'string' },
  },
});
const domains = Number(values.domains);
const rounds = Number(values.rounds);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const { url: serverUrl } = await resolveTarget({ databaseUrl: values['database-url'], database: 'postgres' });
const url = await createLegacyDatabase(serverUrl, `dfc_bench_idx_${domains}`);
await seedDatabase(url, { domains, seed: 1 });
await withClient(url, (c) => c.query('VACUUM ANALYZE'));
const settings = await withClient(
  url,
  async (c) =>
    (
      await c.query<{ workers: string; mem: string; procs: string }>(
        `SELECT current_setting('max_parallel_maintenance_workers') AS workers,
                current_setting('maintenance_work_mem') AS mem, current_setting('max_worker_processes') AS procs`,
      )
    ).rows[0]!,
);
process.stdout.write(
  `== ${domains.toLocaleString('en')} generated domains; server: max_parallel_maintenance_workers ${settings.workers}, maintenance_work_mem ${settings.mem}, max_worker_processes ${settings.procs}; load ${load()}\n`,
);

interface Config {
  label: string;
  sessions: number;
  workers?: number;
}
const configs: Config[] = [
  { label: '1 session, 0 workers', sessions: 1, workers: 0 },
  { label: `1 session, default (${settings.workers}) workers`, sessions: 1 },
  { label: '2 sessions, 0 workers', sessions: 2, workers: 0 },
  { label: `2 sessions, default workers (consolidate today)`, sessions: 2 },
];
const times = new Map(configs.map((c) => [c.label, { copy: [] as number[], index: [] as number[] }]));
for (let round = 1; round <= rounds; round++) {
  // a shuffled order per round, so a drift of the machine's load does not favour one config
  const order = [...configs].sort(() => Math.random() - 0.5);
  for (const c of order) {
    const r = await oneShotLimit(
      url,
      c.sessions,
      c.workers === undefined ? {} : { maintenanceWorkers: c.workers },
    );
    times.get(c.label)!.copy.push(r.copySeconds);
    times.get(c.label)!.index.push(r.indexSeconds);
    process.stdout.write(
      `  round ${round}: ${c.label.padEnd(48)} copy ${r.copySeconds.toFixed(2)} s, index builds ${r.indexSeconds.toFixed(2)} s (load ${load()})\n`,
    );
  }
}
const today = times.get(configs[3]!.label)!;
process.stdout.write(`medians of ${rounds} rounds (index builds ÷ consolidate's configuration):\n`);
for (const c of configs) {
  const t = times.get(c.label)!;
  process.stdout.write(
    `  ${c.label.padEnd(48)} copy ${median(t.copy).toFixed(2)} s, index builds ${median(t.index).toFixed(2)} s = ${(median(t.index) / median(today.index)).toFixed(2)}\n`,
  );
}
