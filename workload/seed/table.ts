/** What the loader needs to know about one table's seeded rows. */
export interface TableLoad {
  schema: 'public' | 'auth';
  name: string;
  columns: readonly string[];
  /** exact number of lines `lines()` yields */
  rows: number;
  /** COPY text lines, each ending in '\n' (see copy-text.ts) */
  lines: () => Iterable<string>;
  /**
   * Row-heavy table: the loader drops its secondary indexes and outgoing foreign keys, COPYs, then
   * recreates them from their catalog definitions (ADD FOREIGN KEY validates every row).
   */
  bulk?: boolean;
  /** skipped (and reported as such) when the table does not exist in the target */
  optional?: boolean;
}

/** Ids of the rows migration 000002 seeded, looked up by name in the target database. */
export interface SeededIds {
  roles: Map<string, string>;
  permissions: Map<string, string>;
  /** first free id of the bigserial tables (auth.auth_audit_log, auth.rate_limits) */
  nextAuthAuditId: number;
  nextRateLimitId: number;
}

export const qualified = (t: Pick<TableLoad, 'schema' | 'name'>) => `${t.schema}.${t.name}`;
