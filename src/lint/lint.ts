/**
 * `dfc migrate lint`: checks migration files for what takes a live database down, on the AST from
 * PostgreSQL's parser (see source.ts). Needs no database. A finding can be acknowledged on the
 * line(s) before its statement with `-- dfc-lint-ignore: rule-id reason` (a reason is required);
 * a file-level finding (missing down file) by such a comment anywhere in the file.
 *
 * @example
 *   const r = await lintMigrations(['migrations']);
 *   // r.findings: [{ rule: 'index-not-concurrent', file: 'migrations/000018_x.up.sql', line: 4, ... }]
 *   // r.ok === false when any finding of severity 'error' is not acknowledged
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DfcError } from '../errors.js';
import { MIGRATION_FILE } from '../migrate/files.js';
import { type LintRule, RULES, type Severity } from './rules.js';
import { serviceColumnType, serviceTable, tableKey } from './service.js';
import { type Ast, type ParsedFile, type ParsedStatement, parseFile } from './source.js';

export interface LintFinding {
  rule: string;
  severity: Severity;
  file: string;
  line: number;
  column: number;
  /** first line of the statement ('' for file-level findings) */
  statement: string;
  message: string;
  why: string;
  instead: string;
  squawk: string[];
  /** the reason given in a dfc-lint-ignore comment, when acknowledged */
  acknowledged?: string;
}

export interface LintReport {
  files: string[];
  findings: LintFinding[];
  errors: number;
  warnings: number;
  acknowledged: number;
  /** no unacknowledged errors */
  ok: boolean;
}

const IGNORE_RULE = {
  id: 'invalid-lint-ignore',
  severity: 'error',
  why: 'an acknowledgement without a known rule id and a reason hides a finding without saying why',
  instead: 'write `-- dfc-lint-ignore: rule-id why this is safe here` on the line before the statement',
  squawk: [],
} as const satisfies LintRule;

/** Statements that cannot run inside a transaction block when CONCURRENTLY. */
function isConcurrent(st: ParsedStatement): boolean {
  const n = st.node;
  if (st.kind === 'IndexStmt' || st.kind === 'DropStmt') return Boolean(n.concurrent);
  if (st.kind === 'ReindexStmt')
    return ((n.params ?? []) as Ast[]).some((p) => p.DefElem?.defname === 'concurrently');
  return false;
}

const relKey = (rel: Ast | undefined) => (rel ? tableKey(rel.schemaname, rel.relname) : '');

/** `schema.name` of a DropStmt object (a List of String). */
function dropKey(obj: Ast): string {
  const parts = ((obj.List?.items ?? []) as Ast[]).map((i) => String(i.String?.sval ?? ''));
  return parts.length > 1 ? tableKey(parts.at(-2), parts.at(-1)!) : tableKey(undefined, parts[0] ?? '');
}

/** Functions known not to be volatile, so a DEFAULT using them does not rewrite (PG 11+). */
const NON_VOLATILE = new Set([
  'now',
  'transaction_timestamp',
  'statement_timestamp',
  'current_setting',
  'lower',
  'upper',
  'jsonb_build_object',
  'jsonb_build_array',
  'json_build_object',
  'json_build_array',
  'make_interval',
  'to_jsonb',
]);

/** Any FuncCall in the expression that is not known non-volatile (conservative: unknown = volatile). */
function volatileCall(expr: unknown): string | undefined {
  if (Array.isArray(expr)) {
    for (const e of expr) {
      const v = volatileCall(e);
      if (v) return v;
    }
    return undefined;
  }
  if (!expr || typeof expr !== 'object') return undefined;
  const o = expr as Ast;
  if (o.FuncCall) {
    const names = ((o.FuncCall.funcname ?? []) as Ast[]).map((n) => String(n.String?.sval ?? ''));
    const name = names.at(-1) ?? '';
    if (!NON_VOLATILE.has(name)) return names.join('.');
  }
  for (const v of Object.values(o)) {
    const r = volatileCall(v);
    if (r) return r;
  }
  return undefined;
}

const SERIAL = new Set(['serial', 'bigserial', 'smallserial', 'serial2', 'serial4', 'serial8']);

