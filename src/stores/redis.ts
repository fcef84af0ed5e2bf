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

import { clockOption, configError, secondsAsMs, stringOption } from './common/config.js'
import {
  checkConnection,
  glob,
  isCluster,
  type RedisClientLike,
  type RedisClusterLike,
  type RedisLike,
} from './redis/client.js'
import { createConnection, type ReplicaWait } from './redis/connection.js'
import { checkEviction } from './redis/eviction.js'
import { pruneIndex, pruneSessions } from './redis/prune.js'
import {
  CREATE,
  DESTROY,
  DESTROY_IF_USER,
  hashFields,
  META,
  metaSummary,
  parse,
  UPDATE,
  updateArgs,
} from './redis/scripts.js'
import { listLimit, type SessionPatch, type SessionSummary, type StoreWith } from './types.js'

export type { RedisClientLike, RedisClusterLike, RedisClusterNode } from './redis/client.js'

/** Options of `createRedisStore`. */
export interface RedisStoreOptions {
  /**
   * A node-redis client the app owns, connected or not (the store connects it on first use):
   * `createClient()` for one Redis, `createCluster()` for a Redis Cluster. The store never
   * closes it. Prefer `disableOfflineQueue: true` on it (in `defaults` for a cluster), so
   * commands fail fast while Redis is away.
   */
  client?: RedisClientLike | RedisClusterLike
  /**
   * A Redis URL; the store makes, connects and closes its own client. For a Redis Cluster:
   * `redis-cluster://HOST:PORT,HOST:PORT,...` (`rediss-cluster://` for TLS), any of its nodes.
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string
  /** The prefix of every key the store writes. @default 'tessera:' */
  prefix?: string
  /** Seconds a command may take before it fails (and the request with it); at most 60. @default 1 */
  timeout?: number
  /**
   * Acknowledge a write only once `wait` replicas have it (Redis's `WAIT`), waiting at most
   * `timeout` seconds; a write that fewer replicas have in time fails (a 503). Redis replicates
   * asynchronously, so without it a write acknowledged just before its master dies can be lost
   * in the failover. Costs a round trip to the replicas per write.
   * @default undefined (acknowledged once the master has it)
   */
  replicas?: { wait: number; timeout: number }
  /**
   * The clock, in epoch ms: what decides that a session has expired. Redis still expires keys
   * on its own clock; `prune` removes what this clock says has expired before Redis does.
   * @default Date.now
   */
  now?: () => number
  /**
   * Where the store's start-up warnings go: today one, when Redis's `maxmemory-policy` lets it
   * evict sessions. @default console.warn
   */
  onWarning?: (message: string) => void
}

