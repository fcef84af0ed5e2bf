import { describe, expect, it } from 'vitest'
import { SessionNotLoadedError } from '../errors.js'
import { newState, Session, stateOf } from './session.js'

function loaded<T extends Record<string, unknown>>(data: Record<string, unknown> = {}) {
  const state = newState([], { userAgent: null, ip: null })
  state.data = { ...data }
  state.loaded = true
  return new Session<T>(state)
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

  it('tracks which keys changed, for per-key saves', () => {
    const session = loaded({ a: 1, b: 2 })

    session.set('a', 10)
    session.delete('b')
    session.set('c', 3)

    expect([...(session[stateOf].changed ?? [])].sort()).toEqual(['a', 'b', 'c'])
  })

  it('marks nested values read during the request when markModified() has no keys', () => {
    const session = loaded<{ cart: string[]; name: string }>({ cart: ['a'], name: 'n' })

    session.get('cart')!.push('b')
    session.get('name')
    session.markModified()

    expect(session.isModified).toBe(true)
    expect([...(session[stateOf].changed ?? [])]).toEqual(['cart'])
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

  it('refuses data access before a store session is loaded, and names the fix', () => {
    const state = newState(['cookie'], { userAgent: null, ip: null })
    state.loadAsync = async (s) => {
      s.data = { user: 'u' }
    }
    const session = new Session<{ user: string }>(state)

    expect(() => session.get('user')).toThrow(SessionNotLoadedError)
    expect(() => session.get('user')).toThrow(/await session.load\(\)/)
  })

  it('loads a store session once, however often load() is called', async () => {
    let calls = 0
    const state = newState(['cookie'], { userAgent: null, ip: null })
    state.loadAsync = async (s) => {
      calls++
      s.data = { user: 'u' }
    }
    const session = new Session<{ user: string }>(state)

    await Promise.all([session.load(), session.load()])
    await session.load()

    expect(calls).toBe(1)
    expect(session.get('user')).toBe('u')
  })
})
