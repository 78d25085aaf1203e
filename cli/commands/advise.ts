/** `dfc advise`: rewrites only the application can make, each with its measured gain. */
import type { Command } from 'commander';
import { advise, resolveTarget } from '../../src/index.js';
import { emit } from '../output.js';
import { action } from '../run.js';

export function registerAdvise(program: Command): void {
  program
    .command('advise')
    .description(
      'application-side rewrites (keyset pagination, index-servable ORDER BY, campaign_statistics), timed here',
    )
    .option('--runs <n>', 'timed runs of each side', '15')
    .action(
      action(async (opts) => {
        const target = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const list = await advise(target.url, { runs: Number(opts.runs) });
        for (const a of list)
          emit(opts, { event: 'advise.item', ...a }, () =>
            [
              `${a.advised ? '' : '(not advised: no measured gain here) '}${a.id}: ${a.problem}`,
              `  now:     ${a.statement}`,
              `  rewrite: ${a.rewrite}`,
              `  measured: ${a.originalMs.toFixed(3)} ms → ${a.rewriteMs.toFixed(3)} ms (${a.speedup.toFixed(1)}×)${a.observed ? `; pg_stat_statements: ${a.observed.calls} calls, mean ${a.observed.meanMs.toFixed(3)} ms` : ''}`,
              a.caveat ? `  note: ${a.caveat}` : '',
            ]
              .filter(Boolean)
              .join('\n'),
          );
        if (!list.length) emit(opts, { event: 'advise.none' }, 'nothing to advise on this data');
        return 0;
      }),
    );
}
