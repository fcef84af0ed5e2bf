import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { spyStore } from '../../test/support/spy-store.js'
import { ConfigError, isSessionError } from '../errors.js'
import { createMemoryStore } from '../stores/memory.js'
import type { Session } from './session.js'
import { createSessions, type Sessions } from './sessions.js'

const secret = 'a-test-secret-that-is-32-bytes-long!'
const day = 86_400

/** The `Cookie` header a response's Set-Cookie gives the next request. */
function cookieOf(setCookie: string | null | undefined): string {
  if (!setCookie) throw new Error('no Set-Cookie')
  return setCookie.slice(0, setCookie.indexOf(';'))
}

/** The Expires of a Set-Cookie, in epoch ms, or null for a browser-session cookie. */
function expiresOf(setCookie: string | null | undefined): number | null {
  const match = /Expires=([^;]+)/.exec(setCookie ?? '')
  return match ? Date.parse(match[1]!) : null
}

function clock(start = Date.UTC(2026, 0, 1)) {
  const c = { t: start, now: () => c.t }
  return c
}

/** Opens the request's session for `cookie`, loads it, runs `act` and commits. */
async function request(
  sessions: Sessions,
  cookie: string | undefined,
  act: (session: Session) => unknown,
) {
  const session = sessions.open(cookie)
  await session.load()
  await act(session)
  return sessions.commit(session)
}

describe('durations', () => {
  it('takes storeTimeout in seconds, fractions included', () => {
    const sessions = createSessions({ secret, store: createMemoryStore(), storeTimeout: 0.5 })

    expect(sessions.mode).toBe('store')
  })

  it('refuses a storeTimeout in milliseconds, naming the unit and the value meant', () => {
    expect(() =>
      createSessions({ secret, store: createMemoryStore(), storeTimeout: 1000 }),
    ).toThrow(
      /storeTimeout is 1000 seconds, longer than the 60 s.*if you meant 1000 milliseconds, write 1$/,
    )
  })

  it('refuses a maxAge in milliseconds (express-session’s cookie.maxAge)', () => {
    expect(() => createSessions({ secret, maxAge: 30 * day * 1000 })).toThrow(
      /maxAge is 2592000000 seconds, longer than the 400 days.*write 2592000$/,
    )
  })

  it('refuses a negative or non-numeric duration with its unit', () => {
    expect(() => createSessions({ secret, absoluteTimeout: -1 })).toThrow(
      /absoluteTimeout must be a positive number of seconds, got -1/,
    )
    expect(() =>
      createSessions({ secret, store: createMemoryStore(), pruneInterval: '60' as never }),
    ).toThrow(/pruneInterval must be a non-negative number of seconds, got string/)
  })

  it('bounds a store call by storeTimeout seconds', async () => {
    const slow = createMemoryStore()
    const store = { ...slow, name: 'slow', get: () => new Promise<null>(() => {}) }
    const sessions = createSessions({ secret, store, storeTimeout: 0.05 })
    const first = sessions.open(undefined)
    first.set('a', 1)
    const cookie = cookieOf((await sessions.commit(first)).setCookie)
    const started = Date.now()

    const error = await sessions
      .open(cookie)
      .load()
      .catch((e: unknown) => e)

    expect(isSessionError(error, 'STORE_UNAVAILABLE')).toBe(true)
    expect(Date.now() - started).toBeLessThan(1000)
  })
})

