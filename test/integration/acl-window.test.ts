/**
 * A GRANT committed while the cutover holds its locks, after the surface was proved under them.
 * PostgreSQL before 18 lets GRANT through an ACCESS EXCLUSIVE lock (it updates pg_class without
 * locking the relation); 18 makes it wait, and it then lands on whatever the name means after the
 * COMMIT (v2). Either way the privilege must end up on v2: on < 18 the end-of-transaction ACL check
 * (carry.ts assertAclsUnchanged) retries the cutover, which reads the surface again.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { cutover } from '../../src/engine/cutover.js';
import type { EngineEvent } from '../../src/engine/events.js';
import { freshDatabase } from '../helpers/db.js';

describe('a GRANT during the locked cutover', () => {
  it('ends up on v2, whether the server lets it through the locks or makes it wait', async () => {
    const url = await freshDatabase('seeded', 'aclwin');
    const role = `aclwin_${randomBytes(3).toString('hex')}`;
    await withClient(url, (c) => c.query(`CREATE ROLE "${role}" NOLOGIN`));
    await consolidate(url, { batchSize: 500 });
    const version = await withClient(
      url,
      async (c) =>
        (await c.query(`SELECT current_setting('server_version_num')::int AS v`)).rows[0].v as number,
    );
    const events: EngineEvent[] = [];
    let granted: Promise<unknown> | undefined;
    const co = await cutover(url, {
      lockTimeoutMs: 2000,
      onEvent: (e) => events.push(e),
      faults: {
        holdAfter: 'cutover:check-surface',
        holdMs: 1500,
        onHold: () => {
          granted ??= withClient(url, (c) =>
            c.query(
              `GRANT SELECT, UPDATE ON public.campaigns TO "${role}"; GRANT SELECT (id) ON public.generated_domains TO "${role}"`,
            ),
          );
        },
      },
    });
    await granted;
    const retries = events.filter((e) => e.type === 'retry');
    if (version < 180000) expect(co.attempts, JSON.stringify(retries)).toBeGreaterThanOrEqual(2);
    await withClient(url, async (c) => {
      const r = await c.query(
        `SELECT format_type(atttypid, atttypmod) AS t,
                has_table_privilege($1, 'public.campaigns', 'UPDATE') AS upd,
                has_column_privilege($1, 'public.generated_domains', 'id', 'SELECT') AS col
           FROM pg_attribute WHERE attrelid = 'public.campaigns'::regclass AND attname = 'user_id'`,
        [role],
      );
      expect(r.rows[0]).toEqual({ t: 'uuid', upd: true, col: true }); // on v2
    });
  });
});
