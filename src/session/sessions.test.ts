import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { spyStore } from '../../test/support/spy-store.js'
import { ConfigError, StoreError } from '../errors.js'
import { createMemoryStore } from '../stores/memory.js'
import type { Store } from '../stores/types.js'
import {
  type CookieSessionsOptions,
  createSessions,
  type StoreSessionsOptions,
} from './sessions.js'

const secret = 'a-test-secret-that-is-32-bytes-long!'
const older = 'an-older-secret-that-is-32-bytes-long'

/** The cookie value a Set-Cookie header sets. */
function cookieValue(setCookie: string | null): string {
  if (!setCookie) throw new Error('no Set-Cookie')
  return setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';'))
}

function clock(start = Date.UTC(2026, 0, 1)) {
  const c = { t: start, now: () => c.t }
  return c
}

describe('createSessions with cookie sessions', () => {
  const make = (extra: Partial<CookieSessionsOptions> = {}) => createSessions({ secret, ...extra })

  it('sets no cookie and no Vary when the request never touches the session', async () => {
    const sessions = make()
    const session = sessions.open(undefined)

    expect(await sessions.commit(session)).toEqual({ setCookie: null, vary: false })
  })

  it('sets a browser-session cookie when data is written, and reads it back', async () => {
    const sessions = make()
    const first = sessions.open(undefined)
    first.set('username', 'admin')

    const { setCookie, vary } = await sessions.commit(first)
    const second = sessions.open(`session=${cookieValue(setCookie)}`)

    expect(vary).toBe(true)
    expect(setCookie).not.toContain('Expires')
    expect(second.get('username')).toBe('admin')
    expect(second.isNew).toBe(false)
  })

  it('only varies on the cookie when a request reads the session without changing it', async () => {
    const sessions = make()
    const first = sessions.open(undefined)
    first.set('a', 1)
    const cookie = `session=${cookieValue((await sessions.commit(first)).setCookie)}`
    const reader = sessions.open(cookie)

    reader.get('a')

    expect(await sessions.commit(reader)).toEqual({ setCookie: null, vary: true })
  })

  it('deletes the cookie when the request empties the session', async () => {
    const sessions = make()
    const first = sessions.open(undefined)
    first.set('a', 1)
    const cookie = `session=${cookieValue((await sessions.commit(first)).setCookie)}`
    const second = sessions.open(cookie)

    second.pop('a')
    const { setCookie } = await sessions.commit(second)

    expect(setCookie).toMatch(/^session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0/)
  })

  it('gives a permanent session Expires after maxAge and refreshes it on each read', async () => {
    const c = clock()
    const sessions = make({ now: c.now, maxAge: 3600 })
    const first = sessions.open(undefined)
    first.set('a', 1)
    first.permanent = true
    const { setCookie } = await sessions.commit(first)
    c.t += 10_000
    const reader = sessions.open(`session=${cookieValue(setCookie)}`)
    reader.get('a')

    const refreshed = (await sessions.commit(reader)).setCookie

    expect(setCookie).toContain(`Expires=${new Date(Date.UTC(2026, 0, 1, 1)).toUTCString()}`)
    expect(refreshed).toContain(
      `Expires=${new Date(Date.UTC(2026, 0, 1, 1) + 10_000).toUTCString()}`,
    )
    expect(reader.permanent).toBe(true)
  })

  it('gives an empty session, with the reason, for a tampered or expired cookie', async () => {
    const c = clock()
    const sessions = make({ now: c.now, maxAge: 60 })
    const first = sessions.open(undefined)
    first.set('a', 1)
    const value = cookieValue((await sessions.commit(first)).setCookie)

    const i = value.length - 10
    const flipped = `${value.slice(0, i)}${value[i] === 'A' ? 'B' : 'A'}${value.slice(i + 1)}`
    const tampered = sessions.open(`session=${flipped}`)
    c.t += 61_000
    const expired = sessions.open(`session=${value}`)

    expect(tampered.get('a')).toBeUndefined()
    expect(tampered.rejectedReason).toBe('bad_signature')
    expect(expired.get('a')).toBeUndefined()
    expect(expired.rejectedReason).toBe('expired')
  })

  it('makes a request with two different valid session cookies anonymous', async () => {
    const sessions = make()
    const a = sessions.open(undefined)
    a.set('user', 'a')
    const b = sessions.open(undefined)
    b.set('user', 'b')
    const [va, vb] = [
      cookieValue((await sessions.commit(a)).setCookie),
      cookieValue((await sessions.commit(b)).setCookie),
    ]

    const both = sessions.open(`session=${va}; session=${vb}`)
    const withGarbage = sessions.open(`session=garbage; session=${va}`)

    expect(both.get('user')).toBeUndefined()
    expect(withGarbage.get('user')).toBe('a')
  })

  it('re-issues a cookie signed with an older secret under the current one', async () => {
    const old = createSessions({ secret: older })
    const first = old.open(undefined)
    first.set('a', 1)
    const cookie = `session=${cookieValue((await old.commit(first)).setCookie)}`
    const rotated = createSessions({ secret: [secret, older] })
    const reader = rotated.open(cookie)

    expect(reader.get('a')).toBe(1)
    const { setCookie } = await rotated.commit(reader)
    expect(
      createSessions({ secret })
        .open(`session=${cookieValue(setCookie)}`)
        .get('a'),
    ).toBe(1)
  })

  it('keeps a user binding in the cookie', async () => {
    const sessions = make()
    const first = sessions.open(undefined)
    first.setUser('u-1')
    first.set('a', 1)

    const second = sessions.open(`session=${cookieValue((await sessions.commit(first)).setCookie)}`)

    expect(second.userId).toBe('u-1')
    expect(second.keys()).toEqual(['a'])
  })

  it('has no operations on other sessions: calling one does not compile', () => {
    const sessions = make()

    // @ts-expect-error cookie sessions keep nothing on the server to list
    const list = () => sessions.listByUser('u')
    // @ts-expect-error nor to revoke
    const revoke = () => sessions.destroyByUser('u')

    expect(sessions.mode).toBe('cookie')
    expect(list).toThrow(TypeError)
    expect(revoke).toThrow(TypeError)
  })

  it('describes its mode', () => {
    expect(make().description).toBe('cookie/native')
    expect(make({ encrypt: true }).description).toBe('cookie/encrypted')
  })

  it('says how to give a missing secret, without promising to read SECRET_KEY itself (#13)', () => {
    const missing = () => createSessions({} as CookieSessionsOptions)

    expect(missing).toThrow(ConfigError)
    expect(missing).toThrow(/pass `secret`/)
    expect(missing).not.toThrow(/or set SECRET_KEY/)
  })

  it('refuses to start without a strong secret', () => {
    expect(() => createSessions({ secret: '' })).toThrow(ConfigError)
    expect(() => createSessions({ secret: 'changeme' })).toThrow(/at least 32/)
  })
})

