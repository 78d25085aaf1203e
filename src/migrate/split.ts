/**
 * A small lexer for PostgreSQL script text: enough to split a migration file into statements and
 * to find keywords outside comments and literals. It understands what psql's own scanner does for
 * splitting: single-quoted strings ('' escapes; E'' strings with backslash escapes), double-quoted
 * identifiers, dollar quoting ($$…$$, $tag$…$tag$), -- and nested /* *\/ comments, parentheses
 * (CREATE RULE … (a; b)) and BEGIN ATOMIC … END / CASE … END bodies (psql's begin_depth heuristic).
 *
 * @example
 *   splitStatements("CREATE FUNCTION f() … AS $$ BEGIN x; END $$;\nCREATE INDEX CONCURRENTLY i ON t(a);")
 *   // → [{ text: 'CREATE FUNCTION f() … AS $$ BEGIN x; END $$', start: 0, line: 1 },
 *   //    { text: 'CREATE INDEX CONCURRENTLY i ON t(a)', start: 47, line: 2 }]
 */

export interface Statement {
  /** the statement without its terminating `;`, trimmed of surrounding whitespace */
  text: string;
  /** offset of `text` in the script (JS string index) */
  start: number;
  /** 1-based line of `start` in the script */
  line: number;
}

/** A piece of the script as the lexer sees it. `code` is everything outside comments and literals. */
interface Token {
  kind: 'code' | 'comment' | 'literal';
  start: number;
  end: number;
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

/** Cut the script into code / comment / literal runs. An unterminated literal runs to the end. */
function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let codeStart = 0;
  let i = 0;
  const push = (kind: 'comment' | 'literal', start: number, end: number) => {
    if (start > codeStart) out.push({ kind: 'code', start: codeStart, end: start });
    out.push({ kind, start, end });
    codeStart = end;
  };
  while (i < src.length) {
    const ch = src[i]!;
    const next = src[i + 1];
    const prev = i > 0 ? src[i - 1]! : '';
    if (ch === '-' && next === '-') {
      const nl = src.indexOf('\n', i);
      const end = nl === -1 ? src.length : nl;
      push('comment', i, end);
      i = end;
    } else if (ch === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < src.length && depth > 0) {
        if (src[j] === '/' && src[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (src[j] === '*' && src[j + 1] === '/') {
          depth--;
          j += 2;
        } else j++;
      }
      push('comment', i, j);
      i = j;
    } else if (ch === "'") {
      // E'…' (escape string): backslash escapes the next character. The E must start a word.
      const eString = (prev === 'E' || prev === 'e') && (i < 2 || !IDENT_CHAR.test(src[i - 2]!));
      let j = i + 1;
      while (j < src.length) {
        if (eString && src[j] === '\\') j += 2;
        else if (src[j] === "'" && src[j + 1] === "'") j += 2;
        else if (src[j] === "'") break;
        else j++;
      }
      const end = Math.min(j + 1, src.length);
      push('literal', eString ? i - 1 : i, end);
      i = end;
    } else if (ch === '"') {
      let j = i + 1;
      while (j < src.length) {
        if (src[j] === '"' && src[j + 1] === '"') j += 2;
        else if (src[j] === '"') break;
        else j++;
      }
      const end = Math.min(j + 1, src.length);
      push('literal', i, end);
      i = end;
    } else if (ch === '$' && !(prev && IDENT_CHAR.test(prev))) {
      // $tag$ where tag is empty or an identifier not starting with a digit ($1 is a parameter)
      const m = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(src.slice(i, i + 128));
      if (m) {
        const delim = m[0];
        const close = src.indexOf(delim, i + delim.length);
        const end = close === -1 ? src.length : close + delim.length;
        push('literal', i, end);
        i = end;
      } else i++;
    } else i++;
  }
  if (codeStart < src.length) out.push({ kind: 'code', start: codeStart, end: src.length });
  return out;
}

/** The script with comments and literals blanked out (same length, newlines kept). */
export function codeOnly(src: string): string {
  return tokenize(src)
    .map((t) =>
      t.kind === 'code' ? src.slice(t.start, t.end) : src.slice(t.start, t.end).replace(/[^\n]/g, ' '),
    )
    .join('');
}

/** Does `keyword` occur as a word outside comments, strings, quoted identifiers and dollar quotes? */
export function containsKeyword(src: string, keyword: string): boolean {
  return new RegExp(`(^|[^A-Za-z0-9_$])${keyword}($|[^A-Za-z0-9_$])`, 'i').test(codeOnly(src));
}

/** 1-based line number of a string offset. */
export function lineAt(src: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < src.length; i++) if (src.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Split a script into statements on top-level `;`. Statements that are only whitespace and
 * comments are dropped; comments inside a statement are kept (positions stay meaningful).
 */
export function splitStatements(src: string): Statement[] {
  const code = codeOnly(src);
  const out: Statement[] = [];
  let stmtStart = 0;
  let paren = 0;
  let begin = 0;
  let words = 0; // identifiers seen in this statement (BEGIN as the first word is a transaction)
  const flush = (end: number) => {
    const raw = src.slice(stmtStart, end);
    if (code.slice(stmtStart, end).trim() !== '') {
      const lead = raw.length - raw.trimStart().length;
      const start = stmtStart + lead;
      out.push({ text: raw.trim(), start, line: lineAt(src, start) });
    }
  };
  let i = 0;
  while (i < code.length) {
    const ch = code[i]!;
    if (IDENT_START.test(ch) && (i === 0 || !IDENT_CHAR.test(code[i - 1]!))) {
      let j = i + 1;
      while (j < code.length && IDENT_CHAR.test(code[j]!)) j++;
      const word = code.slice(i, j).toLowerCase();
      words++;
      if ((word === 'begin' || word === 'case') && words > 1) begin++;
      else if (word === 'end' && begin > 0) begin--;
      i = j;
      continue;
    }
    if (ch === '(') paren++;
    else if (ch === ')' && paren > 0) paren--;
    else if (ch === ';' && paren === 0 && begin === 0) {
      flush(i);
      stmtStart = i + 1;
      words = 0;
    }
    i++;
  }
  flush(code.length);
  return out;
}
