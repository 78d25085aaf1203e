-- dfc bookkeeping 0030: capture_log keeps only its primary key. Every captured row paid a second
-- btree insert into (direction, id) (bench/capture --explore 'stmt-1idx': a quarter or more of the
-- statement trigger's time). Its readers do not need it: the applier reads one direction at a time
-- in id order (the primary key, the other direction being drained by then: the cutover drains
-- forward before reverse starts, a rollback reverse before forward starts) and deletes by id.
-- The drop waits for capture_log at most 50 ms: application writes queue behind a waiting
-- ACCESS EXCLUSIVE request, so on a busy log it is skipped (a speed lever only, nothing depends on it).
DO $$
DECLARE
  was text := current_setting('lock_timeout');
BEGIN
  PERFORM set_config('lock_timeout', '50ms', true);
  BEGIN
    DROP INDEX IF EXISTS consolidation.capture_log_direction_id;
  EXCEPTION WHEN lock_not_available THEN
    RAISE NOTICE 'consolidation.capture_log is busy: its (direction, id) index is kept';
  END;
  PERFORM set_config('lock_timeout', was, true);
END $$;