describe('createSessions with a store', () => {
  function make(extra: Partial<Omit<StoreSessionsOptions, 'store'>> = {}) {
    const c = clock()
    const store = spyStore(createMemoryStore({ sweepInterval: 0, now: c.now }))
    const sessions = createSessions({ secret, store, now: c.now, ...extra })
    return { store, sessions, c }
  }

  async function login(sessions: ReturnType<typeof make>['sessions'], user = 'admin') {
    const session = sessions.open(undefined)
    session.set('username', user)
    session.setUser(user)
    const { setCookie } = await sessions.commit(session)
    return `session=${cookieValue(setCookie)}`
  }

  it('creates nothing in the store for an anonymous visitor', async () => {
    const { store, sessions } = make()
    const session = sessions.open(undefined)

    session.get('username')
    session.pop('username')
    await sessions.commit(session)

    expect(store.calls).toEqual({ get: 0, create: 0, update: 0, destroy: 0 })
  })

  it('puts a signed 256-bit id in the cookie and keeps the data under its hash', async () => {
    const { store, sessions } = make()

    const cookie = await login(sessions)

    const value = cookie.slice('session='.length)
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/)
    const id = value.split('.')[0]!
    expect(await store.get(id)).toBeNull()
    expect(store.calls.create).toBe(1)
  })

  it('reads a session with one store call and writes nothing when unchanged', async () => {
    const { store, sessions } = make()
    const cookie = await login(sessions)
    const before = { ...store.calls }

    const session = sessions.open(cookie)
    await session.load()
    const user = session.get('username')
    const result = await sessions.commit(session)

    expect(user).toBe('admin')
    expect(result).toEqual({ setCookie: null, vary: true })
    expect(store.calls.get - before.get).toBe(1)
    expect(store.writes()).toBe(before.create + before.update + before.destroy)
  })

  it('refreshes the idle expiry at most once per touch interval', async () => {
    const { store, sessions, c } = make({ touchInterval: 60 })
    const cookie = await login(sessions)
    const read = async () => {
      const s = sessions.open(cookie)
      await s.load()
      s.get('username')
      await sessions.commit(s)
    }

    c.t += 30_000
    await read()
    const early = store.calls.update
    c.t += 31_000
    await read()

    expect(early).toBe(0)
    expect(store.calls.update).toBe(1)
  })

  it('expires an idle session and then deletes its cookie', async () => {
    const { sessions, c } = make({ idleTimeout: 1800 })
    const cookie = await login(sessions)

    c.t += 1800_000 + 1000
    const session = sessions.open(cookie)
    await session.load()
    const user = session.get('username')
    const { setCookie } = await sessions.commit(session)

    expect(user).toBeUndefined()
    expect(setCookie).toContain('Max-Age=0')
  })

  it('ends a session at its absolute timeout however active it is', async () => {
    const { sessions, c } = make({ idleTimeout: 1800, absoluteTimeout: 3600, touchInterval: 0 })
    const cookie = await login(sessions)
    const seen: unknown[] = []

    for (let i = 0; i < 7; i++) {
      c.t += 10 * 60_000
      const s = sessions.open(cookie)
      await s.load()
      seen.push(s.get('username'))
      await sessions.commit(s)
    }

    expect(seen.slice(0, 5)).toEqual(['admin', 'admin', 'admin', 'admin', 'admin'])
    expect(seen[6]).toBeUndefined()
  })

  it('regenerates: a new id, the same data, and the old id is dead', async () => {
    const { sessions } = make()
    const cookie = await login(sessions)
    const s = sessions.open(cookie)
    await s.load()

    s.regenerate()
    const next = `session=${cookieValue((await sessions.commit(s)).setCookie)}`
    const viaOld = sessions.open(cookie)
    await viaOld.load()
    const viaNew = sessions.open(next)
    await viaNew.load()

    expect(next).not.toBe(cookie)
    expect(viaOld.get('username')).toBeUndefined()
    expect(viaNew.get('username')).toBe('admin')
  })

  it('destroys: removed from the store and the cookie deleted', async () => {
    const { sessions, store } = make()
    const cookie = await login(sessions)
    const s = sessions.open(cookie)
    await s.load()

    s.destroy()
    const { setCookie } = await sessions.commit(s)
    const again = sessions.open(cookie)
    await again.load()

    expect(setCookie).toContain('Max-Age=0')
    expect(store.calls.destroy).toBe(1)
    expect(again.get('username')).toBeUndefined()
  })

  it('keeps both changes of two concurrent requests that set different keys', async () => {
    const { sessions } = make()
    const cookie = await login(sessions)
    const a = sessions.open(cookie)
    const b = sessions.open(cookie)
    await Promise.all([a.load(), b.load()])

    a.set('a', 1)
    b.set('b', 2)
    await Promise.all([sessions.commit(a), sessions.commit(b)])
    const after = sessions.open(cookie)
    await after.load()

    expect(after.toJSON()).toMatchObject({ username: 'admin', a: 1, b: 2 })
  })

  it('never brings back a session revoked while a request was using it', async () => {
    const { sessions } = make()
    const cookie = await login(sessions)
    const s = sessions.open(cookie)
    await s.load()

    await sessions.destroyByUser('admin')
    s.set('late', true)
    const { setCookie } = await sessions.commit(s)
    const after = sessions.open(cookie)
    await after.load()

    expect(setCookie).toContain('Max-Age=0')
    expect(after.get('username')).toBeUndefined()
  })

  it('offers list and prune where its store has them, and not where it does not (a compile error)', async () => {
    const memory = createMemoryStore({ sweepInterval: 0 })
    const full = createSessions({ secret, store: memory })
    const required: Store = {
      name: 'required-only',
      get: (key) => memory.get(key),
      create: (key, session) => memory.create(key, session),
      update: (key, patch) => memory.update(key, patch),
      destroy: (key) => memory.destroy(key),
      listByUser: (user) => memory.listByUser(user),
      destroyByUser: (user, options) => memory.destroyByUser(user, options),
    }
    const minimal = createSessions({ secret, store: required })

    expect(await full.prune()).toBe(0)
    expect(await full.list()).toEqual([])
    // @ts-expect-error a store without prune() gives sessions without prune()
    const prune = () => minimal.prune()
    expect(prune).toThrow(TypeError)
    expect('list' in minimal).toBe(false)
  })

  it('refuses, when it is made, a store without the required methods, naming them', () => {
    const memory = createMemoryStore({ sweepInterval: 0 })
    const partial = { ...memory, name: 'partial', listByUser: undefined } as unknown as Store

    const make = () => createSessions({ secret, store: partial })

    expect(make).toThrow(ConfigError)
    expect(make).toThrow(/partial session store: the store has no `listByUser`/)
  })

  it('never brings back, through regenerate(), a session revoked while the request ran', async () => {
    const { sessions } = make()
    const cookie = await login(sessions)
    const s = sessions.open(cookie)
    await s.load()

    await sessions.destroyByUser('admin')
    s.regenerate()
    const { setCookie } = await sessions.commit(s)

    expect(setCookie).toContain('Max-Age=0')
    expect(await sessions.listByUser('admin')).toEqual([])
  })

  it("lists a user's sessions and logs out everywhere else", async () => {
    const { sessions } = make()
    const here = await login(sessions)
    await login(sessions)
    await login(sessions)
    const current = sessions.open(here)
    await current.load()

    const before = await sessions.listByUser('admin')
    const revoked = await sessions.destroyByUser('admin', { except: sessions.keyOf(current)! })
    const after = await sessions.listByUser('admin')

    expect(before).toHaveLength(3)
    expect(revoked).toBe(2)
    expect(after.map((s) => s.key)).toEqual([sessions.keyOf(current)])
  })

  it('makes no store call for a cookie whose signature is wrong', async () => {
    const { sessions, store } = make()
    const cookie = await login(sessions)
    const before = store.calls.get

    const forged = sessions.open(`${cookie.slice(0, -3)}AAA`)
    await forged.load()
    const unsigned = sessions.open(`session=${'A'.repeat(43)}`)
    await unsigned.load()

    expect(store.calls.get).toBe(before)
    expect(forged.get('username')).toBeUndefined()
    expect(forged.rejectedReason).toBe('bad_signature')
  })

  it('accepts an id signed with an older secret and re-signs it with the current one', async () => {
    const store = createMemoryStore({ sweepInterval: 0 })
    const old = createSessions({ secret: older, store })
    const first = old.open(undefined)
    first.set('a', 1)
    const cookie = `session=${cookieValue((await old.commit(first)).setCookie)}`
    const rotated = createSessions({ secret: [secret, older], store })

    const s = rotated.open(cookie)
    await s.load()
    const { setCookie } = await rotated.commit(s)

    expect(s.get('a')).toBe(1)
    expect(setCookie).not.toBeNull()
    expect(cookieValue(setCookie)).not.toBe(cookie.slice('session='.length))
  })

  it('fails with a StoreError, not an empty session, when the store is down', async () => {
    const { sessions, store } = make()
    const cookie = await login(sessions)
    store.fail = true

    const s = sessions.open(cookie)

    await expect(s.load()).rejects.toThrow(StoreError)
    await expect(s.load()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 })
  })

  it('fails a store call that takes longer than storeTimeout', async () => {
    const slow = createMemoryStore({ sweepInterval: 0 })
    const sessions = createSessions({
      secret,
      store: { ...slow, name: 'slow', get: () => new Promise<null>(() => {}) },
      storeTimeout: 0.05,
    })
    const first = sessions.open(undefined)
    first.set('a', 1)
    const cookie = `session=${cookieValue((await sessions.commit(first)).setCookie)}`

    const started = Date.now()
    await expect(sessions.open(cookie).load()).rejects.toThrow(/no answer within 50 ms/)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('sweeps expired sessions from the store in the background', async () => {
    const store = createMemoryStore({ sweepInterval: 0 })
    const sessions = createSessions({ secret, store, idleTimeout: 1, pruneInterval: 0.05 })
    const s = sessions.open(undefined)
    s.set('a', 1)
    await sessions.commit(s)

    await new Promise((resolve) => setTimeout(resolve, 1300))
    await sessions.close()

    expect(store.size).toBe(0)
  })

  it('refuses an idle timeout longer than the absolute one', () => {
    expect(() =>
      createSessions({ secret, store: createMemoryStore(), idleTimeout: 10, absoluteTimeout: 5 }),
    ).toThrow(ConfigError)
  })
})

