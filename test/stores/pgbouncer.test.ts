/**
 * The PostgreSQL store behind PgBouncer (issue 15): the conformance suite through a pooler in
 * transaction mode, where consecutive statements of one client may run on different server
 * connections, and a server connection serves many clients in turn. Whatever the store left on
 * a server session (a named prepared statement, a `SET`, a session lock) shows up here.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresStore } from '../../src/stores/postgres.js'
import { randomKey, record, testStore } from '../contracts/store.js'
import { PrivatePgBouncer, pgbouncerAvailable } from '../support/pgbouncer.js'
import { DATABASE_URL, describeService, postgresAvailable } from '../support/services.js'

const reason = (await postgresAvailable()) ?? pgbouncerAvailable()
const run = `tessera_test_${randomBytes(6).toString('hex')}`
const database = new URL(DATABASE_URL).pathname.slice(1)

describeService('postgres behind pgbouncer (transaction pooling)', reason, () => {
  let bouncer: PrivatePgBouncer
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
  admin.on('error', () => {})

  beforeAll(async () => {
    // Three server connections for the many clients of the suite: each statement of a client
    // is likely to land on a connection another client used just before.
    bouncer = await PrivatePgBouncer.start({ poolMode: 'transaction', poolSize: 3 })
  })

  afterAll(async () => {
    await bouncer?.stop()
    await admin.query(`DROP SCHEMA IF EXISTS ${run} CASCADE`)
    await admin.end()
  })

  let made = 0
  testStore('postgres via pgbouncer', {
    make: ({ now }) =>
      createPostgresStore({
        connectionString: bouncer.url(database),
        statementTimeout: false,
        schema: run,
        table: `c${++made}`,
        now,
        // 100 concurrent updates queue for the pooler's few server connections: on a busy
        // machine that takes more than the default second. Timeouts are tested below.
        timeout: 5,
      }),
  })

  describe('createPostgresStore through pgbouncer', () => {
    it('serves two stores of different tables over the same few server connections', async () => {
      const stores = ['x', 'y'].map((table) =>
        createPostgresStore({
          connectionString: bouncer.url(database),
          statementTimeout: false,
          schema: run,
          table,
        }),
      )
      const keys = stores.map(() => randomKey())

      await Promise.all(stores.map((s, i) => s.create(keys[i]!, record({ userId: `u${i}` }))))
      const reads = await Promise.all(
        Array.from({ length: 20 }, (_, i) => stores[i % 2]!.get(keys[i % 2]!)),
      )

      expect(reads.map((r) => r?.userId)).toEqual(Array.from({ length: 20 }, (_, i) => `u${i % 2}`))
      await Promise.all(stores.map((s) => s.close?.()))
    })

    it('lets four instances migrate the same table at once through the pooler', async () => {
      const stores = Array.from({ length: 4 }, () =>
        createPostgresStore({
          connectionString: bouncer.url(database),
          statementTimeout: false,
          schema: run,
          table: 'race',
        }),
      )

      await Promise.all(stores.map((s) => s.get(randomKey())))

      await Promise.all(stores.map((s) => s.close?.()))
    })
  })

  describe('createPostgresStore through pgbouncer: the statement timeout', () => {
    it('says to give statementTimeout: false when the pooler refuses it at connect', async () => {
      const store = createPostgresStore({ connectionString: bouncer.url(database) })

      await expect(store.get(randomKey())).rejects.toThrow(
        /refused the statement_timeout.*`statementTimeout: false`/,
      )
      await store.close?.()
    })

    it('fails a write that waits past a timeout the server connections have, and writes nothing', async () => {
      // The timeout a role would have (ALTER ROLE … SET statement_timeout), set here on every
      // server connection of a pooler of this test's own, since the suites share one role.
      const timed = await PrivatePgBouncer.start({
        connectQuery: 'SET statement_timeout = 300',
        poolSize: 2,
      })
      const store = createPostgresStore({
        connectionString: timed.url(database),
        statementTimeout: false,
        schema: run,
        table: 'timed',
        timeout: 0.3,
      })
      const key = randomKey()
      await store.create(key, record())
      const locker = await admin.connect()
      await locker.query('BEGIN')
      await locker.query(`SELECT 1 FROM ${run}.timed WHERE key = $1 FOR UPDATE`, [key])

      const result = await Promise.allSettled([store.update(key, { set: { late: '1' } })])
      await new Promise((resolve) => setTimeout(resolve, 400))
      await locker.query('ROLLBACK')
      locker.release()
      await new Promise((resolve) => setTimeout(resolve, 100))

      expect(result[0]?.status).toBe('rejected')
      expect((await store.get(key))?.data).not.toHaveProperty('late')
      await store.close?.()
      await timed.stop()
    })
  })
})
