/**
 * What every store does with a session record: check one read back from a backend (a file, a
 * row, a hash, a Connect record), and cut it down to the summary a list shows.
 * @module
 */
import type { SessionSummary, StoredSession } from '../types.js'

/** The summary of a stored session, for `listByUser` and `list`. */
export function toSummary(key: string, s: StoredSession): SessionSummary {
  return {
    key,
    userId: s.userId,
    createdAt: s.createdAt,
    lastSeenAt: s.lastSeenAt,
    expiresAt: s.expiresAt,
    userAgent: s.userAgent,
    ip: s.ip,
  }
}

/**
 * The session in a record read back from a backend, or null when it is not a whole, well-typed
 * session: a damaged record is no session, as a missing one is, because failing every request
 * of that client with a 503 would blame a healthy store.
 *
 * With `copy` (the default), the data comes back in a new null-prototype object, so nothing of
 * a record someone else may hold (a Connect store's cache) is shared, and no key reaches
 * `Object.prototype`. A caller whose record is its own and fresh (straight from `JSON.parse`,
 * whose `__proto__` keys are own properties, or built by the caller) passes `copy: false`: the
 * data is then checked in place, which on the read path of every request is most of the cost.
 */
export function readSession(value: unknown, copy = true): StoredSession | null {
  if (!isObject(value)) return null
  const data = copy ? readData(value.data) : checkData(value.data)
  if (!data) return null
  const { userId, createdAt, lastSeenAt, expiresAt, permanent, userAgent, ip } = value
  if (
    !isStringOrNull(userId) ||
    !isTime(createdAt) ||
    !isTime(lastSeenAt) ||
    !isTime(expiresAt) ||
    typeof permanent !== 'boolean' ||
    !isStringOrNull(userAgent) ||
    !isStringOrNull(ip)
  ) {
    return null
  }
  return { data, userId, createdAt, lastSeenAt, expiresAt, permanent, userAgent, ip }
}

/** A session's data map (keys to tagged-JSON text), copied, or null when it is not one. */
export function readData(value: unknown): Record<string, string> | null {
  if (!isObject(value)) return null
  const data: Record<string, string> = Object.create(null)
  for (const key of Object.keys(value)) {
    const text = value[key]
    if (typeof text !== 'string') return null
    data[key] = text
  }
  return data
}

/** A session's data map, checked in place, or null when it is not one. */
function checkData(value: unknown): Record<string, string> | null {
  if (!isObject(value)) return null
  for (const key in value) {
    if (Object.hasOwn(value, key) && typeof value[key] !== 'string') return null
  }
  return value as Record<string, string>
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function isStringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === 'string'
}

/** An instant or duration in ms: a finite number. */
export function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}
