/**
 * A Redis store over the official `redis` client (node-redis v5+), for Redis 7+ and Valkey.
 *
 * A session is one HASH, `<prefix>s:{<key>}`, holding its data fields (`d:<name>`) and its meta
 * fields (`m:*`); Redis forgets it at `expiresAt` through PEXPIREAT. `update` is one Lua script,
 * so a request's changes land atomically and a missing or expired session is never revived.
 * A user's sessions are indexed in a sorted set, `<prefix>u:{<userId>}`. The braces are hash tags:
 * everything about one session, or one user index, lives in one Redis Cluster slot.
 * @module
 */

import { clockOption, secondsAsMs, stringOption } from './common/config.js'
import { createCommandTimeout } from './common/timeout.js'
import {
  checkConnection,
  glob,
  makeClient,
  noClientTimeout,
  type RedisClientLike,
} from './redis/client.js'
import { pruneIndex, pruneSessions } from './redis/prune.js'
import {
  CREATE,
  DESTROY,
  DESTROY_IF_USER,
  hashFields,
  META,
  metaSummary,
  parse,
  type Script,
  UPDATE,
  updateArgs,
} from './redis/scripts.js'
import { listLimit, type SessionPatch, type SessionSummary, type StoreWith } from './types.js'

export type { RedisClientLike } from './redis/client.js'

/** Options of `createRedisStore`. */
export interface RedisStoreOptions {
  /**
   * A node-redis client the app owns, connected or not (the store connects it on first use).
   * The store never closes it. Prefer `disableOfflineQueue: true` on it, so commands fail fast
   * while Redis is away.
   */
  client?: RedisClientLike
  /** A Redis URL; the store makes, connects and closes its own client. @default 'redis://127.0.0.1:6379' */
  url?: string
  /** The prefix of every key the store writes. @default 'tessera:' */
  prefix?: string
  /** Seconds a command may take before it fails (and the request with it); at most 60. @default 1 */
  timeout?: number
  /**
   * The clock, in epoch ms: what decides that a session has expired. Redis still expires keys
   * on its own clock; `prune` removes what this clock says has expired before Redis does.
   * @default Date.now
   */
  now?: () => number
}

/**
 * A store that keeps sessions in Redis, which expires them by itself.
 * @example
 * ```ts
 * const store = createRedisStore({ url: process.env.REDIS_URL, prefix: 'myapp:' })
 * ```
 */
