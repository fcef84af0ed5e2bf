/**
 * A store that cannot work says so (issue 13, item 5): at start-up, with the cause and the fix,
 * and per request at most once a minute per distinct error; the site recovers by itself.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Store } from 'tessera'
import { createMemoryStore } from 'tessera/stores/memory'
import { afterAll, describe, expect, it } from 'vitest'
import { listen } from '../test/support/http.js'
import { createApp } from './app.js'
import { demoStoreSessions } from './config.js'
import { checkStore, logStoreErrors, storeFix } from './store-health.js'

const secret = randomBytes(32).toString('base64url')
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-health-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6399'), { code: 'ECONNREFUSED' })

/** A memory store whose calls fail while `down` is set, as a store whose server stopped. */
function flakyStore(): { store: Store; down: { on: boolean } } {
  const inner = createMemoryStore()
  const down = { on: false }
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver)
      if (typeof value !== 'function' || key === 'close') return value
      return (...args: unknown[]) =>
        down.on ? Promise.reject(refused()) : value.apply(target, args)
    },
  }) as Store
  return { store, down }
}

describe('store errors, per request', () => {
  it('one line per distinct error a minute, with the cause, the fix and how many were left out; pages work again when the store does', async () => {
    const { store, down } = flakyStore()
    const sessions = demoStoreSessions([secret], store)
    const lines: string[] = []
    let clock = 1_000_000
    logStoreErrors(sessions, { log: (l) => lines.push(l), now: () => clock })
    const app = await listen(createServer(createApp(sessions, store.name)))
    try {
      // A session in the store, so that each request reads it.
      const session = sessions.open(undefined)
      await session.load()
      session.set('username', 'alice')
      const { setCookie } = await sessions.commit(session)
      const cookie = setCookie!.slice(0, setCookie!.indexOf(';'))

      down.on = true
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${app.url}/`, { headers: { cookie } })
        expect(res.status).toBe(503)
        await res.text()
      }
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain('ECONNREFUSED')
      expect(lines[0]).toContain('SESSION_STORE')

      clock += 61_000
      await (await fetch(`${app.url}/`, { headers: { cookie } })).text()
      expect(lines).toHaveLength(2)
      expect(lines[1]).toContain('19 more like it')

      down.on = false
      const healed = await fetch(`${app.url}/`, { headers: { cookie } })
      expect(healed.status).toBe(200)
      expect(await healed.text()).toContain('Logged in as alice')
    } finally {
      await app.close()
    }
  })

  it('names the fix for the usual causes', () => {
    expect(storeFix(refused())).toMatch(/running/)
    const auth = Object.assign(new Error('password authentication failed'), { code: '28P01' })
    expect(storeFix(new Error('store failed', { cause: auth }))).toMatch(/user name and password/)
    expect(storeFix(new Error('WRONGPASS invalid username-password pair'))).toMatch(/password/)
  })
})

describe('the start-up check', () => {
  it('answers null for a store that works, the error for one that fails or does not answer', async () => {
    expect(await checkStore(createMemoryStore())).toBeNull()
    const { store, down } = flakyStore()
    down.on = true
    expect(await checkStore(store)).toMatchObject({ code: 'ECONNREFUSED' })
    const silent = { ...createMemoryStore(), get: () => new Promise<never>(() => {}) } as Store
    expect(String(await checkStore(silent, 50))).toContain('no answer within 50 ms')
  })
})

/** Runs `npm start`'s server with `env` until `done` says so, or `ms`; its output and exit code. */
function runServer(
  env: NodeJS.ProcessEnv,
  done: (output: string) => boolean,
  ms = 20_000,
): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'demo/server.ts'], {
      env: { PATH: process.env.PATH, SECRET_KEY: secret, DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    let finished = false
    const finish = (code: number | null) => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      resolve({ output, code })
    }
    const timer = setTimeout(() => child.kill('SIGTERM'), ms)
    const take = (chunk: Buffer) => {
      output += chunk.toString()
      if (done(output)) child.kill('SIGTERM')
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    child.on('exit', (code) => finish(code))
  })
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('npm start', () => {
  it('a PostgreSQL URL without a user: says why and exits non-zero', async () => {
    const { output, code } = await runServer(
      { SESSION_STORE: 'postgres://127.0.0.1:5432/test', PORT: String(await closedPort()) },
      () => false,
    )
    expect(code).toBe(1)
    expect(output).toMatch(/names no user/)
    expect(output).not.toMatch(/^\s+at /m)
  }, 30_000)

  it('a Redis server that is not running: said at start-up, with the fix, and the site still starts', async () => {
    const port = await closedPort()
    const { output } = await runServer(
      { SESSION_STORE: `redis://127.0.0.1:${await closedPort()}`, PORT: String(port) },
      (text) => text.includes(`http://127.0.0.1:${port}`),
    )
    expect(output).toMatch(/the session store "redis" does not work \(.*ECONNREFUSED/)
    expect(output).toMatch(/Is the store running/)
    // Said before the site listens, so it is the first thing a user sees.
    expect(output.indexOf('does not work')).toBeLessThan(output.indexOf(`http://127.0.0.1:${port}`))
  }, 30_000)
})
