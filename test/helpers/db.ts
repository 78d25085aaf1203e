/** A database per test, cloned from a template built in global-setup. */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { type TemplateName, templateDbName } from './templates.js';

export const adminUrl = () => inject('adminUrl');

export function urlFor(database: string): string {
  const u = new URL(adminUrl());
  u.pathname = `/${database}`;
  return u.toString();
}

/** Create a fresh database from a template; returns its URL. */
export async function freshDatabase(
  template: TemplateName | 'none' = 'empty',
  prefix = 't',
): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withClient(adminUrl(), async (c) => {
    if (template === 'none') await c.query(`CREATE DATABASE "${name}"`);
    else await c.query(`CREATE DATABASE "${name}" TEMPLATE "${templateDbName(template)}"`);
  });
  return urlFor(name);
}
