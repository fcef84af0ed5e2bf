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
 * of that client with a 503 would blame a healthy store. The data comes back in a new
 * null-prototype object, so no key (not even `__proto__`) reaches `Object.prototype`, and
 * nothing of the record the caller parsed is shared.
 */
export function readSession(value: unknown): StoredSession | null {
  if (!isObject(value)) return null
  const data = readData(value.data)
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

/** The data map of a JSON text, or null when the text is not a JSON object of strings. */
export function parseData(text: string): Record<string, string> | null {
  try {
    return readData(JSON.parse(text))
  } catch {
    return null
  }
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
