import { describe, expect, it } from 'vitest'
import { SerializeError, SessionNotLoadedError } from '../errors.js'
import { createMemoryStore } from '../stores/memory.js'
import type { SessionPatch, Store } from '../stores/types.js'
import type { Session } from './session.js'
import { createSessions } from './sessions.js'

const secret = 'a-test-secret-that-is-32-bytes-long!'
const cookieSessions = createSessions({ secret })

/** The `Cookie` header a response's Set-Cookie gives the next request. */
function cookieOf(setCookie: string | null | undefined): string {
  if (!setCookie) throw new Error('no Set-Cookie')
  return setCookie.slice(0, setCookie.indexOf(';'))
}

/** A cookie session as the next request sees it: holding `data`, untouched so far. */
function loaded<T extends Record<string, unknown>>(data: Record<string, unknown> = {}) {
  if (Object.keys(data).length === 0) return cookieSessions.open(undefined) as Session<T>
  const first = cookieSessions.open(undefined)
  first.update(data)
  const cookie = cookieOf(cookieSessions.commitSync(first)?.setCookie)
  return cookieSessions.open(cookie) as Session<T>
}

/** A memory store that remembers the patches it was given and counts its reads. */
function recordingStore() {
  const store = createMemoryStore()
  const patches: SessionPatch[] = []
  let reads = 0
  const recording: Store = {
    ...store,
    name: store.name,
    get: (key) => {
      reads++
      return store.get(key)
    },
    create: (key, session) => store.create(key, session),
    update: (key, patch) => {
      patches.push(patch)
      return store.update(key, patch)
    },
    destroy: (key) => store.destroy(key),
    listByUser: (user) => store.listByUser(user),
    destroyByUser: (user, options) => store.destroyByUser(user, options),
  }
  return { store: recording, patches, reads: () => reads }
}

/** A store session holding `data`, opened for a second request (not loaded yet). */
async function storeSession<T extends Record<string, unknown>>(data: Record<string, unknown>) {
  const recording = recordingStore()
  const sessions = createSessions<T>({ secret, store: recording.store })
  const first = sessions.open(undefined)
  first.update(data as Partial<T>)
  const cookie = cookieOf((await sessions.commit(first)).setCookie)
  return { sessions, session: sessions.open(cookie), ...recording }
}

describe('Session', () => {
  it('reads, writes, deletes and pops like a dict', () => {
    const session = loaded<{ a: number; b: string }>({ a: 1 })

    session.set('b', 'x')

    expect(session.get('a')).toBe(1)
    expect(session.has('b')).toBe(true)
    expect(session.pop('a')).toBe(1)
    expect(session.pop('a', 7)).toBe(7)
    expect(session.delete('b')).toBe(true)
    expect(session.keys()).toEqual([])
  })

  it('returns the fallback of get for a missing key', () => {
    const session = loaded<{ n: number }>()

    expect(session.get('n')).toBeUndefined()
    expect(session.get('n', 3)).toBe(3)
  })

  it('is not modified by reads, and is by every write', () => {
    const session = loaded({ a: 1 })

    session.get('a')
    session.has('a')
    session.keys()
    const afterReads = session.isModified
    session.set('a', 2)

    expect(afterReads).toBe(false)
    expect(session.isModified).toBe(true)
  })

  it('is not modified by popping or deleting a missing key, as in Flask', () => {
    const session = loaded()

    session.pop('missing', null)
    session.delete('missing')

    expect(session.isModified).toBe(false)
  })

  it('counts clear() as a change even when empty, as in Flask', () => {
    const session = loaded()

    session.clear()

    expect(session.isModified).toBe(true)
  })

  it('is accessed by any read, including has and size', () => {
    const a = loaded({ x: 1 })
    const b = loaded({ x: 1 })

    a.has('x')
    void b.size

    expect(a.isAccessed).toBe(true)
    expect(b.isAccessed).toBe(true)
    expect(loaded().isAccessed).toBe(false)
  })

  it('saves only the keys that changed, for per-key saves', async () => {
    const { sessions, session, patches } = await storeSession({ a: 1, b: 2, d: 4 })
    await session.load()

    session.set('a', 10)
    session.delete('b')
    session.set('c', 3)
    await sessions.commit(session)

    expect(Object.keys(patches[0]!.set ?? {}).sort()).toEqual(['a', 'c'])
    expect(patches[0]!.unset).toEqual(['b'])
  })

  it('marks nested values read during the request when markModified() has no keys', async () => {
    const { sessions, session, patches } = await storeSession<{ cart: string[]; name: string }>({
      cart: ['a'],
      name: 'n',
    })
    await session.load()

    session.get('cart')!.push('b')
    session.get('name')
    session.markModified()
    await sessions.commit(session)

    expect(session.isModified).toBe(true)
    expect(patches[0]!.set).toEqual({ cart: '["a","b"]' })
  })

  it('refuses keys that could reach a prototype', () => {
    const session = loaded()

    expect(() => session.set('__proto__', { isAdmin: true })).toThrow(/cannot be used/)
    expect(() => session.set('constructor', {})).toThrow(/cannot be used/)
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined()
  })

  it('treats setting undefined as a delete', () => {
    const session = loaded({ a: 1 })

    session.set('a', undefined)

    expect(session.has('a')).toBe(false)
  })

  it('marks permanent changes as modifications', () => {
    const session = loaded()

    session.permanent = true

    expect(session.permanent).toBe(true)
    expect(session.isModified).toBe(true)
  })

  it('refuses data access before a store session is loaded, and names the fix', async () => {
    const { session } = await storeSession<{ user: string }>({ user: 'u' })

    expect(() => session.get('user')).toThrow(SessionNotLoadedError)
    expect(() => session.get('user')).toThrow(/await session.load\(\)/)
  })

  it('loads a store session once, however often load() is called', async () => {
    const { session, reads } = await storeSession<{ user: string }>({ user: 'u' })

    await Promise.all([session.load(), session.load()])
    await session.load()

    expect(reads()).toBe(1)
    expect(session.get('user')).toBe('u')
  })

  it('keeps a key named like metadata as plain data, in native cookies and in stores', async () => {
    const { sessions, session } = await storeSession<Record<string, unknown>>({ _user: 'x' })
    await session.load()
    const cookie = loaded({ _user: 'x', _permanent: true, _created: 1 })

    expect(session.userId).toBeNull()
    expect(session.get('_user')).toBe('x')
    expect(cookie.userId).toBeNull()
    expect(cookie.permanent).toBe(false)
    expect(cookie.toJSON()).toEqual({ _user: 'x', _permanent: true, _created: 1 })
    await sessions.close()
  })

  it("refuses the Flask format's reserved keys in set, naming them", () => {
    const flask = createSessions({ secret, format: 'flask' }).open(undefined)

    expect(() => flask.set('_user', 'x')).toThrow(SerializeError)
    expect(() => flask.set('_permanent', true)).toThrow(/reserved: _permanent, _user/)
    expect(() => flask.set('username', 'x')).not.toThrow()
  })
})
