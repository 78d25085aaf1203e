/** `npm run gen:v2`: write db/v2/consolidated_schema_v2.sql from the definitions (a test checks it is current). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderInstallSql } from './render.js';

export const V2_SQL_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../db/v2/consolidated_schema_v2.sql',
);

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mkdirSync(path.dirname(V2_SQL_PATH), { recursive: true });
  writeFileSync(V2_SQL_PATH, renderInstallSql());
  console.log(`wrote ${V2_SQL_PATH}`);
}
