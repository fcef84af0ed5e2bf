/**
 * A bridge that serves tessera sessions from an existing express-session (Connect) store:
 * connect-redis, connect-mongo, connect-pg-simple, express-session's `MemoryStore`… Only the
 * store's callback API is used: `get`, `set` and `destroy` (required), `all` (for `list` and
 * `prune`) and `clear` when the store has them.
 *
 * Each tessera session is one Connect session under the id `<prefix><store key>`, shaped as
 * express-session writes its own, so the Connect store computes its TTL as it always does:
 *
 * ```
 * { cookie: { originalMaxAge, expires, httpOnly, path },      // expires = expiresAt
 *   tessera: { data, userId, createdAt, lastSeenAt, expiresAt, permanent, userAgent, ip,
 *              indexUntil } }
 * ```
 *
 * Records without a valid `tessera` field (say, express-session's own sessions in the same
 * store) are never read as tessera sessions.
 *
 * **Updates.** A Connect store only reads and writes whole sessions, so `update` is a read, an
 * `applyPatch` and a write. In this process, every operation on one session runs in turn (a
 * promise queue per id), so concurrent requests lose nothing and a destroyed session is never
 * brought back. **Across processes nothing is serialized**: two processes that update one session
 * at once can lose one's change (the later whole-session write wins), and a session destroyed by
 * another process between an update's read and its write is written back. Use a native tessera
 * store (`tessera/stores/redis`, `…/postgres`, `…/sqlite`, `…/file`) when several processes
 * serve one session at once.
 *
 * **Sessions per user.** The user index is emulated in the same Connect store: one record per
 * user under `<prefix>tessera-user:<sha256 of the user id>`, listing the user's session keys,
 * each with a date (`until`) that its session's expiry will not pass without the entry being
 * renewed. The index is written before the session it gains (an entry whose session is missing
 * is harmless; a session missing from its index would survive "log out everywhere"), and an
 * entry is dropped when its session is unbound or destroyed, or once `until` has passed. The
 * index record expires with its last entry. Index writes run in turn in this process; across
 * processes, two sessions of one user bound at the same moment in two processes can drop one
 * entry, and that session would then escape `listByUser` and `destroyByUser`.
 *
 * Calls wait for the Connect store's callback: tessera's `storeTimeout` bounds every request,
 * but a store that never calls back holds up the later calls for that session in this process.
 * @module
 */
import { createHash } from 'node:crypto'
import { clockOption, configError, requireMethods } from './common/config.js'
import { createKeyQueue, noop } from './common/queue.js'
import { toSummary } from './common/record.js'
import {
  type ConnectRecord,
  cookieUntil,
  indexTag,
  isThenable,
  parseIndex,
  parseSession,
  type ReadSession,
  sessionRecord,
} from './connect/records.js'
import {
  applyPatch,
  listLimit,
  type SessionPatch,
  type SessionSummary,
  type Store,
  type StoredSession,
} from './types.js'

/**
 * The parts of an express-session (Connect) store the bridge uses, in its callback style. Any
 * store written for express-session fits: `new RedisStore({ client })` from `connect-redis`,
 * `new session.MemoryStore()` from `express-session`…
 */
export interface ConnectStoreLike {
  /** Calls back with the session, or null/undefined when there is none. */
  get(sid: string, callback: (error: unknown, session?: unknown) => void): unknown
  /** Writes (upserts) the whole session. */
  set(sid: string, session: { cookie: unknown }, callback?: (error?: unknown) => void): unknown
  /** Removes the session. */
  destroy(sid: string, callback?: (error?: unknown) => void): unknown
  /** Recommended by express-session; not used by the bridge (every write is a whole `set`). */
  touch?(sid: string, session: { cookie: unknown }, callback?: (error?: unknown) => void): unknown
  /** Every session: an array (each with its `id`) or an object by session id. */
  all?(callback: (error: unknown, sessions?: unknown) => void): unknown
  /** Removes every session the store holds, express-session's included. */
  clear?(callback?: (error?: unknown) => void): unknown
  /** How many sessions the store holds; not used by the bridge. */
  length?(callback: (error: unknown, length?: number) => void): unknown
}

/** Options of `createConnectStore`. */
export interface ConnectStoreOptions {
  /**
   * Prepended to every session id the bridge gives the Connect store, so several apps can share
   * one store. `list` and `prune` only look at ids that start with it (with the default, every
   * id). It comes after the Connect store's own prefix (connect-redis's `sess:`). @default ''
   */
  prefix?: string
  /**
   * The clock, in epoch ms: what decides that a session has expired. The Connect store still
   * expires its records on its own clock, from the cookie's `expires`. @default Date.now
   */
  now?: () => number
}

