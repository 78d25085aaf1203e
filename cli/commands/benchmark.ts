/** `dfc benchmark run LABEL | compare A B | list` (guide steps 3 and 7). */
import type { Command } from 'commander';
import { compareBenchmarks, listBenchmarks, resolveTarget, runBenchmark } from '../../src/index.js';
import { emit } from '../output.js';
import { action } from '../run.js';

const f = (n: number | null | undefined) =>
  n === null || n === undefined || Number.isNaN(n) ? '-' : Number(n).toFixed(3);

export function registerBenchmark(program: Command): void {
  const b = program
    .command('benchmark')
    .description("time DomainFlow's hot queries on this database; compare suites");
  b.command('run <label>')
    .description('run the suite (read-only unless --writes; writes are rolled back) and store it as LABEL')
    .option('--iterations <n>', 'timed runs per test', '30')
    .option('--warmup <n>', 'untimed runs per test first', '3')
    .option('--writes', 'include the write batches (each inside BEGIN … ROLLBACK)')
    .option('--only <prefixes>', 'comma-separated test name prefixes')
    .action(
      action(async (opts, label: string) => {
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const suite = await runBenchmark(target.url, label, {
          iterations: Number(opts.iterations),
          warmup: Number(opts.warmup),
          writes: Boolean(opts.writes),
          only: opts.only ? String(opts.only).split(',') : undefined,
          onTest: (t) =>
            emit(opts, { event: 'benchmark.test', ...t }, () =>
              t.status === 'passed'
                ? `  ${t.name.padEnd(30)} p50 ${f(t.p50).padStart(9)} ms  p95 ${f(t.p95).padStart(9)}  mean ${f(t.mean).padStart(9)}  iqr ${f(t.iqr).padStart(7)}  rows ${String(t.rows).padStart(5)}  buffers ${t.sharedBuffers}  (${t.about})`
                : `  ${t.name.padEnd(30)} ERROR ${t.error}`,
            ),
        });
        emit(
          opts,
          {
            event: 'benchmark.done',
            suiteId: suite.suiteId,
            label,
            layout: suite.layout,
            dataSize: suite.dataSize,
            totalP50: suite.totalP50,
          },
          () =>
            `suite ${label} (${suite.layout}) stored as ${suite.suiteId}: ${suite.tests.length} tests, summed p50 ${f(suite.totalP50)} ms; data ${JSON.stringify(suite.dataSize)}`,
        );
        return suite.tests.some((t) => t.status !== 'passed') ? 1 : 0;
      }),
    );
  b.command('compare <baseline> <comparison>')
    .description('compare two suites by label; stored in benchmarks.performance_comparisons')
    .action(
      action(async (opts, a: string, bl: string) => {
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await compareBenchmarks(target.url, a, bl);
        for (const t of r.tests)
          emit(
            opts,
            { event: 'benchmark.comparison', ...t },
            () =>
              `  ${t.test_name.padEnd(30)} ${f(t.pre_consolidation_ms).padStart(9)} → ${f(t.post_consolidation_ms).padStart(9)} ms  ratio ${f(t.ratio)}  ±${f(t.noise_band_ms)}  ${t.performance_status}`,
          );
        emit(
          opts,
          {
            event: 'benchmark.compare.done',
            overallImprovementPercentage: r.overallImprovementPercentage,
            summedRatio: r.summedRatio,
          },
          () =>
            `${a} → ${bl}: summed median ratio ${f(r.summedRatio)}, overall improvement ${r.overallImprovementPercentage} %`,
        );
        return 0;
      }),
    );
  b.command('list')
    .description('stored suites, newest first')
    .action(
      action(async (opts) => {
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        for (const s of await listBenchmarks(target.url))
          emit(
            opts,
            { event: 'benchmark.suite', ...s },
            () =>
              `${s.label.padEnd(24)} ${String(s.layout).padEnd(7)} ${new Date(s.started_at).toISOString()}  ${s.passed_tests}/${s.total_tests} passed  summed p50 ${f(s.total_p50_ms)} ms  ${s.suite_id}`,
          );
        return 0;
      }),
    );
}
