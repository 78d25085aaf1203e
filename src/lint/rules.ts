/**
 * The rules `dfc migrate lint` applies: what breaks a zero-downtime deploy of a golang-migrate file
 * against a live DomainFlow database. Each has a stable id (used in `-- dfc-lint-ignore: id reason`),
 * why it matters, what to do instead, and the squawk rule it corresponds to (null: squawk has none).
 */

export type Severity = 'error' | 'warning';

export interface LintRule {
  id: string;
  severity: Severity;
  why: string;
  instead: string;
  /** the matching squawk rule(s), for teams that know squawk */
  squawk: string[];
}

const rule = (r: LintRule) => r;

export const RULES = {
  indexNotConcurrent: rule({
    id: 'index-not-concurrent',
    severity: 'error',
    why: 'CREATE/DROP INDEX without CONCURRENTLY holds a SHARE (create) or ACCESS EXCLUSIVE (drop) lock on the table for the whole build: writes (and for DROP, reads) wait.',
    instead:
      'CREATE INDEX CONCURRENTLY / DROP INDEX CONCURRENTLY, in a file of its own (or run by `dfc migrate`, which runs such files statement by statement).',
    squawk: ['require-concurrent-index-creation', 'require-concurrent-index-deletion'],
  }),
  concurrentlyInTransaction: rule({
    id: 'concurrently-in-transaction',
    severity: 'error',
    why: 'CONCURRENTLY cannot run inside a transaction block: PostgreSQL rejects it with 25001 and the file fails half way.',
    instead: 'move the CONCURRENTLY statement out of BEGIN … COMMIT, into its own migration file.',
    squawk: ['ban-concurrent-index-creation-in-transaction'],
  }),
  concurrentlyMultiStatement: rule({
    id: 'concurrently-multi-statement',
    severity: 'error',
    why: 'golang-migrate sends a whole file as one query string, which PostgreSQL runs as one implicit transaction: a CONCURRENTLY statement in a multi-statement file fails with 25001.',
    instead:
      'put the CONCURRENTLY statement alone in its own file; or, if only `dfc migrate` applies this directory (it runs CONCURRENTLY files one statement at a time), acknowledge it.',
    squawk: ['ban-concurrent-index-creation-in-transaction'],
  }),
  addColumnVolatileDefault: rule({
    id: 'add-column-volatile-default',
    severity: 'error',
    why: 'ADD COLUMN with a volatile default (random(), uuid_generate_v4(), clock_timestamp(), serial, a STORED generated column) rewrites the whole table under ACCESS EXCLUSIVE.',
    instead:
      'add the column without a default (or with a constant one), backfill it in batches, then SET DEFAULT for new rows.',
    squawk: ['adding-field-with-default', 'adding-serial-primary-key-field'],
  }),
  addColumnNotNull: rule({
    id: 'add-column-not-null-without-default',
    severity: 'error',
    why: 'ADD COLUMN … NOT NULL without a default fails on a table with rows, and breaks the running service, whose INSERTs do not name the new column.',
    instead:
      'add the column nullable (or NOT NULL with a constant DEFAULT), backfill, then enforce NOT NULL.',
    squawk: ['adding-required-field', 'adding-not-nullable-field'],
  }),
  alterColumnType: rule({
    id: 'alter-column-type-rewrite',
    severity: 'error',
    why: 'ALTER COLUMN TYPE rewrites the table and its indexes under ACCESS EXCLUSIVE unless the change is binary-coercible (e.g. varchar(n) → varchar(m≥n) or text).',
    instead:
      'add a new column, backfill it in batches, switch the service over, then drop the old one; or prove the change does not rewrite with `dfc migrate trace`.',
    squawk: ['changing-column-type', 'prefer-text-field'],
  }),
  constraintNotValid: rule({
    id: 'constraint-missing-not-valid',
    severity: 'error',
    why: 'ADD CONSTRAINT FOREIGN KEY/CHECK validates every row while holding a lock that blocks writes (and a FK locks the referenced table too).',
    instead:
      'ADD CONSTRAINT … NOT VALID (instant), then ALTER TABLE … VALIDATE CONSTRAINT … in a later file (takes only SHARE UPDATE EXCLUSIVE).',
    squawk: ['constraint-missing-not-valid', 'adding-foreign-key-constraint'],
  }),
  setNotNull: rule({
    id: 'set-not-null-without-check',
    severity: 'error',
    why: 'SET NOT NULL scans the whole table under ACCESS EXCLUSIVE unless a validated CHECK (col IS NOT NULL) already proves it (PostgreSQL 12+).',
    instead:
      'ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c; then SET NOT NULL (instant) and drop the CHECK.',
    squawk: ['adding-not-nullable-field'],
  }),
  uniqueWithoutIndex: rule({
    id: 'unique-without-concurrent-index',
    severity: 'error',
    why: 'ADD CONSTRAINT UNIQUE/PRIMARY KEY builds its index under ACCESS EXCLUSIVE: reads and writes wait for the whole build.',
    instead:
      'CREATE UNIQUE INDEX CONCURRENTLY i …; then ALTER TABLE … ADD CONSTRAINT c UNIQUE USING INDEX i (instant).',
    squawk: ['disallowed-unique-constraint', 'adding-primary-key-constraint'],
  }),
  renameServiceObject: rule({
    id: 'rename-service-object',
    severity: 'error',
    why: 'the running DomainFlow service reads and writes this table/column by name (schema v2): renaming it breaks every query that names it until the service is redeployed.',
    instead:
      'expand/contract: add the new name (column or view), make the service use it, and remove the old one in a later release.',
    squawk: ['renaming-column', 'renaming-table'],
  }),
  dropServiceObject: rule({
    id: 'drop-service-object',
    severity: 'error',
    why: 'the running DomainFlow service uses this table/column (schema v2): dropping it breaks the service and loses the data.',
    instead:
      'stop using it in the service first (a release), take a backup, then drop it in a later migration; acknowledge the drop with the release that stopped using it.',
    squawk: ['ban-drop-column', 'ban-drop-table'],
  }),
  missingLockTimeout: rule({
    id: 'missing-lock-timeout',
    severity: 'error',
    why: 'a statement waiting for a lock on a busy table makes every later query on that table queue behind it; without lock_timeout the wait — and the outage — is unbounded.',
    instead:
      "start the file with SET lock_timeout = '5s'; (the statement then fails fast and can be retried), before the first lock-taking statement.",
    squawk: ['require-timeout-settings', 'require-lock-timeout'],
  }),
  missingDownFile: rule({
    id: 'missing-down-file',
    severity: 'error',
    why: 'golang-migrate needs both halves: without the down file there is no rollback path, and the runners refuse the directory.',
    instead: 'add NNNNNN_name.down.sql that reverses the up file (verify it with `dfc migrate verify`).',
    squawk: [],
  }),
} as const satisfies Record<string, LintRule>;

export const ALL_RULES: LintRule[] = Object.values(RULES);

/**
 * squawk rules we do not adopt, and why (kept here so the README table and the report agree).
 */
export const SQUAWK_NOT_ADOPTED: Record<string, string> = {
  'prefer-bigint-over-int': 'a schema style choice, not a deploy-safety one',
  'prefer-bigint-over-smallint': 'a schema style choice, not a deploy-safety one',
  'prefer-identity': 'a schema style choice; v2 keeps its bigserial columns',
  'prefer-timestamptz': 'a schema style choice, not a deploy-safety one',
  'ban-char-field': 'a schema style choice, not a deploy-safety one',
  'prefer-robust-stmts':
    'golang-migrate versions each file once; a failed file is repaired by hand and forced (the runner names the statement)',
  'transaction-nesting': 'golang-migrate adds no transaction of its own, so a file may use BEGIN/COMMIT',
  'ban-drop-database': 'migrations run inside the database they change',
  'ban-create-domain-with-constraint': 'DomainFlow defines no domains',
  'ban-alter-domain-with-add-constraint': 'DomainFlow defines no domains',
  'require-statement-timeout':
    'a statement_timeout would cancel long CONCURRENTLY builds and backfills; lock_timeout bounds what blocks the service',
};
