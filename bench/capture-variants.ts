/** bench/capture's capture variants: SQL that installs each on one table (bench only, literals from the shipped definition). */
import { captureFunctionSql, createCaptureTriggerSql, dropCaptureSql } from '../src/engine/capture.js';
import type { Direction, MappedTable } from '../src/engine/mapping.js';
import type { Rel } from '../src/engine/names.js';

const LOG_2IDX = `CREATE TABLE IF NOT EXISTS consolidation.bench_log_2idx (LIKE consolidation.capture_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (id));
   CREATE INDEX IF NOT EXISTS bench_log_2idx_d ON consolidation.bench_log_2idx (direction, id)`;

/** the earlier version as it ran: its row trigger function (copied from 0005's) into a log with both indexes */
const ROW_SQL = (t: MappedTable, on: Rel, d: Direction) =>
  `${LOG_2IDX};
   DO $$ BEGIN
     EXECUTE format('CREATE OR REPLACE FUNCTION consolidation.bench_capture_change() RETURNS trigger LANGUAGE plpgsql
       SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS %L',
       replace((SELECT prosrc FROM pg_proc WHERE oid = 'consolidation.capture_change()'::regprocedure),
               'consolidation.capture_log', 'consolidation.bench_log_2idx'));
   END $$;
   ${dropCaptureSql(on, d)};
   CREATE TRIGGER dfc_capture_${d} AFTER INSERT OR UPDATE OR DELETE ON "${on.schema}"."${on.name}"
     FOR EACH ROW EXECUTE FUNCTION consolidation.bench_capture_change('${d}', '${t.captureName[d]}', ${t.primaryKey.map((k) => `'${k}'`).join(', ')});
   ALTER TABLE "${on.schema}"."${on.name}" ENABLE ALWAYS TRIGGER dfc_capture_${d}`;

/** the per-table function under another name, without SET search_path (the proconfig lever) */
const noSet = (t: MappedTable, d: Direction) =>
  captureFunctionSql(t, d)
    .replaceAll('"capture_', '"benchnoset_capture_')
    .replace('SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS', 'SECURITY DEFINER AS');

/** the shipped function writing to a copy of the log with the (direction, id) index 0030 dropped */
const twoIndexes = (t: MappedTable, d: Direction) =>
  `${LOG_2IDX};
   ${captureFunctionSql(t, d).replaceAll('"capture_', '"bench2idx_capture_').replaceAll('consolidation.capture_log', 'consolidation.bench_log_2idx')}`;

/** one log row per statement holding every key (jsonb array), into a copy of the log (primary key only, as shipped) */
const aggregated = (t: MappedTable, d: Direction) => {
  const key = (a: string) =>
    `pg_catalog.jsonb_build_object(${t.primaryKey.map((c) => `'${c}', ${a}."${c}"`).join(', ')})`;
  const log = `INSERT INTO consolidation.bench_log_agg (direction, table_name, keys) SELECT '${d}', '${t.captureName[d]}', pg_catalog.jsonb_agg(k) FROM`;
  return `CREATE TABLE IF NOT EXISTS consolidation.bench_log_agg (LIKE consolidation.capture_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS, keys jsonb, PRIMARY KEY (id));
  CREATE OR REPLACE FUNCTION consolidation."benchagg_capture_${d}"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN ${log} (SELECT ${key('n')} FROM dfc_new n) x(k) HAVING count(*) > 0;
    ELSIF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN ${log} (SELECT ${key('n')} FROM dfc_new n UNION SELECT ${key('o')} FROM dfc_old o) x(k) HAVING count(*) > 0;
    ELSIF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN ${log} (SELECT ${key('o')} FROM dfc_old o) x(k) HAVING count(*) > 0;
    END IF;
    RETURN NULL;
  END $fn$`;
};