describe('createSessions with a schema', () => {
  const schema = z.object({ username: z.string().max(64), visits: z.number().int().optional() })

  for (const mode of ['cookie', 'store'] as const) {
    it(`gives an empty session and says why when the data fails the schema (${mode})`, async () => {
      const store = createMemoryStore({ sweepInterval: 0 })
      const base = mode === 'store' ? { secret, store } : { secret }
      const before = createSessions(base)
      const old = before.open(undefined)
      old.set('username', 42)
      const cookie = `session=${cookieValue((await before.commit(old)).setCookie)}`
      const after = createSessions({ ...base, schema })
      const events: unknown[] = []
      after.on((event) => events.push(event))

      const session = after.open(cookie)
      await session.load()

      expect(session.get('username')).toBeUndefined()
      expect(session.rejectedReason).toBe('invalid_data')
      expect(events).toEqual([
        {
          type: 'rejected',
          reason: 'invalid_data',
          issues: [expect.stringMatching(/^username: /)],
        },
      ])
    })

    it(`keeps data that passes the schema (${mode})`, async () => {
      const store = createMemoryStore({ sweepInterval: 0 })
      const sessions = createSessions(
        mode === 'store' ? { secret, store, schema } : { secret, schema },
      )
      const first = sessions.open(undefined)
      first.set('username', 'admin')
      first.set('visits', 3)
      const cookie = `session=${cookieValue((await sessions.commit(first)).setCookie)}`

      const session = sessions.open(cookie)
      await session.load()

      expect(session.toJSON()).toEqual({ username: 'admin', visits: 3 })
    })
  }
})

