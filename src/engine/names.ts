/**
 * Where relations live during and after a consolidation. Shadow relations carry their final v2
 * names inside shadow schemas; at cutover legacy relations move to the rollback schemas and shadow
 * relations move into public/auth, so no table, constraint or index is ever renamed.
 */
import type { DfSchema, SchemaMap, TableDef } from '../schema/v2/model.js';
import { quoteIdent } from '../sql/sql.js';

export const DF_SCHEMAS: readonly DfSchema[] = ['public', 'auth'];

export const SHADOW_SCHEMA: Record<DfSchema, string> = {
  public: 'dfc_shadow_public',
  auth: 'dfc_shadow_auth',
};
export const ROLLBACK_SCHEMA: Record<DfSchema, string> = {
  public: 'dfc_rollback_public',
  auth: 'dfc_rollback_auth',
};
export const LIVE_SCHEMA: Record<DfSchema, string> = { public: 'public', auth: 'auth' };

export const SHADOW_MAP: SchemaMap = {
  public: quoteIdent(SHADOW_SCHEMA.public),
  auth: quoteIdent(SHADOW_SCHEMA.auth),
};

/** Relations of DomainFlow's schemas that are not DomainFlow's data and never move. */
export const NEVER_MOVED = new Set(['public.schema_migrations']);

/** A relation's physical location. */
export interface Rel {
  schema: string;
  name: string;
}

export const q = (r: Rel) => `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
export const relKey = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

/** The shadow location of a v2 table. */
export const shadowOf = (t: TableDef): Rel => ({ schema: SHADOW_SCHEMA[t.schema], name: t.name });
/** The live (final) location of a v2 table. */
export const liveOf = (t: TableDef): Rel => ({ schema: t.schema, name: t.name });
/** Where the legacy table is before cutover. */
export const legacyLiveOf = (t: TableDef): Rel => ({ schema: t.legacy.schema, name: t.legacy.name });
/** Where the legacy table is after cutover (the rollback copy). */
export const legacyRollbackOf = (t: TableDef): Rel => ({
  schema: ROLLBACK_SCHEMA[t.legacy.schema],
  name: t.legacy.name,
});
