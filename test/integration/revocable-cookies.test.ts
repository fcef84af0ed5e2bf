/**
 * Revocable cookie sessions: the session stays in the cookie, and a per-user generation in a
 * store lets "log out everywhere" end every cookie of a user, on every store and over HTTP.
 */
import { createServer } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withSession } from '../../src/adapters/node.js'
import { generationKey } from '../../src/engines/generations.js'
import type { SessionEvent } from '../../src/engines/types.js'
import { ConfigError } from '../../src/errors.js'
import type { Session } from '../../src/session/session.js'
import { createSessions, type RevocableCookieSessions } from '../../src/session/sessions.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import type { Store } from '../../src/stores/types.js'
import { listen } from '../support/http.js'
import { describeService } from '../support/services.js'
import { spyStore } from '../support/spy-store.js'
import { storeKinds, type TestStore } from '../support/stores.js'

const secret = 'revocation-test-secret-32-bytes-long!'

function cookieOf(setCookie: string | null): string {
  if (!setCookie) throw new Error('no Set-Cookie')
  return setCookie.slice(0, setCookie.indexOf(';'))
}

function make(store: Store, extra: { cache?: number; now?: () => number } = {}) {
  const { cache, now } = extra
  return createSessions({
    secret,
    revocation: cache === undefined ? { store } : { store, cache },
    ...(now && { now }),
  })
}

/** Logs `user` in on `sessions` and returns the request cookie it set. */
async function login(sessions: RevocableCookieSessions, user: string): Promise<string> {
  const session = sessions.open(undefined)
  session.set('username', user)
  session.setUser(user)
  return cookieOf((await sessions.commit(session)).setCookie)
}

/** Opens a request with `cookie`, loaded as the adapters load it. */
async function open(sessions: RevocableCookieSessions, cookie: string): Promise<Session> {
  const session = sessions.open(cookie)
  await session.load()
  return session
}

for (const kind of storeKinds) {
  describeService(`revocable cookie sessions on ${kind.name}`, kind.unavailable(), () => {
    let made: TestStore

    beforeAll(async () => {
      made = await kind.make()
      await made.store.migrate?.()
    })
    afterAll(async () => made?.cleanup())

    it('ends every cookie of a user, and only that user, with destroyByUser', async () => {
      const sessions = make(made.store)
      const phone = await login(sessions, 'ada')
      const laptop = await login(sessions, 'ada')
      const other = await login(sessions, 'grace')
      expect((await open(sessions, phone)).get('username')).toBe('ada')

      await sessions.destroyByUser('ada')

      for (const cookie of [phone, laptop]) {
        const session = await open(sessions, cookie)
        expect(session.get('username')).toBeUndefined()
        expect(session.userId).toBeNull()
        expect(session.rejectedReason).toBe('revoked')
      }
      expect((await open(sessions, other)).get('username')).toBe('grace')
      // A login after the revocation is valid.
      const fresh = await login(sessions, 'ada')
      expect((await open(sessions, fresh)).get('username')).toBe('ada')
    })

    it('keeps the current session with `except`, re-issued under the new generation', async () => {
      const sessions = make(made.store)
      const here = await login(sessions, 'lin')
      const elsewhere = await login(sessions, 'lin')

      const request = await open(sessions, here)
      await sessions.destroyByUser('lin', { except: request })
      const reissued = cookieOf((await sessions.commit(request)).setCookie)

      expect((await open(sessions, reissued)).get('username')).toBe('lin')
      expect((await open(sessions, elsewhere)).rejectedReason).toBe('revoked')
      // The cookie the request came with was issued before the bump: it is refused too.
      expect((await open(sessions, here)).rejectedReason).toBe('revoked')
    })
  })
}

