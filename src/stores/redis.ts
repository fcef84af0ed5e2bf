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
import { createHash } from 'node:crypto'
import { createDeadlines } from '../primitives/deadlines.js'
import {
  listLimit,
  type SessionPatch,
  type SessionSummary,
  type Store,
  type StoredSession,
} from './types.js'

/**
 * The part of a node-redis client the store uses: `createClient()` from `redis` or
 * `@redis/client` (v5 or later) fits it.
 */
export interface RedisClientLike {
  readonly isOpen: boolean
  readonly isReady: boolean
  connect(): Promise<unknown>
  sendCommand(args: readonly string[], options?: { timeout?: number }): Promise<unknown>
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'ready', listener: () => void): unknown
  close(): Promise<unknown>
  destroy(): void
}

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
  /** Milliseconds a command may take before it fails (and the request with it). @default 1000 */
  timeout?: number
}

/**
 * A store that keeps sessions in Redis, which expires them by itself.
 * @example
 * ```ts
 * const store = createRedisStore({ url: process.env.REDIS_URL, prefix: 'myapp:' })
 * ```
 */
export function createRedisStore(options: RedisStoreOptions = {}): Store {
  const prefix = options.prefix ?? 'tessera:'
  const timeout = options.timeout ?? 1000
  if (!(Number.isFinite(timeout) && timeout > 0)) {
    throw new TypeError(`redis store: timeout must be a positive number of ms, got ${timeout}`)
  }
  const deadlines = createDeadlines(timeout)

  /** Rejects when `promise` takes longer than the store's timeout. */
  function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    return deadlines.within(
      () => promise,
      () => new Error(`redis did not ${what} within ${timeout} ms`),
    )
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
    building = makeClient(options.url ?? 'redis://127.0.0.1:6379', timeout).then((c) => {
      client = c
      watch(c)
      if (!closed) connect(c)
      return c
    })
    building.catch(() => {})
  }

  /** The client, ready to take commands, or a prompt rejection saying why not. */
  async function ready(): Promise<RedisClientLike> {
    if (closed) throw new Error('redis store: the store is closed')
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
    const now = Date.now()
    const live: SessionSummary[] = []
    const stale: string[] = []
    members.forEach((key, i) => {
      const [user, createdAt, lastSeenAt, expiresAt, , userAgent, ip] = metas[i] ?? []
      if (user !== userId || expiresAt == null || Number(expiresAt) <= now) {
        stale.push(key)
        return
      }
      live.push({
        key,
        userId,
        createdAt: Number(createdAt),
        lastSeenAt: Number(lastSeenAt),
        expiresAt: Number(expiresAt),
        userAgent: userAgent ?? null,
        ip: ip ?? null,
      })
    })
    return { live, stale }
  }

  return {
    name: 'redis',

    get(key) {
      return run('get', async (c) => {
        try {
          return parse(await send(c, ['HGETALL', sessionKey(key)]))
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
        const fields: string[] = []
        for (const name of Object.keys(session.data)) fields.push(`d:${name}`, session.data[name]!)
        fields.push('m:c', String(session.createdAt), 'm:l', String(session.lastSeenAt))
        fields.push('m:e', String(session.expiresAt), 'm:p', session.permanent ? '1' : '0')
        if (session.userId !== null) fields.push('m:u', session.userId)
        if (session.userAgent !== null) fields.push('m:a', session.userAgent)
        if (session.ip !== null) fields.push('m:i', session.ip)
        const now = Date.now()
        const pending: Promise<unknown>[] = []
        // The index entry goes first (same connection, so Redis applies it first): a session
        // that exists is always findable by "log out everywhere".
        if (session.userId !== null && session.expiresAt > now) {
          pending.push(send(c, ['ZADD', userKey(session.userId), String(session.createdAt), key]))
          pending.push(...extendIndex(c, session.userId, session.expiresAt))
        }
        pending.push(
          script(
            c,
            CREATE,
            [sessionKey(key)],
            [String(Math.ceil(session.expiresAt)), String(now), ...fields],
          ),
        )
        await Promise.all(pending)
      })
    },

    update(key: string, patch: SessionPatch) {
      return run('update', async (c) => {
        const now = Date.now()
        const args = [
          String(now),
          patch.clear ? '1' : '0',
          patch.userId === undefined ? '' : patch.userId === null ? 'n' : 's',
          patch.userId ?? '',
          patch.permanent === undefined ? '' : patch.permanent ? '1' : '0',
          patch.lastSeenAt === undefined ? '' : String(patch.lastSeenAt),
          patch.expiresAt === undefined ? '' : String(patch.expiresAt),
          patch.expiresAt === undefined ? '' : String(Math.ceil(patch.expiresAt)),
          String(patch.unset?.length ?? 0),
        ]
        if (patch.unset) for (const name of patch.unset) args.push(`d:${name}`)
        if (patch.set)
          for (const name of Object.keys(patch.set)) args.push(`d:${name}`, patch.set[name]!)
        const bind = typeof patch.userId === 'string' ? patch.userId : null
        // Indexed before it is bound (same connection, so in this order), as in `create`.
        const indexing = bind === null ? null : send(c, ['ZADD', userKey(bind), String(now), key])
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
          if (after !== null && moved && Number(expiresAt) > now) {
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
        const now = String(Date.now())
        // Each deletion checks, atomically, that the session is still this user's.
        const results = await Promise.all(
          targets.map((key) => script(c, DESTROY_IF_USER, [sessionKey(key)], [userId, now])),
        )
        await send(c, ['ZREM', userKey(userId), ...targets])
        return results.filter((r) => r === 1).length
      })
    },

    async list(options) {
      const limit = listLimit(options)
      const c = await ready()
      const now = Date.now()
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
          const [user, createdAt, lastSeenAt, expiresAt, , userAgent, ip] = metas[i] ?? []
          if (found.length >= limit || sessionKey(key) !== hashKey || createdAt == null) return
          if (expiresAt == null || Number(expiresAt) <= now) return
          found.push({
            key,
            userId: user ?? null,
            createdAt: Number(createdAt),
            lastSeenAt: Number(lastSeenAt),
            expiresAt: Number(expiresAt),
            userAgent: userAgent ?? null,
            ip: ip ?? null,
          })
        })
      } while (cursor !== '0' && found.length < limit)
      return found.sort((a, b) => a.createdAt - b.createdAt)
    },

    async prune() {
      // Redis expires sessions by itself; this only trims index entries of gone sessions.
      const c = await ready()
      let cursor = '0'
      do {
        const [next, keys] = (await bounded(
          send(c, ['SCAN', cursor, 'MATCH', `${glob(prefix)}u:*`, 'COUNT', '500']),
          'prune',
        )) as [string, string[]]
        cursor = next
        for (const indexKey of keys) {
          const userId = indexKey.slice(prefix.length + 3, -1)
          if (userKey(userId) !== indexKey) continue
          const { stale } = await bounded(indexed(c, userId), 'prune')
          if (stale.length > 0) await bounded(send(c, ['ZREM', indexKey, ...stale]), 'prune')
        }
      } while (cursor !== '0')
      return 0
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

/** The meta fields, in the order `indexed` reads them. */
const META = ['m:u', 'm:c', 'm:l', 'm:e', 'm:p', 'm:a', 'm:i']

interface Script {
  readonly source: string
  readonly sha: string
}

function lua(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

// Lua's unpack() is bounded by the C stack, so long argument lists are applied in chunks.
const CHUNKED = `
local function apply(cmd, key, list, from, to, step)
  local batch = {}
  for i = from, to do
    batch[#batch + 1] = list[i]
    if #batch >= step then
      redis.call(cmd, key, unpack(batch))
      batch = {}
    end
  end
  if #batch > 0 then redis.call(cmd, key, unpack(batch)) end
end
`

/** KEYS[1] = session; ARGV = pexpireat, now, field, value, ... */
const CREATE = lua(`${CHUNKED}
redis.call('DEL', KEYS[1])
if tonumber(ARGV[1]) <= tonumber(ARGV[2]) then return 0 end
apply('HSET', KEYS[1], ARGV, 3, #ARGV, 1000)
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`)

/**
 * KEYS[1] = session; ARGV = now, clear, user mode ('' | 'n' | 's'), user id, permanent,
 * lastSeenAt, expiresAt, pexpireat, unset count, unset fields..., set field, value, ...
 * Returns {applied, user before, user after, expiresAt}.
 */
const UPDATE = lua(`${CHUNKED}
local k = KEYS[1]
local e = redis.call('HGET', k, 'm:e')
if not e or tonumber(e) <= tonumber(ARGV[1]) then return {0} end
local before = redis.call('HGET', k, 'm:u')
if ARGV[2] == '1' then
  local names = redis.call('HKEYS', k)
  local data = {}
  for _, name in ipairs(names) do
    if string.sub(name, 1, 2) == 'd:' then data[#data + 1] = name end
  end
  apply('HDEL', k, data, 1, #data, 1000)
end
local unset = tonumber(ARGV[9])
if unset > 0 then apply('HDEL', k, ARGV, 10, 9 + unset, 1000) end
if #ARGV > 9 + unset then apply('HSET', k, ARGV, 10 + unset, #ARGV, 1000) end
local after = before
if ARGV[3] == 'n' then
  redis.call('HDEL', k, 'm:u')
  after = false
elseif ARGV[3] == 's' then
  redis.call('HSET', k, 'm:u', ARGV[4])
  after = ARGV[4]
end
if ARGV[5] ~= '' then redis.call('HSET', k, 'm:p', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', k, 'm:l', ARGV[6]) end
if ARGV[7] ~= '' then
  redis.call('HSET', k, 'm:e', ARGV[7])
  redis.call('PEXPIREAT', k, ARGV[8])
  e = ARGV[7]
end
return {1, before, after, e}
`)

/** KEYS[1] = session. Deletes it and returns the user it was bound to. */
const DESTROY = lua(`
local user = redis.call('HGET', KEYS[1], 'm:u')
redis.call('DEL', KEYS[1])
return user
`)

/** KEYS[1] = session; ARGV = user id, now. Deletes it if it is the user's; 1 if it was live. */
const DESTROY_IF_USER = lua(`
local meta = redis.call('HMGET', KEYS[1], 'm:u', 'm:e')
if meta[1] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if meta[2] and tonumber(meta[2]) > tonumber(ARGV[2]) then return 1 end
return 2
`)

/** A session from an HGETALL reply (a flat array in RESP2, a map in RESP3), or null. */
function parse(reply: unknown): StoredSession | null {
  // Without a prototype, a field named `d:__proto__` is kept as a key (and refused as one).
  const data: Record<string, string> = Object.create(null)
  const meta: Record<string, string> = Object.create(null)
  let fields = 0
  // Fields go straight into the record: this runs on every request that reads a session.
  const take = (field: string, value: string) => {
    fields++
    if (field.startsWith('d:')) data[field.slice(2)] = value
    else meta[field] = value
  }
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) take(String(reply[i]), String(reply[i + 1]))
  } else if (reply instanceof Map) {
    for (const [f, v] of reply) take(String(f), String(v))
  } else if (reply !== null && typeof reply === 'object') {
    for (const [f, v] of Object.entries(reply)) take(f, String(v))
  }
  if (fields === 0) return null
  const expiresAt = Number(meta['m:e'])
  // A hash without its meta fields is no session; Redis and this process may also disagree
  // on the time by a few ms, and this process's clock decides.
  if (!(expiresAt > Date.now()) || meta['m:c'] === undefined) return null
  return {
    data,
    userId: meta['m:u'] ?? null,
    createdAt: Number(meta['m:c']),
    lastSeenAt: Number(meta['m:l']),
    expiresAt,
    permanent: meta['m:p'] === '1',
    userAgent: meta['m:a'] ?? null,
    ip: meta['m:i'] ?? null,
  }
}

/** Per-command options that turn node-redis's own command timeout off (0 means none). */
const noClientTimeout = { timeout: 0 }

/** Escapes glob metacharacters so a prefix matches itself in SCAN MATCH. */
function glob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/** A client the store owns: fails fast while Redis is away and reconnects forever. */
async function makeClient(url: string, timeout: number): Promise<RedisClientLike> {
  const { createClient } = await import('redis')
  return createClient({
    url,
    // Commands fail at once while disconnected, instead of piling up in an offline queue.
    disableOfflineQueue: true,
    commandsQueueMaxLength: 10_000,
    socket: {
      connectTimeout: Math.max(timeout, 500),
      // Keep trying, so service resumes without a restart: 50 ms doubling to 1 s, with jitter.
      reconnectStrategy: (retries: number) =>
        Math.min(50 * 2 ** Math.min(retries, 10), 1000) + Math.floor(Math.random() * 100),
    },
  })
}
