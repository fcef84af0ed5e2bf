import { createHash, randomBytes } from 'node:crypto'
import { RedisStore } from 'connect-redis'
import session from 'express-session'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ConnectStoreLike, createConnectStore } from '../../src/stores/connect.js'
import type { Store } from '../../src/stores/types.js'
import { randomKey, record, testStore } from '../contracts/store.js'
import { describeService, REDIS_URL, redisAvailable } from '../support/services.js'

const reason = await redisAvailable()
/** This run's prefix: other runs and other engineers' keys on the same Redis are never touched. */
const run = `tessera-test-${randomBytes(6).toString('hex')}`

testStore('connect (express-session MemoryStore)', {
  make: ({ now }) => createConnectStore(new session.MemoryStore(), { now }),
})

// The three required methods only: no `all`, so no `list` nor `prune`.
testStore(
  'connect (get/set/destroy only)',
  { make: ({ now }) => createConnectStore(minimalStore(), { now }) },
  {
    list: false,
    prune: false,
  },
)

describe('createConnectStore', () => {
  it('names itself after the Connect store', () => {
    expect(createConnectStore(new session.MemoryStore()).name).toBe('connect:MemoryStore')
    expect(createConnectStore(minimalStore()).name).toBe('connect')
  })

  it('offers list, prune and clear only when the Connect store has all and clear', () => {
    const bare = createConnectStore(minimalStore())
    const full = createConnectStore(new session.MemoryStore())

    expect([bare.list, bare.prune, bare.clear]).toEqual([undefined, undefined, undefined])
    expect([typeof full.list, typeof full.prune, typeof full.clear]).toEqual([
      'function',
      'function',
      'function',
    ])
  })

  it('writes an express-session record whose cookie expires with the session', async () => {
    const connect = new session.MemoryStore()
    const store = createConnectStore(connect, { prefix: 'app:' })
    const key = randomKey()
    const saved = record({ userId: 'u-1' })

    await store.create(key, saved)
    const raw = await new Promise((resolve) => connect.get(`app:${key}`, (_, s) => resolve(s)))

    expect(raw).toMatchObject({
      cookie: { expires: new Date(saved.expiresAt).toISOString(), httpOnly: true, path: '/' },
      tessera: { data: saved.data, userId: 'u-1', expiresAt: saved.expiresAt },
    })
  })

  it('keeps every change of concurrent updates, and none after a destroy, in one process', async () => {
    const connect = slowStore()
    const store = createConnectStore(connect)
    const key = randomKey()
    await store.create(key, record({ data: {} }))

    const before = Array.from({ length: 30 }, (_, i) =>
      store.update(key, { set: { [`k${i}`]: String(i) } }),
    )
    const destroyed = store.destroy(key)
    const after = Array.from({ length: 30 }, (_, i) =>
      store.update(key, { set: { late: String(i) } }),
    )

    expect(await Promise.all(before)).toEqual(Array(30).fill(true))
    await destroyed
    expect(await Promise.all(after)).toEqual(Array(30).fill(false))
    // The last write before the destroy holds all 30 changes.
    const last = connect.written.get(key) as { tessera: { data: object } }
    expect(Object.keys(last.tessera.data)).toHaveLength(30)
    expect(await store.get(key)).toBeNull()
  })

  it('indexes every session of a user created at once in one process', async () => {
    const store = createConnectStore(slowStore())
    const user = `user-${randomKey()}`
    const keys = Array.from({ length: 20 }, () => randomKey())

    await Promise.all(keys.map((k) => store.create(k, record({ userId: user }))))
    const listed = await store.listByUser!(user)
    const count = await store.destroyByUser!(user)

    expect(listed.map((s) => s.key).sort()).toEqual([...keys].sort())
    expect(count).toBe(20)
    expect(await store.listByUser!(user)).toEqual([])
  })

  it("rewrites a user's index when the session outlives its entry, not on every touch", async () => {
    const connect = countingStore()
    const store = createConnectStore(connect)
    const user = `user-${randomKey()}`
    const key = randomKey()
    const t = Date.now()
    await store.create(key, record({ userId: user, expiresAt: t + 60_000 }))
    const indexWrites = () => connect.sets.filter((sid) => sid.includes('tessera-user:')).length

    // Touches that keep the expiry within twice the remaining lifetime leave the index alone…
    for (let i = 1; i <= 5; i++) await store.update(key, { expiresAt: t + 60_000 + i * 1000 })
    const afterTouches = indexWrites()
    // …and one past it renews the entry.
    await store.update(key, { expiresAt: t + 3_600_000 })

    expect(afterTouches).toBe(1)
    expect(indexWrites()).toBe(2)
    expect((await store.listByUser!(user)).map((s) => s.key)).toEqual([key])
  })

  it('ignores the sessions express-session wrote to the same store', async () => {
    const connect = new session.MemoryStore()
    const store = createConnectStore(connect)
    const sid = randomKey()
    const legacy = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) } }
    await new Promise<void>((resolve) =>
      connect.set(sid, { ...legacy, views: 3 } as never, () => resolve()),
    )

    expect(await store.get(sid)).toBeNull()
    expect(await store.update(sid, { set: { a: '1' } })).toBe(false)
    expect((await store.list!()).map((s) => s.key)).not.toContain(sid)
    await store.prune!()
    const kept = await new Promise((resolve) => connect.get(sid, (_, s) => resolve(s)))
    expect(kept).toMatchObject({ views: 3 })
  })

  it('lists and prunes only the ids under its prefix', async () => {
    const connect = new session.MemoryStore()
    const mine = createConnectStore(connect, { prefix: 'mine:' })
    const theirs = createConnectStore(connect, { prefix: 'theirs:' })
    const [k1, k2] = [randomKey(), randomKey()]
    await mine.create(k1, record())
    await theirs.create(k2, record())

    expect((await mine.list!()).map((s) => s.key)).toEqual([k1])
    expect(await theirs.get(k1)).toBeNull()
  })

  it('rejects when the Connect store fails, and serves the next call', async () => {
    const connect = minimalStore()
    const store = createConnectStore(connect)
    const key = randomKey()
    await store.create(key, record())
    connect.failNext = new Error('connection lost')

    await expect(store.update(key, { set: { a: '1' } })).rejects.toThrow('connection lost')
    expect(await store.update(key, { set: { a: '2' } })).toBe(true)
    expect((await store.get(key))?.data.a).toBe('2')
  })

  it("reads express-session's ENOENT error as no session", async () => {
    const connect = minimalStore()
    const store = createConnectStore(connect)
    connect.failNext = Object.assign(new Error('no such file'), { code: 'ENOENT' })

    expect(await store.get(randomKey())).toBeNull()
  })
})

