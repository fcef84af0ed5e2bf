/**
 * The Redis store on a real Redis Cluster (three masters, three replicas, on loopback; started
 * once per run by the global setup): the conformance suite, then what only a cluster shows:
 * sessions spread over the masters, a user's index in another slot than its sessions, an
 * app's own `createCluster` client, and acknowledgement by replicas (`replicas.wait`).
 */
import { randomBytes } from 'node:crypto'
import { createCluster } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { createRedisStore } from '../../src/stores/redis.js'
import type { Store } from '../../src/stores/types.js'
import { randomKey, record, testStore } from '../contracts/store.js'
import { portsOf } from '../support/redis-cluster.js'
import { describeService, redisClusterAvailable } from '../support/services.js'

const reason = await redisClusterAvailable()
const url = process.env.REDIS_CLUSTER_URL ?? ''
const run = `tessera-test-${randomBytes(6).toString('hex')}`

describeService('redis cluster', reason, () => {
  let made = 0
  testStore('redis-cluster', {
    make: ({ now }) => createRedisStore({ url, prefix: `${run}:c${++made}:`, now }),
  })

  describe('createRedisStore on a cluster', () => {
    let store: Store
    const prefix = `${run}:b:`
    const admin = createCluster({
      rootNodes: portsOf(url).map((port) => ({ socket: { host: '127.0.0.1', port } })),
    })
    admin.on('error', () => {})

    beforeAll(async () => {
      store = createRedisStore({ url, prefix })
      await admin.connect()
    })

    afterAll(async () => {
      await store.clear?.()
      await store.close?.()
      await admin.close()
    })

    /** The port of the master holding `key` now. */
    async function masterOf(key: string): Promise<number> {
      const client = await admin.nodeClient(admin.getSlotMaster(await slot(key)))
      return Number(
        client.options?.socket && 'port' in client.options.socket ? client.options.socket.port : 0,
      )
    }
    const slot = async (key: string) =>
      Number(await admin.sendCommand(undefined, true, ['CLUSTER', 'KEYSLOT', key]))

    it('lists the sessions of every master, not of one node', async () => {
      const keys = Array.from({ length: 24 }, () => randomKey())
      const mine = createRedisStore({ url, prefix: `${run}:list:` })
      for (const key of keys) await mine.create(key, record())

      const listed = await mine.list!()
      const masters = new Set(await Promise.all(keys.map((k) => masterOf(`${run}:list:s:{${k}}`))))
      await mine.clear!()
      const afterClear = await mine.list!()
      await mine.close!()

      expect(masters.size).toBe(3)
      expect(listed.map((s) => s.key).sort()).toEqual([...keys].sort())
      expect(afterClear).toEqual([])
    })

    it('ends every session of a user, though they live in other slots than its index', async () => {
      const user = `user-${randomKey()}`
      const keys = Array.from({ length: 6 }, () => randomKey())
      for (const key of keys) await store.create(key, record({ userId: user }))
      const slots = new Set(await Promise.all(keys.map((k) => slot(`${prefix}s:{${k}}`))))

      const ended = await store.destroyByUser!(user)

      expect(slots.size).toBeGreaterThan(1)
      expect(ended).toBe(6)
      for (const key of keys) expect(await store.get(key)).toBeNull()
    })

    it('skips an index entry whose session never came (a crash between the two steps)', async () => {
      const user = `user-${randomKey()}`
      const live = randomKey()
      await store.create(live, record({ userId: user }))
      await admin.zAdd(`${prefix}u:{${user}}`, { score: Date.now(), value: randomKey() })

      const listed = await store.listByUser!(user)
      const ended = await store.destroyByUser!(user)

      expect(listed.map((s) => s.key)).toEqual([live])
      expect(ended).toBe(1)
    })

    it("works over the app's own createCluster client, and leaves it open", async () => {
      const client = createCluster({
        rootNodes: [{ socket: { host: '127.0.0.1', port: portsOf(url)[0]! } }],
        defaults: { disableOfflineQueue: true },
      })
      client.on('error', () => {})
      const theirs = createRedisStore({ client, prefix })
      const key = randomKey()

      await theirs.create(key, record({ userId: 'u-1' }))
      const got = await theirs.get(key)
      await theirs.close!()

      expect(got?.userId).toBe('u-1')
      expect(client.isOpen).toBe(true)
      await client.close()
    })

    it('lists and revokes through the CLI, given --store redis-cluster://', async () => {
      const user = `cli-${randomKey()}`
      const cli = createRedisStore({ url })
      await cli.create(randomKey(), record({ userId: user }))
      await cli.create(randomKey(), record({ userId: user }))
      await cli.close!()
      const out: string[] = []
      const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) }

      const listed = await main(['sessions', 'list', '--store', url, '--user', user], io)
      const revoked = await main(['sessions', 'revoke', '--store', url, '--user', user], io)

      expect([listed, revoked]).toEqual([0, 0])
      expect(out).toContain(`2 live sessions of user ${user}`)
      expect(out).toContain(`revoked 2 sessions of user ${user}`)
    })

    it('acknowledges a write once a replica has it, with replicas.wait', async () => {
      const durable = createRedisStore({ url, prefix, replicas: { wait: 1, timeout: 0.5 } })
      const key = randomKey()

      await durable.create(key, record({ userId: 'u-2' }))
      const updated = await durable.update(key, { set: { a: '1' } })
      await durable.destroy(key)
      await durable.close!()

      expect(updated).toBe(true)
    })

    it('fails a write that fewer replicas than asked for have in time', async () => {
      const greedy = createRedisStore({ url, prefix, replicas: { wait: 2, timeout: 0.05 } })

      const write = greedy.create(randomKey(), record())

      await expect(write).rejects.toThrow(/only 1 of the 2 replicas/)
      await greedy.close!()
    })
  })
})
