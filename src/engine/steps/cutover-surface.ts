/**
 * The application surface of every legacy relation v2 replaces (carry.ts) and every role's
 * effective-privilege matrix, read OUT of the locks and proved under them (surface-cache.ts):
 * - cutover:read-surface, before the locked transaction: the first read (its own transaction);
 * - before each attempt (the plan's beforeAttempt): read again only if the catalog changed since;
 * - cutover:check-surface, right after the LOCK: one fingerprint query; unchanged → the read
 *   before the locks is used, changed → read again under the locks (a warning event says so).
 * The column type changes (for --reset-app-sessions) come with it: column types are fingerprinted.
 */
import type { Step } from '../../core/step.js';
import { readSurface, type Surface } from '../carry.js';
import { DF_SCHEMAS, SHADOW_SCHEMA } from '../names.js';
import { type PrivilegeMatrix, privilegeMatrix } from '../privileges.js';
import { type PointDetails, readPointCatalog } from '../rollback-points.js';
import { columnTypeChanges, type TypeChange } from '../sessions.js';
import { SurfaceCache } from '../surface-cache.js';
import { CUTOVER_PHASE, type CutoverContext } from './cutover-context.js';

interface ForwardSurface {
  privilegesBefore: PrivilegeMatrix;
  surface: Surface;
  /** legacy column types vs v2 (pg_attribute types are in the fingerprint) */
  typeChanges: TypeChange[];
  /** what the rollback point records of the catalog */
  pointCatalog: PointDetails;
}

export interface CutoverSurfaceSteps {
  preRead: Step<CutoverContext>;
  check: Step<CutoverContext>;
  /** before each attempt, outside the transaction */
  refresh(ctx: CutoverContext): Promise<void>;
}

export function cutoverSurfaceSteps(): CutoverSurfaceSteps {
  let cache: SurfaceCache<ForwardSurface> | undefined;
  const cacheOf = (ctx: CutoverContext) => {
    cache ??= new SurfaceCache<ForwardSurface>(
      'the legacy surface (grants, RLS, policies, foreign objects) and privilege matrix',
      [...DF_SCHEMAS, ...Object.values(SHADOW_SCHEMA)],
      DF_SCHEMAS,
      async (c) => ({
        privilegesBefore: await privilegeMatrix(c),
        surface: await readSurface(
          c,
          ctx.present.map((t) => t.captureName.forward),
        ),
        typeChanges: await columnTypeChanges(c, ctx.v2),
        pointCatalog: await readPointCatalog(c),
      }),
    );
    return cache;
  };
  return {
    preRead: {
      id: 'cutover:read-surface',
      phase: CUTOVER_PHASE,
      // its own transaction (SurfaceCache.refresh), outside the locked one
      tx: 'none',
      describe: () => ({
        summary:
          "before the locks: read the legacy relations' application surface (owners, grants, RLS, policies, comments, storage options, publications, other applications' objects), every role's effective-privilege matrix, and the fingerprint of the catalog rows they come from",
      }),
      async run(ctx) {
        return { read: await cacheOf(ctx).refresh(ctx.session) };
      },
    },
    async refresh(ctx) {
      await cacheOf(ctx).refresh(ctx.session);
    },
    check: {
      id: 'cutover:check-surface',
      phase: CUTOVER_PHASE,
      tx: 'cutover-locks',
      describe: () => ({
        summary:
          'under the locks: one fingerprint query proves the catalog rows the surface and matrix were read from are unchanged (else they are read again under the locks)',
      }),
      async run(ctx) {
        const cached = cacheOf(ctx);
        const s = await cached.underLock(ctx.session.client, ctx.emit);
        ctx.attempt.privilegesBefore = s.privilegesBefore;
        ctx.attempt.surface = s.surface;
        ctx.attempt.typeChanges = s.typeChanges;
        ctx.attempt.pointCatalog = s.pointCatalog;
        return { source: cached.source, roles: s.privilegesBefore.roles.length };
      },
    },
  };
}
