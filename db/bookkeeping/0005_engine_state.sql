-- dfc bookkeeping 0005: the engine's own state (run, per-table progress, change capture log,
-- quarantined rows, the capture trigger function). Until this file, src/engine/state.ts created
-- these with CREATE ... IF NOT EXISTS on every run, unversioned; IF NOT EXISTS stays here only so
-- that a database a run of such a release touched adopts its tables in place (nothing is dropped
-- or rewritten: a run in progress resumes). Later changes go in new numbered files.
CREATE TABLE IF NOT EXISTS consolidation.engine_runs (
  run_id bigserial PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  state text NOT NULL DEFAULT 'preparing'
    CHECK (state IN ('preparing','capturing','backfilling','optimizing','ready_for_cutover','cut_over','rolled_back','aborted')),
  on_invalid text NOT NULL DEFAULT 'abort',
  paused boolean NOT NULL DEFAULT false,
  options jsonb NOT NULL DEFAULT '{}',
  steps_done text[] NOT NULL DEFAULT '{}',
  cutover_at timestamptz,
  cutover_ms numeric,
  legacy_functions jsonb
);
-- at most one run that is neither finished nor abandoned: history stays linear
CREATE UNIQUE INDEX IF NOT EXISTS engine_runs_one_active ON consolidation.engine_runs ((true))
  WHERE state NOT IN ('cut_over','rolled_back','aborted');
CREATE TABLE IF NOT EXISTS consolidation.engine_tables (
  run_id bigint NOT NULL REFERENCES consolidation.engine_runs ON DELETE CASCADE,
  table_name text NOT NULL,
  rows_estimate bigint,
  rows_copied bigint NOT NULL DEFAULT 0,
  last_key jsonb,
  backfill_done boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, table_name)
);
-- change capture: one row per changed row of a captured table; applied rows are deleted
CREATE TABLE IF NOT EXISTS consolidation.capture_log (
  id bigserial PRIMARY KEY,
  direction text NOT NULL CHECK (direction IN ('forward','reverse')),
  table_name text NOT NULL,
  old_key jsonb,
  new_key jsonb,
  captured_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS capture_log_direction_id ON consolidation.capture_log (direction, id);
-- rows that could not be converted as they were; the original row is kept here, nothing is lost
CREATE TABLE IF NOT EXISTS consolidation.engine_quarantine (
  run_id bigint,
  table_name text NOT NULL,
  row_key jsonb NOT NULL,
  issue_id text NOT NULL,
  action text NOT NULL,
  original_row jsonb NOT NULL,
  quarantined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (table_name, row_key, issue_id)
);
CREATE OR REPLACE FUNCTION consolidation.capture_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
-- TG_ARGV: direction, logical table name, primary key columns...
DECLARE
  pk text[] := TG_ARGV[2:];
  k_old jsonb;
  k_new jsonb;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    SELECT jsonb_object_agg(e.key, e.value) INTO k_old FROM jsonb_each(to_jsonb(OLD)) e WHERE e.key = ANY (pk);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    SELECT jsonb_object_agg(e.key, e.value) INTO k_new FROM jsonb_each(to_jsonb(NEW)) e WHERE e.key = ANY (pk);
    IF k_new = k_old THEN k_old := NULL; END IF;
  END IF;
  INSERT INTO consolidation.capture_log (direction, table_name, old_key, new_key)
  VALUES (TG_ARGV[0], TG_ARGV[1], k_old, k_new);
  RETURN NULL;
END
$fn$;
