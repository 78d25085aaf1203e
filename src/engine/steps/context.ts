/** What the consolidate plan's steps share at run time (the plan itself is data built by the planner). */
import type pg from 'pg';
import type { RunContext } from '../../core/step.js';
import type { SideSession } from '../../db/side-session.js';
import type { V2Definition } from '../../schema/v2/model.js';
import type { ConversionCheck } from '../conversion-check.js';
import type { MappedTable } from '../mapping.js';
import type { ThrottleOptions } from '../throttle.js';

export type InvalidPolicy = 'abort' | 'quarantine';

export interface ConsolidateContext extends RunContext {
  /** the second session: applies captured changes while the first builds */
  applier: pg.Client;
  v2: V2Definition;
  /** v2 tables that have a legacy source in this database */
  tables: MappedTable[];
  /** the run's policy (an unfinished run keeps the one it started with) */
  onInvalid: InvalidPolicy;
  batchSize: number;
  throttle: ThrottleOptions;
  backfillMode: 'auto' | 'pk';
  /** the target database (the conversion check opens a session of its own); unset in abort's undo */
  url?: string;
  /** the conversion count running beside the copy (check:conversion starts it) */
  conversion?: ConversionCheck;
  /**
   * --cancel-blockers-after: once capture:install has tried this long, cancel the application
   * sessions blocking its trigger DDL (as the cutover does; steps/cutover-blockers.ts)
   */
  cancelBlockersAfterMs?: number;
  /** the ANALYZEs running beside the constraints (analyze:start starts them) */
  analyzer?: SideSession<number>;
}

/** Copy rates assumed for the estimates (rows/s); measured by bench/consolidate on a 2-core machine. */
export const ASSUMED_ROWS_PER_SECOND = 150_000;
export const ASSUMED_INDEX_ROWS_PER_SECOND = 1_000_000;

/** What the planner read from the live catalog about one legacy table. */
export interface LegacyEstimate {
  rows: number;
  bytes: number;
}
