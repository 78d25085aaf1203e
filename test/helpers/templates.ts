/**
 * Template databases built once per test run; each test clones its own database from one.
 * Add a builder here when a new starting state is needed by several test files.
 */
import type pg from 'pg';

export type TemplateName = 'empty';

/** Builders run in order on a freshly created database of that name. */
export const TEMPLATE_BUILDERS: Record<TemplateName, (c: pg.Client, url: string) => Promise<void>> = {
  /** An empty database with DomainFlow's extensions available (what `dfc install` expects). */
  empty: async (c) => {
    await c.query('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"; CREATE EXTENSION IF NOT EXISTS pgcrypto');
  },
};

export const templateDbName = (name: TemplateName) => `dfc_tpl_${name}`;