const GENERIC_FN = `CREATE OR REPLACE FUNCTION consolidation.bench_capture_generic() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE k_n text; k_o text;
  log text := 'INSERT INTO consolidation.capture_log (direction, table_name, old_key, new_key) ';
BEGIN
  SELECT 'jsonb_build_object(' || string_agg(format('%L, n.%I', c, c), ', ') || ')',
         'jsonb_build_object(' || string_agg(format('%L, o.%I', c, c), ', ') || ')'
    INTO k_n, k_o FROM unnest(TG_ARGV[2:]) c;
  IF TG_OP = 'INSERT' THEN
    EXECUTE log || format('SELECT $1, $2, NULL, %s FROM dfc_new n', k_n) USING TG_ARGV[0], TG_ARGV[1];
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE log || format('SELECT $1, $2, NULL, %s FROM dfc_new n UNION ALL SELECT $1, $2, k, NULL FROM (SELECT %s FROM dfc_old o EXCEPT SELECT %s FROM dfc_new n) m(k)', k_n, k_o, k_n)
      USING TG_ARGV[0], TG_ARGV[1];
  ELSIF TG_OP = 'DELETE' THEN
    EXECUTE log || format('SELECT $1, $2, %s, NULL FROM dfc_old o', k_o) USING TG_ARGV[0], TG_ARGV[1];
  END IF;
  RETURN NULL;
END $fn$`;

/**
 * The floor of any trigger-based capture: the same four statement triggers (transition tables
 * included) calling a function that logs nothing — as shipped (SECURITY DEFINER, pinned
 * search_path) and plain. What capture costs above this is the logging itself.
 */
const EMPTY_FN = (
  definer: boolean,
) => `CREATE OR REPLACE FUNCTION consolidation.bench_capture_empty_${definer ? 'definer' : 'plain'}() RETURNS trigger
LANGUAGE plpgsql ${definer ? 'SECURITY DEFINER SET search_path = pg_catalog, pg_temp ' : ''}AS $fn$ BEGIN RETURN NULL; END $fn$`;
const emptyVariant = (definer: boolean): Variant => ({
  name: definer ? 'stmt-empty' : 'stmt-empty-plain',
  install: (t, on, d) =>
    `${EMPTY_FN(definer)};
${createCaptureTriggerSql(t, on, d).replaceAll(
  /consolidation\."capture_[^"]+"\(\)/g,
  `consolidation.bench_capture_empty_${definer ? 'definer' : 'plain'}()`,
)}`,
});

export type Variant = { name: string; install: (t: MappedTable, on: Rel, d: Direction) => string };
export const VARIANTS: Variant[] = [
  { name: 'off', install: (_t, on, d) => dropCaptureSql(on, d) },
  { name: 'row', install: ROW_SQL },
  {
    name: 'stmt',
    install: (t, on, d) => `${captureFunctionSql(t, d)};\n${createCaptureTriggerSql(t, on, d)}`,
  },
];
export const EXPLORE: Variant[] = [
  emptyVariant(true),
  emptyVariant(false),
  {
    name: 'stmt-noset',
    install: (t, on, d) =>
      `${noSet(t, d)};\n${createCaptureTriggerSql(t, on, d).replaceAll('"capture_', '"benchnoset_capture_')}`,
  },
  {
    name: 'stmt-2idx',
    install: (t, on, d) =>
      `${twoIndexes(t, d)};\n${createCaptureTriggerSql(t, on, d).replaceAll('"capture_', '"bench2idx_capture_')}`,
  },
  {
    name: 'stmt-agg',
    install: (t, on, d) =>
      `${aggregated(t, d)};\n${createCaptureTriggerSql(t, on, d).replaceAll(/consolidation\."capture_[^"]+"\(\)/g, `consolidation."benchagg_capture_${d}"()`)}`,
  },
  {
    name: 'stmt-generic',
    install: (t, on, d) =>
      `${GENERIC_FN};\n${createCaptureTriggerSql(t, on, d).replaceAll(
        /consolidation\."capture_[^"]+"\(\)/g,
        `consolidation.bench_capture_generic('${d}', '${t.captureName[d]}', ${t.primaryKey.map((k) => `'${k}'`).join(', ')})`,
      )}`,
  },
];
