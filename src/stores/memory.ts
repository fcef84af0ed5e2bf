/**
 * An in-process store, for tests and development. Bounded: past `maxSessions` the oldest
 * session is evicted. Expired sessions are dropped when read and swept on a timer.
 * @module
 */
import {
  applyPatch,
  listLimit,
  type SessionPatch,
  type SessionSummary,
  type Store,
  type StoredSession,
} from './types.js'

/** Options of `createMemoryStore`. */
export interface MemoryStoreOptions {
  /** The most sessions kept; the oldest is evicted past it. @default 100_000 */
  maxSessions?: number
  /** Seconds between sweeps of expired sessions; 0 turns the timer off. @default 60 */
  sweepInterval?: number
  /** The clock, in epoch ms. */
  now?: () => number
}

/** A store that keeps sessions in this process's memory; they are lost on restart. */
export function createMemoryStore(
  options: MemoryStoreOptions = {},
): Store & { readonly size: number } {
  const maxSessions = options.maxSessions ?? 100_000
  const now = options.now ?? Date.now
  const sessions = new Map<string, StoredSession>()
  const byUser = new Map<string, Set<string>>()
  if (process.env.NODE_ENV === 'production') {
    process.emitWarning(
      'the memory session store loses every session on restart and is not shared between ' +
        'processes; use the sqlite, redis or postgres store in production',
      { code: 'TESSERA_MEMORY_STORE' },
    )
  }

  function index(key: string, userId: string | null): void {
    if (userId === null) return
    const keys = byUser.get(userId)
    if (keys) keys.add(key)
    else byUser.set(userId, new Set([key]))
  }

  function unindex(key: string, userId: string | null): void {
    if (userId === null) return
    const keys = byUser.get(userId)
    if (!keys) return
    keys.delete(key)
    if (keys.size === 0) byUser.delete(userId)
  }

  function remove(key: string): void {
    const session = sessions.get(key)
    if (!session) return
    sessions.delete(key)
    unindex(key, session.userId)
  }

  function live(key: string): StoredSession | null {
    const session = sessions.get(key)
    if (!session) return null
    if (session.expiresAt <= now()) {
      remove(key)
      return null
    }
    return session
  }

  function sweep(): number {
    const t = now()
    let count = 0
    for (const [key, session] of sessions) {
      if (session.expiresAt <= t) {
        remove(key)
        count++
      }
    }
    return count
  }

  const interval = (options.sweepInterval ?? 60) * 1000
  const timer = interval > 0 ? setInterval(sweep, interval) : null
  timer?.unref()

  return {
    name: 'memory',
    get size() {
      return sessions.size
    },
    async get(key) {
      const session = live(key)
      return session && { ...session, data: { ...session.data } }
    },
    async create(key, session) {
      remove(key)
      while (sessions.size >= maxSessions) {
        const oldest = sessions.keys().next().value
        if (oldest === undefined) break
        remove(oldest)
      }
      sessions.set(key, applyPatch(session, {}))
      index(key, session.userId)
    },
    async update(key: string, patch: SessionPatch) {
      const session = live(key)
      if (!session) return false
      const next = applyPatch(session, patch)
      if (next.userId !== session.userId) {
        unindex(key, session.userId)
        index(key, next.userId)
      }
      sessions.set(key, next)
      return true
    },
    async destroy(key) {
      remove(key)
    },
    async listByUser(userId) {
      const list: SessionSummary[] = []
      for (const key of byUser.get(userId) ?? []) {
        const s = live(key)
        if (s) list.push(summary(key, s))
      }
      return list.sort((a, b) => b.createdAt - a.createdAt)
    },
    async destroyByUser(userId, { except } = {}) {
      let count = 0
      for (const key of [...(byUser.get(userId) ?? [])]) {
        if (key === except) continue
        if (live(key)) count++
        remove(key)
      }
      return count
    },
    async list(options) {
      const limit = listLimit(options)
      const list: SessionSummary[] = []
      for (const key of [...sessions.keys()]) {
        const s = live(key)
        if (s) list.push(summary(key, s))
      }
      return list.sort((a, b) => a.createdAt - b.createdAt).slice(0, limit)
    },
    async prune({ onProgress } = {}) {
      // One sweep, one batch.
      const count = sweep()
      onProgress?.(count)
      return count
    },
    async clear() {
      sessions.clear()
      byUser.clear()
    },
    async close() {
      if (timer) clearInterval(timer)
    },
  }
}

/** The summary of a stored session, for `listByUser` and `list`. */
export function summary(key: string, s: StoredSession): SessionSummary {
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
