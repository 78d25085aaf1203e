-- {{FILE}}
-- Purpose: {{TITLE}}
-- Risk: low | medium | high: what breaks, and for whom, if this goes wrong; is the service's current release compatible?
-- Expected locks: which lock on which table, for how long (measure it: `dfc migrate trace {{FILE}}`), e.g.
--   ACCESS EXCLUSIVE on campaigns for milliseconds (ADD COLUMN with a constant default: catalog only);
--   SHARE UPDATE EXCLUSIVE on the table while CREATE INDEX CONCURRENTLY builds (reads and writes continue).
-- Rollback notes: {{DOWN}} undoes this; say what it cannot restore (dropped data, values rewritten).
-- Before merging: `dfc migrate lint DIR` and `dfc migrate verify DIR` (up, down, up on a scratch copy).
--
-- `dfc migrate up` applies a file containing CONCURRENTLY one statement at a time outside a transaction;
-- golang-migrate sends a file as one string, so there such a statement must be alone in its file.

-- Fail fast instead of queueing the application behind a lock; the file can be retried.
SET lock_timeout = '5s';

-- == Change ==


-- == Data validation ==
-- Make the migration fail when the data is not as expected, e.g.
-- DO $$ BEGIN IF EXISTS (SELECT 1 FROM campaigns WHERE ...) THEN RAISE EXCEPTION '...'; END IF; END $$;
