/** `dfc db start|stop|status|url`: manage the embedded default cluster. */
import type { Command } from 'commander';
import {
  clusterPaths,
  clusterStatus,
  clusterUrl,
  redactUrl,
  startCluster,
  stopCluster,
} from '../../src/index.js';
import { emit } from '../output.js';
import { action } from '../run.js';

export function registerDb(program: Command): void {
  const db = program
    .command('db')
    .description('manage the embedded PostgreSQL cluster under $DFC_HOME (default ./.dfc)');
  db.command('start')
    .description('initialise (first time) and start the embedded cluster')
    .action(
      action(async (opts) => {
        const s = await startCluster();
        emit(
          opts,
          { event: 'db.started', port: s.port, dataDir: s.dataDir },
          `embedded PostgreSQL running on 127.0.0.1:${s.port} (${s.dataDir})`,
        );
      }),
    );
  db.command('stop')
    .description('stop the embedded cluster')
    .action(
      action(async (opts) => {
        const stopped = await stopCluster();
        emit(
          opts,
          { event: 'db.stopped', wasRunning: stopped },
          stopped ? 'embedded PostgreSQL stopped' : 'embedded PostgreSQL was not running',
        );
      }),
    );
  db.command('status')
    .description('say whether the embedded cluster exists and runs')
    .action(
      action(async (opts) => {
        const paths = clusterPaths();
        const status = await clusterStatus(paths);
        emit(
          opts,
          { event: 'db.status', status, dataDir: paths.dataDir },
          `embedded PostgreSQL: ${status} (${paths.dataDir})`,
        );
      }),
    );
  db.command('url')
    .description('print the connection URL of the embedded cluster (password redacted)')
    .option('--show-password', 'print the password too')
    .option('--database <name>', 'database name', 'domainflow')
    .action(
      action(async (opts) => {
        const s = await startCluster();
        const url = clusterUrl(s, opts.database as string);
        const shown = opts.showPassword ? url : redactUrl(url);
        emit(opts, { event: 'db.url', url: shown }, shown);
      }),
    );
}