describeService('connect-redis', reason, () => {
  const client = createClient({ url: REDIS_URL })
  client.on('error', () => {})

  beforeAll(async () => {
    await client.connect()
  })

  afterAll(async () => {
    for await (const keys of client.scanIterator({ MATCH: `${run}:*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.unlink(keys)
    }
    client.destroy()
  })

  let made = 0
  testStore('connect (connect-redis)', {
    make: ({ now }) =>
      createConnectStore(new RedisStore({ client, prefix: `${run}:c${++made}:` }), { now }),
  })

  describe('createConnectStore over connect-redis', () => {
    const prefix = `${run}:b:`
    let store: Store

    beforeAll(() => {
      store = createConnectStore(new RedisStore({ client, prefix }))
    })

    it('is named after RedisStore', () => {
      expect(store.name).toBe('connect:RedisStore')
    })

    it("sets the Redis key's TTL from expiresAt, and moves it on update", async () => {
      const key = randomKey()
      const expiresAt = Date.now() + 60_000
      await store.create(key, record({ expiresAt }))
      const first = Date.now() + (await client.pTTL(`${prefix}${key}`))

      const later = Date.now() + 7_200_000
      await store.update(key, { expiresAt: later })
      const second = Date.now() + (await client.pTTL(`${prefix}${key}`))

      // connect-redis sets whole seconds (EX), rounded up.
      expect(first - expiresAt).toBeGreaterThan(-250)
      expect(first - expiresAt).toBeLessThan(1250)
      expect(second - later).toBeGreaterThan(-250)
      expect(second - later).toBeLessThan(1250)
    })

    it('keeps the session as express-session JSON, with its fields under `tessera`', async () => {
      const key = randomKey()
      const saved = record({ userId: 'u-9' })

      await store.create(key, saved)
      const raw = JSON.parse((await client.get(`${prefix}${key}`)) ?? 'null')

      expect(raw.cookie.expires).toBe(new Date(saved.expiresAt).toISOString())
      expect(raw.tessera).toMatchObject({ data: saved.data, userId: 'u-9', ip: saved.ip })
    })

    it('lets Redis drop a session that an update expires', async () => {
      const key = randomKey()
      await store.create(key, record())

      await store.update(key, { expiresAt: Date.now() - 1 })

      expect(await client.exists(`${prefix}${key}`)).toBe(0)
    })

    it("keeps a user's index in Redis while the user has a session, and drops it after", async () => {
      const user = `user-${randomKey()}`
      const key = randomKey()
      const indexKey = `${prefix}tessera-user:${createHash('sha256').update(user).digest('base64url')}`
      const session = record({ userId: user })

      await store.create(key, session)
      const indexTtl = await client.pTTL(indexKey)
      const index = JSON.parse((await client.get(indexKey)) ?? 'null')
      await store.destroy(key)

      expect(Date.now() + indexTtl).toBeGreaterThanOrEqual(session.expiresAt - 250)
      expect(Object.keys(index.tesseraUser.sessions)).toEqual([key])
      expect(await client.exists(indexKey)).toBe(0)
    })

    it('leaves alone the sessions express-session keeps in the same Redis', async () => {
      const connect = new RedisStore({ client, prefix })
      const sid = randomKey()
      const legacy = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) } }
      await connect.set(sid, { ...legacy, views: 3 } as never)

      expect(await store.get(sid)).toBeNull()
      expect((await store.list!()).map((s) => s.key)).not.toContain(sid)
      await store.prune!()
      expect(await client.exists(`${prefix}${sid}`)).toBe(1)
    })
  })
})

/** A Connect store with the three required methods, answering on a later tick. */
function minimalStore(): ConnectStoreLike & { failNext: Error | null } {
  const sessions = new Map<string, string>()
  const store = {
    failNext: null as Error | null,
    get(sid: string, cb: (error: unknown, session?: unknown) => void) {
      const error = store.failNext
      store.failNext = null
      const json = sessions.get(sid)
      setImmediate(() =>
        error ? cb(error) : cb(null, json === undefined ? null : JSON.parse(json)),
      )
    },
    set(sid: string, session: unknown, cb?: (error?: unknown) => void) {
      sessions.set(sid, JSON.stringify(session))
      setImmediate(() => cb?.())
    },
    destroy(sid: string, cb?: (error?: unknown) => void) {
      sessions.delete(sid)
      setImmediate(() => cb?.())
    },
  }
  return store
}

/**
 * A MemoryStore whose reads and writes take a few ms, answering out of order: a whole-session
 * read-modify-write would lose changes here unless the bridge serializes them. `written` keeps
 * the last record set under each id.
 */
function slowStore(): ConnectStoreLike & { written: Map<string, unknown> } {
  const inner = new session.MemoryStore()
  const written = new Map<string, unknown>()
  const later = (fn: () => void) => setTimeout(fn, Math.random() * 5)
  return {
    written,
    get: (sid, cb) => later(() => inner.get(sid, cb)),
    set: (sid, s, cb) =>
      later(() => {
        written.set(sid, JSON.parse(JSON.stringify(s)))
        inner.set(sid, s as never, cb)
      }),
    destroy: (sid, cb) => later(() => inner.destroy(sid, cb)),
  }
}

/** A MemoryStore that records the id of every `set`. */
function countingStore(): ConnectStoreLike & { sets: string[] } {
  const inner = new session.MemoryStore()
  const sets: string[] = []
  return {
    sets,
    get: (sid, cb) => inner.get(sid, cb),
    set: (sid, s, cb) => {
      sets.push(sid)
      inner.set(sid, s as never, cb)
    },
    destroy: (sid, cb) => inner.destroy(sid, cb),
  }
}
