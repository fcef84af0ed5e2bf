/**
 * An in-process store, for tests and development. Bounded: past `maxSessions` the oldest
 * session is evicted. Expired sessions are dropped when read and swept on a timer.
 * @module
 */
import { clockOption, nonNegative, wholeNumber } from './common/config.js'
import { toSummary } from './common/record.js'
import {
  applyPatch,
  listLimit,
  type SessionPatch,
  type SessionSummary,
  type StoredSession,
  type StoreWith,
} from './types.js'

/** Sessions a sweep looks at between two turns of the event loop. */
const sweepBatch = 10_000

/** Options of `createMemoryStore`. */
export interface MemoryStoreOptions {
  /** The most sessions kept; the oldest is evicted past it. @default 100_000 */
  maxSessions?: number
  /** Seconds between sweeps of expired sessions; 0 turns the timer off. @default 60 */
  sweepInterval?: number
  /** The clock, in epoch ms. */
  now?: () => number
}

/**
 * A store that keeps sessions in this process's memory; they are lost on restart.
 *
 * Each session is kept as one string (see `pack`), not as an object graph: a small session
 * costs its key, one Map entry and about a hundred characters, a fifth of the heap the same
 * session takes as objects. User-Agent texts, which most sessions share with others, are kept
 * once each, with a count of the sessions using them.
 */
