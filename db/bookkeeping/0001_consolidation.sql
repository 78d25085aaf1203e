-- dfc bookkeeping 0001: the `consolidation` schema's shared objects. Applied once by
-- src/bookkeeping.ts (ensureBookkeeping) inside one transaction under an advisory lock;
-- consolidation.bookkeeping_version itself is created by that bootstrap. Later versions add
-- objects in new numbered files; never edit a released file.
--
-- Run state, per-table progress, the capture log and quarantined rows belong to the engine
-- (src/engine/state.ts: consolidation.engine_runs, engine_tables, capture_log, engine_quarantine).
-- Every run_id column in the bookkeeping schemas is a bigint holding consolidation.engine_runs.run_id,
-- without a foreign key so that monitoring rows survive the engine's own cleanup.

CREATE TABLE consolidation.rollback_points (
  -- the guide names them rollback_YYYYMMDD_HHMMSS
  rollback_point_id       text PRIMARY KEY,
  run_id                  bigint,
  created_at              timestamptz NOT NULL DEFAULT now(),
  description             text,
  state                   text NOT NULL DEFAULT 'valid'
                          CHECK (state IN ('valid', 'used', 'invalid', 'expired', 'dropped')),
  -- where the rollback copies live, e.g. {"public": "dfc_rollback_public", "auth": "dfc_rollback_auth"}
  schemas                 jsonb NOT NULL DEFAULT '{}',
  legacy_catalog_checksum text,
  expires_at              timestamptz,
  details                 jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX rollback_points_created_at ON consolidation.rollback_points (created_at DESC);
