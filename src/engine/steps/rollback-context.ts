/** What the rollback plan's steps share: the point and what one attempt of the locked transaction finds. */
import type { RunContext } from '../../core/step.js';
import type { V2Definition } from '../../schema/v2/model.js';
import type { MappedTable } from '../mapping.js';
import type { Rel } from '../names.js';
import type { RollbackCheck } from '../rollback-check.js';
import type { RollbackPoint } from '../rollback-points.js';

export const ROLLBACK_PHASE = 'rollback';

export interface RollbackAttempt {
  lockedAt: number;
  drainedUnderLock: number;
  keptFunctions: string[];
  validation: RollbackCheck[];
}

export const freshRollbackAttempt = (): RollbackAttempt => ({
  lockedAt: 0,
  drainedUnderLock: 0,
  keptFunctions: [],
  validation: [],
});

export interface RollbackContext extends RunContext {
  v2: V2Definition;
  point: RollbackPoint;
  reason: string;
  /** the v2 tables whose legacy table the copy holds */
  tables: MappedTable[];
  /** v2 tables, the v2 views and the copy (not its materialized views: LOCK refuses them) */
  toLock: Rel[];
  lockTimeoutMs: number;
  attempt: RollbackAttempt;
}
