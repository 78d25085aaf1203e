import { createHash } from 'node:crypto';

/**
 * The only code that produces SQL text. Values always become bind parameters; identifiers go
 * through {@link ident}; raw SQL must be asked for by name ({@link unsafeRawSql}).
 *
 * @example
 *   const q = sql`SELECT count(*) FROM ${ident({ schema: 'public', name: 'campaigns' })} WHERE status = ${s}`;
 *   // q.text   === 'SELECT count(*) FROM "public"."campaigns" WHERE status = $1'
 *   // q.values === [s]
 */

const FRAGMENT = Symbol('sql.fragment');

/** A piece of SQL text with its bind values; parameters are numbered when the query is built. */
export interface SqlFragment {
  readonly [FRAGMENT]: true;
  /** text chunks; between chunk i and i+1 sits values[i] */
  readonly chunks: readonly string[];
  readonly values: readonly unknown[];
}

/** A finished query as node-postgres takes it. */
export interface SqlQuery {
  text: string;
  values: unknown[];
}

function fragment(chunks: string[], values: unknown[]): SqlFragment {
  return Object.freeze({
    [FRAGMENT]: true as const,
    chunks: Object.freeze(chunks),
    values: Object.freeze(values),
  });
}

export function isFragment(x: unknown): x is SqlFragment {
  return typeof x === 'object' && x !== null && FRAGMENT in x;
}

/** Tagged template: interpolated fragments are inlined, everything else becomes a `$n` parameter. */
export function sql(strings: TemplateStringsArray, ...args: unknown[]): SqlFragment {
  const chunks: string[] = [strings[0] ?? ''];
  const values: unknown[] = [];
  args.forEach((arg, i) => {
    const next = strings[i + 1] ?? '';
    if (isFragment(arg)) {
      chunks[chunks.length - 1] += arg.chunks[0] ?? '';
      for (let j = 0; j < arg.values.length; j++) {
        values.push(arg.values[j]);
        chunks.push(arg.chunks[j + 1] ?? '');
      }
      chunks[chunks.length - 1] += next;
    } else {
      values.push(arg);
      chunks.push(next);
    }
  });
  return fragment(chunks, values);
}

/** Quote one identifier part the way PostgreSQL does (doubling embedded quotes). */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('empty SQL identifier');
  if (name.includes('\u0000')) throw new Error('SQL identifier contains a NUL byte');
  return `"${name.replaceAll('"', '""')}"`;
}

/** A possibly schema-qualified name. Never a dotted string: `{schema, name}` keeps the parts apart. */
export type QualifiedName = string | { schema?: string; name: string };

/** Identifier fragment: `ident('t')` → `"t"`, `ident({schema:'auth', name:'users'})` → `"auth"."users"`. */
export function ident(name: QualifiedName): SqlFragment {
  const n = typeof name === 'string' ? { name } : name;
  const text = n.schema ? `${quoteIdent(n.schema)}.${quoteIdent(n.name)}` : quoteIdent(n.name);
  return fragment([text], []);
}

/** Comma-joined list of fragments. */
export function join(parts: readonly SqlFragment[], separator = ', '): SqlFragment {
  if (parts.length === 0) return fragment([''], []);
  const sep = fragment([separator], []);
  return parts.slice(1).reduce<SqlFragment>((acc, p) => sql`${acc}${sep}${p}`, parts[0]!);
}

/** A string literal inlined as text — only for statements that cannot take parameters (DDL, SET). */
export function literal(value: string | number | boolean | null): SqlFragment {
  if (value === null) return fragment(['NULL'], []);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return fragment([String(value)], []);
  }
  if (typeof value === 'boolean') return fragment([value ? 'true' : 'false'], []);
  if (value.includes('\u0000')) throw new Error('SQL literal contains a NUL byte');
  return fragment([`'${value.replaceAll("'", "''")}'`], []);
}

/** A string as SQL literal text, for SQL assembled from definitions that ship with the package (catalog names, ids). */
export function quoteLiteral(value: string): string {
  return build(literal(value)).text;
}

/**
 * Raw SQL text, inlined verbatim. Only for SQL that ships with the package (DDL files, fixed
 * expressions in code). NEVER pass user input: it WILL lead to SQL injection.
 */
export function unsafeRawSql(text: string): SqlFragment {
  return fragment([text], []);
}

/** Number the parameters and produce the query node-postgres runs. */
export function build(f: SqlFragment): SqlQuery {
  let text = f.chunks[0] ?? '';
  for (let i = 0; i < f.values.length; i++) text += `$${i + 1}${f.chunks[i + 1] ?? ''}`;
  return { text, values: [...f.values] };
}

/**
 * A named (prepared) statement for `text`: node-postgres parses it once per session and the
 * server keeps its plan (generic after five custom ones), so statements a session repeats — the
 * applier's per-table reconcile, the surface fingerprint — are not parsed and planned again
 * under a cutover's locks. The name is a hash of the text (one name, one text: node-postgres
 * refuses a name reused for another text). The server re-plans by itself after DDL on what the
 * statement reads.
 */
export function named(prefix: string, text: string): { name: string; text: string } {
  return { name: `${prefix}_${createHash('md5').update(text).digest('hex').slice(0, 16)}`, text };
}