/**
 * Serves tessera sessions from an express-session (Connect) store. The store stays the app's:
 * the bridge never closes it (nor its client).
 * @example
 * ```ts
 * import { RedisStore } from 'connect-redis'
 * const store = createConnectStore(new RedisStore({ client: redisClient }))
 * ```
 */
export function createConnectStore(
  connect: ConnectStoreLike,
  options: ConnectStoreOptions = {},
): Store {
  requireMethods(
    'connect',
    'the Connect store',
    connect,
    ['get', 'set', 'destroy'],
    'pass an express-session store instance, e.g. new RedisStore({ client }) from connect-redis',
  )
  const prefix = options.prefix ?? ''
  if (typeof prefix !== 'string') {
    throw configError('connect', `\`prefix\` must be a string, got a ${typeof prefix}`)
  }
  const now = clockOption('connect', options.now)
  const constructorName = (connect as { constructor?: { name?: unknown } }).constructor?.name
  const name =
    typeof constructorName === 'string' && constructorName !== '' && constructorName !== 'Object'
      ? `connect:${constructorName}`
      : 'connect'

  // The Connect store, promisified. Errors come through the callback (or a rejected promise,
  // for stores that return one); success only through the callback.
  function invoke<T>(fn: (callback: (error?: unknown, value?: T) => void) => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        const returned = fn((error, value) => (error ? reject(error) : resolve(value as T)))
        if (isThenable(returned)) returned.then(undefined, reject)
      } catch (error) {
        reject(error)
      }
    })
  }

  const raw = {
    async get(sid: string): Promise<unknown> {
      try {
        return await invoke<unknown>((cb) => connect.get(sid, cb))
      } catch (error) {
        // express-session's contract: ENOENT means "no such session".
        if ((error as { code?: unknown } | null)?.code === 'ENOENT') return null
        throw error
      }
    },
    set: (sid: string, record: ConnectRecord) => invoke<void>((cb) => connect.set(sid, record, cb)),
    destroy: (sid: string) => invoke<void>((cb) => connect.destroy(sid, cb)),
  }

  // One promise queue per id: the operations of this process on one session, or on one user
  // index, run one after another.
  const queue = createKeyQueue()
  const serial = queue.run

  const sessionId = (key: string) => prefix + key
  const indexId = (userId: string) =>
    `${prefix}${indexTag}${createHash('sha256').update(userId).digest('base64url')}`

  async function read(key: string): Promise<ReadSession | null> {
    return parseSession(await raw.get(sessionId(key)))
  }

  function write(key: string, s: StoredSession, indexUntil: number | null): Promise<void> {
    return raw.set(sessionId(key), sessionRecord(s, indexUntil, now))
  }

  async function readIndex(userId: string): Promise<Map<string, number>> {
    return parseIndex(await raw.get(indexId(userId))) ?? new Map()
  }

  /** Writes the index, without entries past their date; removes it when none is left. */
  function writeIndex(userId: string, entries: Map<string, number>, t: number): Promise<void> {
    const sessions: Record<string, number> = {}
    let last = 0
    for (const [key, until] of entries) {
      if (until <= t) continue
      sessions[key] = until
      last = Math.max(last, until)
    }
    if (last === 0) return raw.destroy(indexId(userId))
    return raw.set(indexId(userId), { cookie: cookieUntil(last, now), tesseraUser: { sessions } })
  }

  /** Adds or renews the index entry of `key`; returns its new date. */
  function indexAdd(userId: string, key: string, expiresAt: number): Promise<number> {
    return serial(indexId(userId), async () => {
      const t = now()
      const entries = await readIndex(userId)
      // Room to spare, so that a session touched every minute does not rewrite its index each
      // time: the entry lasts twice the session's remaining lifetime.
      const until = expiresAt + Math.max(0, expiresAt - t)
      entries.set(key, until)
      await writeIndex(userId, entries, t)
      return until
    })
  }

  function indexRemove(userId: string, keys: readonly string[]): Promise<void> {
    return serial(indexId(userId), async () => {
      const t = now()
      const entries = await readIndex(userId)
      let changed = false
      for (const [key, until] of entries) {
        if (keys.includes(key) || until <= t) {
          entries.delete(key)
          changed = true
        }
      }
      if (changed) await writeIndex(userId, entries, t)
    })
  }

  /**
   * Removes entries once their sessions are written, destroyed or rebound. A failure here is
   * not the operation's: the session is already right, and an entry whose session is gone or
   * bound elsewhere is skipped by every reader and dropped at its date.
   */
  function leaveIndex(userId: string, keys: readonly string[]): Promise<void> {
    return indexRemove(userId, keys).catch(noop)
  }

  /** Every record of the Connect store under the prefix, by id (needs `all`). */
  async function everything(): Promise<[string, unknown][]> {
    const all = connect.all!
    const found = await invoke<unknown>((cb) => all.call(connect, cb))
    const pairs: [string, unknown][] = []
    if (Array.isArray(found)) {
      // connect-redis and others: an array whose records carry their id.
      for (const record of found) {
        const id = (record as { id?: unknown } | null)?.id
        if (typeof id === 'string') pairs.push([id, record])
      }
    } else if (found && typeof found === 'object') {
      for (const id of Object.keys(found)) pairs.push([id, (found as Record<string, unknown>)[id]])
    }
    return pairs.filter(([id]) => id.startsWith(prefix))
  }

  const store: Store = {
    name,

    async get(key) {
      const found = await read(key)
      return found && found.session.expiresAt > now() ? found.session : null
    },

    create(key, session) {
      return serial(sessionId(key), async () => {
        // The index first: a session must never exist outside its user's index.
        const until =
          session.userId === null ? null : await indexAdd(session.userId, key, session.expiresAt)
        await write(key, session, until)
      })
    },

    update(key: string, patch: SessionPatch) {
      return serial(sessionId(key), async () => {
        const found = await read(key)
        if (!found || found.session.expiresAt <= now()) return false
        const next = applyPatch(found.session, patch)
        const before = found.session.userId
        const after = next.userId
        let until = after === before ? found.indexUntil : null
        if (after !== null && (until === null || next.expiresAt > until)) {
          until = await indexAdd(after, key, next.expiresAt)
        }
        await write(key, next, until)
        if (before !== null && before !== after) await leaveIndex(before, [key])
        return true
      })
    },

    destroy(key) {
      return serial(sessionId(key), async () => {
        // Read first, to know whose index to leave; a record that cannot be read is still removed.
        const found = await read(key).catch(() => null)
        await raw.destroy(sessionId(key))
        if (found?.session.userId != null) await leaveIndex(found.session.userId, [key])
      })
    },

    async listByUser(userId) {
      const t = now()
      const list: SessionSummary[] = []
      await Promise.all(
        [...(await readIndex(userId))].map(async ([key, until]) => {
          if (until <= t) return
          const s = (await read(key))?.session
          // A missing session, or one bound elsewhere, may be a create or a rebind in flight
          // (the index is written first): it is left out, and its entry kept until its date.
          if (s && s.userId === userId && s.expiresAt > t) list.push(toSummary(key, s))
        }),
      )
      return list.sort((a, b) => b.createdAt - a.createdAt)
    },

    async destroyByUser(userId, { except } = {}) {
      const keys = [...(await readIndex(userId)).keys()].filter((key) => key !== except)
      const results = await Promise.all(
        keys.map((key) =>
          serial(sessionId(key), async () => {
            const s = (await read(key))?.session
            if (!s || s.userId !== userId) return null
            await raw.destroy(sessionId(key))
            return { key, live: s.expiresAt > now() }
          }),
        ),
      )
      const destroyed = results.filter((r) => r !== null)
      if (destroyed.length > 0) {
        await leaveIndex(
          userId,
          destroyed.map((r) => r.key),
        )
      }
      return destroyed.filter((r) => r.live).length
    },
  }

  if (connect.all) {
    store.list = async (options) => {
      const limit = listLimit(options)
      const t = now()
      const list: SessionSummary[] = []
      for (const [id, record] of await everything()) {
        const s = parseSession(record)?.session
        if (s && s.expiresAt > t) list.push(toSummary(id.slice(prefix.length), s))
      }
      return list.sort((a, b) => a.createdAt - b.createdAt).slice(0, limit)
    }

    store.prune = async ({ onProgress } = {}) => {
      const t = now()
      let count = 0
      for (const [id, record] of await everything()) {
        const isSession = parseSession(record) !== null
        if (!isSession && !parseIndex(record)) continue
        // Checked again in the queue: only a record still expired goes.
        const removed = await serial(id, async () => {
          const current = await raw.get(id)
          const session = parseSession(current)?.session ?? null
          const index = session ? null : parseIndex(current)
          const expired =
            session !== null
              ? session.expiresAt <= t
              : index !== null && [...index.values()].every((until) => until <= t)
          if (expired) await raw.destroy(id)
          return expired && session !== null
        })
        if (removed && ++count % pruneBatch === 0) onProgress?.(count)
      }
      // Always once at the end, with the count returned, even when nothing was removed.
      onProgress?.(count)
      return count
    }
  }

  if (connect.clear) {
    const clear = connect.clear
    // Everything the Connect store holds: connect-redis clears the keys under its own prefix.
    store.clear = () => invoke<void>((cb) => clear.call(connect, cb))
  }

  return store
}

/** Removals between two `onProgress` calls of `prune`. */
const pruneBatch = 1000
