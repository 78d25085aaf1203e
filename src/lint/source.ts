/**
 * A migration file as PostgreSQL's own parser sees it (libpg-query, the server's grammar compiled
 * to WASM): statements with their byte ranges, comments from the server's scanner, and offsets
 * mapped back to 1-based line and column. No regular expression ever looks at SQL here.
 */
import { parse, scan } from 'libpg-query';
import { DfcError } from '../errors.js';

// biome-ignore lint/suspicious/noExplicitAny: the parser's JSON AST is walked structurally
export type Ast = Record<string, any>;

export interface ParsedStatement {
  /** node type, e.g. `AlterTableStmt` */
  kind: string;
  node: Ast;
  /** byte range in the file, as the parser reports it (leading whitespace/comments included) */
  start: number;
  end: number;
  /** where the statement's first token is */
  line: number;
  column: number;
  /** the statement's first line, for messages */
  excerpt: string;
}

export interface ParsedComment {
  text: string;
  start: number;
  end: number;
  line: number;
}

export interface ParsedFile {
  file: string;
  statements: ParsedStatement[];
  comments: ParsedComment[];
}

/** Byte offset → line/column (1-based, column in characters). */
export function position(buf: Buffer, offset: number): { line: number; column: number } {
  const before = buf.subarray(0, Math.max(0, Math.min(offset, buf.length)));
  let line = 1;
  let lastNl = -1;
  for (let i = 0; i < before.length; i++)
    if (before[i] === 10) {
      line++;
      lastNl = i;
    }
  return { line, column: before.subarray(lastNl + 1).toString('utf8').length + 1 };
}

/**
 * Parse `text` (the contents of `file`). A syntax error is a DfcError carrying the parser's
 * message, line and column.
 *
 * @example
 *   await parseFile('x.sql', 'SET lock_timeout = 1;\nCREATE TABLE (;')
 *   // throws DfcError DFC_CONFIG: x.sql:2:14: syntax error at or near "("
 */
export async function parseFile(file: string, text: string): Promise<ParsedFile> {
  const buf = Buffer.from(text, 'utf8');
  let tree: Ast;
  try {
    tree = (await parse(text)) as Ast;
  } catch (e) {
    const details = (e as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
    // the parser's cursor counts characters (code points), 0-based; statement locations are bytes
    const chars = details?.cursorPosition ?? 0;
    const offset = Buffer.byteLength(Array.from(text).slice(0, chars).join(''), 'utf8');
    const { line, column } = position(buf, offset);
    const message = details?.message ?? (e instanceof Error ? e.message : String(e));
    throw new DfcError('DFC_CONFIG', `${file}:${line}:${column}: ${message}`, {
      fix: 'correct the SQL at that position (it is checked with PostgreSQL 18’s own parser); nothing was linted in this file',
      cause: e,
      details: { file, line, column, position: chars + 1, parserMessage: message },
    });
  }
  const tokens = (await scan(text)).tokens;
  const comments: ParsedComment[] = tokens
    .filter((t) => t.tokenName === 'SQL_COMMENT' || t.tokenName === 'C_COMMENT')
    .map((t) => ({ text: t.text, start: t.start, end: t.end, line: position(buf, t.start).line }));
  const code = tokens.filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT');
  const statements: ParsedStatement[] = ((tree.stmts ?? []) as Ast[]).map((s) => {
    const start = Number(s.stmt_location ?? 0);
    const end = s.stmt_len ? start + Number(s.stmt_len) : buf.length;
    const first = code.find((t) => t.start >= start);
    const at = first ? first.start : start;
    const kind = Object.keys(s.stmt)[0]!;
    const excerpt = buf.subarray(at, end).toString('utf8').split('\n')[0]!.trim().slice(0, 100);
    return { kind, node: s.stmt[kind] as Ast, start, end, ...position(buf, at), excerpt };
  });
  return { file, statements, comments };
}
