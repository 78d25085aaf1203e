/**
 * Another application's trigger whose function body uses a DomainFlow column by NEW.<column> /
 * OLD.<column>: pg_depend does not see inside the body, so validate reads it. A body that names a
 * column whose type changes in v2 (campaigns.user_id: text → uuid) would fail the application's
 * writes once carried (`NEW.user_id LIKE …` has no uuid operator): refused before any change, with
 * the column named. A body that names only columns whose type stays is still carried.
 */
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/db/connection.js';
import { consolidate } from '../../src/engine/consolidate.js';
import { DfcError } from '../../src/errors.js';
import { validateDatabase } from '../../src/validate/validate.js';
import { catalogChecksum } from '../helpers/checksums.js';
import { freshDatabase } from '../helpers/db.js';

const FUNCTIONS = `CREATE SCHEMA other_app;
  CREATE TABLE other_app.flags (campaign_id uuid, note text);
  -- a changed-type column, plain and quoted, in BEFORE and AFTER triggers
  CREATE FUNCTION other_app.service_owned() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.user_id LIKE 'svc-%' THEN INSERT INTO other_app.flags VALUES (NEW.id, 'service'); END IF; RETURN NEW; END $$;
  CREATE TRIGGER "Service Owned" AFTER INSERT ON public.campaigns FOR EACH ROW EXECUTE FUNCTION other_app.service_owned();
  CREATE FUNCTION other_app.keep_owner() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF old . "user_id" <> NEW.name THEN RETURN OLD; END IF; RETURN NEW; END $$;
  CREATE TRIGGER keep_owner BEFORE UPDATE ON public.campaigns FOR EACH ROW EXECUTE FUNCTION other_app.keep_owner();
  -- only columns whose type stays (id, name): carried; 'user_idx' is not user_id
  CREATE FUNCTION other_app.named() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE user_idx int := 0;
    BEGIN INSERT INTO other_app.flags VALUES (NEW.id, NEW.name || user_idx); RETURN NEW; END $$;
  CREATE TRIGGER named AFTER INSERT ON public.campaigns FOR EACH ROW EXECUTE FUNCTION other_app.named()`;

describe("another application's trigger function body", () => {
  it('naming a column whose type changes is refused, naming the column; nothing changes', async () => {
    const url = await freshDatabase('seeded', 'trigbody');
    await withClient(url, (c) => c.query(FUNCTIONS));
    const report = await validateDatabase(url);
    expect(report.ready_for_consolidation).toBe(false);
    const blocking = report.problems.filter((p) => p.code === 'foreign_dependent');
    expect(blocking.map((p) => p.reason.split(' depends')[0]).sort()).toEqual([
      'trigger public.campaigns.Service Owned',
      'trigger public.campaigns.keep_owner',
    ]);
    for (const p of blocking) {
      expect(p.reason).toContain('public.campaigns.user_id is text in legacy, uuid in v2');
      expect(p.fix).toMatch(/DROP TRIGGER ("Service Owned"|keep_owner) ON public\.campaigns/);
    }
    expect(
      report.warnings.filter((w) => w.code === 'foreign_dependent_carried').map((w) => w.reason),
    ).toEqual([expect.stringContaining('trigger public.campaigns.named')]);

    const catalog = await catalogChecksum(url);
    const err = await consolidate(url, { batchSize: 500 }).catch((e) => e);
    expect(err).toBeInstanceOf(DfcError);
    expect(err.code).toBe('CONSOLIDATION_01');
    expect(err.message).toContain('trigger public.campaigns.Service Owned');
    expect(await catalogChecksum(url)).toBe(catalog);
  });
});
