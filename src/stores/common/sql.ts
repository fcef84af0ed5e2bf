/**
 * What the SQLite and PostgreSQL stores share: the table's columns, the statements that read the
 * same in both dialects, and the mapping of a row back to a session or a summary. Rows are read
 * as arrays, in the column order below (better-sqlite3's `raw()`, pg's `rowMode: 'array'`).
 * @module
 */
import type { SessionSummary, StoredSession } from '../types.js'
import { readSession } from './record.js'

/** The columns of a session row after `key`, in the order `rowToSession` reads them. */
export const sessionColumns =
  'data, user_id, created_at, last_seen_at, expires_at, permanent, user_agent, ip'

/** The columns of a summary row, in the order `rowToSummary` reads them. */
export const summaryColumns = 'key, user_id, created_at, last_seen_at, expires_at, user_agent, ip'

/** How a dialect writes what differs in the shared statements. */
export interface SqlDialect {
  /** The table, quoted (and qualified) for use in a statement. */
  table: string
  /** The n-th parameter (from 1), each used once per statement: `?` or `$n`. */
  param(n: number): string
}

/** The statements both dialects run as they are. Each parameter appears once. */
export interface SharedStatements {
  /** key, now → one session row (`sessionColumns`). */
  get: string
  /** key, then the eight session columns → nothing. Replaces a session under the same key. */
  create: string
  /** key → nothing. */
  destroy: string
  /** user, now → summary rows, newest first. */
  listByUser: string
  /** now, limit → summary rows, oldest first. */
  list: string
  /** user, key kept (or null) → one `expires_at` per row removed. */
  destroyByUser: string
  clear: string
}

export function sharedStatements({ table: t, param: p }: SqlDialect): SharedStatements {
  return {
    get: `SELECT ${sessionColumns} FROM ${t} WHERE key = ${p(1)} AND expires_at > ${p(2)}`,
    create: `INSERT INTO ${t} (key, ${sessionColumns})
       VALUES (${[1, 2, 3, 4, 5, 6, 7, 8, 9].map(p).join(', ')})
       ON CONFLICT (key) DO UPDATE SET data = excluded.data, user_id = excluded.user_id,
         created_at = excluded.created_at, last_seen_at = excluded.last_seen_at,
         expires_at = excluded.expires_at, permanent = excluded.permanent,
         user_agent = excluded.user_agent, ip = excluded.ip`,
    destroy: `DELETE FROM ${t} WHERE key = ${p(1)}`,
    listByUser: `SELECT ${summaryColumns} FROM ${t}
       WHERE user_id = ${p(1)} AND expires_at > ${p(2)} ORDER BY created_at DESC`,
    list: `SELECT ${summaryColumns} FROM ${t}
       WHERE expires_at > ${p(1)} ORDER BY created_at LIMIT ${p(2)}`,
    // One statement: the rows are gone atomically, and RETURNING tells which were still live.
    destroyByUser: `DELETE FROM ${t}
       WHERE user_id = ${p(1)} AND key IS DISTINCT FROM ${p(2)} RETURNING expires_at`,
    clear: `DELETE FROM ${t}`,
  }
}

/** The indexes of the table: by expiry (for `prune`) and by user (for sessions per user). */
export function indexStatements(table: string, name: (suffix: string) => string): string[] {
  return [
    `CREATE INDEX IF NOT EXISTS ${name('expires_at')} ON ${table} (expires_at)`,
    `CREATE INDEX IF NOT EXISTS ${name('user_id')} ON ${table} (user_id, created_at)
       WHERE user_id IS NOT NULL`,
  ]
}

/**
 * The parameters of `create` after the key: the data as JSON text, the instants as whole ms (a
 * bigint column takes no fraction) and `permanent` as the dialect keeps a boolean.
 */
export function createParams(
  key: string,
  s: StoredSession,
  bool: (value: boolean) => unknown,
): unknown[] {
  return [
    key,
    JSON.stringify(s.data),
    s.userId,
    Math.round(s.createdAt),
    Math.round(s.lastSeenAt),
    Math.round(s.expiresAt),
    bool(s.permanent),
    s.userAgent,
    s.ip,
  ]
}

/**
 * The session in a row of `sessionColumns`, or null when the row holds none: data that is not
 * an object of strings (a hand-edited row, jsonb that is an array) is no session.
 */
export function rowToSession(row: readonly unknown[]): StoredSession | null {
  const [data, userId, createdAt, lastSeenAt, expiresAt, permanent, userAgent, ip] = row
  return readSession(
    {
      // SQLite keeps the data as text; pg parses the jsonb. Either way the object is new, and
      // this row's alone: it is checked in place.
      data: typeof data === 'string' ? parseJson(data) : data,
      userId,
      // pg returns bigint columns as strings; SQLite its integers as numbers.
      createdAt: Number(createdAt),
      lastSeenAt: Number(lastSeenAt),
      expiresAt: Number(expiresAt),
      permanent: permanent === true || permanent === 1,
      userAgent,
      ip,
    },
    false,
  )
}

/** The summary in a row of `summaryColumns`. */
export function rowToSummary(row: readonly unknown[]): SessionSummary {
  const [key, userId, createdAt, lastSeenAt, expiresAt, userAgent, ip] = row
  return {
    key: String(key),
    userId: (userId as string | null) ?? null,
    createdAt: Number(createdAt),
    lastSeenAt: Number(lastSeenAt),
    expiresAt: Number(expiresAt),
    userAgent: (userAgent as string | null) ?? null,
    ip: (ip as string | null) ?? null,
  }
}

/** How many of the `expires_at` values `destroyByUser` returned were still live at `now`. */
export function countLive(rows: readonly (readonly unknown[])[], now: number): number {
  let live = 0
  for (const [expiresAt] of rows) if (Number(expiresAt) > now) live++
  return live
}

/** The value of a JSON text, or null when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