function typeName(t: Ast | undefined): { name: string; mods: number[] } {
  const names = ((t?.names ?? []) as Ast[]).map((n) => String(n.String?.sval ?? ''));
  const mods = ((t?.typmods ?? []) as Ast[]).map((m) => Number(m.A_Const?.ival?.ival ?? Number.NaN));
  return { name: names.at(-1) ?? '', mods };
}

/** Is `current` (format_type text, e.g. `character varying(128)`) → `target` binary-coercible, i.e. no rewrite? */
function noRewrite(current: string, target: { name: string; mods: number[] }): boolean {
  const VARCHAR = 'character varying';
  const isText = current === 'text';
  const isVarchar = current.startsWith(VARCHAR);
  if (!isText && !isVarchar) return false;
  if (target.name === 'text') return true;
  if (target.name !== 'varchar') return false;
  if (target.mods.length === 0) return true;
  const len =
    isVarchar && current.length > VARCHAR.length ? Number(current.slice(VARCHAR.length + 1, -1)) : NaN;
  return Number.isFinite(len) && (target.mods[0] ?? 0) >= len;
}

/** Is this SET / set_config() call turning lock_timeout on (non-zero)? */
function setsLockTimeout(st: ParsedStatement): boolean | undefined {
  const n = st.node;
  if (st.kind === 'VariableSetStmt' && n.name === 'lock_timeout') {
    if (n.kind !== 'VAR_SET_VALUE') return false;
    const a = (n.args?.[0] ?? {}) as Ast;
    const v = a.A_Const?.sval?.sval ?? a.A_Const?.ival?.ival ?? 0;
    return String(v).trim() !== '0' && String(v).trim() !== '';
  }
  if (st.kind === 'SelectStmt') {
    for (const t of (n.targetList ?? []) as Ast[]) {
      const f = t.ResTarget?.val?.FuncCall;
      const name = f?.funcname?.at(-1)?.String?.sval;
      if (name === 'set_config' && f.args?.[0]?.A_Const?.sval?.sval === 'lock_timeout') {
        const v = String(f.args?.[1]?.A_Const?.sval?.sval ?? '0').trim();
        return v !== '0' && v !== '';
      }
    }
  }
  return undefined;
}

interface FileState {
  created: Set<string>;
  createdIndexes: Set<string>;
  inTransaction: boolean;
  lockTimeout: boolean;
  lockTimeoutReported: boolean;
  /** NOT VALID CHECK (col IS NOT NULL) constraints: name → table:col */
  notNullChecks: Map<string, string>;
  /** table:col proven NOT NULL by a validated CHECK */
  provenNotNull: Set<string>;
}

type Emit = (rule: LintRule, st: ParsedStatement | null, message: string) => void;

