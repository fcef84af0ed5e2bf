/**
 * `npm run demo:cluster` end to end, over HTTP: two instances of the demo, each its own
 * process on its own port, sharing one Redis. A login made on one holds on the other, and a
 * logout on either ends it on both.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRedisStore } from 'tessera/stores/redis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort } from '../test/support/http.js'
import { describeService, REDIS_URL, redisAvailable } from '../test/support/services.js'
import { DemoClient } from './test-client.js'

const secret = 'cluster-test-secret-that-is-32-bytes'

describeService('demo cluster: two instances sharing one Redis', redisAvailable(), () => {
  const prefix = `tessera_test_${randomBytes(5).toString('hex')}:`
  let dataDir: string
  let cluster: ChildProcess
  let exited: Promise<number | null>
  let output = ''
  let one: string
  let two: string
  let ports: number[]

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-cluster-'))
    ports = [await freePort()]
    while (ports.length < 2) {
      const port = await freePort()
      if (!ports.includes(port)) ports.push(port)
    }
    one = `http://127.0.0.1:${ports[0]}`
    two = `http://127.0.0.1:${ports[1]}`
    cluster = spawn(process.execPath, ['--import', 'tsx', 'demo/cluster.ts'], {
      env: {
        ...process.env,
        PORTS: ports.join(','),
        SESSION_STORE: REDIS_URL,
        REDIS_PREFIX: prefix,
        SECRET_KEY: secret,
        DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that a failed test can still end the instances it started.
      detached: true,
    })
    exited = new Promise((resolve) => cluster.on('exit', (code) => resolve(code)))
    cluster.stdout!.on('data', (chunk) => {
      output += chunk
    })
    cluster.stderr!.on('data', (chunk) => {
      output += chunk
    })
    // Both instances say where they listen once they do.
    const deadline = Date.now() + 25_000
    while (!ports.every((p) => output.includes(`tessera demo: http://127.0.0.1:${p} `))) {
      if (cluster.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the cluster did not start:\n${output}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }, 30_000)

  afterAll(async () => {
    if (cluster && cluster.exitCode === null && cluster.signalCode === null) {
      try {
        process.kill(-cluster.pid!, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
    const store = createRedisStore({ url: REDIS_URL, prefix })
    await store.clear?.()
    await store.close?.()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('starts two instances, each saying in its footer that it served the page', async () => {
    const first = await new DemoClient(one).get('/')
    const second = await new DemoClient(two).get('/')

    expect(output).toContain(`2 instances sharing ${REDIS_URL.replace(/\/$/, '')}`)
    expect(first.html).toContain(`Served by <strong>127.0.0.1:${ports[0]}</strong>`)
    expect(second.html).toContain(`Served by <strong>127.0.0.1:${ports[1]}</strong>`)
    expect(second.html).toContain('Sessions: <strong class="mode">redis</strong>')
  })

  it('logs in on one, is logged in on the other; logs out on the other, is logged out on the first', async () => {
    const browser = new DemoClient(one)

    const login = await browser.login('erin', one)
    const onTwo = await browser.get('/', two)
    const cookie = browser.cookie
    const logout = await browser.logout(two)
    const replay = new DemoClient(one)
    replay.cookie = cookie
    const onOne = await replay.get('/', one)
    const afterLogout = await browser.get('/', one)

    expect(login.status).toBe(303)
    expect(onTwo.html).toContain('<h1>Logged in as erin</h1>')
    expect(onTwo.html).toContain('Welcome, erin!')
    expect(logout.status).toBe(303)
    expect(onOne.html).toContain('You are not logged in')
    expect(afterLogout.html).toContain('You have been logged out.')
    expect(afterLogout.html).toContain('You are not logged in')
  })

  it('lists on one instance the sessions made on the other, and revokes across them', async () => {
    const laptop = new DemoClient(one, {
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
    })
    const phone = new DemoClient(two)
    await laptop.login('frank', one)
    await phone.login('frank', two)

    const list = await phone.get('/sessions', two)
    const token = /name="_csrf" value="([^"]+)"/.exec(list.html)![1]!
    await phone.post('/sessions/revoke-others', { _csrf: token }, two)

    expect(list.html).toContain('2 live sessions')
    expect(list.html).toContain('Firefox 128 on Linux')
    expect((await laptop.get('/', one)).html).toContain('You are not logged in')
    expect((await phone.get('/', one)).html).toContain('Logged in as frank')
  })

  it('stops both instances when it is stopped', async () => {
    process.kill(cluster.pid!, 'SIGTERM')

    expect(await exited).toBe(0)
    for (const origin of [one, two]) {
      await expect(fetch(origin)).rejects.toThrow()
    }
  })
})
