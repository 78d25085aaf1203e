/**
 * One real PostgreSQL cluster per test run, in its own temporary DFC_HOME on a free port, so a
 * developer's `.dfc` cluster, parallel runs and CI never collide. Template databases are built
 * once here; tests clone them (see db.ts).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { clusterPaths, clusterUrl, removeCluster, startCluster } from '../../embedded/cluster.js';
import { withClient } from '../../src/db/connection.js';
import { dropDatabase } from '../../src/db/databases.js';
import { TEMPLATE_BUILDERS, type TemplateName, templateDbName } from './templates.js';

export default async function setup(project: TestProject) {
  const external = process.env.DFC_TEST_DATABASE_URL;
  let home: string | undefined;
  let adminUrl: string;
  if (external) {
    adminUrl = external;
  } else {
    home = await mkdtemp(path.join(tmpdir(), 'dfc-test-'));
    const state = await startCluster(clusterPaths(home));
    adminUrl = clusterUrl(state, 'postgres');
  }
  await withClient(adminUrl, async (c) => {
    const v = await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    process.stderr.write(`test cluster: PostgreSQL ${v.rows[0]!.v}\n`);
    for (const name of Object.keys(TEMPLATE_BUILDERS) as TemplateName[]) {
      const db = templateDbName(name);
      await dropDatabase(adminUrl, db);
      await c.query(`CREATE DATABASE "${db}"`);
      const u = new URL(adminUrl);
      u.pathname = `/${db}`;
      await withClient(u.toString(), (t) => TEMPLATE_BUILDERS[name](t, u.toString()));
    }
  });
  project.provide('adminUrl', adminUrl);
  return async () => {
    if (home) {
      await removeCluster(clusterPaths(home));
    }
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
  }
}
