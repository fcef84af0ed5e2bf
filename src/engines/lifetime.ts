/**
 * A session's own lifetime (`session.maxAge`): the check both engines make when an app sets
 * one, and where the store engine keeps it.
 * @module
 */
import { isPlainObject, type TaggedJSON } from '../codecs/tagged-json.js'
import type { SessionData } from '../codecs/types.js'
import { SessionError } from '../errors.js'
import { describe } from '../primitives/durations.js'
import { isForbiddenKey } from '../primitives/guards.js'
import type { StoredSession } from '../stores/types.js'

/**
 * The data key a store session's own lifetime is kept under, beside the app's keys, so that
 * every store keeps it without a field of its own. `session.set` refuses it.
 */
export const maxAgeKey = 'tessera:maxAge'

/** A stored record's data, and its own lifetime (kept under `maxAgeKey`); null when damaged. */
export function decodeData(
  record: StoredSession,
  json: TaggedJSON,
): { data: SessionData; maxAge: number | null } | null {
  if (!isPlainObject(record.data)) return null
  const data: SessionData = {}
  let maxAge: number | null = null
  try {
    for (const key of Object.keys(record.data)) {
      if (isForbiddenKey(key)) return null
      const value: unknown = JSON.parse(record.data[key]!)
      if (key === maxAgeKey) {
        if (typeof value !== 'number' || !(value > 0)) return null
        maxAge = value
      } else {
        data[key] = json.untag(value)
      }
    }
  } catch {
    return null
  }
  return { data, maxAge }
}

/**
 * Throws a `SessionError` (`INVALID_MAX_AGE`) unless `seconds` is a positive number of seconds
 * within `absoluteTimeout`. Thrown on the request that sets it: the value is the app's, and a
 * value in milliseconds (express-session's `cookie.maxAge`) lands far past any timeout.
 */
export function checkLifetime(seconds: number, absoluteTimeout: number): void {
  if (typeof seconds !== 'number' || !(Number.isFinite(seconds) && seconds > 0)) {
    throw new SessionError(
      'INVALID_MAX_AGE',
      `session.maxAge must be a positive number of seconds or null, got ${String(seconds)}`,
    )
  }
  if (seconds > absoluteTimeout) {
    const ms =
      seconds >= 1000 * 60
        ? `; durations are in seconds: for ${seconds} ms write ${seconds / 1000}`
        : ''
    throw new SessionError(
      'INVALID_MAX_AGE',
      `session.maxAge is ${seconds} seconds, longer than absoluteTimeout ` +
        `(${describe(absoluteTimeout)}), which ends every session${ms}`,
    )
  }
}
