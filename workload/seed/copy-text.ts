/**
 * Encoders for PostgreSQL's COPY text format: one line per row, fields separated by a tab, `\N` for
 * NULL, and backslash, tab, newline and carriage return escaped inside values. Each encoder returns
 * the field exactly as it goes on the line, so a row is `fields.join('\t') + '\n'`.
 *
 * @example
 *   row([text('a\tb'), NULL, bool(true)]) === 'a\\tb\t\\N\tt\n'
 */

export const NULL = '\\N';

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** A text value (also right for varchar, inet, uuid given as strings). */
export function text(v: string | null | undefined): string {
  if (v === null || v === undefined) return NULL;
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

export function bool(v: boolean | null | undefined): string {
  return v === null || v === undefined ? NULL : v ? 't' : 'f';
}

export function num(v: number | bigint | null | undefined): string {
  if (v === null || v === undefined) return NULL;
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
  return String(v);
}

/**
 * A timestamp in ISO 8601 UTC (`2025-05-31T12:00:00.000Z`). timestamptz stores the instant; a
 * `timestamp without time zone` column silently ignores the zone and stores the UTC wall clock.
 */
export function ts(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return NULL;
  // Same text as new Date(ms).toISOString(), which costs ~1 µs: too much a million times over.
  // Rows come in time order, so the date-and-minute prefix is formatted once per minute.
  const t = Math.floor(ms);
  const minute = Math.floor(t / 60_000);
  if (minute !== cachedMinute) {
    cachedMinute = minute;
    cachedPrefix = new Date(minute * 60_000).toISOString().slice(0, 17);
  }
  const rest = t - minute * 60_000;
  const sec = Math.floor(rest / 1000);
  const milli = rest - sec * 1000;
  return `${cachedPrefix}${sec < 10 ? '0' : ''}${sec}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
let cachedMinute = Number.NaN;
let cachedPrefix = '';

/** jsonb from a JS value (JSON.stringify escapes control characters; backslashes still need COPY escaping). */
export function json(v: unknown): string {
  return v === null || v === undefined ? NULL : text(JSON.stringify(v));
}

/** bytea in hex form; the backslash of `\x` is itself escaped for COPY. */
export function bytea(hex: string | null | undefined): string {
  return hex === null || hex === undefined ? NULL : `\\\\x${hex}`;
}

/** Quote one array element when the array literal syntax requires it. */
function arrayElement(v: string | number): string {
  if (typeof v === 'number') return String(v);
  if (v !== '' && !/[\s{}",\\]/.test(v) && v.toUpperCase() !== 'NULL') return v;
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A one-dimensional array literal (`{a,"b c"}`) for text[], uuid[], integer[]. */
export function array(xs: readonly (string | number)[] | null | undefined): string {
  if (xs === null || xs === undefined) return NULL;
  return text(`{${xs.map(arrayElement).join(',')}}`);
}

/** One encoded row as a line. */
export function row(fields: readonly string[]): string {
  return `${fields.join('\t')}\n`;
}
