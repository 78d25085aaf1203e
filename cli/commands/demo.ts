/** `dfc demo`: the whole job on the embedded default (or --database-url's server). */
import path from 'node:path';
import type { Command } from 'commander';
import { resolveTarget, runDemo } from '../../src/index.js';
import { engineRenderer } from '../engine-render.js';
import { positive, whole } from '../options.js';
import { emit } from '../output.js';
import { action } from '../run.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('legacy DomainFlow + data + live traffic → online consolidation → cutover → proofs')
    .option('--domains <n>', 'generated domains to seed', whole('--domains', { min: 1 }), 200_000)
    .option('--rate <ops>', 'application traffic, ops/s', positive('--rate'), 100)
    .option('--database <name>', 'demo database (dropped and recreated)', 'domainflow_demo')
    .action(
      action(async (opts) => {
        const { url } = await resolveTarget({ databaseUrl: opts.databaseUrl });
        const r = engineRenderer(Boolean(opts.json));
        const result = await runDemo({
          serverUrl: url,
          database: opts.database,
          domains: opts.domains,
          rate: opts.rate,
          workDir: path.resolve(process.env.DFC_HOME ?? '.dfc', 'demo'),
          say: (line) => (opts.json ? undefined : process.stdout.write(`${line}\n`)),
          onEvent: r.onEvent,
        });
        r.stop();
        const ok = result.ledgerMismatches === 0 && result.traffic.failedWrites === 0 && result.verifyPassed;
        emit(
          opts,
          { event: 'demo.done', ok, ...result, url: undefined },
          ok ? 'demo: PASS — zero downtime, nothing lost' : 'demo: FAIL (see above)',
        );
        return ok ? 0 : 1;
      }),
    );
}