describe('genid', () => {
  const store = () => createMemoryStore({ sweepInterval: 0 })

  it('accepts random base64url and hex ids of 128 bits', () => {
    for (const genid of [
      () => randomBytes(16).toString('base64url'),
      () => randomBytes(16).toString('hex'),
      () => `eu-${randomBytes(16).toString('hex')}`,
    ]) {
      expect(createSessions({ secret, store: store(), genid }).mode).toBe('store')
    }
  })

  it('refuses ids that are short, repeated, counters or clocks, or not base64url', () => {
    let n = 0
    const cases: [() => unknown, RegExp][] = [
      [() => randomBytes(12).toString('hex'), /at most 96 bits/],
      [() => randomUUID(), /UUIDs, which hold at most 122 random bits/],
      [() => 'a'.repeat(43), /the same id twice/],
      [() => `session-${String(n++).padStart(30, '0')}`, /vary in \d+ of their 38 characters/],
      [
        () => `${Date.now()}${Math.random().toString(36).slice(2, 12)}`,
        /vary in \d+ of their|at most/,
      ],
      [() => randomBytes(24).toString('base64'), /returned ".*"|the same id/],
      [() => 42, /returned a number/],
      [async () => randomUUID(), /a Promise \(genid must be synchronous\)/],
    ]
    for (const [genid, message] of cases) {
      expect(() =>
        createSessions({ secret, store: store(), genid: genid as () => string }),
      ).toThrow(message)
    }
  })

  it('states the rule in its error', () => {
    expect(() => createSessions({ secret, store: store(), genid: () => 'short' })).toThrow(
      /22 to 256 characters of A-Z a-z 0-9 - _ carrying at least 128 random bits/,
    )
  })

  it('is refused for cookie sessions, which have no id', () => {
    expect(() =>
      createSessions({ secret, genid: () => randomBytes(16).toString('hex') } as Parameters<
        typeof createSessions
      >[0]),
    ).toThrow(ConfigError)
  })

  it('names the session: the cookie carries the signed id, the store its SHA-256', async () => {
    const ids: string[] = []
    const sessions = createSessions({
      secret,
      store: store(),
      genid: () => {
        const id = `eu-${randomBytes(24).toString('base64url')}`
        ids.push(id)
        return id
      },
    })

    const { setCookie } = await request(sessions, undefined, (s) => s.set('a', 1))
    const cookie = cookieOf(setCookie)
    const next = sessions.open(cookie)
    await next.load()

    const id = ids.at(-1)!
    expect(cookie.startsWith(`session=${id}.`)).toBe(true)
    expect(sessions.keyOf(next)).toBe(createHash('sha256').update(id).digest('base64url'))
    expect(next.get('a')).toBe(1)
  })

  it('fails the request, not the store, when genid later returns a bad id', async () => {
    let calls = 0
    const sessions = createSessions({
      secret,
      store: store(),
      genid: () => (++calls > 8 ? 'x' : randomBytes(16).toString('hex')),
    })

    const error = await request(sessions, undefined, (s) => s.set('a', 1)).catch((e) => e)

    expect(isSessionError(error, 'BAD_SESSION_ID')).toBe(true)
  })

  it('still reads sessions whose ids tessera made before genid was set', async () => {
    const shared = store()
    const before = createSessions({ secret, store: shared })
    const { setCookie } = await request(before, undefined, (s) => s.set('a', 1))
    const after = createSessions({
      secret,
      store: shared,
      genid: () => randomBytes(16).toString('hex'),
    })

    const session = after.open(cookieOf(setCookie))
    await session.load()

    expect(session.get('a')).toBe(1)
  })
})

describe('session.maxAge', () => {
  for (const mode of ['cookie', 'store'] as const) {
    describe(`with ${mode} sessions`, () => {
      const make = () => {
        const c = clock()
        const store =
          mode === 'store' ? spyStore(createMemoryStore({ sweepInterval: 0, now: c.now })) : null
        const options = { secret, maxAge: 3600, now: c.now, touchInterval: 0 }
        const sessions = store
          ? createSessions({ ...options, store })
          : createSessions({ secret, maxAge: 3600, now: c.now })
        return { c, sessions: sessions as Sessions, store }
      }

      it('keeps one session 30 days and lets another end with the browser', async () => {
        const { c, sessions } = make()

        const remembered = await request(sessions, undefined, (s) => {
          s.set('user', 'a')
          s.permanent = true
          s.maxAge = 30 * day
        })
        const plain = await request(sessions, undefined, (s) => s.set('user', 'b'))

        expect(expiresOf(remembered.setCookie)).toBe(Math.floor(c.t / 1000 + 30 * day) * 1000)
        expect(expiresOf(plain.setCookie)).toBeNull()
      })

      it('lives past the app’s maxAge when its own is longer, and ends at its own', async () => {
        const { c, sessions } = make()
        const { setCookie } = await request(sessions, undefined, (s) => {
          s.set('user', 'a')
          s.maxAge = 2 * day
        })
        const cookie = cookieOf(setCookie)
        const read = async () => {
          const s = sessions.open(cookie)
          await s.load()
          return [s.get('user'), s.maxAge]
        }

        c.t += day * 1000
        const after1 = await read()
        c.t += day * 1000 + 1000
        const after2 = await read()

        expect(after1).toEqual(['a', 2 * day])
        expect(after2).toEqual([undefined, null])
      })

      it('ends at the app’s maxAge without one, and at a shorter own one', async () => {
        const { c, sessions } = make()
        const short = cookieOf(
          (
            await request(sessions, undefined, (s) => {
              s.set('user', 'a')
              s.maxAge = 60
            })
          ).setCookie,
        )

        c.t += 61_000
        const s = sessions.open(short)
        await s.load()

        expect(s.get('user')).toBeUndefined()
      })

      it('is bounded by absoluteTimeout, with a hint when the value looks like milliseconds', async () => {
        const { sessions } = make()
        const session = sessions.open(undefined)

        expect(() => {
          session.maxAge = 30 * day * 1000
        }).toThrow(/longer than absoluteTimeout \(90 days\).*write 2592000$/)
        expect(() => {
          session.maxAge = 0
        }).toThrow(/positive number of seconds/)
      })

      it('keeps its lifetime out of the data', async () => {
        const { sessions } = make()
        const { setCookie } = await request(sessions, undefined, (s) => {
          s.set('user', 'a')
          s.maxAge = 600
        })
        const session = sessions.open(cookieOf(setCookie))
        await session.load()

        expect(session.toJSON()).toEqual({ user: 'a' })
        expect(session.maxAge).toBe(600)
      })
    })
  }

  it('keeps a store session’s own lifetime through clear() and drops it when set to null', async () => {
    const c = clock()
    const store = createMemoryStore({ sweepInterval: 0, now: c.now })
    const sessions = createSessions({ secret, store, maxAge: 3600, now: c.now })
    const cookie = cookieOf(
      (
        await request(sessions, undefined, (s) => {
          s.set('user', 'a')
          s.maxAge = 2 * day
        })
      ).setCookie,
    )
    const key = () => {
      const s = sessions.open(cookie)
      return sessions.keyOf(s)!
    }

    await request(sessions, cookie, (s) => {
      s.clear()
      s.set('user', 'b')
    })
    const kept = await store.get(key())
    await request(sessions, cookie, (s) => {
      s.maxAge = null
    })
    const dropped = await store.get(key())

    expect(kept!.expiresAt - c.t).toBe(2 * day * 1000)
    expect(dropped!.expiresAt - c.t).toBe(3600 * 1000)
  })

  it('refuses the store’s key for it as a data key', () => {
    const sessions = createSessions({ secret, store: createMemoryStore() })
    const session = sessions.open(undefined)

    expect(() => session.set('tessera:maxAge', 1)).toThrow(/reserved: tessera:maxAge/)
  })

  it('is refused in Flask’s cookie format, which has no such field', () => {
    const sessions = createSessions({ secret, format: 'flask' })
    const session = sessions.open(undefined)

    expect(() => {
      session.maxAge = 600
    }).toThrow(/flask cookie format has no per-session lifetime/)
  })
})