/**
 * A store that keeps sessions in Redis (one server or a Redis Cluster), which expires them by
 * itself.
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
  const target = checkConnection(options)
  const warn = options.onWarning ?? ((message: string) => console.warn(`[tessera] ${message}`))
  const connection = createConnection(target, timeout, replicaWait(options.replicas), (masters) =>
    checkEviction(masters, warn),
  )
  const { run, ready, bounded, send, script, durable } = connection
  /**
   * In a cluster a session and its user's index live in different slots, on different masters,
   * so no script can change both and no connection orders them. Every change then goes index
   * first, session second, each awaited: a crash in between leaves at worst an index entry
   * without its session (readers skip it, `prune` sweeps it), never a session its user's
   * "log out everywhere" cannot find. One Redis gets the same order from its one connection.
   */
  const cluster =
    target.kind === 'cluster' || (target.kind === 'client' && isCluster(target.client))

  const sessionKey = (key: string) => `${prefix}s:{${key}}`
  const userKey = (userId: string) => `${prefix}u:{${userId}}`

  /** Commands that give a user index the expiry of its longest-lived session. */
  function extendIndex(c: RedisLike, userId: string, expiresAt: number): Promise<unknown>[] {
    const at = String(Math.ceil(expiresAt))
    const index = userKey(userId)
    // NX sets the first expiry, GT only ever pushes it later (both need Redis 7 or Valkey).
    return [
      send(c, index, ['PEXPIREAT', index, at, 'NX']),
      send(c, index, ['PEXPIREAT', index, at, 'GT']),
    ]
  }

  /** Reads the meta fields of the indexed sessions, keeping the live ones still bound to `userId`. */
  async function indexed(c: RedisLike, userId: string) {
    const index = userKey(userId)
    const reply = (await send(c, index, ['ZRANGE', index, '0', '-1', 'WITHSCORES'])) as unknown[]
    // RESP2 answers member, score, member…; RESP3 (an app's own client may speak it) pairs.
    const pairs = (
      Array.isArray(reply[0])
        ? reply
        : reply.flatMap((member, i) => (i % 2 === 0 ? [[member, reply[i + 1]]] : []))
    ) as [string, string | number][]
    const members = pairs.map(([member]) => member)
    const metas = (await Promise.all(
      members.map((key) => send(c, sessionKey(key), ['HMGET', sessionKey(key), ...META])),
    )) as (string | null)[][]
    const t = now()
    const live: SessionSummary[] = []
    const stale: string[] = []
    members.forEach((key, i) => {
      // An entry whose session is gone or bound to someone else is skipped: see `cluster`.
      const meta = metas[i] ?? []
      const summary = metaSummary(key, meta, t)
      if (summary && summary.userId === userId) live.push(summary)
      // No session yet under an entry younger than a write can take: a login indexes first and
      // writes the session second, so dropping the entry now would hide that session for good.
      else if (meta[1] == null && t - Number(pairs[i]![1]) < 2 * timeout) return
      else stale.push(key)
    })
    return { live, stale }
  }

  /** Removes `keys` from a user's index. */
  const unindex = (c: RedisLike, userId: string, keys: string[]) =>
    send(c, userKey(userId), ['ZREM', userKey(userId), ...keys])

  /** Every key under `match` on every master, a SCAN batch at a time. */
  async function scan(
    what: string,
    match: string,
    count: number,
    each: (keys: string[]) => Promise<unknown>,
  ) {
    const c = await ready()
    for (const node of await bounded(connection.masters(c), what)) {
      let cursor = '0'
      do {
        const [next, keys] = (await bounded(
          node(['SCAN', cursor, 'MATCH', match, 'COUNT', String(count)]),
          what,
        )) as [string, string[]]
        cursor = next
        await each(keys)
      } while (cursor !== '0')
    }
    return c
  }

  const pruning = { send, script, sessionKey, userKey }

  return {
    name: 'redis',

    get(key) {
      return run('get', async (c) => {
        try {
          return parse(await send(c, sessionKey(key), ['HGETALL', sessionKey(key)]), now())
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
        const written = [sessionKey(key)]
        // The index entry goes first: a session that exists is always findable by "log out
        // everywhere" (see `cluster`).
        if (session.userId !== null && session.expiresAt > t) {
          const index = userKey(session.userId)
          written.push(index)
          pending.push(send(c, index, ['ZADD', index, String(session.createdAt), key]))
          pending.push(...extendIndex(c, session.userId, session.expiresAt))
          if (cluster) await Promise.all(pending.splice(0))
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
        await durable(c, written).catch(async (error: unknown) => {
          // The master has the session but too few replicas do, and its cookie is never sent:
          // remove it rather than leave a session nobody holds in its user's list.
          const userId = await script(c, DESTROY, [sessionKey(key)], []).catch(() => null)
          if (typeof userId === 'string') await unindex(c, userId, [key]).catch(() => {})
          throw error
        })
      })
    },

    update(key: string, patch: SessionPatch) {
      return run('update', async (c) => {
        const t = now()
        const args = updateArgs(patch, t)
        const bind = typeof patch.userId === 'string' ? patch.userId : null
        const written = [sessionKey(key)]
        // Indexed before it is bound, as in `create`.
        let indexing: Promise<unknown> | null = null
        if (bind !== null) {
          written.push(userKey(bind))
          indexing = send(c, userKey(bind), ['ZADD', userKey(bind), String(t), key])
          if (cluster) await indexing
        }
        const [reply] = await Promise.all([script(c, UPDATE, [sessionKey(key)], args), indexing])
        const [applied, before, after, expiresAt] = reply as [
          number,
          string | null,
          string | null,
          string,
        ]
        const follow: Promise<unknown>[] = []
        if (applied !== 1) {
          if (bind !== null) follow.push(unindex(c, bind, [key]))
        } else {
          if (before !== null && before !== after) follow.push(unindex(c, before, [key]))
          const moved = patch.userId !== undefined || patch.expiresAt !== undefined
          // An expiry in the past must not reach the index: PEXPIREAT would delete all of it.
          if (after !== null && moved && Number(expiresAt) > t) {
            follow.push(...extendIndex(c, after, Number(expiresAt)))
          }
        }
        await Promise.all(follow)
        if (applied === 1) await durable(c, written)
        return applied === 1
      })
    },

    destroy(key) {
      return run('destroy', async (c) => {
        // The session goes first, its index entry after: a crash in between leaves an entry
        // without its session, which readers skip.
        const userId = (await script(c, DESTROY, [sessionKey(key)], [])) as string | null
        if (userId !== null) await unindex(c, userId, [key])
        await durable(c, [sessionKey(key)])
      })
    },

    listByUser(userId) {
      return run('list sessions', async (c) => {
        const { live, stale } = await indexed(c, userId)
        if (stale.length > 0) await unindex(c, userId, stale)
        return live.sort((a, b) => b.createdAt - a.createdAt)
      })
    },

    destroyByUser(userId, { except } = {}) {
      return run('destroy sessions', async (c) => {
        const index = userKey(userId)
        const members = (await send(c, index, ['ZRANGE', index, '0', '-1'])) as string[]
        const targets = members.filter((key) => key !== except)
        if (targets.length === 0) return 0
        const t = String(now())
        // Each deletion checks, atomically, that the session is still this user's.
        const results = await Promise.all(
          targets.map((key) => script(c, DESTROY_IF_USER, [sessionKey(key)], [userId, t])),
        )
        await unindex(c, userId, targets)
        await durable(c, targets.map(sessionKey))
        return results.filter((r) => r === 1).length
      })
    },

    async list(options) {
      const limit = listLimit(options)
      const t = now()
      const found: SessionSummary[] = []
      await scan('list sessions', `${glob(prefix)}s:*`, 1000, async (keys) => {
        if (found.length >= limit) return
        const c = await ready()
        const metas = (await bounded(
          Promise.all(keys.map((k) => send(c, k, ['HMGET', k, ...META]))),
          'list sessions',
        )) as (string | null)[][]
        keys.forEach((hashKey, i) => {
          const key = hashKey.slice(prefix.length + 3, -1)
          if (found.length >= limit || sessionKey(key) !== hashKey) return
          const summary = metaSummary(key, metas[i] ?? [], t)
          if (summary) found.push(summary)
        })
      })
      return found.sort((a, b) => a.createdAt - b.createdAt)
    },

    async prune({ onProgress } = {}) {
      // Redis expires sessions on its own clock; this removes the sessions that have expired by
      // the store's clock (which may run ahead of Redis's) and sweeps the user indexes of
      // entries whose sessions are gone, so an index never grows with dead entries.
      const t = String(now())
      let count = 0
      await scan('prune', `${glob(prefix)}*`, 500, async (keys) => {
        const c = await ready()
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
      })
      return count
    },

    async clear() {
      await scan('clear', `${glob(prefix)}*`, 1000, async (keys) => {
        const c = await ready()
        // One UNLINK per key: in a cluster the keys of one batch lie in many slots.
        await bounded(Promise.all(keys.map((k) => send(c, k, ['UNLINK', k]))), 'clear')
      })
    },

    close: () => connection.close(),
  }
}

/** The `replicas` option, checked; its timeout in milliseconds, as WAIT takes it. */
function replicaWait(value: RedisStoreOptions['replicas']): ReplicaWait | null {
  if (value === undefined) return null
  const wait = value?.wait
  const seconds = value?.timeout
  if (!(Number.isInteger(wait) && wait > 0 && Number.isFinite(seconds) && seconds > 0)) {
    throw configError(
      'redis',
      '`replicas` must be { wait, timeout }: a whole number of replicas (at least 1) and the ' +
        'seconds to wait for them (more than 0), e.g. { wait: 1, timeout: 0.1 }',
    )
  }
  // WAIT's 0 means forever: never less than 1 ms.
  return { wait, timeout: Math.max(1, Math.round(seconds * 1000)) }
}
