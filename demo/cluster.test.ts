/**
 * `npm run demo:cluster -- --instances 3` end to end, over HTTP: three instances of the demo,
 * each its own process, behind a real HAProxy doing round robin with no stickiness, sharing
 * one Redis or one PostgreSQL. Requests of one browser reach every instance while its login
 * holds, and a revocation made on one instance is a logout on all.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createRedisStore } from 'tessera/stores/redis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort } from '../test/support/http.js'
import {
  DATABASE_URL,
  describeService,
  postgresAvailable,
  REDIS_URL,
  redisAvailable,
} from '../test/support/services.js'
import { haproxyMissing } from './haproxy.js'
import { DemoClient } from './test-client.js'

const secret = 'cluster-test-secret-that-is-32-bytes'
const instances = 3
// Asked before any service check starts: spawnSync blocks, and a connect timer running
// meanwhile would fire as though the service had not answered.
const noHaproxy = haproxyMissing()

/** A store the cluster runs on: its place of its own, made before and removed after. */
interface ClusterStore {
  name: string
  available(): Promise<string | null>
  prepare(): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>
}

const stores: ClusterStore[] = [
  {
    name: 'redis',
    available: () => redisAvailable(),
    prepare: async () => {
      const prefix = `tessera_test_${randomBytes(5).toString('hex')}:`
      return {
        env: { SESSION_STORE: REDIS_URL, REDIS_PREFIX: prefix },
        cleanup: async () => {
          const store = createRedisStore({ url: REDIS_URL, prefix })
          await store.clear?.()
          await store.close?.()
        },
      }
    },
  },
  {
    // The demo's postgres:// store uses the default table: a database of its own keeps it apart.
    name: 'postgres',
    available: () => postgresAvailable(),
    prepare: async () => {
      const database = `tessera_test_${randomBytes(5).toString('hex')}`
      await admin(`CREATE DATABASE ${database}`)
      const url = new URL(DATABASE_URL)
      url.pathname = `/${database}`
      return {
        env: { SESSION_STORE: url.toString() },
        cleanup: () => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`),
      }
    },
  },
]

for (const kind of stores) {
  const reason = noHaproxy ?? kind.available()
  describeService(
    `demo cluster: HAProxy over ${instances} instances on ${kind.name}`,
    reason,
    () => {
      let dataDir: string
      let cluster: ChildProcess
      let exited: Promise<number | null>
      let output = ''
      let balancer: string
      let direct: string[]
      let cleanup: (() => Promise<void>) | undefined

      beforeAll(async () => {
        const prepared = await kind.prepare()
        cleanup = prepared.cleanup
        dataDir = mkdtempSync(join(tmpdir(), 'tessera-cluster-'))
        const ports: number[] = []
        while (ports.length < instances + 1) {
          const port = await freePort()
          if (!ports.includes(port)) ports.push(port)
        }
        const [front, ...back] = ports as [number, ...number[]]
        balancer = `http://127.0.0.1:${front}`
        direct = back.map((p) => `http://127.0.0.1:${p}`)
        cluster = spawn(
          process.execPath,
          ['--import', 'tsx', 'demo/cluster.ts', '--instances', String(instances)],
          {
            env: {
              ...process.env,
              ...prepared.env,
              PORT: String(front),
              PORTS: back.join(','),
              SECRET_KEY: secret,
              DATA_DIR: dataDir,
            },
            stdio: ['ignore', 'pipe', 'pipe'],
            // Its own process group, so that a failed test can still end what it started.
            detached: true,
          },
        )
        exited = new Promise((resolve) => cluster.on('exit', (code) => resolve(code)))
        cluster.stdout!.on('data', (chunk) => {
          output += chunk
        })
        cluster.stderr!.on('data', (chunk) => {
          output += chunk
        })
        // The launcher says where HAProxy listens once it accepts connections.
        const deadline = Date.now() + 90_000
        while (!output.includes(`tessera demo cluster: ${balancer} → HAProxy`)) {
          if (cluster.exitCode !== null || Date.now() > deadline) {
            throw new Error(`the cluster did not start:\n${output}`)
          }
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }, 100_000)

      afterAll(async () => {
        if (cluster && cluster.exitCode === null && cluster.signalCode === null) {
          try {
            process.kill(-cluster.pid!, 'SIGKILL')
          } catch {
            // Already gone.
          }
        }
        await cleanup?.()
        if (dataDir) rmSync(dataDir, { recursive: true, force: true })
      })

      it('logs in through the balancer and stays logged in on every instance it reaches', async () => {
        const browser = new DemoClient(balancer)

        const login = await browser.login('erin')
        const pages = []
        for (let i = 0; i < 2 * instances; i++) pages.push(await browser.get('/'))

        expect(login.status).toBe(303)
        expect(new Set(pages.map((p) => servedBy(p.html)))).toEqual(
          new Set(direct.map((origin) => origin.slice('http://'.length))),
        )
        for (const page of pages) expect(page.html).toContain('<h1>Logged in as erin</h1>')
      })

      it('revokes on one instance, and the revoked browser is logged out on all', async () => {
        const laptop = new DemoClient(balancer, {
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
        })
        const phone = new DemoClient(balancer)
        await laptop.login('frank')
        await phone.login('frank')
        const before = await laptop.get('/')

        const list = await phone.get('/sessions', direct[0])
        const token = /name="_csrf" value="([^"]+)"/.exec(list.html)![1]!
        const revoke = await phone.post('/sessions/revoke-others', { _csrf: token }, direct[0])
        const everywhere = await Promise.all(direct.map((origin) => laptop.get('/', origin)))
        const balanced = []
        for (let i = 0; i < instances; i++) balanced.push(await laptop.get('/'))

        expect(before.html).toContain('Logged in as frank')
        expect(list.html).toContain('2 live sessions')
        expect(list.html).toContain('Firefox 128 on Linux')
        expect(revoke.status).toBe(303)
        for (const page of [...everywhere, ...balanced]) {
          expect(page.html).toContain('You are not logged in')
        }
        expect(new Set(balanced.map((p) => servedBy(p.html))).size).toBe(instances)
        expect((await phone.get('/')).html).toContain('Logged in as frank')
      })

      it('stops HAProxy and every instance when it is stopped', async () => {
        process.kill(cluster.pid!, 'SIGTERM')

        expect(await exited).toBe(0)
        for (const origin of [balancer, ...direct]) {
          await expect(fetch(origin)).rejects.toThrow()
        }
      })
    },
  )
}

/** The instance a page's footer names. */
function servedBy(html: string): string | undefined {
  return /Served by <strong>([^<]+)<\/strong>/.exec(html)?.[1]
}

/** Runs one statement in the suites' PostgreSQL database. */
async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