describe('lifecycle events', () => {
  it('reports created, regenerated, destroyed and rejected, without session ids', async () => {
    const sessions = createSessions({ secret, store: createMemoryStore({ sweepInterval: 0 }) })
    const events: { type: string }[] = []
    sessions.on((event) => events.push(event))
    const a = sessions.open(undefined)
    a.set('x', 1)
    const cookie = `session=${cookieValue((await sessions.commit(a)).setCookie)}`
    const b = sessions.open(cookie)
    await b.load()
    b.regenerate()
    const next = `session=${cookieValue((await sessions.commit(b)).setCookie)}`
    const c = sessions.open(next)
    await c.load()
    c.destroy()
    await sessions.commit(c)
    await sessions.open('session=forged.value').load()

    expect(events.map((e) => e.type)).toEqual(['created', 'regenerated', 'destroyed', 'rejected'])
    expect(JSON.stringify(events)).not.toContain(cookie.slice(8, 30))
  })

  it('checks a store session cookie when the request uses its session, as cookie sessions do', async () => {
    const store = createMemoryStore({ sweepInterval: 0 })
    const sessions = createSessions({ secret, store })
    const events: { type: string }[] = []
    sessions.on((event) => events.push(event))
    const forged = `session=${'A'.repeat(43)}.${'B'.repeat(43)}`

    const untouched = sessions.open(forged)
    expect(sessions.commitSync(untouched)).toEqual({ setCookie: null, vary: false })
    expect(events).toEqual([])

    const used = sessions.open(forged)
    expect(used.rejectedReason).toBe('bad_signature')
    expect(used.get('x')).toBeUndefined()
    expect(events.map((e) => e.type)).toEqual(['rejected'])
  })
})
