/**
 * A Redis Cluster master killed under traffic, end to end through real apps over HTTP, on a
 * cluster of this file's own (the run's shared one is never touched). While the master's slots
 * have no server: 503 + Retry-After and no Set-Cookie, never a 500 and never a logout. The
 * cluster promotes the replica by itself and the same store serves again, with no restart.
 *
 * Two apps share the cluster. One acknowledges a write once its master has it (the default):
 * it serves again as soon as the replica is promoted; Redis replicates asynchronously, so it
 * may lose the writes of the last moments, and this test counts them. The other acknowledges a
 * write only once a replica has it (`replicas.wait`): every acknowledged write survives, and
 * the logged-out session stays logged out; it takes writes again once the killed node is back
 * (as a supervisor restarts it) as the new master's replica.
 */
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, expect, it } from 'vitest'
import { createSessions } from '../../src/session/sessions.js'
import { createRedisStore, type RedisStoreOptions } from '../../src/stores/redis.js'
import type { Listening } from '../support/http.js'
import { LocalRedisCluster, redisClusterAvailable } from '../support/redis-cluster.js'
import { describeService } from '../support/services.js'
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

const run = `tessera-faults-${randomBytes(5).toString('hex')}`

/** The Redis key of the session a cookie holds (the store keys a session by its id's SHA-256). */
function redisKey(prefix: string, cookie: string): string {
  const value = cookie.slice(cookie.indexOf('=') + 1)
  const id = value.slice(0, value.indexOf('.'))
  return `${prefix}s:{${createHash('sha256').update(id).digest('base64url')}}`
}

describeService('redis cluster failover over HTTP', redisClusterAvailable(), () => {
  const cleanups: (() => Promise<unknown>)[] = []

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  })

  async function app(url: string, prefix: string, options: Partial<RedisStoreOptions> = {}) {
    const store = createRedisStore({ url, prefix, timeout: 0.5, ...options })
    const sessions = createSessions({ secret, store, storeTimeout: 1, pruneInterval: 0 })
    const server = await startApp(sessions)
    cleanups.push(
      () => sessions.close(),
      () => server.close(),
    )
    // The first connection (node-redis loaded, the cluster's layout read) may outlast the
    // store timeout on a busy machine: wait for it before the test proper.
    await eventually('the store connects', async () => {
      return (await call(server, '/login?user=warm-up')).status === 200
    })
    return server
  }

  /** Writes and reads `user`'s session until `stop()`, recording every answer. */
  function traffic(server: Listening, cookie: string, acked: Acknowledged, answers: Answer[]) {
    let stopped = false
    const workers = Array.from({ length: 2 }, async (_, w) => {
      for (let i = 0; !stopped; i++) {
        answers.push(await acked.set(server, cookie, `w${w}-${i}`, String(i)))
        answers.push(await call(server, '/whoami', cookie))
        await sleep(10)
      }
    })
    return async () => {
      stopped = true
      await Promise.all(workers)
    }
  }

  it('master killed: 503 + Retry-After, never 500 nor logout; service resumes by itself; with replicas.wait no acknowledged write is lost', async () => {
    const cluster = await LocalRedisCluster.start({ nodeTimeout: 1000 })
    cleanups.push(() => cluster.stop())
    const [plainPrefix, durablePrefix] = [`${run}:p:`, `${run}:d:`]
    const plain = await app(cluster.url, plainPrefix)
    const durable = await app(cluster.url, durablePrefix, { replicas: { wait: 1, timeout: 0.2 } })

    // alice (plain), carol and bob (durable) all have their sessions on the master killed.
    const alice = await login(plain, 'alice')
    const master = await cluster.masterOf(redisKey(plainPrefix, alice))
    const onMaster = async (server: Listening, prefix: string, user: string) => {
      for (;;) {
        const cookie = await login(server, user)
        if ((await cluster.masterOf(redisKey(prefix, cookie))) === master) return cookie
      }
    }
    const carol = await onMaster(durable, durablePrefix, 'carol')
    const bob = await onMaster(durable, durablePrefix, 'bob')
    expect((await call(durable, '/logout', bob)).status).toBe(200)
    const [plainAcked, durableAcked] = [new Acknowledged(), new Acknowledged()]
    const answers: Answer[] = []
    const stopPlain = traffic(plain, alice, plainAcked, answers)
    const stopDurable = traffic(durable, carol, durableAcked, answers)
    await sleep(200)

    const killedAt = performance.now()
    await cluster.kill(master)
    await eventually(
      'the plain store writes again once the replica is promoted',
      async () => (await call(plain, '/set?k=after&v=1', alice)).status === 200,
      20_000,
    )
    const promoted = performance.now() - killedAt
    plainAcked.writes.set('after', '1')
    // The promoted master has no replica yet: the durable store reads, and refuses writes.
    const refused = await call(durable, '/set?k=refused&v=1', carol)
    await cluster.restart(master)
    await eventually(
      'the durable store writes again once the new master has a replica',
      async () => (await call(durable, '/set?k=after&v=1', carol)).status === 200,
      20_000,
    )
    const replicated = performance.now() - killedAt
    durableAcked.writes.set('after', '1')
    await Promise.all([stopPlain(), stopDurable()])

    const unavailable = answers.filter((a) => a.status === 503).length
    const plainNow = (await call(plain, '/whoami', alice)).data
    const lost = [...plainAcked.writes].filter(([k, v]) => plainNow[k] !== v).length
    console.info(
      `[failover] writes again ${Math.round(promoted)} ms after the kill (replica promoted), ` +
        `${Math.round(replicated)} ms with replicas.wait (killed node back as a replica); ` +
        `${unavailable} of ${answers.length} requests answered 503 meanwhile; acknowledged ` +
        `writes lost: ${lost} of ${plainAcked.writes.size} without replicas.wait, 0 of ` +
        `${durableAcked.writes.size} with it`,
    )
    expect(unavailable).toBeGreaterThan(0) // the kill did land mid-traffic
    for (const answer of [...answers, refused]) {
      expect([200, 503], answer.body).toContain(answer.status)
      if (answer.status === 503) expectUnavailable(answer, 'during the failover')
      else if (answer.body.startsWith('{"user"')) expect(answer.user).not.toBeNull()
    }
    expectUnavailable(refused, 'a write the new master cannot replicate')
    await durableAcked.expectAllThere(durable, carol, 'carol')
    expect((await call(durable, '/whoami', bob)).user).toBeNull()
    expect((await call(plain, '/whoami', alice)).user).toBe('alice')
  }, 60_000)
})
