/**
 * `dfc migrate new "add campaign analytics"`: the next-numbered pair of files from the template
 * (db/templates/migration.up.sql / .down.sql). The number continues after the larger of the
 * database's version (when one is given and reachable) and the directory's highest file; with
 * neither, after the consolidated baseline (17), so the first file after v2 is 000018.
 *
 * @example
 *   await newMigration({ title: 'add campaign analytics', dir: 'migrations', url })
 *   // → { version: 18, up: 'migrations/000018_add_campaign_analytics.up.sql', down: '…down.sql', … }
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withClient } from '../db/connection.js';
import { DfcError } from '../errors.js';
import { MIGRATION_FILE } from './files.js';
import { CONSOLIDATED_BASELINE, TEMPLATES_DIR } from './paths.js';
import { readVersion } from './state.js';

export interface NewMigrationOptions {
  /** what the migration does, in words: becomes the file name and the header's purpose */
  title: string;
  dir: string;
  /** the database whose version the numbering continues after (optional) */
  url?: string;
}

export interface NewMigrationResult {
  version: number;
  up: string;
  down: string;
  /** what the number continues after */
  after: { database: number | null; highestFile: number | null; baseline: number };
  /** why the database was not used, when a URL was given but could not be read */
  databaseNote?: string;
}

/** "Add campaign analytics!" → "add_campaign_analytics" (letters and digits, joined by _). */
export function slug(title: string): string {
  let out = '';
  let gap = false;
  for (const ch of title.normalize('NFKD').toLowerCase()) {
    const ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    if (ok) {
      if (gap && out) out += '_';
      out += ch;
      gap = false;
    } else gap = true;
  }
  return out.slice(0, 60).replace(/_+$/, '');
}

function highestFile(dir: string): number | null {
  if (!existsSync(dir)) return null;
  let max: number | null = null;
  for (const f of readdirSync(dir)) {
    const m = MIGRATION_FILE.exec(f);
    if (m) max = Math.max(max ?? 0, Number(m[1]));
  }
  return max;
}

async function databaseVersion(url: string): Promise<number | null> {
  return withClient(
    url,
    async (c) => {
      const r = await c.query<{ schema: string | null }>('SELECT current_schema() AS schema');
      const schema = r.rows[0]?.schema;
      return schema ? (await readVersion(c, schema)).version : null;
    },
    'dfc-migrate',
  );
}

export async function newMigration(opts: NewMigrationOptions): Promise<NewMigrationResult> {
  const name = slug(opts.title);
  if (!name) {
    throw new DfcError('DFC_CONFIG', `"${opts.title}" has no letters or digits to name a file with`, {
      fix: 'describe the change in words, e.g. dfc migrate new "add campaign analytics"',
    });
  }
  let database: number | null = null;
  let databaseNote: string | undefined;
  if (opts.url) {
    try {
      database = await databaseVersion(opts.url);
    } catch (e) {
      if (!(e instanceof DfcError && e.code === 'DFC_CONNECTION')) throw e;
      databaseNote = `database not reachable (${e.message}); numbered after the files only`;
    }
  }
  const highest = highestFile(opts.dir);
  const version = Math.max(database ?? 0, highest ?? 0, CONSOLIDATED_BASELINE) + 1;
  const prefix = String(version).padStart(6, '0');
  const up = path.join(opts.dir, `${prefix}_${name}.up.sql`);
  const down = path.join(opts.dir, `${prefix}_${name}.down.sql`);
  const fill = (template: string) =>
    readFileSync(path.join(TEMPLATES_DIR, template), 'utf8')
      .replaceAll('{{FILE}}', path.basename(up))
      .replaceAll('{{DOWN}}', path.basename(down))
      .replaceAll('{{TITLE}}', opts.title.trim());
  const upText = fill('migration.up.sql');
  const downText = fill('migration.down.sql');
  mkdirSync(opts.dir, { recursive: true });
  // 'wx': never overwrite a file someone already wrote
  writeFileSync(up, upText, { flag: 'wx' });
  writeFileSync(down, downText, { flag: 'wx' });
  return {
    version,
    up,
    down,
    after: { database, highestFile: highest, baseline: CONSOLIDATED_BASELINE },
    ...(databaseNote ? { databaseNote } : {}),
  };
}
