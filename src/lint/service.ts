/**
 * What the running DomainFlow service uses, from the schema v2 definition (src/schema/v2): its
 * tables and their columns with types. Lint reads it to know which RENAME/DROP breaks the service
 * and which ALTER COLUMN TYPE is binary-coercible.
 */
import { V2 } from '../schema/v2/index.js';

/** `schema.table` → column name → type as format_type prints it. */
const TABLES: Map<string, Map<string, string>> = new Map(
  [...V2.tables, ...V2.newTables].map((t) => [
    `${t.schema}.${t.name}`,
    new Map(t.columns.map((c) => [c.name, c.type])),
  ]),
);

/** Unqualified names resolve as DomainFlow's search_path does: public. */
export const tableKey = (schema: string | undefined, name: string) => `${schema ?? 'public'}.${name}`;

export function serviceTable(key: string): Map<string, string> | undefined {
  return TABLES.get(key);
}

export function serviceColumnType(key: string, column: string): string | undefined {
  return TABLES.get(key)?.get(column);
}
