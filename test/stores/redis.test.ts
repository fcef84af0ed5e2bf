import { randomBytes } from 'node:crypto'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createRedisStore } from '../../src/stores/redis.js'
import type { Store } from '../../src/stores/types.js'
import { expectProgress, randomKey, record, testStore } from '../contracts/store.js'
import { freePort } from '../support/http.js'
import { PrivateRedis, redisServerAvailable } from '../support/redis-server.js'
import { describeService, REDIS_URL, redisAvailable } from '../support/services.js'

const reason = await redisAvailable()
/** The fault tests start (and kill) a private redis-server, never the shared one. */
const noServer = redisServerAvailable()
/** This run's prefix: other runs and other engineers' keys on the same Redis are never touched. */
const run = `tessera-test-${randomBytes(6).toString('hex')}`

const admin = createClient({ url: REDIS_URL })
admin.on('error', () => {})

describeService('redis', reason, () => {
  beforeAll(async () => {
    await admin.connect()
  })

  afterAll(async () => {
    await deleteByPattern(`${run}:*`)
    admin.destroy()
  })

  let made = 0
  testStore('redis', {
    make: ({ now }) => createRedisStore({ url: REDIS_URL, prefix: `${run}:c${++made}:`, now }),
  })

  describe('createRedisStore', () => {
    let store: Store
    const prefix = `${run}:b:`

    beforeAll(() => {
      store = createRedisStore({ url: REDIS_URL, prefix })
    })

    afterAll(async () => {
      await store.close?.()
    })

    it('keeps a session in a hash whose key is hash-tagged by the session key', async () => {
      const key = randomKey()

      await store.create(key, record({ userId: 'u-7' }))

      expect(await admin.type(`${prefix}s:{${key}}`)).toBe('hash')
      expect(await admin.type(`${prefix}u:{u-7}`)).toBe('zset')
      expect(await admin.zRange(`${prefix}u:{u-7}`, 0, -1)).toContain(key)
    })

    it('lets Redis expire a session at its expiresAt', async () => {
      const key = randomKey()
      const expiresAt = Date.now() + 60_000

      await store.create(key, record({ expiresAt }))
      const ttl = await admin.pTTL(`${prefix}s:{${key}}`)

      expect(Math.abs(Date.now() + ttl - expiresAt)).toBeLessThan(250)
    })

    it('moves the key expiry when an update moves expiresAt', async () => {
      const key = randomKey()
      await store.create(key, record({ userId: 'u-8' }))
      const later = Date.now() + 7_200_000

      await store.update(key, { expiresAt: later })

      const ttl = await admin.pTTL(`${prefix}s:{${key}}`)
      const indexTtl = await admin.pTTL(`${prefix}u:{u-8}`)
      expect(Math.abs(Date.now() + ttl - later)).toBeLessThan(250)
      expect(Date.now() + indexTtl).toBeGreaterThanOrEqual(later - 250)
    })

    it('removes the session from its user index when it is destroyed', async () => {
      const user = `user-${randomKey()}`
      const key = randomKey()
      await store.create(key, record({ userId: user }))

      await store.destroy(key)

      expect(await admin.exists(`${prefix}u:{${user}}`)).toBe(0)
    })

    it('moves the session between user indexes when an update rebinds it', async () => {
      const [a, b] = [`user-${randomKey()}`, `user-${randomKey()}`]
      const key = randomKey()
      await store.create(key, record({ userId: a }))

      await store.update(key, { userId: b })

      expect(await admin.zRange(`${prefix}u:{${a}}`, 0, -1)).toEqual([])
      expect(await admin.zRange(`${prefix}u:{${b}}`, 0, -1)).toEqual([key])
    })

    it('keeps the user index when an update expires one of its sessions', async () => {
      const user = `user-${randomKey()}`
      const [kept, ended] = [randomKey(), randomKey()]
      await store.create(kept, record({ userId: user }))
      await store.create(ended, record({ userId: user }))
      await admin.persist(`${prefix}u:{${user}}`)

      await store.update(ended, { expiresAt: Date.now() - 1 })

      expect((await store.listByUser!(user)).map((s) => s.key)).toEqual([kept])
    })

    it('warns at start-up when maxmemory-policy lets Redis evict sessions (issue 15)', async () => {
      const redis = await PrivateRedis.start()
      const warnings: string[] = []
      try {
        const admin = createClient({ url: redis.url })
        await admin.connect()
        await admin.configSet('maxmemory-policy', 'allkeys-lru')
        await admin.close()
        const evicting = createRedisStore({ url: redis.url, onWarning: (m) => warnings.push(m) })

        await evicting.get(randomKey())
        await vi.waitFor(() => expect(warnings).toHaveLength(1))
        await evicting.close!()
      } finally {
        await redis.stop()
      }

      expect(warnings[0]).toMatch(/maxmemory-policy is allkeys-lru.*set it to noeviction/)
    })

    it('stays quiet under noeviction, the default policy', async () => {
      const warnings: string[] = []
      const quiet = createRedisStore({ url: REDIS_URL, prefix, onWarning: (m) => warnings.push(m) })

      await quiet.get(randomKey())
      await new Promise((resolve) => setTimeout(resolve, 100))
      await quiet.close!()

      expect(warnings).toEqual([])
    })

    it('does not revive a session whose hash lost its meta fields', async () => {
      const key = randomKey()
      await admin.hSet(`${prefix}s:{${key}}`, 'd:a', '1')

      expect(await store.get(key)).toBeNull()
      expect(await store.update(key, { set: { b: '2' } })).toBe(false)
    })

    it('lists sessions through SCAN, skipping hashes without meta fields and other keys', async () => {
      const mine = createRedisStore({ url: REDIS_URL, prefix: `${run}:list:` })
      const t = Date.now()
      const keys = Array.from({ length: 5 }, () => randomKey())
      for (const [i, key] of keys.entries()) {
        await mine.create(key, record({ createdAt: t - i, userId: i === 0 ? 'u-1' : null }))
      }
      await admin.hSet(`${run}:list:s:{${randomKey()}}`, 'd:a', '1')

      const all = await mine.list!()
      const three = await mine.list!({ limit: 3 })

      expect(all.map((s) => s.key)).toEqual([...keys].reverse())
      expect(all.at(-1)?.userId).toBe('u-1')
      expect(all[0]?.userId).toBeNull()
      expect(three).toHaveLength(3)
      expect(three.every((s) => keys.includes(s.key))).toBe(true)
      await mine.close?.()
    })

    it('clears only the keys under its own prefix', async () => {
      const mine = createRedisStore({ url: REDIS_URL, prefix: `${run}:mine:` })
      const theirs = createRedisStore({ url: REDIS_URL, prefix: `${run}:theirs:` })
      const [k1, k2] = [randomKey(), randomKey()]
      await mine.create(k1, record({ userId: 'u-1' }))
      await theirs.create(k2, record({ userId: 'u-1' }))

      await mine.clear!()

      expect(await mine.get(k1)).toBeNull()
      expect(await theirs.get(k2)).not.toBeNull()
      expect(await scanCount(`${run}:mine:*`)).toBe(0)
      await Promise.all([mine.close?.(), theirs.close?.()])
    })

    it("prunes what expired by its clock and sweeps the user's index, counting each session once", async () => {
      let t = Date.now()
      const mine = createRedisStore({ url: REDIS_URL, prefix: `${run}:p:`, now: () => t })
      const user = `user-${randomKey()}`
      const index = `${run}:p:u:{${user}}`
      const live = randomKey()
      const gone = randomKey()
      const expiring = Array.from({ length: 20 }, () => randomKey())
      await mine.create(live, record({ userId: user }, t))
      await mine.create(gone, record({ userId: user }, t))
      // A login a day for twenty days, each session expiring a minute (of the store's clock) on.
      for (const key of expiring)
        await mine.create(key, record({ userId: user, expiresAt: t + 60_000 }, t))
      // As if Redis had expired it on its own: its index entry is all that is left.
      await admin.del(`${run}:p:s:{${gone}}`)
      const before = await admin.zCard(index)

      t += 120_000
      const seen: number[] = []
      const count = await mine.prune!({ onProgress: (n) => seen.push(n) })

      expect(before).toBe(22)
      expect(count).toBe(21)
      expectProgress(seen, count)
      expect(await admin.zRange(index, 0, -1)).toEqual([live])
      expect(await admin.exists(expiring.map((key) => `${run}:p:s:{${key}}`))).toBe(0)
      expect(await mine.prune!()).toBe(0)
      await mine.close?.()
    })

    it("drops from a user's index a session rebound to someone else, without counting it", async () => {
      let t = Date.now()
      const mine = createRedisStore({ url: REDIS_URL, prefix: `${run}:r:`, now: () => t })
      const [a, b] = [`user-${randomKey()}`, `user-${randomKey()}`]
      const key = randomKey()
      await mine.create(key, record({ userId: a }, t))
      // A stale entry, as a crash between the rebind and its ZREM would leave it.
      await admin.hSet(`${run}:r:s:{${key}}`, 'm:u', b)

      t += 1000
      const count = await mine.prune!()

      expect(count).toBe(0)
      expect(await admin.zRange(`${run}:r:u:{${a}}`, 0, -1)).toEqual([])
      expect(await mine.get(key)).toMatchObject({ userId: b })
      await mine.close?.()
    })

    it('uses a client the app owns and leaves it open on close', async () => {
      const client = createClient({ url: REDIS_URL })
      const owned = createRedisStore({ client, prefix })
      const key = randomKey()

      await owned.create(key, record())
      await owned.close?.()

      expect(client.isOpen).toBe(true)
      expect(await store.get(key)).not.toBeNull()
      client.destroy()
    })
  })

  describeService('redis store faults', noServer, () => {
    let server: PrivateRedis
    let store: Store
    const timeout = 300

    beforeAll(async () => {
      server = await PrivateRedis.start()
      store = createRedisStore({ url: server.url, prefix: `${run}:f:`, timeout: timeout / 1000 })
    })

    afterAll(async () => {
      await store.close?.()
      await server.stop()
    })

    it('fails fast while Redis is down and recovers when it is back, with the same store', async () => {
      const key = randomKey()
      await store.create(key, record())
      expect(await store.get(key)).not.toBeNull()

      await server.stop()
      const started = Date.now()
      await expect(store.get(key)).rejects.toThrow()
      const elapsed = Date.now() - started
      await expect(store.update(key, { set: { a: '1' } })).rejects.toThrow(/unreachable|within/)

      await server.restart()
      const back = await eventually(() => store.get(key), 3000)

      expect(elapsed).toBeLessThan(timeout + 250)
      expect(back).toBeNull() // this Redis kept nothing across the restart
      await store.create(key, record())
      expect(await store.get(key)).not.toBeNull()
    })

    it('times out while Redis hangs, then serves again once it answers', async () => {
      const key = randomKey()
      await store.create(key, record())

      server.pause()
      const started = Date.now()
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => store.get(key)))
      const elapsed = Date.now() - started
      server.resume()

      expect(results.every((r) => r.status === 'rejected')).toBe(true)
      expect(elapsed).toBeLessThan(timeout + 250)
      expect(await eventually(() => store.get(key), 3000)).not.toBeNull()
    })

    it('rejects within the timeout when nothing listens on the port', async () => {
      const port = await freePort()
      const dead = createRedisStore({ url: `redis://127.0.0.1:${port}`, timeout: timeout / 1000 })

      const started = Date.now()
      await expect(dead.get(randomKey())).rejects.toThrow()
      await expect(dead.update(randomKey(), {})).rejects.toThrow()

      expect(Date.now() - started).toBeLessThan(2 * (timeout + 250))
      await dead.close?.()
    })
  })
})

async function scanCount(pattern: string): Promise<number> {
  let count = 0
  for await (const keys of admin.scanIterator({ MATCH: pattern, COUNT: 1000 })) count += keys.length
  return count
}

async function deleteByPattern(pattern: string): Promise<void> {
  for await (const keys of admin.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
    if (keys.length > 0) await admin.unlink(keys)
  }
}

/** Retries `fn` until it resolves, for at most `ms`. */
async function eventually<T>(fn: () => Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await fn()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
