/** bench/capture's capture variants: SQL that installs each on one table (bench only, literals from the shipped definition). */
import { captureFunctionSql, createCaptureTriggerSql, dropCaptureSql } from '../src/engine/capture.js';
import type { Direction, MappedTable } from '../src/engine/mapping.js';
import type { Rel } from '../src/engine/names.js';

const ROW_SQL = (t: MappedTable, on: Rel, d: Direction) =>
  `${dropCaptureSql(on, d)};
   CREATE TRIGGER dfc_capture_${d} AFTER INSERT OR UPDATE OR DELETE ON "${on.schema}"."${on.name}"
     FOR EACH ROW EXECUTE FUNCTION consolidation.capture_change('${d}', '${t.captureName[d]}', ${t.primaryKey.map((k) => `'${k}'`).join(', ')});
   ALTER TABLE "${on.schema}"."${on.name}" ENABLE ALWAYS TRIGGER dfc_capture_${d}`;

/** the per-table function under another name, without SET search_path (the proconfig lever) */
const noSet = (t: MappedTable, d: Direction) =>
  captureFunctionSql(t, d)
    .replaceAll('"capture_', '"benchnoset_capture_')
    .replace('SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS', 'SECURITY DEFINER AS');

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
  {
    name: 'stmt-noset',
    install: (t, on, d) =>
      `${noSet(t, d)};\n${createCaptureTriggerSql(t, on, d).replaceAll('"capture_', '"benchnoset_capture_')}`,
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