export function createRedisStore(
  options: RedisStoreOptions = {},
): StoreWith<'list' | 'prune' | 'clear' | 'close'> {
  const prefix = stringOption('redis', 'prefix', options.prefix, 'tessera:')
  const timeout = secondsAsMs('redis', 'timeout', options.timeout, 1, 60)
  const now = clockOption('redis', options.now)
  const url = checkConnection(options)
  const commands = createCommandTimeout('redis', timeout)

  /** Rejects when `promise` takes longer than the store's timeout. */
  function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    return commands.within(what, () => promise)
  }
  const ownsClient = options.client === undefined
  let client: RedisClientLike | null = options.client ?? null
  let building: Promise<RedisClientLike> | null = null
  /** Settles when the first connection attempt ends, in success or in error. */
  let firstAttempt: Promise<void> | null = null
  let endFirstAttempt = () => {}
  let lastError: Error | null = null
  let closed = false

  function watch(c: RedisClientLike): void {
    // Also keeps an unhandled 'error' event from crashing the process when Redis goes away.
    c.on('error', (error) => {
      lastError = error
      endFirstAttempt()
    })
    c.on('ready', () => {
      lastError = null
      endFirstAttempt()
    })
    // An app's client may be connecting right now: the first calls wait for it.
    if (c.isOpen && !c.isReady) startAttempt()
  }

  function startAttempt(): void {
    firstAttempt = new Promise((resolve) => {
      endFirstAttempt = resolve
    })
  }

  function connect(c: RedisClientLike): void {
    startAttempt()
    c.connect().catch((error: unknown) => {
      lastError = error instanceof Error ? error : new Error(String(error))
      endFirstAttempt()
    })
  }

  if (client) {
    watch(client)
  } else {
    building = makeClient(url, timeout).then((c) => {
      client = c
      watch(c)
      if (!closed) connect(c)
      return c
    })
    building.catch(() => {})
  }

  /** The client, ready to take commands, or a prompt rejection saying why not. */
  async function ready(): Promise<RedisClientLike> {
    if (closed) throw new Error('redis store: the store is closed; make a new one')
    const c = client ?? (await bounded(building!, 'connect'))
    if (c.isReady) return c
    if (!c.isOpen && !firstAttempt && !ownsClient) connect(c)
    // While the first connection is being made (and has not failed yet), wait for it.
    if (firstAttempt && lastError === null) {
      await bounded(firstAttempt, 'connect')
      if (c.isReady) return c
    }
    const why = lastError ? `: ${lastError.message}` : ''
    throw new Error(`redis is unreachable${why}`, lastError ? { cause: lastError } : undefined)
  }

  function send(c: RedisClientLike, args: string[]): Promise<unknown> {
    // Not node-redis's own timeout (5 s unless the client says otherwise): it costs an
    // AbortSignal.timeout per command and only covers commands not yet written. `run` bounds
    // the whole call instead, so it is turned off here, for the app's own client too.
    return c.sendCommand(args, noClientTimeout)
  }

  /** Runs a script by its SHA, loading it (through EVAL) when Redis does not know it yet. */
  async function script(c: RedisClientLike, s: Script, keys: string[], args: string[]) {
    const tail = [String(keys.length), ...keys, ...args]
    try {
      return await send(c, ['EVALSHA', s.sha, ...tail])
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error
      return send(c, ['EVAL', s.source, ...tail])
    }
  }

  /** Runs commands issued together (node-redis writes them in one batch), within `timeout`. */
  function run<T>(what: string, fn: (c: RedisClientLike) => Promise<T>): Promise<T> {
    // The common case, a ready client, skips a few promise hops: this is every request's path.
    if (client?.isReady && !closed) return bounded(fn(client), what)
    return ready().then((c) => bounded(fn(c), what))
  }

  const sessionKey = (key: string) => `${prefix}s:{${key}}`
  const userKey = (userId: string) => `${prefix}u:{${userId}}`

  /** Commands that give a user index the expiry of its longest-lived session. */
  function extendIndex(c: RedisClientLike, userId: string, expiresAt: number): Promise<unknown>[] {
    const at = String(Math.ceil(expiresAt))
    // NX sets the first expiry, GT only ever pushes it later (both need Redis 7 or Valkey).
    return [
      send(c, ['PEXPIREAT', userKey(userId), at, 'NX']),
      send(c, ['PEXPIREAT', userKey(userId), at, 'GT']),
    ]
  }

  /** Reads the meta fields of the indexed sessions, keeping the live ones still bound to `userId`. */
  async function indexed(c: RedisClientLike, userId: string) {
    const members = (await send(c, ['ZRANGE', userKey(userId), '0', '-1'])) as string[]
    const metas = (await Promise.all(
      members.map((key) => send(c, ['HMGET', sessionKey(key), ...META])),
    )) as (string | null)[][]
    const t = now()
    const live: SessionSummary[] = []
    const stale: string[] = []
    members.forEach((key, i) => {
      const summary = metaSummary(key, metas[i] ?? [], t)
      if (summary && summary.userId === userId) live.push(summary)
      else stale.push(key)
    })
    return { live, stale }
  }

  const pruning = { send, script, sessionKey, userKey }

  return {
    name: 'redis',

    get(key) {
      return run('get', async (c) => {
        try {
          return parse(await send(c, ['HGETALL', sessionKey(key)]), now())
        } catch (error) {
          // Something else sits at the session's key: it holds no session, and failing every
          // request of that client with a 503 would blame a healthy Redis.
          if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return null
          throw error
        }
      })
    },

    create(key, session) {
      return run('create', async (c) => {
        const fields = hashFields(session)
        const t = now()
        const pending: Promise<unknown>[] = []
        // The index entry goes first (same connection, so Redis applies it first): a session
        // that exists is always findable by "log out everywhere".
        if (session.userId !== null && session.expiresAt > t) {
          pending.push(send(c, ['ZADD', userKey(session.userId), String(session.createdAt), key]))
          pending.push(...extendIndex(c, session.userId, session.expiresAt))
        }
        pending.push(
          script(
            c,
            CREATE,
            [sessionKey(key)],
            [String(Math.ceil(session.expiresAt)), String(t), ...fields],
          ),
        )
        await Promise.all(pending)
      })
    },

    update(key: string, patch: SessionPatch) {
      return run('update', async (c) => {
        const t = now()
        const args = updateArgs(patch, t)
        const bind = typeof patch.userId === 'string' ? patch.userId : null
        // Indexed before it is bound (same connection, so in this order), as in `create`.
        const indexing = bind === null ? null : send(c, ['ZADD', userKey(bind), String(t), key])
        const [reply] = await Promise.all([script(c, UPDATE, [sessionKey(key)], args), indexing])
        const [applied, before, after, expiresAt] = reply as [
          number,
          string | null,
          string | null,
          string,
        ]
        const follow: Promise<unknown>[] = []
        if (applied !== 1) {
          if (bind !== null) follow.push(send(c, ['ZREM', userKey(bind), key]))
        } else {
          if (before !== null && before !== after)
            follow.push(send(c, ['ZREM', userKey(before), key]))
          const moved = patch.userId !== undefined || patch.expiresAt !== undefined
          // An expiry in the past must not reach the index: PEXPIREAT would delete all of it.
          if (after !== null && moved && Number(expiresAt) > t) {
            follow.push(...extendIndex(c, after, Number(expiresAt)))
          }
        }
        await Promise.all(follow)
        return applied === 1
      })
    },

    destroy(key) {
      return run('destroy', async (c) => {
        const userId = (await script(c, DESTROY, [sessionKey(key)], [])) as string | null
        if (userId !== null) await send(c, ['ZREM', userKey(userId), key])
      })
    },

    listByUser(userId) {
      return run('list sessions', async (c) => {
        const { live, stale } = await indexed(c, userId)
        if (stale.length > 0) await send(c, ['ZREM', userKey(userId), ...stale])
        return live.sort((a, b) => b.createdAt - a.createdAt)
      })
    },

    destroyByUser(userId, { except } = {}) {
      return run('destroy sessions', async (c) => {
        const members = (await send(c, ['ZRANGE', userKey(userId), '0', '-1'])) as string[]
        const targets = members.filter((key) => key !== except)
        if (targets.length === 0) return 0
        const t = String(now())
        // Each deletion checks, atomically, that the session is still this user's.
        const results = await Promise.all(
          targets.map((key) => script(c, DESTROY_IF_USER, [sessionKey(key)], [userId, t])),
        )
        await send(c, ['ZREM', userKey(userId), ...targets])
        return results.filter((r) => r === 1).length
      })
    },

    async list(options) {
      const limit = listLimit(options)
      const c = await ready()
      const t = now()
      const found: SessionSummary[] = []
      let cursor = '0'
      do {
        const [next, keys] = (await bounded(
          send(c, ['SCAN', cursor, 'MATCH', `${glob(prefix)}s:*`, 'COUNT', '1000']),
          'list sessions',
        )) as [string, string[]]
        cursor = next
        const metas = (await bounded(
          Promise.all(keys.map((k) => send(c, ['HMGET', k, ...META]))),
          'list sessions',
        )) as (string | null)[][]
        keys.forEach((hashKey, i) => {
          const key = hashKey.slice(prefix.length + 3, -1)
          if (found.length >= limit || sessionKey(key) !== hashKey) return
          const summary = metaSummary(key, metas[i] ?? [], t)
          if (summary) found.push(summary)
        })
      } while (cursor !== '0' && found.length < limit)
      return found.sort((a, b) => a.createdAt - b.createdAt)
    },

    async prune({ onProgress } = {}) {
      // Redis expires sessions on its own clock; this removes the sessions that have expired by
      // the store's clock (which may run ahead of Redis's) and sweeps the user indexes of
      // entries whose sessions are gone, so an index never grows with dead entries.
      const c = await ready()
      const t = String(now())
      let count = 0
      let cursor = '0'
      do {
        const [next, keys] = (await bounded(
          send(c, ['SCAN', cursor, 'MATCH', `${glob(prefix)}*`, 'COUNT', '500']),
          'prune',
        )) as [string, string[]]
        cursor = next
        const sessions: string[] = []
        const indexes: string[] = []
        for (const k of keys) {
          const inner = k.slice(prefix.length + 3, -1)
          if (k === sessionKey(inner)) sessions.push(inner)
          else if (k === userKey(inner)) indexes.push(inner)
        }
        // Sessions first, each leaving its index: an index swept after finds it gone from
        // there, so no session is counted twice.
        count += await bounded(pruneSessions(pruning, c, sessions, t), 'prune')
        for (const userId of indexes) {
          count += await bounded(pruneIndex(pruning, c, userId, t), 'prune')
        }
        onProgress?.(count)
      } while (cursor !== '0')
      return count
    },

    async clear() {
      const c = await ready()
      let cursor = '0'
      do {
        const [next, keys] = (await bounded(
          send(c, ['SCAN', cursor, 'MATCH', `${glob(prefix)}*`, 'COUNT', '1000']),
          'clear',
        )) as [string, string[]]
        cursor = next
        if (keys.length > 0) await bounded(send(c, ['UNLINK', ...keys]), 'clear')
      } while (cursor !== '0')
    },

    async close() {
      if (closed) return
      closed = true
      if (!ownsClient) return
      const c = client ?? (await building?.catch(() => null))
      if (!c?.isOpen) return
      if (c.isReady) await c.close()
      else c.destroy()
    },
  }
}