/** Does the statement take a lock that blocks the service's reads or writes on an existing relation? */
function blockingLockTarget(st: ParsedStatement, s: FileState): string | undefined {
  const n = st.node;
  const existing = (k: string) => (k && !s.created.has(k) ? k : undefined);
  switch (st.kind) {
    case 'AlterTableStmt':
    case 'CreateTrigStmt':
    case 'RenameStmt':
      return existing(relKey(n.relation));
    case 'IndexStmt':
      return n.concurrent ? undefined : existing(relKey(n.relation));
    case 'RefreshMatViewStmt':
      return n.concurrent ? undefined : existing(relKey(n.relation));
    case 'TruncateStmt':
    case 'LockStmt':
      return existing(relKey((n.relations?.[0] as Ast | undefined)?.RangeVar));
    case 'DropStmt':
      if (n.concurrent) return undefined;
      if (['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW'].includes(n.removeType))
        return ((n.objects ?? []) as Ast[]).map(dropKey).find((k) => existing(k));
      if (n.removeType === 'OBJECT_INDEX')
        return ((n.objects ?? []) as Ast[]).map(dropKey).find((k) => !s.createdIndexes.has(k));
      return undefined;
    case 'CreateStmt': {
      // a new table's FOREIGN KEY takes SHARE ROW EXCLUSIVE on the referenced (existing) table
      for (const el of (n.tableElts ?? []) as Ast[]) {
        const cons = el.Constraint ? [el] : ((el.ColumnDef?.constraints ?? []) as Ast[]);
        for (const c of cons) {
          if (c.Constraint?.contype === 'CONSTR_FOREIGN') {
            const k = existing(relKey(c.Constraint.pktable));
            if (k) return k;
          }
        }
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function checkAlterTable(st: ParsedStatement, s: FileState, emit: Emit): void {
  const table = relKey(st.node.relation);
  const existing = !s.created.has(table);
  const service = serviceTable(table);
  for (const item of (st.node.cmds ?? []) as Ast[]) {
    const cmd = item.AlterTableCmd as Ast | undefined;
    if (!cmd) continue;
    const def = cmd.def as Ast | undefined;
    switch (cmd.subtype) {
      case 'AT_AddColumn': {
        if (!existing) break;
        const col = def?.ColumnDef as Ast;
        const cons = ((col?.constraints ?? []) as Ast[]).map((c) => c.Constraint as Ast);
        const dflt = cons.find((c) => c.contype === 'CONSTR_DEFAULT');
        const t = typeName(col?.typeName);
        const volatile = dflt ? volatileCall(dflt.raw_expr) : undefined;
        const generated = cons.find(
          (c) => c.contype === 'CONSTR_GENERATED' || c.contype === 'CONSTR_IDENTITY',
        );
        if (volatile || SERIAL.has(t.name) || generated) {
          const what = volatile
            ? `volatile default ${volatile}()`
            : SERIAL.has(t.name)
              ? `type ${t.name} (a nextval() default)`
              : 'a generated/identity value';
          emit(
            RULES.addColumnVolatileDefault,
            st,
            `ADD COLUMN ${col.colname} on ${table} with ${what} rewrites the table`,
          );
        } else if (
          cons.some((c) => c.contype === 'CONSTR_NOTNULL' || c.contype === 'CONSTR_PRIMARY') &&
          !dflt
        ) {
          emit(RULES.addColumnNotNull, st, `ADD COLUMN ${col.colname} NOT NULL on ${table} has no default`);
        }
        break;
      }
      case 'AT_AlterColumnType': {
        if (!existing) break;
        const col = def?.ColumnDef as Ast;
        const target = typeName(col?.typeName);
        const current = serviceColumnType(table, cmd.name);
        if (col?.raw_default || !current || !noRewrite(current, target)) {
          emit(
            RULES.alterColumnType,
            st,
            `ALTER COLUMN ${cmd.name} TYPE ${target.name} on ${table}` +
              (col?.raw_default
                ? ' with USING rewrites the table'
                : current
                  ? ` (from ${current}) rewrites the table`
                  : ' may rewrite the table (its current type is not in schema v2)'),
          );
        }
        break;
      }
      case 'AT_AddConstraint': {
        const c = def?.Constraint as Ast;
        if (c?.contype === 'CONSTR_CHECK' && c.skip_validation) {
          const nt = c.raw_expr?.NullTest;
          const field = nt?.arg?.ColumnRef?.fields?.at(-1)?.String?.sval;
          if (nt?.nulltesttype === 'IS_NOT_NULL' && field && c.conname)
            s.notNullChecks.set(c.conname, `${table}:${field}`);
        }
        if (!existing) break;
        if ((c?.contype === 'CONSTR_FOREIGN' || c?.contype === 'CONSTR_CHECK') && !c.skip_validation) {
          emit(
            RULES.constraintNotValid,
            st,
            `ADD CONSTRAINT ${c.conname ?? ''} ${c.contype === 'CONSTR_FOREIGN' ? 'FOREIGN KEY' : 'CHECK'} on ${table} without NOT VALID`,
          );
        }
        if (['CONSTR_UNIQUE', 'CONSTR_PRIMARY', 'CONSTR_EXCLUSION'].includes(c?.contype) && !c.indexname) {
          emit(
            RULES.uniqueWithoutIndex,
            st,
            `ADD CONSTRAINT ${c.conname ?? ''} on ${table} builds its index under ACCESS EXCLUSIVE`,
          );
        }
        break;
      }
      case 'AT_ValidateConstraint': {
        const proven = s.notNullChecks.get(cmd.name);
        if (proven) s.provenNotNull.add(proven);
        break;
      }
      case 'AT_SetNotNull':
        if (existing && !s.provenNotNull.has(`${table}:${cmd.name}`))
          emit(
            RULES.setNotNull,
            st,
            `SET NOT NULL on ${table}.${cmd.name} without a validated CHECK (${cmd.name} IS NOT NULL) earlier in the file`,
          );
        break;
      case 'AT_DropColumn':
        if (service?.has(cmd.name))
          emit(RULES.dropServiceObject, st, `DROP COLUMN ${table}.${cmd.name}: the service uses it`);
        break;
    }
  }
}

function checkStatement(st: ParsedStatement, s: FileState, multi: boolean, emit: Emit): void {
  const n = st.node;
  const lt = setsLockTimeout(st);
  if (lt !== undefined) s.lockTimeout = lt;
  if (st.kind === 'TransactionStmt') {
    if (n.kind === 'TRANS_STMT_BEGIN' || n.kind === 'TRANS_STMT_START') s.inTransaction = true;
    else if (['TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK', 'TRANS_STMT_PREPARE'].includes(n.kind))
      s.inTransaction = false;
  }
  if (isConcurrent(st)) {
    if (s.inTransaction)
      emit(RULES.concurrentlyInTransaction, st, `${st.excerpt} runs inside BEGIN … COMMIT`);
    else if (multi)
      emit(
        RULES.concurrentlyMultiStatement,
        st,
        `${st.excerpt} is in a file with other statements (golang-migrate sends it as one string)`,
      );
  }
  const target = blockingLockTarget(st, s);
  if (target && !s.lockTimeout && !s.lockTimeoutReported) {
    s.lockTimeoutReported = true;
    emit(RULES.missingLockTimeout, st, `${st.excerpt} locks ${target} with no lock_timeout set before it`);
  }
  switch (st.kind) {
    case 'CreateStmt':
      s.created.add(relKey(n.relation));
      break;
    case 'CreateTableAsStmt':
      s.created.add(relKey(n.into?.rel));
      break;
    case 'IndexStmt': {
      const table = relKey(n.relation);
      if (n.idxname) s.createdIndexes.add(tableKey(n.relation?.schemaname, n.idxname));
      if (!n.concurrent && !s.created.has(table))
        emit(
          RULES.indexNotConcurrent,
          st,
          `CREATE INDEX ${n.idxname ?? ''} on ${table} without CONCURRENTLY`,
        );
      break;
    }
    case 'DropStmt':
      if (n.removeType === 'OBJECT_INDEX' && !n.concurrent) {
        const keys = ((n.objects ?? []) as Ast[]).map(dropKey).filter((k) => !s.createdIndexes.has(k));
        if (keys.length)
          emit(RULES.indexNotConcurrent, st, `DROP INDEX ${keys.join(', ')} without CONCURRENTLY`);
      }
      if (n.removeType === 'OBJECT_TABLE') {
        const used = ((n.objects ?? []) as Ast[]).map(dropKey).filter((k) => serviceTable(k));
        if (used.length)
          emit(RULES.dropServiceObject, st, `DROP TABLE ${used.join(', ')}: the service uses it`);
      }
      break;
    case 'RenameStmt': {
      const table = relKey(n.relation);
      if (n.renameType === 'OBJECT_TABLE' && serviceTable(table))
        emit(RULES.renameServiceObject, st, `RENAME of table ${table}: the service uses it`);
      if (n.renameType === 'OBJECT_COLUMN' && serviceTable(table)?.has(n.subname))
        emit(RULES.renameServiceObject, st, `RENAME of column ${table}.${n.subname}: the service uses it`);
      break;
    }
    case 'AlterTableStmt':
      checkAlterTable(st, s, emit);
      break;
  }
}

const IGNORE = /^(?:--|\/\*)\s*dfc-lint-ignore:\s*([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)\s*(.*?)\s*(?:\*\/)?$/s;

interface Ignore {
  rules: string[];
  reason: string;
  /** index of the statement it applies to; -1 = after the last statement (file level only) */
  statement: number;
  line: number;
}

function ignoresOf(p: ParsedFile): Ignore[] {
  const out: Ignore[] = [];
  for (const c of p.comments) {
    const m = IGNORE.exec(c.text.trim()); // the comment's text, not SQL
    if (!m) continue;
    const statement = p.statements.findIndex((st) => st.end > c.start);
    out.push({ rules: m[1]!.split(',').map((r) => r.trim()), reason: m[2]!, statement, line: c.line });
  }
  return out;
}

const KNOWN_IDS = new Set(Object.values(RULES).map((r) => r.id as string));

/**
 * Lint one file's text. `downFile` is checked for existence when the name is an up file.
 *
 * @example
 *   await lintSql('000018_x.up.sql', 'CREATE INDEX i ON campaigns (status);')
 *   // → [{ rule: 'index-not-concurrent', line: 1, ... }, { rule: 'missing-lock-timeout', ... }]
 */
export async function lintSql(
  file: string,
  text: string,
  opts: { downExists?: boolean } = {},
): Promise<LintFinding[]> {
  const p = await parseFile(file, text);
  const findings: (LintFinding & { index: number })[] = [];
  const emit: Emit = (rule, st, message) =>
    findings.push({
      rule: rule.id,
      severity: rule.severity,
      file,
      line: st?.line ?? 1,
      column: st?.column ?? 1,
      statement: st?.excerpt ?? '',
      message,
      why: rule.why,
      instead: rule.instead,
      squawk: [...rule.squawk],
      index: st ? p.statements.indexOf(st) : -2,
    });
  const state: FileState = {
    created: new Set(),
    createdIndexes: new Set(),
    inTransaction: false,
    lockTimeout: false,
    lockTimeoutReported: false,
    notNullChecks: new Map(),
    provenNotNull: new Set(),
  };
  const multi = p.statements.length > 1;
  for (const st of p.statements) checkStatement(st, state, multi, emit);
  if (opts.downExists === false)
    emit(RULES.missingDownFile, null, `${path.basename(file)} has no matching .down.sql file`);

  const ignores = ignoresOf(p);
  for (const ig of ignores) {
    const unknown = ig.rules.filter((r) => !KNOWN_IDS.has(r));
    if (unknown.length || !ig.reason) {
      findings.push({
        rule: IGNORE_RULE.id,
        severity: IGNORE_RULE.severity,
        file,
        line: ig.line,
        column: 1,
        statement: '',
        message: unknown.length
          ? `dfc-lint-ignore names unknown rule(s): ${unknown.join(', ')}`
          : `dfc-lint-ignore: ${ig.rules.join(', ')} gives no reason`,
        why: IGNORE_RULE.why,
        instead: IGNORE_RULE.instead,
        squawk: [],
        index: -3,
      });
      continue;
    }
    for (const f of findings) {
      if (f.acknowledged !== undefined || !ig.rules.includes(f.rule)) continue;
      if (f.index === ig.statement || f.index === -2) f.acknowledged = ig.reason;
    }
  }
  return findings
    .sort((a, b) => a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule))
    .map(({ index: _index, ...f }) => f);
}

/** Expand the arguments: a directory means its *.sql migration files (sorted); a file itself. */
function expand(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      throw new DfcError('DFC_CONFIG', `no such file or directory: ${p}`, {
        fix: 'pass migration files or a directory of NNNNNN_name.up.sql / .down.sql files',
      });
    }
    if (st.isDirectory())
      out.push(
        ...readdirSync(p)
          .filter((f) => MIGRATION_FILE.test(f))
          .sort()
          .map((f) => path.join(p, f)),
      );
    else out.push(p);
  }
  return out;
}

/**
 * Lint files and directories. Throws DfcError (DFC_CONFIG, with line and column) on the first
 * file the parser rejects.
 */
export async function lintMigrations(paths: string[]): Promise<LintReport> {
  const files = expand(paths.length ? paths : ['migrations']);
  const findings: LintFinding[] = [];
  for (const f of files) {
    const m = MIGRATION_FILE.exec(path.basename(f));
    const downExists =
      m && m[3] === 'up' ? existsSync(path.join(path.dirname(f), `${m[1]}_${m[2]}.down.sql`)) : undefined;
    findings.push(...(await lintSql(f, readFileSync(f, 'utf8'), { downExists })));
  }
  const open = findings.filter((f) => f.acknowledged === undefined);
  const errors = open.filter((f) => f.severity === 'error').length;
  return {
    files,
    findings,
    errors,
    warnings: open.length - errors,
    acknowledged: findings.length - open.length,
    ok: errors === 0,
  };
}
