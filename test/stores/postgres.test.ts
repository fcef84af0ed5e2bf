import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresStore } from '../../src/stores/postgres.js'
import type { Store } from '../../src/stores/types.js'
import { expectProgress, randomKey, record, testStore } from '../contracts/store.js'
import { DATABASE_URL, describeService, postgresAvailable } from '../support/services.js'

const reason = await postgresAvailable()
/** This run's schema and application name: nothing of anybody else's is touched. */
const run = `tessera_test_${randomBytes(6).toString('hex')}`

describeService('postgres', reason, () => {
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
  admin.on('error', () => {})

  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${run} CASCADE`)
    await admin.end()
  })

  let made = 0
  testStore('postgres', {
    make: ({ now }) =>
      createPostgresStore({
        connectionString: DATABASE_URL,
        schema: run,
        table: `c${++made}`,
        now,
      }),
  })

  describe('createPostgresStore', () => {
    let store: Store

    beforeAll(() => {
      store = createPostgresStore({ connectionString: DATABASE_URL, schema: run, table: 'b' })
    })

    afterAll(async () => {
      await store.close?.()
    })

    it('creates the table with indexes on expiry and user', async () => {
      await store.migrate!()

      const { rows } = await admin.query<{ indexdef: string }>(
        'SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2',
        [run, 'b'],
      )
      const defs = rows.map((r) => r.indexdef).join('\n')
      expect(defs).toMatch(/\(expires_at\)/)
      expect(defs).toMatch(/\(user_id, created_at\) WHERE \(user_id IS NOT NULL\)/)
    })

    it('lets two instances create the same table at once', async () => {
      const stores = Array.from({ length: 4 }, () =>
        createPostgresStore({ connectionString: DATABASE_URL, schema: run, table: 'race' }),
      )

      await Promise.all(stores.map((s) => s.get(randomKey())))

      await Promise.all(stores.map((s) => s.close?.()))
    })

    it('prunes expired rows and says how many', async () => {
      const mine = createPostgresStore({ connectionString: DATABASE_URL, schema: run, table: 'p' })
      const live = randomKey()
      await mine.create(live, record())
      for (let i = 0; i < 3; i++)
        await mine.create(randomKey(), record({ expiresAt: Date.now() - 1 }))

      const counts = await Promise.all([mine.prune!(), mine.prune!()])

      expect(counts[0]! + counts[1]!).toBe(3)
      expect(await mine.get(live)).not.toBeNull()
      await mine.close?.()
    })

    it('prunes more than one batch, reporting the running total after each', async () => {
      const mine = createPostgresStore({ connectionString: DATABASE_URL, schema: run, table: 'pb' })
      const live = randomKey()
      await mine.create(live, record())
      // 2500 expired rows in one statement: creating them one by one would be slow.
      await admin.query(
        `INSERT INTO ${run}.pb (key, user_id, created_at, last_seen_at, expires_at)
         SELECT 'expired-' || g, NULL, 1, 1, 2 FROM generate_series(1, 2500) AS g`,
      )
      const seen: number[] = []

      const count = await mine.prune!({ onProgress: (n) => seen.push(n) })

      expect(count).toBe(2500)
      expect(seen).toEqual([1000, 2000, 2500])
      expectProgress(seen, count)
      expect(await mine.get(live)).not.toBeNull()
      await mine.close?.()
    })

    it('lists the oldest live sessions first, bound or not', async () => {
      const mine = createPostgresStore({ connectionString: DATABASE_URL, schema: run, table: 'l' })
      const t = Date.now()
      const [a, b, c] = [randomKey(), randomKey(), randomKey()]
      await mine.create(a, record({ createdAt: t - 3, userId: 'u-1' }))
      await mine.create(b, record({ createdAt: t - 2 }))
      await mine.create(c, record({ createdAt: t - 1 }))
      await mine.create(randomKey(), record({ createdAt: t - 9, expiresAt: t - 1 }))

      const list = await mine.list!({ limit: 2 })

      expect(list.map((s) => [s.key, s.userId])).toEqual([
        [a, 'u-1'],
        [b, null],
      ])
      expect(typeof list[0]?.createdAt).toBe('number')
      await mine.close?.()
    })

    it('clears its own table only', async () => {
      const other = createPostgresStore({ connectionString: DATABASE_URL, schema: run, table: 'o' })
      const [k1, k2] = [randomKey(), randomKey()]
      await store.create(k1, record())
      await other.create(k2, record())

      await store.clear!()

      expect(await store.get(k1)).toBeNull()
      expect(await other.get(k2)).not.toBeNull()
      await other.close?.()
    })

    it('answers the reads of one turn with one statement on one connection', async () => {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 })
      const mine = createPostgresStore({ pool, schema: run, table: 'batched' })
      const keys = [randomKey(), randomKey(), randomKey()]
      for (const [i, key] of keys.entries()) await mine.create(key, record({ userId: `u${i}` }))
      let checkouts = 0
      pool.on('acquire', () => checkouts++)

      const reads = await Promise.all(Array.from({ length: 30 }, (_, i) => mine.get(keys[i % 3]!)))

      expect(reads.map((r) => r?.userId)).toEqual(Array.from({ length: 30 }, (_, i) => `u${i % 3}`))
      expect(checkouts).toBe(1)
      await mine.close?.()
      await pool.end()
    })

    it('holds the reads asked for while two batches are out, and sends them together', async () => {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
      const mine = createPostgresStore({ pool, schema: run, table: 'batched' })
      const key = randomKey()
      await mine.create(key, record({ userId: 'u-1' }))
      // Both connections taken: the first two batches wait for one.
      const held = [await pool.connect(), await pool.connect()]
      let checkouts = 0
      pool.on('acquire', () => checkouts++)
      const turn = () => new Promise((resolve) => setImmediate(resolve))

      const reads: Promise<unknown>[] = []
      for (let i = 0; i < 5; i++) {
        reads.push(mine.get(key))
        await turn()
      }
      for (const client of held) client.release()
      const sessions = (await Promise.all(reads)) as { userId: string }[]

      expect(sessions.map((s) => s.userId)).toEqual(Array(5).fill('u-1'))
      // Three statements: the first read, the second, then the three that waited.
      expect(checkouts).toBe(3)
      await mine.close?.()
      await pool.end()
    })

    it('gives each read of a batch its own session, its own clock and its own misses', async () => {
      // Each call of the clock is 10 ms after the one before: the reads of one batch each see
      // the store at their own instant.
      const t = Date.now()
      let calls = 0
      const mine = createPostgresStore({
        connectionString: DATABASE_URL,
        schema: run,
        table: 'batched',
        now: () => t + 10 * calls++,
      })
      const [kept, ending, gone] = [randomKey(), randomKey(), randomKey()]
      await mine.create(kept, record({ data: { a: '1' } }, t))
      await mine.create(gone, record({ expiresAt: t - 1 }, t))
      await mine.migrate!()
      calls = 0
      // Live for the first read of the batch (at t), expired for the second (at t + 10).
      await mine.create(ending, record({ expiresAt: t + 5 }, t))

      const [early, late, a, b, old, never] = await Promise.all([
        mine.get(ending),
        mine.get(ending),
        mine.get(kept),
        mine.get(kept),
        mine.get(gone),
        mine.get(randomKey()),
      ])

      expect(a?.data).toEqual({ a: '1' })
      expect(b?.data).toEqual({ a: '1' })
      expect(a?.data).not.toBe(b?.data)
      expect(early?.expiresAt).toBe(t + 5)
      expect(late).toBeNull()
      expect(old).toBeNull()
      expect(never).toBeNull()
      await mine.close?.()
    })

    it('fails only the read a batch could not run, and answers the others', async () => {
      const mine = createPostgresStore({
        connectionString: DATABASE_URL,
        schema: run,
        table: 'batched',
      })
      const key = randomKey()
      await mine.create(key, record({ userId: 'u-1' }))

      // PostgreSQL refuses a NUL in text: the statement that carries that key fails.
      const [before, bad, after] = await Promise.allSettled([
        mine.get(key),
        mine.get('nul\u0000key'),
        mine.get(key),
      ])

      expect(bad.status).toBe('rejected')
      expect(before.status === 'fulfilled' && before.value?.userId).toBe('u-1')
      expect(after.status === 'fulfilled' && after.value?.userId).toBe('u-1')
      await mine.close?.()
    })

    it('keeps data keys that look like SQL or JSON', async () => {
      const key = randomKey()
      const data = { "a'; DROP TABLE b; --": '"x"', '{"k":1}': '[1]', '': '""' }
      await store.create(key, record({ data }))

      await store.update(key, { unset: ["a'; DROP TABLE b; --"], set: { 'k"2': '2' } })

      expect((await store.get(key))?.data).toEqual({ '{"k":1}': '[1]', '': '""', 'k"2': '2' })
    })
  })

  describe('postgres store faults', () => {
    const timeout = 300

    it('recovers from killed connections without leaking any', async () => {
      const app = `${run}_kill`
      const pool = new pg.Pool({ connectionString: DATABASE_URL, application_name: app, max: 4 })
      const store = createPostgresStore({ pool, schema: run, table: 'f', timeout: timeout / 1000 })
      const key = randomKey()
      await store.create(key, record())
      await Promise.all(Array.from({ length: 8 }, () => store.get(key)))

      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [app],
      )
      await new Promise((resolve) => setTimeout(resolve, 50))
      await Promise.allSettled([store.get(key)])
      const after = await store.get(key)

      expect(killed.rowCount).toBeGreaterThan(0)
      expect(after).not.toBeNull()
      expect(pool.waitingCount).toBe(0)
      expect(pool.idleCount).toBe(pool.totalCount)
      expect(await backends(app)).toBe(pool.totalCount)
      await store.close?.()
      await pool.end()
    })

    it('recovers when its own pool loses its connections mid-request', async () => {
      const app = `${run}_own`
      const store = createPostgresStore({
        connectionString: DATABASE_URL,
        schema: run,
        table: 'f',
        timeout: timeout / 1000,
        applicationName: app,
      })
      const key = randomKey()
      await store.create(key, record())

      // The lock makes the update wait on the server, so it is in flight when the kill lands.
      const locker = await admin.connect()
      await locker.query('BEGIN')
      await locker.query(`SELECT 1 FROM ${run}.f WHERE key = $1 FOR UPDATE`, [key])
      const inFlight = Promise.allSettled([store.update(key, { set: { a: '1' } })])
      await new Promise((resolve) => setTimeout(resolve, 50))
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [app],
      )
      const interrupted = await inFlight
      await locker.query('ROLLBACK')
      locker.release()
      await Promise.allSettled([store.get(key)])

      expect(interrupted[0]?.status).toBe('rejected')
      expect((await store.get(key))?.data).toEqual(record().data) // no partial write
      await store.close?.()
      expect(await eventually(async () => (await backends(app)) === 0, 2000)).toBe(true)
    })

    it('fails a statement that waits past the timeout, and writes nothing', async () => {
      const app = `${run}_slow`
      const store = createPostgresStore({
        connectionString: DATABASE_URL,
        schema: run,
        table: 'f',
        timeout: timeout / 1000,
        applicationName: app,
      })
      const key = randomKey()
      await store.create(key, record())
      const locker = await admin.connect()
      await locker.query('BEGIN')
      await locker.query(`SELECT 1 FROM ${run}.f WHERE key = $1 FOR UPDATE`, [key])

      const started = Date.now()
      const result = await Promise.allSettled([store.update(key, { set: { late: '1' } })])
      const elapsed = Date.now() - started
      await locker.query('ROLLBACK')
      locker.release()
      await new Promise((resolve) => setTimeout(resolve, 100))

      expect(result[0]?.status).toBe('rejected')
      expect(elapsed).toBeLessThan(timeout + 250)
      expect((await store.get(key))?.data).not.toHaveProperty('late')
      expect(await backends(app)).toBeLessThanOrEqual(1)
      await store.close?.()
      expect(await eventually(async () => (await backends(app)) === 0, 2000)).toBe(true)
    })

    it('rejects within about the timeout when PostgreSQL is unreachable', async () => {
      const port = await freePort()
      const store = createPostgresStore({
        connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
        timeout: timeout / 1000,
      })

      const started = Date.now()
      await expect(store.get(randomKey())).rejects.toThrow()
      await expect(store.update(randomKey(), {})).rejects.toThrow()

      expect(Date.now() - started).toBeLessThan(2 * (timeout + 250))
      await store.close?.()
    })
  })

  async function backends(app: string): Promise<number> {
    const { rows } = await admin.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1',
      [app],
    )
    return Number(rows[0]?.n)
  }
})

/** Retries `fn` until it returns true, for at most `ms`. */
async function eventually(fn: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return true
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
