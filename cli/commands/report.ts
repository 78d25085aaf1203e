/** `dfc report --html FILE`: the self-contained page of what the bookkeeping recorded. */
import type { Command } from 'commander';
import { DfcError, resolveTarget, writeHtmlReport } from '../../src/index.js';
import { emit } from '../output.js';
import { action } from '../run.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'write a self-contained HTML report (timeline, throughput, metrics, benchmarks, validation, recovery)',
    )
    .option('--html <file>', 'output file')
    .action(
      action(async (opts) => {
        if (!opts.html)
          throw new DfcError('DFC_CONFIG', 'dfc report needs --html FILE', {
            fix: 'e.g. dfc report --html report.html',
          });
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = await writeHtmlReport(target.url, String(opts.html));
        emit(
          opts,
          { event: 'report.written', ...r },
          `report written to ${r.file} (${JSON.stringify(r.sections)})`,
        );
        return 0;
      }),
    );
}
