/**
 * Template databases built once per test run; each test clones its own database from one.
 * Add a builder here when a new starting state is needed by several test files.
 */
import type pg from 'pg';
import { LEGACY_DIR, migrateUp } from '../../src/migrate/runner.js';
import { seedDatabase } from '../../workload/seed.js';

export type TemplateName = 'empty' | 'legacy' | 'seeded';

/** Builders run in order on a freshly created database of that name. */
export const TEMPLATE_BUILDERS: Record<TemplateName, (c: pg.Client, url: string) => Promise<void>> = {
  /** An empty database with DomainFlow's extensions available (what `dfc install` expects). */
  empty: async (c) => {
    await c.query('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"; CREATE EXTENSION IF NOT EXISTS pgcrypto');
  },
  /** DomainFlow's legacy database: the extensions, then db/legacy 000001-000017 applied by the runner. */
  legacy: async (c, url) => {
    await c.query('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"; CREATE EXTENSION IF NOT EXISTS pgcrypto');
    await migrateUp(url, { dir: LEGACY_DIR });
  },
  /** 'legacy' plus `dfc seed --domains 2000 --seed 1` (clean data, every FK holding; ~1 s to build). */
  seeded: async (c, url) => {
    await TEMPLATE_BUILDERS.legacy(c, url);
    await seedDatabase(url, { domains: 2000, seed: 1 });
  },
};

export const templateDbName = (name: TemplateName) => `dfc_tpl_${name}`;
