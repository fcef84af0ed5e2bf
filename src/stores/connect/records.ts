/**
 * The records the Connect bridge keeps in an express-session store: a session, or a user
 * index, each shaped as express-session writes its own sessions (with a `cookie` whose
 * `expires` the Connect store reads to expire the record).
 * @module
 */
import { isObject, isTime, readSession } from '../common/record.js'
import type { StoredSession } from '../types.js'

/** The `cookie` of a session record, as express-session writes it. */
export interface ConnectCookie {
  originalMaxAge: number
  expires: Date
  httpOnly: boolean
  path: string
}

/** A tessera session as it lives in the Connect store, under `tessera`. */
export interface TesseraFields extends StoredSession {
  /** The user index entry of this session lasts until then (null when not bound). */
  indexUntil: number | null
}

/** What the bridge writes: a session, or a user index. */
export type ConnectRecord =
  | { cookie: ConnectCookie; tessera: TesseraFields }
  | { cookie: ConnectCookie; tesseraUser: { sessions: Record<string, number> } }

/** A session read back: the session, and how long its user index entry lasts. */
export interface ReadSession {
  session: StoredSession
  indexUntil: number | null
}

export const indexTag = 'tessera-user:'

/**
 * An express-session cookie that ends at `expiresAt`: what the Connect store reads to expire
 * the record. `maxAge` is a getter, as on express-session's own `Cookie`, not written out.
 */
export function cookieUntil(expiresAt: number, now: () => number): ConnectCookie {
  const cookie: ConnectCookie = {
    originalMaxAge: Math.max(0, expiresAt - now()),
    expires: new Date(expiresAt),
    httpOnly: true,
    path: '/',
  }
  Object.defineProperty(cookie, 'maxAge', { get: () => expiresAt - now() })
  return cookie
}

/** The record of a session, with the date its user index entry lasts until. */
export function sessionRecord(
  s: StoredSession,
  indexUntil: number | null,
  now: () => number,
): ConnectRecord {
  const { data, userId, createdAt, lastSeenAt, expiresAt, permanent, userAgent, ip } = s
  const tessera: TesseraFields = {
    data: { ...data },
    userId,
    createdAt,
    lastSeenAt,
    expiresAt,
    permanent,
    userAgent,
    ip,
    indexUntil: userId === null ? null : indexUntil,
  }
  return { cookie: cookieUntil(expiresAt, now), tessera }
}

/** The tessera session in a Connect record, or null when it holds none (or a damaged one). */
export function parseSession(record: unknown): ReadSession | null {
  const t = (record as { tessera?: unknown } | null | undefined)?.tessera
  if (!isObject(t)) return null
  const session = readSession(t)
  const indexUntil = t.indexUntil ?? null
  if (!session || !(indexUntil === null || isTime(indexUntil))) return null
  return { session, indexUntil }
}

/** The entries (key → until) of a user index record, or null when it is not one. */
export function parseIndex(record: unknown): Map<string, number> | null {
  const index = (record as { tesseraUser?: unknown } | null | undefined)?.tesseraUser
  if (!isObject(index) || !isObject(index.sessions)) return null
  const entries = new Map<string, number>()
  for (const key of Object.keys(index.sessions)) {
    const until = index.sessions[key]
    if (isTime(until)) entries.set(key, until)
  }
  return entries
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}
