/**
 * rollback:read-surface and rollback:carry-back (engine/carry-back.ts): other applications' views,
 * foreign keys, publication membership and objects made on v2 during the window are read OUT of
 * the locks (before the locked transaction, and again before an attempt when the catalog changed),
 * proved under them right after the LOCK by one fingerprint query (surface-cache.ts; changed →
 * read again under the locks), and replayed on the legacy tables after the moves (what cannot go
 * back is one CONSOLIDATION_01 and the transaction rolls back).
 */
import type { Step, StepDetails } from '../../core/step.js';
import { assertAclsUnchanged, type Surface } from '../carry.js';
import { applyCarryBack, readCarryBack } from '../carry-back.js';
import { DF_SCHEMAS, ROLLBACK_SCHEMA } from '../names.js';
import type { MovedRel } from '../rollback-points.js';
import { SurfaceCache } from '../surface-cache.js';
import { ROLLBACK_PHASE, type RollbackContext } from './rollback-context.js';

export interface RollbackCarryBack {
  preRead: Step<RollbackContext>;
  /** before each attempt, outside the transaction */
  refresh(ctx: RollbackContext): Promise<void>;
  /** under the locks, right after the LOCK (rollback:lock calls it before it moves anything) */
  check(ctx: RollbackContext): Promise<StepDetails>;
  carryBack: Step<RollbackContext>;
}

export function rollbackCarryBackSteps(movedIn: MovedRel[]): RollbackCarryBack {
  let surface: Surface | undefined;
  let cache: SurfaceCache<Surface> | undefined;
  const v2Views = movedIn.filter((m) => m.kind === 'v' || m.kind === 'm').map((m) => `${m.schema}.${m.name}`);
  const cacheOf = (ctx: RollbackContext) => {
    cache ??= new SurfaceCache<Surface>(
      'what follows v2 back to legacy (views, foreign keys, publications, objects made on v2)',
      [...DF_SCHEMAS, ...Object.values(ROLLBACK_SCHEMA)],
      DF_SCHEMAS,
      (c) => readCarryBack(c, ctx.v2, v2Views),
    );
    return cache;
  };
  return {
    preRead: {
      id: 'rollback:read-surface',
      phase: ROLLBACK_PHASE,
      // its own transaction (SurfaceCache.refresh), outside the locked one
      tx: 'none',
      describe: () => ({
        summary:
          "before the locks: read what follows v2 back (other applications' views and foreign keys on the v2 tables, publication membership, triggers/rules/policies made on v2 since the cutover) and the fingerprint of the catalog rows it comes from",
      }),
      async run(ctx) {
        return { read: await cacheOf(ctx).refresh(ctx.session) };
      },
    },
    async refresh(ctx) {
      await cacheOf(ctx).refresh(ctx.session);
    },
    async check(ctx) {
      const cached = cacheOf(ctx);
      surface = await cached.underLock(ctx.session.client, ctx.emit);
      return { surface: cached.source, foreign: surface.foreign.length };
    },
    carryBack: {
      id: 'rollback:carry-back',
      phase: ROLLBACK_PHASE,
      tx: 'cutover-locks',
      describe: () => ({
        summary:
          'replay them on the legacy tables (views and foreign keys re-pointed, publications moved); anything that cannot go back is CONSOLIDATION_01 naming it',
      }),
      async run(ctx) {
        const r = await applyCarryBack(ctx.session.client, surface!);
        // a GRANT on v2 that slipped through the locks (PostgreSQL < 18): read again and retry
        const aclsChecked = await assertAclsUnchanged(ctx.session.client, surface!);
        return { carried: r.carried.length, aclsChecked };
      },
    },
  };
}
