/** A fresh legacy DomainFlow database (history 000001–000017 applied) — the demo's and the benchmarks' start. */

import { withClient } from '../db/connection.js';
import { DOMAINFLOW_EXTENSIONS_SQL, recreateDatabase } from '../db/databases.js';
import { LEGACY_DIR, migrateUp } from './runner.js';

export async function createLegacyDatabase(serverUrl: string, name: string): Promise<string> {
  const url = await recreateDatabase(serverUrl, name);
  await withClient(url, (c) => c.query(DOMAINFLOW_EXTENSIONS_SQL));
  await migrateUp(url, { dir: LEGACY_DIR });
  return url;
}