describe('revocable cookie sessions', () => {
  it('costs no store call for a session without a user, and one per signed-in request', async () => {
    const store = spyStore(createMemoryStore({ sweepInterval: 0 }))
    const sessions = make(store)
    const anonymous = sessions.open(undefined)
    anonymous.set('theme', 'dark')
    const anonymousCookie = cookieOf((await sessions.commit(anonymous)).setCookie)
    const signedIn = await login(sessions, 'ada')
    store.calls.get = 0

    const visitor = sessions.open(anonymousCookie)
    expect(visitor.isLoaded).toBe(true)
    expect(visitor.get('theme')).toBe('dark')
    await open(sessions, signedIn)
    await open(sessions, signedIn)

    expect(store.calls.get).toBe(2)
    expect(store.writes()).toBe(0)
  })

  it('trusts a generation for `cache` seconds, so another process sees a revocation within it', async () => {
    const store = createMemoryStore({ sweepInterval: 0 })
    const clock = { t: Date.now() }
    const now = () => clock.t
    const here = make(store, { cache: 5, now })
    const there = make(store, { cache: 5, now })
    const cookie = await login(here, 'ada')
    expect((await open(here, cookie)).get('username')).toBe('ada')

    await there.destroyByUser('ada')

    // This process read the generation a moment ago: within `cache` it still accepts.
    clock.t += 4_000
    expect(here.open(cookie).get('username')).toBe('ada')
    clock.t += 1_000
    expect((await open(here, cookie)).rejectedReason).toBe('revoked')
    // The revoking process knows at once.
    expect((await open(there, cookie)).rejectedReason).toBe('revoked')
  })

  it('gives a login the store’s generation, not a cached one from before a revocation elsewhere', async () => {
    const store = createMemoryStore({ sweepInterval: 0 })
    const here = make(store, { cache: 60 })
    const there = make(store, { cache: 60 })
    await open(here, await login(here, 'ada')) // `here` caches generation 0
    await there.destroyByUser('ada')

    const cookie = await login(here, 'ada')

    expect((await open(there, cookie)).get('username')).toBe('ada')
  })

  it('keeps the generation in an opaque record that outlives every cookie it vouches for', async () => {
    const store = createMemoryStore({ sweepInterval: 0 })
    const t = Date.now()
    const sessions = make(store, { now: () => t })
    await sessions.destroyByUser('ada@example.com')

    const record = await store.get(generationKey('ada@example.com'))

    expect(record?.data).toEqual({ generation: '1' })
    expect(record?.userId).toBeNull()
    expect(record!.expiresAt).toBeGreaterThan(t + 90 * 86_400_000)
    expect(generationKey('ada@example.com')).not.toContain('ada')
  })

  it('answers 503 with Retry-After while the store is down, and heals', async () => {
    const store = spyStore(createMemoryStore({ sweepInterval: 0 }))
    const sessions = make(store)
    const events: SessionEvent[] = []
    sessions.on((event) => events.push(event))
    const cookie = await login(sessions, 'ada')
    const app = await listen(
      createServer(
        withSession(sessions, (_req, res, session) => {
          res.end(String(session.get('username') ?? 'anonymous'))
        }),
      ),
    )
    try {
      store.fail = true
      const down = await app.fetch('/', { headers: { cookie } })
      expect(down.status).toBe(503)
      expect(down.headers.get('retry-after')).toBe('5')
      expect(events.some((event) => event.type === 'store_error')).toBe(true)

      store.fail = false
      const up = await app.fetch('/', { headers: { cookie } })
      expect(await up.text()).toBe('ada')
    } finally {
      await app.close()
    }
  })

  it('logs a browser out everywhere over HTTP', async () => {
    const sessions = make(createMemoryStore({ sweepInterval: 0 }))
    const app = await listen(
      createServer(
        withSession(sessions, async (req, res, session) => {
          if (req.url === '/login') {
            session.set('username', 'ada')
            session.setUser('ada')
          } else if (req.url === '/everywhere') {
            await sessions.destroyByUser('ada', { except: session })
          }
          res.end(String(session.get('username') ?? 'anonymous'))
        }),
      ),
    )
    try {
      const cookieOfResponse = (response: Response) => cookieOf(response.headers.get('set-cookie'))
      const phone = cookieOfResponse(await app.fetch('/login'))
      const laptop = cookieOfResponse(await app.fetch('/login'))

      const kept = cookieOfResponse(await app.fetch('/everywhere', { headers: { cookie: laptop } }))

      expect(await (await app.fetch('/', { headers: { cookie: phone } })).text()).toBe('anonymous')
      expect(await (await app.fetch('/', { headers: { cookie: kept } })).text()).toBe('ada')
    } finally {
      await app.close()
    }
  })

  it('refuses a Flask-format cookie with revocation, which has no room for the generation', () => {
    expect(() =>
      createSessions({ secret, format: 'flask', revocation: { store: createMemoryStore() } }),
    ).toThrow(ConfigError)
    expect(() => createSessions({ secret, revocation: { store: {} as Store } })).toThrow(
      /revocation store has no `get`/,
    )
    expect(() =>
      createSessions({ secret, revocation: { store: createMemoryStore(), cache: -1 } }),
    ).toThrow(/revocation.cache/)
  })

  it('takes its durations in seconds, naming a value that must have meant milliseconds', () => {
    const store = createMemoryStore()

    expect(() => createSessions({ secret, revocation: { store, timeout: 1000 } })).toThrow(
      /revocation.timeout is 1000 seconds.*if you meant 1000 milliseconds, write 1/,
    )
    expect(() => createSessions({ secret, revocation: { store, cache: 5000 } })).toThrow(
      /revocation.cache is 5000 seconds/,
    )
    expect(() =>
      createSessions({ secret, revocation: { store, cache: 0, timeout: 2 } }),
    ).not.toThrow()
  })
})
