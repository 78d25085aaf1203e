/**
 * A golang-migrate source directory: `<version>_<name>.up.sql` / `.down.sql`. Versions only have
 * to ascend (DomainFlow's history has no 000003/000004). Every version needs both files; a
 * directory that breaks that is rejected before anything touches the database.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DfcError } from '../errors.js';
import { codeOnly, containsKeyword, splitStatements } from './split.js';

/** golang-migrate's file pattern, restricted to .sql (source/parse.go uses `\.(down|up)\.(.*)$`). */
export const MIGRATION_FILE = /^([0-9]+)_(.*)\.(down|up)\.sql$/;

export interface MigrationFile {
  path: string;
  /** file name without directory */
  file: string;
  sql: string;
  /**
   * - 'transaction': the file and the clean-version write commit together (the default).
   * - 'statements': the file contains CONCURRENTLY, which PostgreSQL refuses inside a transaction
   *   (25001), so it runs one statement at a time in autocommit.
   * - 'as-is': the file has its own top-level BEGIN/COMMIT; it is sent as one query, exactly as
   *   golang-migrate does, and the clean-version write follows in its own transaction.
   */
  mode: 'transaction' | 'statements' | 'as-is';
}

export interface Migration {
  version: number;
  name: string;
  up: MigrationFile;
  down: MigrationFile;
}

function readMigrationFile(dir: string, file: string): MigrationFile {
  const p = path.join(dir, file);
  const sql = readFileSync(p, 'utf8');
  const mode = containsKeyword(sql, 'CONCURRENTLY')
    ? 'statements'
    : hasTransactionControl(sql)
      ? 'as-is'
      : 'transaction';
  return { path: p, file, sql, mode };
}

/** Does the file manage its own transaction (a top-level BEGIN/COMMIT/…)? */
function hasTransactionControl(sql: string): boolean {
  return splitStatements(sql).some((s) => {
    const first = /^[A-Za-z]+/.exec(codeOnly(s.text).trimStart())?.[0]?.toUpperCase();
    return first !== undefined && ['BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT'].includes(first);
  });
}

/**
 * Read and validate a migration directory, ascending by version.
 *
 * @example
 *   loadMigrations('db/legacy') // → [{version: 1, name: 'initial_schema', up: {...}, down: {...}}, ...]
 */
export function loadMigrations(dir: string): Migration[] {
  const abs = path.resolve(dir);
  let entries: string[];
  try {
    if (!statSync(abs).isDirectory()) throw new Error('not a directory');
    entries = readdirSync(abs);
  } catch {
    throw new DfcError('DFC_CONFIG', `migration directory not found: ${abs}`, {
      fix: 'pass --dir with a directory of NNNNNN_name.up.sql / .down.sql files, or --legacy for the shipped history',
    });
  }
  const byVersion = new Map<
    number,
    { name: string; prefix: string; up?: MigrationFile; down?: MigrationFile }
  >();
  for (const file of entries.sort()) {
    const m = MIGRATION_FILE.exec(file);
    if (!m) continue;
    const version = Number(m[1]);
    if (!Number.isSafeInteger(version)) {
      throw new DfcError('DFC_CONFIG', `version of ${file} is too large`, {
        fix: 'use versions below 2^53 (sequence numbers or yyyymmddhhmmss timestamps)',
      });
    }
    const name = m[2]!;
    const dirn = m[3] as 'up' | 'down';
    const entry = byVersion.get(version) ?? { name, prefix: m[1]! };
    if (entry.name !== name || entry[dirn]) {
      const other = entry[dirn]?.file ?? `${entry.prefix}_${entry.name}.${entry.up ? 'up' : 'down'}.sql`;
      throw new DfcError('DFC_CONFIG', `duplicate migration version ${version}: ${other} and ${file}`, {
        fix: `give each migration its own version; rename one of the files in ${abs}`,
        details: { version, files: [other, file] },
      });
    }
    entry[dirn] = readMigrationFile(abs, file);
    byVersion.set(version, entry);
  }
  const out: Migration[] = [];
  for (const [version, e] of [...byVersion.entries()].sort((a, b) => a[0] - b[0])) {
    if (!e.up || !e.down) {
      const missing = `${e.prefix}_${e.name}.${e.up ? 'down' : 'up'}.sql`;
      throw new DfcError(
        'DFC_CONFIG',
        `migration ${version} (${e.name}) has no ${e.up ? 'down' : 'up'} file`,
        {
          fix: `add ${missing} to ${abs} (each version needs an up and a down file)`,
          details: { version },
        },
      );
    }
    out.push({ version, name: e.name, up: e.up, down: e.down });
  }
  return out;
}