export function createMemoryStore(
  options: MemoryStoreOptions = {},
): StoreWith<'list' | 'prune' | 'clear' | 'close'> & { readonly size: number } {
  const maxSessions = wholeNumber('memory', 'maxSessions', options.maxSessions, 100_000, 1)
  const sweepSeconds = nonNegative('memory', 'sweepInterval', options.sweepInterval, 60, 'seconds')
  const now = clockOption('memory', options.now)
  const sessions = new Map<string, string>()
  const byUser = new Map<string, Set<string>>()
  const agents = new AgentTable()
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
    const packed = sessions.get(key)
    if (packed === undefined) return
    sessions.delete(key)
    unindex(key, userOf(packed))
    agents.release(packed)
  }

  function live(key: string): StoredSession | null {
    const packed = sessions.get(key)
    if (packed === undefined) return null
    if (expiryOf(packed) <= now()) {
      remove(key)
      return null
    }
    return unpack(packed, agents)
  }

  /**
   * Removes the expired sessions, looking at `sweepBatch` of them at a time and letting other
   * work run in between, so a sweep of a million sessions never holds the event loop for long.
   */
  async function sweep(onBatch?: (removedSoFar: number) => void): Promise<number> {
    const t = now()
    let count = 0
    let seen = 0
    for (const [key, packed] of sessions) {
      if (expiryOf(packed) <= t) {
        remove(key)
        count++
      }
      if (++seen % sweepBatch === 0) {
        onBatch?.(count)
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    onBatch?.(count)
    return count
  }

  let sweeping = false
  const interval = sweepSeconds * 1000
  const timer =
    interval > 0
      ? setInterval(() => {
          if (sweeping) return
          sweeping = true
          sweep().finally(() => {
            sweeping = false
          })
        }, interval)
      : null
  timer?.unref()

  return {
    name: 'memory',
    get size() {
      return sessions.size
    },
    async get(key) {
      return live(key)
    },
    async create(key, session) {
      remove(key)
      while (sessions.size >= maxSessions) {
        const oldest = sessions.keys().next().value
        if (oldest === undefined) break
        remove(oldest)
      }
      sessions.set(key, pack(applyPatch(session, {}), agents))
      index(key, session.userId)
    },
    async update(key: string, patch: SessionPatch) {
      const packed = sessions.get(key)
      if (packed === undefined) return false
      if (expiryOf(packed) <= now()) {
        remove(key)
        return false
      }
      const session = unpack(packed, agents)
      const next = applyPatch(session, patch)
      if (next.userId !== session.userId) {
        unindex(key, session.userId)
        index(key, next.userId)
      }
      // Packed before the old one is released, so a shared User-Agent text stays shared.
      sessions.set(key, pack(next, agents))
      agents.release(packed)
      return true
    },
    async destroy(key) {
      remove(key)
    },
    async listByUser(userId) {
      const list: SessionSummary[] = []
      for (const key of byUser.get(userId) ?? []) {
        const s = live(key)
        if (s) list.push(toSummary(key, s))
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
        if (s) list.push(toSummary(key, s))
      }
      return list.sort((a, b) => a.createdAt - b.createdAt).slice(0, limit)
    },
    async prune({ onProgress } = {}) {
      return sweep(onProgress)
    },
    async clear() {
      sessions.clear()
      byUser.clear()
      agents.clear()
    },
    async close() {
      if (timer) clearInterval(timer)
    },
  }
}

/*
 * A packed session: fields in a fixed order, each number in decimal (which reads back to the
 * same double) and each text behind its length, so no character needs escaping:
 *
 *   <expiresAt>;<createdAt>;<lastSeenAt>;<permanent 0|1>;<user><agent><ip><data JSON>
 *
 * where <user> and <ip> are `-` for null or `<length>:<text>`, and <agent> is `-`, `<length>:
 * <text>`, or `#<n>;` for entry n of the User-Agent table. The expiry comes first, so a sweep
 * reads it without unpacking the rest.
 */

function text(value: string | null): string {
  return value === null ? '-' : `${value.length}:${value}`
}

function pack(s: StoredSession, agents: AgentTable): string {
  const agent = s.userAgent === null ? '-' : agents.ref(s.userAgent)
  // join() makes one flat string; `+` and template literals make a rope of small strings,
  // several times the size, that the store would keep for the session's whole life.
  return [
    s.expiresAt,
    ';',
    s.createdAt,
    ';',
    s.lastSeenAt,
    ';',
    s.permanent ? 1 : 0,
    ';',
    text(s.userId),
    agent,
    text(s.ip),
    JSON.stringify(s.data),
  ].join('')
}

/** Where the user field of a packed session starts: after four `;`-ended fields. */
function userStart(packed: string): number {
  let at = 0
  for (let i = 0; i < 4; i++) at = packed.indexOf(';', at) + 1
  return at
}

/** The user of a packed session, without reading the rest. */
function userOf(packed: string): string | null {
  const at = userStart(packed)
  if (packed.charCodeAt(at) === 0x2d) return null
  const colon = packed.indexOf(':', at)
  return packed.slice(colon + 1, colon + 1 + Number(packed.slice(at, colon)))
}

/** The expiry of a packed session. */
function expiryOf(packed: string): number {
  return Number(packed.slice(0, packed.indexOf(';')))
}

function unpack(packed: string, agents: AgentTable): StoredSession {
  let at = 0
  const number = (): number => {
    const end = packed.indexOf(';', at)
    const value = Number(packed.slice(at, end))
    at = end + 1
    return value
  }
  const field = (): string | null => {
    if (packed.charCodeAt(at) === 0x2d /* - */) {
      at++
      return null
    }
    const colon = packed.indexOf(':', at)
    const length = Number(packed.slice(at, colon))
    at = colon + 1 + length
    return packed.slice(colon + 1, at)
  }
  const expiresAt = number()
  const createdAt = number()
  const lastSeenAt = number()
  const permanent = packed.charCodeAt(at) === 0x31 /* 1 */
  at += 2
  const userId = field()
  let userAgent: string | null
  if (packed.charCodeAt(at) === 0x23 /* # */) {
    at++
    userAgent = agents.text(number())
  } else {
    userAgent = field()
  }
  const ip = field()
  return {
    data: JSON.parse(packed.slice(at)) as Record<string, string>,
    userId,
    createdAt,
    lastSeenAt,
    expiresAt,
    permanent,
    userAgent,
    ip,
  }
}

/**
 * User-Agent texts, each kept once with a count of the sessions that use it. A text longer
 * than `maxShared`, or met once the table is full, is kept in the session itself.
 */
class AgentTable {
  static readonly maxEntries = 10_000
  static readonly maxShared = 1024
  #texts: (string | null)[] = []
  #counts: number[] = []
  #free: number[] = []
  #index = new Map<string, number>()

  /** A reference to `agent` for a packed session, counting one more user of it. */
  ref(agent: string): string {
    let n = this.#index.get(agent)
    if (n === undefined) {
      if (agent.length > AgentTable.maxShared) return text(agent)
      n = this.#free.pop()
      if (n === undefined) {
        if (this.#texts.length >= AgentTable.maxEntries) return text(agent)
        n = this.#texts.length
        this.#texts.push(null)
        this.#counts.push(0)
      }
      this.#texts[n] = agent
      this.#index.set(agent, n)
    }
    this.#counts[n]!++
    return `#${n};`
  }

  text(n: number): string {
    return this.#texts[n]!
  }

  /** Counts one user fewer of the text a packed session refers to, if it refers to one. */
  release(packed: string): void {
    // The agent field follows the user field.
    let at = userStart(packed)
    if (packed.charCodeAt(at) === 0x2d) at++
    else {
      const colon = packed.indexOf(':', at)
      at = colon + 1 + Number(packed.slice(at, colon))
    }
    if (packed.charCodeAt(at) !== 0x23) return
    const n = Number(packed.slice(at + 1, packed.indexOf(';', at)))
    if (--this.#counts[n]! > 0) return
    this.#index.delete(this.#texts[n]!)
    this.#texts[n] = null
    this.#free.push(n)
  }

  clear(): void {
    this.#texts = []
    this.#counts = []
    this.#free = []
    this.#index.clear()
  }
}
