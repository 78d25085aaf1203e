/**
 * A throwaway copy of a database for `migrate trace` and `migrate verify`: `CREATE DATABASE …
 * TEMPLATE target` (schema and rows, so timings are at the real size). PostgreSQL refuses to copy
 * a database others are connected to; then, for a database at the consolidated baseline or after
 * it, the copy is a fresh schema v2 install brought to the same version with the directory's
 * files (schema only, no rows) — and the report says so.
 */
import { randomBytes } from 'node:crypto';
import { withClient } from '../db/connection.js';
import { DOMAINFLOW_EXTENSIONS_SQL, databaseUrl, dropDatabase } from '../db/databases.js';
import { DfcError, sqlstate } from '../errors.js';
import { installV2 } from '../install.js';
import { quoteIdent } from '../sql/sql.js';
import { CONSOLIDATED_BASELINE } from './paths.js';
import { migrateUp, migrationStatus } from './runner.js';

export interface Scratch {
  url: string;
  name: string;
  /** 'clone': CREATE DATABASE … TEMPLATE (schema + rows); 'install': v2 install + files (schema only) */
  method: 'clone' | 'install';
  drop(): Promise<void>;
}

export async function scratchCopy(url: string, opts: { dir?: string } = {}): Promise<Scratch> {
  const source = decodeURIComponent(new URL(url).pathname.slice(1));
  const name = `dfc_scratch_${randomBytes(5).toString('hex')}`;
  const scratchUrl = databaseUrl(url, name);
  const drop = () => dropDatabase(url, name);
  try {
    await withClient(databaseUrl(url, 'postgres'), (c) =>
      c.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(source)}`),
    );
    return { url: scratchUrl, name, method: 'clone', drop };
  } catch (e) {
    if (sqlstate(e) !== '55006' || !opts.dir) {
      throw new DfcError(
        'DFC_CONFIG',
        `cannot copy database ${source} to a scratch database: ${(e as Error).message}`,
        {
          fix:
            sqlstate(e) === '55006'
              ? 'PostgreSQL copies only a database nobody is connected to: run against a staging copy, or stop the connections'
              : 'connect as a role with CREATEDB (the copy is created next to the target and dropped afterwards)',
          cause: e,
        },
      );
    }
  }
  // busy target: rebuild its schema instead (v2 + this directory's files up to its version)
  const status = await migrationStatus(url, { dir: opts.dir });
  if (status.dirty || status.version === null || status.version < CONSOLIDATED_BASELINE || !status.known) {
    throw new DfcError('DFC_CONFIG', `database ${source} is in use and cannot be rebuilt from schema v2`, {
      fix: 'run against a database nobody is connected to (a staging copy), so it can be copied with CREATE DATABASE … TEMPLATE',
      details: { version: status.version, dirty: status.dirty },
    });
  }
  await withClient(databaseUrl(url, 'postgres'), (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  try {
    await withClient(scratchUrl, (c) => c.query(DOMAINFLOW_EXTENSIONS_SQL));
    await installV2(scratchUrl);
    if (status.version > CONSOLIDATED_BASELINE)
      await migrateUp(scratchUrl, { dir: opts.dir, to: status.version, backup: false });
  } catch (e) {
    await drop().catch(() => {});
    throw e;
  }
  return { url: scratchUrl, name, method: 'install', drop };
}
