/**
 * PostgreSQL faults, end to end through a real app over HTTP, in a schema of this run's own and
 * on connections found by this run's own application_name (nobody else's are touched): the
 * store's backends terminated mid-traffic, and a starved pool. Requests answer 200 or 503 within
 * about the timeout, never 500 nor hang; acknowledged writes stay; no connection leaks.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createSessions, type Sessions } from '../../src/session/sessions.js'
import { createPostgresStore } from '../../src/stores/postgres.js'
import type { Listening } from '../support/http.js'
import { DATABASE_URL, describeService, postgresAvailable } from '../support/services.js'
import {
  Acknowledged,
  type Answer,
  call,
  eventually,
  expectUnavailable,
  login,
  secret,
  sleep,
  startApp,
} from './support/app.js'

const run = `tessera_faults_${randomBytes(5).toString('hex')}`
const timeout = 500

describeService('postgres faults over HTTP', postgresAvailable(), () => {
  let admin: pg.Client
  const cleanups: (() => Promise<unknown>)[] = []

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: DATABASE_URL, application_name: `${run}_admin` })
    admin.on('error', () => {})
    await admin.connect()
  })

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    await admin.query(`DROP SCHEMA IF EXISTS ${run} CASCADE`).catch(() => {})
    await admin.end().catch(() => {})
  })

  async function backends(app: string): Promise<number> {
    const { rows } = await admin.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1',
      [app],
    )
    return Number(rows[0]?.n)
  }

  async function serve(sessions: Sessions): Promise<Listening> {
    const server = await startApp(sessions)
    cleanups.push(
      () => sessions.close(),
      () => server.close(),
    )
    return server
  }

  /** Every answer is a 200, or a clean 503, within about the timeout. */
  function expectHealthyOrUnavailable(answers: Answer[], limitMs: number): void {
    for (const answer of answers) {
      if (answer.status !== 200) expectUnavailable(answer)
      expect(answer.ms).toBeLessThan(limitMs)
    }
  }

  it('recovers from its backends being terminated mid-traffic, losing no acknowledged write and leaking no connection', async () => {
    const app = `${run}_kill`
    const sessions = createSessions({
      secret,
      store: createPostgresStore({
        connectionString: DATABASE_URL,
        schema: run,
        table: 'kill',
        timeout: timeout / 1000,
        applicationName: app,
      }),
      storeTimeout: 1.5,
      pruneInterval: 0,
    })
    const server = await serve(sessions)
    const acked = new Acknowledged()
    const alice = await login(server, 'alice')
    const bob = await login(server, 'bob')
    expect((await call(server, '/logout', bob)).status).toBe(200)
    const concurrency = 4

    const answers: Answer[] = []
    let stop = false
    const workers = Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; !stop; i++)
        answers.push(await acked.set(server, alice, `w${w}-${i}`, String(i)))
    })
    let terminated = 0
    for (const at of [200, 300, 300]) {
      await sleep(at)
      const { rowCount } = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [app],
      )
      terminated += rowCount ?? 0
    }
    await sleep(300)
    stop = true
    await Promise.all(workers)

    expect(terminated).toBeGreaterThan(0)
    // A request makes two store calls (read, then write), each bounded by storeTimeout.
    expectHealthyOrUnavailable(answers, 2 * 1500 + 500)
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(10)
    // Recovery without a restart, with every acknowledged write.
    await eventually(
      'serves again',
      async () => (await call(server, '/whoami', alice)).status === 200,
    )
    await acked.expectAllThere(server, alice, 'alice')
    expect((await call(server, '/whoami', bob)).user).toBeNull()
    // No leak: the pool never holds more than the concurrency asked of it, and a burst works.
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => call(server, '/whoami', alice)),
    )
    expect(burst.map((a) => a.status)).toEqual(Array(20).fill(200))
    expect(await backends(app)).toBeLessThanOrEqual(10)
    await sessions.close()
    expect(
      await eventually('every connection closed', async () => (await backends(app)) === 0, 3000),
    ).toBe(true)
  })

  it('starved pool: requests answer 503 within about the timeout, then 200 again, with no waiting or leaked connection left', async () => {
    const app = `${run}_starve`
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2, application_name: app })
    pool.on('error', () => {})
    cleanups.push(() => pool.end())
    const sessions = createSessions({
      secret,
      store: createPostgresStore({ pool, schema: run, table: 'starve', timeout: timeout / 1000 }),
      pruneInterval: 0,
    })
    const server = await serve(sessions)
    const acked = new Acknowledged()
    const alice = await login(server, 'alice')
    await acked.set(server, alice, 'a', '1')

    // One connection held by a slow query: requests queue for the other and still complete.
    const oneHeld = pool.query('SELECT pg_sleep(1.2)')
    await eventually('one held', async () => pool.idleCount < pool.totalCount)
    const halfStarved = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 ? call(server, '/whoami', alice) : acked.set(server, alice, `h${i}`, String(i)),
      ),
    )
    await oneHeld
    expectHealthyOrUnavailable(halfStarved, 2 * timeout + 500)
    expect(halfStarved.filter((a) => a.status === 200).length).toBeGreaterThan(15)

    // Both held: nothing can get a connection until they end.
    const held = [pool.query('SELECT pg_sleep(4)'), pool.query('SELECT pg_sleep(4)')]
    await eventually('both held', async () => pool.totalCount === 2 && pool.idleCount === 0)
    const started = Date.now()
    const starved = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 ? call(server, '/whoami', alice) : acked.set(server, alice, `s${i}`, String(i)),
      ),
    )
    const page = await call(server, '/public', alice)
    expect(Date.now() - started).toBeLessThan(3500) // all answered while the pool was still held
    expectHealthyOrUnavailable(starved, 2 * timeout + 500)
    expect(starved.filter((a) => a.status === 503).length).toBe(50)
    expect(page.status).toBe(200)
    await Promise.all(held)

    await eventually(
      'serves again',
      async () => (await call(server, '/whoami', alice)).status === 200,
    )
    expect((await acked.set(server, alice, 'b', '2')).status).toBe(200)
    await acked.expectAllThere(server, alice, 'alice')
    // The requests that gave up left nothing behind in the pool.
    await eventually(
      'no waiter left',
      async () => pool.waitingCount === 0 && pool.idleCount === pool.totalCount,
    )
    expect(pool.totalCount).toBeLessThanOrEqual(2)
    expect(await backends(app)).toBeLessThanOrEqual(2)
  })
})