describe('session.touch()', () => {
  it('refreshes a store session’s idle expiry before touchInterval is due', async () => {
    const c = clock()
    const store = spyStore(createMemoryStore({ sweepInterval: 0, now: c.now }))
    const sessions = createSessions({ secret, store, idleTimeout: 3600, now: c.now })
    const cookie = cookieOf((await request(sessions, undefined, (s) => s.set('a', 1))).setCookie)

    c.t += 10_000
    await request(sessions, cookie, (s) => void s.get('a'))
    const untouched = store.calls.update
    await request(sessions, cookie, (s) => s.touch())
    const session = sessions.open(cookie)
    const record = await store.get(sessions.keyOf(session)!)

    expect(untouched).toBe(0)
    expect(store.calls.update).toBe(1)
    expect(record!.expiresAt).toBe(c.t + 3600_000)
  })

  it('issues a cookie session again, restarting its lifetime', async () => {
    const c = clock()
    const sessions = createSessions({ secret, maxAge: 3600, now: c.now })
    const cookie = cookieOf((await request(sessions, undefined, (s) => s.set('a', 1))).setCookie)

    c.t += 3000_000
    const plain = await request(sessions, cookie, (s) => void s.get('a'))
    const touched = await request(sessions, cookie, (s) => s.touch())
    c.t += 3000_000
    const later = sessions.open(cookieOf(touched.setCookie))

    expect(plain.setCookie).toBeNull()
    expect(later.get('a')).toBe(1)
  })
})

describe('session.reload()', () => {
  it('drops a store session’s unsaved changes and reads what another request saved', async () => {
    const sessions = createSessions({ secret, store: createMemoryStore({ sweepInterval: 0 }) })
    const cookie = cookieOf((await request(sessions, undefined, (s) => s.set('a', 1))).setCookie)
    const session = sessions.open(cookie)
    await session.load()
    session.set('a', 2)
    session.regenerate()
    await request(sessions, cookie, (s) => s.set('b', 3))

    await session.reload()
    const result = await sessions.commit(session)

    expect(session.toJSON()).toEqual({ a: 1, b: 3 })
    expect(session.isModified).toBe(false)
    expect(result.setCookie).toBeNull()
  })

  it('gives an empty session when the store session was revoked meanwhile', async () => {
    const sessions = createSessions({ secret, store: createMemoryStore({ sweepInterval: 0 }) })
    const cookie = cookieOf((await request(sessions, undefined, (s) => s.set('a', 1))).setCookie)
    const session = sessions.open(cookie)
    await session.load()

    await sessions.destroy(sessions.keyOf(session)!)
    await session.reload()

    expect(session.isEmpty).toBe(true)
  })

  it('reads a cookie session again from the request’s cookie', async () => {
    const sessions = createSessions({ secret })
    const cookie = cookieOf((await request(sessions, undefined, (s) => s.set('a', 1))).setCookie)
    const session = sessions.open(cookie)
    session.set('a', 2)
    session.destroy()

    await session.reload()

    expect(session.get('a')).toBe(1)
    expect(session.isDestroyed).toBe(false)
    expect((await sessions.commit(session)).setCookie).toBeNull()
  })

  it('refuses to reload a cookie session after it was saved', async () => {
    const sessions = createSessions({ secret })
    const session = sessions.open(undefined)
    session.set('a', 1)
    await sessions.commit(session)

    const error = await session.reload().catch((e: unknown) => e)

    expect(isSessionError(error, 'RELOAD_AFTER_SAVE')).toBe(true)
  })
})
