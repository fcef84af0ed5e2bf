/**
 * The store seam: where server-side session data lives. A store is keyed by the SHA-256 of the
 * session id, never the id itself, so a leaked dump holds no usable token.
 *
 * Required: `get`, `create`, `update`, `destroy`, and `listByUser`, `destroyByUser` (sessions
 * per user, for "Your sessions" and "log out everywhere").
 * Recommended: `prune` (sweeping).
 * Optional: `list` (every session, for operators), `clear`, `close`, `migrate`.
 *
 * Values are kept per key, as tagged-JSON text, so that `update` can apply one request's
 * changes without overwriting another's: two concurrent requests that set different keys both
 * keep their change. When both set the same key, the later write wins.
 * @module
 */

/** A session as a store keeps it. Instants are epoch milliseconds. */
export interface StoredSession {
  /** Session keys to tagged-JSON text of their values. */
  data: Record<string, string>
  /** The user the session is bound to, or null. */
  userId: string | null
  createdAt: number
  /** The last request that refreshed the idle expiry. */
  lastSeenAt: number
  /** When the store forgets the session: min(idle expiry, absolute expiry). */
  expiresAt: number
  /** Whether the cookie outlives the browser (Flask's `session.permanent`). */
  permanent: boolean
  /** The User-Agent and client IP when the session was created. */
  userAgent: string | null
  ip: string | null
}

/** What one request changed; the store applies it atomically. */
export interface SessionPatch {
  /** Keys to set, to tagged-JSON text. */
  set?: Record<string, string>
  /** Keys to remove. */
  unset?: readonly string[]
  /** Remove every key before applying `set`. */
  clear?: boolean
  /** Bind to a user (a string) or unbind (null); absent leaves it. */
  userId?: string | null
  permanent?: boolean
  lastSeenAt?: number
  expiresAt?: number
}

/** A session in a list: what "Your sessions" and `tessera sessions list` show. */
export interface SessionSummary {
  /** The store key (a hash of the id): safe to show, useless as a cookie. */
  key: string
  /** The user the session is bound to, or null. */
  userId: string | null
  createdAt: number
  lastSeenAt: number
  expiresAt: number
  userAgent: string | null
  ip: string | null
}

/** Where server-side sessions live. Every method may reject; the core wraps it in a `StoreError`. */
export interface Store {
  /** A short name for errors and logs: `memory`, `sqlite`, `redis`… */
  readonly name: string
  /** The session under `key`, or null when it is missing or expired. */
  get(key: string): Promise<StoredSession | null>
  /** Stores a new session. Keys are random, so an existing one may simply be replaced. */
  create(key: string, session: StoredSession): Promise<void>
  /**
   * Applies `patch` to the live session under `key`, atomically with respect to other updates.
   * Returns false, and writes nothing, when there is no live session there: a destroyed or
   * expired session is never brought back by a late write.
   */
  update(key: string, patch: SessionPatch): Promise<boolean>
  /** Removes the session; removing a missing one is not an error. */
  destroy(key: string): Promise<void>
  /** The live sessions bound to `userId`, found through an index, newest first. */
  listByUser(userId: string): Promise<SessionSummary[]>
  /** Removes the user's sessions, except the one under `except`; returns how many. */
  destroyByUser(userId: string, options?: { except?: string }): Promise<number>
  /**
   * Optional. Live sessions, bound to a user or not, at most `limit` (default 100, at most
   * 10_000: see `listLimit`), oldest `createdAt` first. For operations tools (`tessera sessions
   * list`), never for a request path: it may scan every session of the store. SQL, memory and
   * file stores return the oldest `limit` sessions; Redis returns the first `limit` live sessions
   * its SCAN finds, sorted.
   */
  list?(options?: { limit?: number }): Promise<SessionSummary[]>
  /**
   * Removes the sessions expired by the store's clock; returns exactly how many. `onProgress` is
   * called at least once, after each batch for stores that delete in batches, with the running
   * total (non-decreasing; its last value is the count returned), so a long run can show
   * progress. A store whose backend expires sessions by itself (Redis) counts what it removed
   * before the backend did, and the index entries of sessions the backend already dropped.
   */
  prune?(options?: { onProgress?: (removedSoFar: number) => void }): Promise<number>
  /** Removes every session of this store (its own keys only). */
  clear?(): Promise<void>
  /** Creates tables or indexes, for stores that need them. */
  migrate?(): Promise<void>
  /** Releases connections and timers. */
  close?(): Promise<void>
}

/** The most sessions `list` returns, whatever `limit` asks for. */
export const maxListLimit = 10_000

/**
 * The number of sessions a `list` call returns at most: `limit`, 100 when absent, capped at
 * `maxListLimit`. Throws a TypeError for a negative or fractional limit.
 */
export function listLimit(options: { limit?: number } = {}): number {
  const limit = options.limit ?? 100
  if (!(Number.isInteger(limit) && limit >= 0)) {
    throw new TypeError(`list: limit must be a whole number of sessions, got ${limit}`)
  }
  return Math.min(limit, maxListLimit)
}

/** Applies a patch to a stored session in memory: the semantics every store must match. */
export function applyPatch(session: StoredSession, patch: SessionPatch): StoredSession {
  // Null-prototype, so no key (not even "__proto__") can reach Object.prototype.
  const data: Record<string, string> = Object.create(null)
  if (!patch.clear) for (const key of Object.keys(session.data)) data[key] = session.data[key]!
  if (patch.unset) for (const key of patch.unset) delete data[key]
  if (patch.set) for (const key of Object.keys(patch.set)) data[key] = patch.set[key]!
  return {
    ...session,
    data,
    userId: patch.userId === undefined ? session.userId : patch.userId,
    permanent: patch.permanent ?? session.permanent,
    lastSeenAt: patch.lastSeenAt ?? session.lastSeenAt,
    expiresAt: patch.expiresAt ?? session.expiresAt,
  }
}

/** The optional methods of `Store`. */
export type OptionalStoreMethod = 'list' | 'prune' | 'clear' | 'migrate' | 'close'

/**
 * A store that has the optional methods `K`: what a store factory returns, so that the
 * session system it is given to (`StoreSessions`) offers `list` and `prune` only where they
 * exist.
 */
export type StoreWith<K extends OptionalStoreMethod> = Store & Required<Pick<Store, K>>
