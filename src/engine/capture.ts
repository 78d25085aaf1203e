/**
 * Change capture triggers. Installed on every legacy table before any row is copied (forward),
 * and on every v2 table at cutover (reverse, feeding the rollback copy). Each trigger only appends
 * the changed keys to consolidation.capture_log, so it cannot fail on a conversion problem and the
 * application's write never fails because of us.
 */
import type pg from 'pg';
import type { Session } from '../db/session.js';
import { build, ident, join, literal, sql } from '../sql/sql.js';
import type { Direction, MappedTable } from './mapping.js';
import type { Rel } from './names.js';

export const captureTriggerName = (d: Direction) => `dfc_capture_${d}`;

/** CREATE TRIGGER … ENABLE ALWAYS (DDL takes no parameters: the trigger arguments are literals). */
export function createCaptureTriggerSql(t: MappedTable, on: Rel, direction: Direction): string {
  const args = join([direction, t.captureName[direction], ...t.primaryKey].map((a) => literal(a)));
  const name = ident(captureTriggerName(direction));
  // ENABLE ALWAYS: a writer running with session_replication_role = replica (a logical
  // replication apply worker, a bulk loader) must be captured too
  return build(sql`CREATE TRIGGER ${name} AFTER INSERT OR UPDATE OR DELETE ON ${ident(on)}
    FOR EACH ROW EXECUTE FUNCTION consolidation.capture_change(${args});
  ALTER TABLE ${ident(on)} ENABLE ALWAYS TRIGGER ${name}`).text;
}

export async function hasTrigger(c: pg.ClientBase, on: Rel, name: string): Promise<boolean> {
  const r = await c.query(
    `SELECT 1 FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = $1 AND cl.relname = $2 AND tg.tgname = $3`,
    [on.schema, on.name, name],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Install one capture trigger (idempotent), under the session's short lock_timeout with retries. */
export async function installCapture(
  s: Session,
  t: MappedTable,
  on: Rel,
  direction: Direction,
  onRetry?: (attempt: number, waitMs: number) => void,
): Promise<boolean> {
  await secureCaptureFunction(s.client);
  if (await hasTrigger(s.client, on, captureTriggerName(direction))) return false;
  await s.retry(
    `the capture trigger on ${on.schema}.${on.name}`,
    () => s.client.query(createCaptureTriggerSql(t, on, direction)),
    { onRetry },
  );
  return true;
}

/**
 * The capture function runs as its owner (the tool's role), not as the writer: an application role
 * with only table grants must not need privileges on the consolidation schema, or every write
 * fails with 42501 once capture is installed. search_path is pinned (pg_catalog, then pg_temp
 * last) so a SECURITY DEFINER function cannot be steered by the caller's objects; EXECUTE is
 * revoked from PUBLIC so no one else can attach it to a table of theirs (triggers already created
 * keep firing: EXECUTE is checked when a trigger is created, not when it fires).
 */
export const SECURE_CAPTURE_FUNCTION_SQL = `ALTER FUNCTION consolidation.capture_change() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
  REVOKE EXECUTE ON FUNCTION consolidation.capture_change() FROM PUBLIC`;

async function secureCaptureFunction(c: pg.ClientBase): Promise<void> {
  const r = await c.query<{ ok: boolean }>(
    `SELECT p.prosecdef AND coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false) AS ok
       FROM pg_proc p WHERE p.oid = 'consolidation.capture_change()'::regprocedure`,
  );
  if (!r.rows[0]?.ok) await c.query(SECURE_CAPTURE_FUNCTION_SQL);
}

export function dropCaptureSql(on: Rel, direction: Direction): string {
  return build(sql`DROP TRIGGER IF EXISTS ${ident(captureTriggerName(direction))} ON ${ident(on)}`).text;
}
