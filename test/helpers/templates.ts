/**
 * Template databases built once per test run; each test clones its own database from one.
 * Add a builder here when a new starting state is needed by several test files.
 */
import type pg from 'pg';
import { LEGACY_DIR, migrateUp } from '../../src/migrate/runner.js';

export type TemplateName = 'empty' | 'legacy';

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
};

export const templateDbName = (name: TemplateName) => `dfc_tpl_${name}`;
