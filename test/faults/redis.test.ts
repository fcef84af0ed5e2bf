/**
 * Redis faults, end to end through a real app over HTTP, against private redis-servers (never
 * the shared one): stopped and restarted without its data; killed mid-traffic and restarted
 * with it (append-only file); slowed by a proxy past the store timeout, then reset by it.
 * While broken: 503 + Retry-After, no Set-Cookie, pages without the session still 200.
 * Afterwards: the same app and cookie work again, acknowledged writes are all there, and a
 * logged-out session stays logged out.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, expect, it } from 'vitest'
import { createSessions, type Sessions } from '../../src/session/sessions.js'
import { createRedisStore } from '../../src/stores/redis.js'
import type { Listening } from '../support/http.js'
import { PrivateRedis, redisServerAvailable } from '../support/redis-server.js'
import { describeService } from '../support/services.js'
import {
  Acknowledged,
  call,
  deletes,
  eventually,
  expectUnavailable,
  login,
  secret,
  sleep,
  startApp,
} from './support/app.js'
import { FaultProxy } from './support/proxy.js'

const prefix = `tessera-faults-${randomBytes(5).toString('hex')}:`
/** The store gives up on a command after this; the core's own bound is longer. */
const storeTimeout = 500

function sessionsFor(url: string): Sessions {
  return createSessions({
    secret,
    store: createRedisStore({ url, prefix, timeout: storeTimeout / 1000 }),
    storeTimeout: 1,
    pruneInterval: 0,
  })
}

describeService('redis faults over HTTP', redisServerAvailable(), () => {
  const cleanups: (() => Promise<unknown>)[] = []

  afterAll(async () => {
    // Every server, proxy and child started here stops, even when a test failed half-way.
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  })

  async function app(url: string): Promise<Listening> {
    const sessions = sessionsFor(url)
    const server = await startApp(sessions)
    cleanups.push(
      () => sessions.close(),
      () => server.close(),
    )
    return server
  }

  it('stopped: 503s without touching cookies; restarted without its data: old cookies are anonymous, login works', async () => {
    const redis = await PrivateRedis.start()
    cleanups.push(() => redis.stop())
    const server = await app(redis.url)
    const acked = new Acknowledged()
    const alice = await login(server, 'alice')
    await acked.set(server, alice, 'a', '1')
    const bob = await login(server, 'bob')
    expect((await call(server, '/logout', bob)).status).toBe(200)

    await redis.stop()
    const whoami = await call(server, '/whoami', alice)
    const set = await call(server, '/set?k=b&v=2', alice)
    const fresh = await call(server, '/login?user=carol')
    const revoked = await call(server, '/whoami', bob)
    const page = await call(server, '/public', alice)

    expectUnavailable(whoami, 'whoami while stopped')
    expectUnavailable(set, 'set while stopped')
    expectUnavailable(fresh, 'login while stopped')
    expectUnavailable(revoked, 'a revoked session while stopped')
    for (const answer of [whoami, set, fresh, revoked])
      expect(answer.ms).toBeLessThan(storeTimeout + 250)
    expect(page.status).toBe(200)
    expect(page.setCookies).toEqual([])

    await redis.restart()
    const after = await eventually('the app serves again', async () => {
      const answer = await call(server, '/whoami', alice)
      return answer.status === 200 ? answer : null
    })
    // The data is gone with the restart: anonymous, and the dead cookie may be deleted.
    expect(after.user).toBeNull()
    expect(after.data).toEqual({})
    expect((await call(server, '/whoami', bob)).user).toBeNull()
    const again = await login(server, 'alice')
    const acked2 = new Acknowledged()
    expect((await acked2.set(server, again, 'c', '3')).status).toBe(200)
    await acked2.expectAllThere(server, again, 'alice')
  })

  it('killed mid-traffic and restarted with its data: every acknowledged write is there, the revoked session is not', async () => {
    const redis = await PrivateRedis.start({ persistent: true })
    cleanups.push(() => redis.destroy())
    const server = await app(redis.url)
    const acked = new Acknowledged()
    const alice = await login(server, 'alice')
    for (let i = 0; i < 5; i++) await acked.set(server, alice, `k${i}`, String(i))
    const bob = await login(server, 'bob')
    expect((await call(server, '/logout', bob)).status).toBe(200)

    // Writers keep going while Redis is killed under them.
    let stop = false
    let refused = 0
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        if ((await acked.set(server, alice, `w${w}-${i}`, String(i))).status === 503) refused++
        await sleep(5)
      }
    })
    await sleep(150)
    await redis.stop('SIGKILL')
    await sleep(150)
    stop = true
    await Promise.all(writers)
    expectUnavailable(await call(server, '/whoami', alice), 'whoami while killed')
    expect((await call(server, '/public', alice)).status).toBe(200)

    await redis.restart()
    await eventually(
      'the app serves again',
      async () => (await call(server, '/whoami', alice)).status === 200,
    )

    expect(acked.writes.size).toBeGreaterThan(5)
    expect(refused).toBeGreaterThan(0) // the kill did land mid-traffic
    await acked.expectAllThere(server, alice, 'alice')
    expect((await call(server, '/whoami', bob)).user).toBeNull()
  })

  it('slowed past the store timeout: each request 503s within ~750 ms; connections reset: 503s; fault removed: service resumes', async () => {
    const redis = await PrivateRedis.start()
    cleanups.push(() => redis.stop())
    const proxy = await FaultProxy.start(redis.port)
    cleanups.push(() => proxy.close())
    const server = await app(proxy.url)
    const acked = new Acknowledged()
    const alice = await login(server, 'alice')
    await acked.set(server, alice, 'a', '1')
    const bob = await login(server, 'bob')
    expect((await call(server, '/logout', bob)).status).toBe(200)

    proxy.set({ kind: 'delay', ms: 2000 })
    const slow = await Promise.all([
      call(server, '/whoami', alice),
      call(server, '/whoami', alice),
      call(server, '/set?k=late&v=1', alice),
      call(server, '/login?user=dave'),
      call(server, '/whoami', bob),
    ])
    const page = await call(server, '/public', alice)
    for (const answer of slow) {
      expectUnavailable(answer, 'while slow')
      expect(answer.ms).toBeLessThan(storeTimeout + 250)
    }
    expect(page.status).toBe(200)

    proxy.set({ kind: 'reset' })
    const reset = await Promise.all([
      call(server, '/whoami', alice),
      call(server, '/set?k=r&v=1', alice),
    ])
    for (const answer of reset) {
      expectUnavailable(answer, 'while reset')
      expect(answer.ms).toBeLessThan(storeTimeout + 250)
    }

    proxy.set({ kind: 'pass' })
    await eventually(
      'the app serves again',
      async () => (await call(server, '/whoami', alice)).status === 200,
    )
    expect((await acked.set(server, alice, 'b', '2')).status).toBe(200)
    await acked.expectAllThere(server, alice, 'alice')
    const revoked = await call(server, '/whoami', bob)
    expect(revoked.user).toBeNull()
    expect(revoked.setCookies.every(deletes)).toBe(true)
  })
})
