/**
 * What the cutover plan's steps share: the catalog facts read before the locks (fixed for the
 * plan) and what one attempt of the locked transaction finds and decides (reset by the lock step,
 * since the runner retries the locked steps whole).
 */

import type { RunContext } from '../../core/step.js';
import { DfcError } from '../../errors.js';
import type { V2Definition } from '../../schema/v2/model.js';
import type { CarryResult, Surface } from '../carry.js';
import type { QuarantineReport } from '../late-rows.js';
import type { MappedTable } from '../mapping.js';
import type { Rel } from '../names.js';
import type { PrivilegeMatrix } from '../privileges.js';
import type { PointDetails } from '../rollback-points.js';
import type { SessionReset, TypeChange } from '../sessions.js';
import type { BlockerWatch } from './cutover-blockers.js';

export const CUTOVER_PHASE = 'phase4_cutover';
export const AFTER_CUTOVER_PHASE = 'phase4_after';

export interface ValidationCheck {
  check: string;
  passed: boolean;
  details?: unknown;
}

/** Found or decided inside one attempt of the locked transaction. */
export interface CutoverAttempt {
  /** ms epoch and server clock when the locks were granted */
  lockedAt: number;
  lockedAtDb: string;
  privilegesBefore?: PrivilegeMatrix;
  surface?: Surface;
  /** what the rollback point records of the catalog (read with the surface) */
  pointCatalog?: PointDetails;
  drained: number;
  rollbackPoint: string;
  typeChanges: TypeChange[];
  carried?: CarryResult;
  quarantine?: QuarantineReport;
  validation: ValidationCheck[];
  /** application statements queued behind the locks, ended before COMMIT (--reset-app-sessions) */
  queued: number;
}

export const freshAttempt = (): CutoverAttempt => ({
  lockedAt: 0,
  lockedAtDb: '',
  drained: 0,
  rollbackPoint: '',
  typeChanges: [],
  validation: [],
  queued: 0,
});

export interface CutoverContext extends RunContext {
  v2: V2Definition;
  /** the run's policy for rows that cannot convert */
  onInvalid: string;
  /** mapped tables whose legacy table exists */
  present: MappedTable[];
  /** legacy tables, the legacy views v2 replaces, and the shadow tables: locked in one statement */
  toLock: Rel[];
  /** legacy materialized views v2 replaces (they cannot be LOCKed: moving them out takes their lock) */
  matviews: { rel: Rel; schema: 'public' | 'auth' }[];
  /** lock_timeout of each lock wait and statement_timeout of the whole LOCK */
  lockTimeoutMs: number;
  resetAppSessions: boolean;
  resetWaitMs?: number;
  attempt: CutoverAttempt;
  sessions: SessionReset | null;
  /** --cancel-blockers-after: the watcher that cancels sessions blocking the locks */
  blockers?: BlockerWatch;
}

/**
 * The end of a locked plan's validate step (cutover and rollback): the test seam's forced failure
 * added, and any failed check throws, so the runner rolls the whole locked transaction back.
 */
export function requireValidation<T extends { check: string; passed: boolean }>(
  what: 'cutover' | 'rollback',
  validation: T[],
  faults: { failValidation?: boolean },
  fix: string,
): T[] {
  if (faults.failValidation) validation.push({ check: 'forced failure (test hook)', passed: false } as T);
  const failed = validation.filter((v) => !v.passed);
  if (failed.length)
    throw new DfcError(
      'CONSOLIDATION_01',
      `${what} validation failed: ${failed.map((f) => f.check).join('; ')}; rolled back, nothing changed`,
      { fix, details: { validation } },
    );
  return validation;
}
