/** `dfc seed --domains N [--seed S] [--dirty] [--as-of ISO]`: fill a legacy v17 database with DomainFlow data. */
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError } from 'commander';
import {
  DEFAULT_AS_OF,
  resolveTarget,
  type SeedProgress,
  type SeedReport,
  seedDatabase,
} from '../../src/index.js';
import { emit } from '../output.js';
import { action } from '../run.js';

const wholeNumber =
  (name: string, max = Number.MAX_SAFE_INTEGER) =>
  (v: string) => {
    const n = Number(v);
    if (!/^[0-9]+$/.test(v.trim()) || !Number.isSafeInteger(n) || n > max)
      throw new InvalidArgumentError(`--${name} must be a whole number between 0 and ${max}`);
    return n;
  };

const instant = (v: string) => {
  const ms = v === 'now' ? Date.now() : Date.parse(v);
  if (Number.isNaN(ms))
    throw new InvalidArgumentError('--as-of must be an ISO date/time (e.g. 2025-06-01) or "now"');
  return ms;
};

function summaryLines(r: SeedReport): string {
  const lines = [
    `seeded ${Object.values(r.counts).reduce((a, b) => a + b, 0)} rows in ${r.seconds.toFixed(1)} s (seed ${r.seed}, as of ${r.asOf})`,
  ];
  for (const t of r.tables) {
    const s = t.copySeconds + t.rebuildSeconds;
    const rate = s > 0 && t.rows >= 1000 ? `  ${Math.round(t.rows / s)} rows/s` : '';
    lines.push(`  ${t.table.padEnd(42)} ${String(t.rows).padStart(9)}${t.dirty ? ' (dirty)' : ''}${rate}`);
  }
  const fks = r.foreignKeys;
  lines.push(
    `foreign keys: ${fks.length} checked on the clean data, ${fks.filter((f) => f.orphans > 0).length} with orphans`,
  );
  if (Object.keys(r.dirty).length > 0) {
    lines.push('dirty rows:');
    for (const [k, n] of Object.entries(r.dirty)) lines.push(`  ${k.padEnd(42)} ${n}`);
  }
  if (r.skipped.length > 0) lines.push(`skipped (absent in this database): ${r.skipped.join(', ')}`);
  return lines.join('\n');
}

export function registerSeed(program: Command): void {
  program
    .command('seed')
    .description('fill an empty legacy (v17) DomainFlow database with realistic, deterministic data by COPY')
    .requiredOption(
      '--domains <n>',
      'generated domains (exact); other tables scale with it',
      wholeNumber('domains'),
    )
    .option('--seed <s>', 'PRNG seed: same seed, same bytes', wholeNumber('seed', 0xffffffff), 1)
    .option('--dirty', 'add a reported number of rows that break naive consolidations')
    .option(
      '--as-of <time>',
      `"now" of the data (default ${new Date(DEFAULT_AS_OF).toISOString()}, or "now")`,
      instant,
    )
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const tty = !opts.json && Boolean(process.stdout.isTTY);
        const bar = tty
          ? new cliProgress.SingleBar(
              {
                format:
                  'seed {bar} {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted} | {phase} {table}',
                etaBuffer: 50,
              },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
        const started = performance.now();
        let lastJson = 0;
        const onProgress = (p: SeedProgress) => {
          const secs = (performance.now() - started) / 1000;
          const rate = secs > 0 ? Math.round(p.rows / secs) : 0;
          if (bar) {
            if (!bar.isActive) bar.start(p.totalRows, 0, { rate: 0, phase: '', table: '' });
            bar.update(p.rows, { rate, phase: p.phase, table: p.table ?? '' });
          } else if (opts.json && (p.phase !== 'copy' || secs - lastJson >= 0.5)) {
            // JSON lines at most twice a second while copying, and at every phase change.
            lastJson = secs;
            emit(
              opts,
              { event: 'seed.progress', ...p, rowsPerSec: rate, elapsedSeconds: Number(secs.toFixed(2)) },
              '',
            );
          }
        };
        let report: SeedReport;
        try {
          report = await seedDatabase(url, {
            domains: Number(opts.domains),
            seed: Number(opts.seed),
            dirty: Boolean(opts.dirty),
            asOf: opts.asOf as number | undefined,
            onProgress,
          });
        } finally {
          bar?.stop();
        }
        emit(opts, { event: 'seed.done', ...report }, () => summaryLines(report));
      }),
    );
}
