/**
 * One error type for everything the toolkit reports. Each carries a code (the guide's
 * CONSOLIDATION_01..05 or a DFC_* code for tool-level problems), the fix, and — when the server
 * raised it — the server's SQLSTATE, detail and hint.
 */

export const ERROR_CODES = {
  CONSOLIDATION_01: 'Schema validation failed',
  CONSOLIDATION_02: 'Backup creation failed',
  CONSOLIDATION_03: 'Migration timeout',
  CONSOLIDATION_04: 'Constraint violation',
  CONSOLIDATION_05: 'Rollback point invalid',
  DFC_CONNECTION: 'Cannot connect to PostgreSQL',
  DFC_CONFIG: 'Invalid configuration or arguments',
  DFC_LOCKED: 'Another run holds the lock',
  DFC_MIGRATION: 'Migration failed',
  DFC_DIRTY: 'Migration state is dirty',
  DFC_PRIVILEGE: 'Missing privilege',
  DFC_LEDGER: 'Write ledger failed or invalid',
  DFC_INTERNAL: 'Internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ServerErrorFields {
  sqlstate?: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
  table?: string;
  constraint?: string;
}

export class DfcError extends Error {
  readonly code: ErrorCode;
  readonly fix: string;
  readonly server?: ServerErrorFields;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { fix: string; cause?: unknown; server?: ServerErrorFields; details?: Record<string, unknown> },
  ) {
    super(message, { cause: opts.cause });
    this.name = 'DfcError';
    this.code = code;
    this.fix = opts.fix;
    this.server = opts.server ?? serverFields(opts.cause);
    this.details = opts.details;
  }

  /** Machine form for `--json`. */
  toJSON(): Record<string, unknown> {
    return {
      error: true,
      code: this.code,
      description: ERROR_CODES[this.code],
      message: this.message,
      fix: this.fix,
      ...(this.server ? { server: this.server } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** Pull the server's fields off a node-postgres DatabaseError (or anything shaped like one). */
export function serverFields(err: unknown): ServerErrorFields | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as Record<string, unknown>;
  if (typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code)) return undefined;
  const pick = (k: string) => (typeof e[k] === 'string' ? (e[k] as string) : undefined);
  const out: ServerErrorFields = { sqlstate: e.code };
  for (const k of ['detail', 'hint', 'position', 'where', 'table', 'constraint'] as const) {
    const v = pick(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** SQLSTATE of a server error, if any. */
export function sqlstate(err: unknown): string | undefined {
  return serverFields(err)?.sqlstate;
}

/** SQLSTATEs (and driver errors) meaning the session to the server is gone, not that a statement failed. */
const CONNECTION_LOST_STATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);
const CONNECTION_LOST_NODE = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
const CONNECTION_LOST_TEXT =
  /Connection terminated|connection error and is not queryable|terminating connection/i;

/** True when err says the connection (or the server) went away. */
export function isConnectionLost(err: unknown): boolean {
  const state = sqlstate(err);
  if (state) return CONNECTION_LOST_STATES.has(state);
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && CONNECTION_LOST_NODE.has(code)) return true;
  return err instanceof Error && CONNECTION_LOST_TEXT.test(err.message);
}

/**
 * The one place where an error that is not already a DfcError gets its code: a lost connection is
 * DFC_CONNECTION (re-run to resume), a permission error (42501) is DFC_PRIVILEGE, anything else
 * is DFC_INTERNAL. The CLI renders every failure through this.
 */
export function toDfcError(err: unknown): DfcError {
  if (err instanceof DfcError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isConnectionLost(err))
    return new DfcError('DFC_CONNECTION', `the connection to the server was lost: ${message}`, {
      fix: 're-run the same command when the server is back to resume: finished steps are recorded and skipped (dfc consolidate status shows where it is)',
      cause: err,
    });
  if (sqlstate(err) === '42501')
    return new DfcError('DFC_PRIVILEGE', `permission denied: ${message}`, {
      fix: 'connect as the role that owns the DomainFlow tables (or a superuser), or GRANT that role the privilege named above, then re-run',
      cause: err,
    });
  return new DfcError('DFC_INTERNAL', message, {
    fix: 'this is a bug or an unexpected server state; rerun with DFC_DEBUG=1 and report the output',
    cause: err,
  });
}
