/**
 * `dfc load --rate R --duration S --ledger FILE`: live DomainFlow traffic with a write ledger.
 * `dfc ledger verify --ledger FILE`: check the database against a ledger (exit 1 on any mismatch).
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import {
  resolveTarget,
  runTraffic,
  type TrafficProgress,
  type TrafficReport,
  verifyLedger,
} from '../../src/index.js';
import { positive, whole } from '../options.js';
import { emit } from '../output.js';
import { action } from '../run.js';

function summaryLines(r: TrafficReport): string {
  const retries = Object.entries(r.retries)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
  const lines = [
    `load: ${r.ops} ops in ${(r.durationMs / 1000).toFixed(1)} s = ${r.achievedOpsPerSec} ops/s (${r.concurrency} connections)`,
    `  reads  ${r.reads}, failed ${r.failedReads}; p50 ${r.latency.reads.p50} ms, p95 ${r.latency.reads.p95}, p99 ${r.latency.reads.p99}, max ${r.latency.reads.max}`,
    `  writes ${r.writes}, failed ${r.failedWrites}, uncertain ${r.uncertainWrites}; p50 ${r.latency.writes.p50} ms, p95 ${r.latency.writes.p95}, p99 ${r.latency.writes.p99}, max ${r.latency.writes.max}`,
    `  retries: ${retries || 'none'}`,
    `  ledger: ${r.ledgerEntries} committed writes`,
  ];
  for (const [table, s] of Object.entries(r.ledgerSummary))
    lines.push(
      `    ${table.padEnd(42)} insert ${s.insert}, update ${s.update} (${s.update_null} set NULL), delete ${s.delete}`,
    );
  const finals = r.failures.filter((f) => f.final).slice(0, 10);
  for (const f of finals) lines.push(`  failed ${f.op}: ${f.sqlstate ?? ''} ${f.message}`);
  return lines.join('\n');
}

export function registerLoad(program: Command): void {
  program
    .command('load')
    .description(
      'simulate the DomainFlow service against the current schema, ledgering every committed write',
    )
    .requiredOption('--rate <ops>', 'target operations per second', positive('--rate'))
    .requiredOption('--duration <seconds>', 'how long to run', positive('--duration'))
    .requiredOption('--ledger <file>', 'write ledger (JSON lines) to create (an existing file is refused)')
    .option('--force', 'overwrite an existing --ledger file')
    .option('--seed <n>', 'seed of the operation mix', whole('--seed', { min: 0 }), 1)
    .option('--concurrency <n>', 'connections (default: rate/25, 2..16)', whole('--concurrency', { min: 1 }))
    .option('--lock-timeout <ms>', "lock_timeout for the app's sessions", whole('--lock-timeout', { min: 1 }))
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const stop = new AbortController();
        const onSigint = () => stop.abort();
        process.once('SIGINT', onSigint);
        const tty = !opts.json && Boolean(process.stdout.isTTY);
        const bar = tty
          ? new cliProgress.SingleBar(
              {
                format:
                  'load {bar} {value}/{total} s | {rate} ops/s | failed writes {fw}, reads {fr} | retries {retries} | p99 {p99} ms',
              },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
        const durationS = Number(opts.duration);
        bar?.start(Math.round(durationS), 0, { rate: 0, fw: 0, fr: 0, retries: 0, p99: 0 });
        const onProgress = (p: TrafficProgress) => {
          const payload = {
            rate: p.opsPerSec,
            fw: p.failedWrites,
            fr: p.failedReads,
            retries: p.retries,
            p99: p.p99Ms,
          };
          if (bar) bar.update(Math.min(Math.round(p.elapsedMs / 1000), Math.round(durationS)), payload);
          else if (opts.json) emit(opts, { event: 'load.progress', ...p }, '');
        };
        let report: TrafficReport;
        try {
          report = await runTraffic(url, {
            rate: Number(opts.rate),
            durationMs: durationS * 1000,
            ledgerPath: opts.ledger,
            overwriteLedger: Boolean(opts.force),
            seed: Number(opts.seed),
            concurrency: opts.concurrency ? Number(opts.concurrency) : undefined,
            lockTimeoutMs: opts.lockTimeout ? Number(opts.lockTimeout) : undefined,
            signal: stop.signal,
            onProgress,
          });
        } finally {
          bar?.stop();
          process.off('SIGINT', onSigint);
        }
        emit(opts, { event: 'load.done', ledger: opts.ledger, ...report }, () => summaryLines(report));
        return report.failedWrites > 0 ? 1 : 0;
      }),
    );

  const ledger = program.command('ledger').description('the write ledger written by `dfc load`');
  ledger
    .command('verify')
    .description(
      'check the database against a ledger: committed writes present with their values, deletes absent',
    )
    .requiredOption('--ledger <file>', 'ledger written by `dfc load --ledger`')
    .option('--limit <n>', 'mismatches to print (human output)', whole('--limit', { min: 0 }), 50)
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await verifyLedger(url, opts.ledger);
        if (opts.json) {
          emit(opts, { event: 'ledger.verify', ok: r.mismatches.length === 0, ...r }, '');
        } else {
          const lines = [
            `ledger verify: ${r.ledgerEntries} entries → ${r.checked} keys checked (${r.present} present, ${r.absent} absent), ${r.valuesChecked} values compared, ${r.uncertainSkipped} uncertain skipped`,
          ];
          for (const m of r.mismatches.slice(0, Number(opts.limit)))
            lines.push(
              `  MISMATCH ${m.kind} ${m.table} ${JSON.stringify(m.key)}${m.column ? ` .${m.column}` : ''}: expected ${JSON.stringify(m.expected)}, actual ${JSON.stringify(m.actual)}`,
            );
          if (r.mismatches.length > Number(opts.limit))
            lines.push(`  … ${r.mismatches.length - Number(opts.limit)} more (use --json for all)`);
          lines.push(r.mismatches.length ? `${r.mismatches.length} mismatches` : '0 mismatches');
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        return r.mismatches.length ? 1 : 0;
      }),
    );
}
