/**
 * The store conformance suite: every store passes it unchanged.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store, StoredSession } from '../../src/stores/types.js'

/** What the suite gives a store it makes. */
export interface StoreSetup {
  /** The clock the store must use (its `now` option): the suite moves time, it never sleeps. */
  now: () => number
}

/** How a store is made for the suite, and what it may skip. */
export interface StoreFactory {
  /**
   * Makes a fresh store on `setup.now`. Each call may share a backend, but never a namespace
   * (a folder, a table, a key prefix): `prune` and `list` of one store see none of another's
   * sessions, so the suite can assert exact counts.
   */
  make(setup: StoreSetup): Promise<Store> | Store
  /** Called once at the end, e.g. to drop a schema. */
  cleanup?(): Promise<void>
}

/** A random store key, like the hashes the core uses. */
export function randomKey(): string {
  return randomBytes(32).toString('base64url')
}

/** A stored session for tests, made at `now` and expiring an hour later unless told otherwise. */
export function record(overrides: Partial<StoredSession> = {}, now = Date.now()): StoredSession {
  return {
    data: { username: '"admin"' },
    userId: null,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + 3_600_000,
    permanent: false,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
    ip: '127.0.0.1',
    ...overrides,
  }
}

/**
 * Which optional parts of the contract a store offers; each defaults to true. A store that
 * leaves one out (say, a Connect store without `all` has no `list` nor `prune`) shows its tests
 * as skipped, with the reason in their title.
 */
export interface StoreFeatures {
  /** `listByUser` and `destroyByUser`. */
  userIndex?: boolean
  /** `list`. */
  list?: boolean
  /** `prune`. */
  prune?: boolean
}

/** Runs the conformance suite against a store. */
export function testStore(name: string, factory: StoreFactory, features: StoreFeatures = {}): void {
  const { userIndex = true, list = true, prune = true } = features
  describe(`${name} store (conformance)`, () => {
    let store: Store
    /** The suite's clock: it stands still unless a test moves it. */
    let t = Date.now()
    const now = () => t
    /** A session made now by the suite's clock. */
    const at = (overrides: Partial<StoredSession> = {}) => record(overrides, t)
    const made: Store[] = []
    /** A store of its own, on the suite's clock, for tests that count what it holds. */
    const fresh = async (): Promise<Store> => {
      const s = await factory.make({ now })
      made.push(s)
      return s
    }

    beforeAll(async () => {
      store = await factory.make({ now })
    })

    afterAll(async () => {
      await store.close?.()
      for (const s of made) await s.close?.()
      await factory.cleanup?.()
    })

    it('returns null for a key it never saw', async () => {
      expect(await store.get(randomKey())).toBeNull()
    })

    it('returns what was created, field for field', async () => {
      const key = randomKey()
      const saved = at({
        data: { a: '1', 'key with spaces': '"välue ✓ 😀"', nested: '{"x":[1,2]}' },
        userId: 'u-1',
        permanent: true,
      })

      await store.create(key, saved)

      expect(await store.get(key)).toEqual(saved)
    })

    it('keeps a null user agent and ip', async () => {
      const key = randomKey()
      const saved = at({ userAgent: null, ip: null })

      await store.create(key, saved)

      expect(await store.get(key)).toEqual(saved)
    })

    it('applies a patch: sets, unsets and keeps the other keys', async () => {
      const key = randomKey()
      await store.create(key, at({ data: { a: '1', b: '2', c: '3' } }))

      const applied = await store.update(key, { set: { b: '20', d: '4' }, unset: ['c'] })

      expect(applied).toBe(true)
      expect((await store.get(key))?.data).toEqual({ a: '1', b: '20', d: '4' })
    })

    it('clears every key before setting, when the patch says clear', async () => {
      const key = randomKey()
      await store.create(key, at({ data: { a: '1', b: '2' } }))

      await store.update(key, { clear: true, set: { c: '3' } })

      expect((await store.get(key))?.data).toEqual({ c: '3' })
    })

    it('updates the expiry, last-seen time and permanence without touching data', async () => {
      const key = randomKey()
      const saved = at()
      await store.create(key, saved)
      const later = saved.expiresAt + 60_000

      await store.update(key, {
        expiresAt: later,
        lastSeenAt: saved.lastSeenAt + 5,
        permanent: true,
      })

      expect(await store.get(key)).toEqual({
        ...saved,
        expiresAt: later,
        lastSeenAt: saved.lastSeenAt + 5,
        permanent: true,
      })
    })

    it('never brings back a missing session through update', async () => {
      const key = randomKey()

      const applied = await store.update(key, { set: { a: '1' } })

      expect(applied).toBe(false)
      expect(await store.get(key)).toBeNull()
    })

    it('forgets a destroyed session, and a late update does not revive it', async () => {
      const key = randomKey()
      await store.create(key, at())

      await store.destroy(key)
      const applied = await store.update(key, { set: { late: '1' } })

      expect(applied).toBe(false)
      expect(await store.get(key)).toBeNull()
    })

    it('destroys a missing session without an error', async () => {
      await expect(store.destroy(randomKey())).resolves.toBeUndefined()
    })

    it("expires a session when the store's clock passes its expiry", async () => {
      const key = randomKey()
      const user = `user-${randomKey()}`
      await store.create(key, at({ userId: user, expiresAt: t + 60_000 }))
      const before = await store.get(key)

      t += 120_000

      expect(before).not.toBeNull()
      expect(await store.get(key)).toBeNull()
      expect(await store.update(key, { set: { a: '1' } })).toBe(false)
      if (userIndex) expect(await store.listByUser!(user)).toEqual([])
      if (list) expect((await store.list!({ limit: 10_000 })).map((s) => s.key)).not.toContain(key)
    })

    it('treats an expired session as missing, for get and for update', async () => {
      const key = randomKey()
      await store.create(key, at({ expiresAt: t - 1000 }))

      expect(await store.get(key)).toBeNull()
      expect(await store.update(key, { set: { a: '1' } })).toBe(false)
    })

    it('keeps every key of 100 concurrent updates to one session', async () => {
      const key = randomKey()
      await store.create(key, at({ data: {} }))

      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => store.update(key, { set: { [`k${i}`]: String(i) } })),
      )

      expect(results.every(Boolean)).toBe(true)
      const data = (await store.get(key))?.data ?? {}
      expect(Object.keys(data)).toHaveLength(100)
      for (let i = 0; i < 100; i++) expect(data[`k${i}`]).toBe(String(i))
    })

    describeFeature(userIndex, 'sessions per user', 'the store has no user index', () => {
      it('lists the live sessions of one user, newest first', async () => {
        const user = `user-${randomKey()}`
        const [k1, k2, other] = [randomKey(), randomKey(), randomKey()]
        await store.create(k1, at({ userId: user, createdAt: t - 2000, userAgent: 'A' }))
        await store.create(k2, at({ userId: user, createdAt: t - 1000, ip: '10.0.0.2' }))
        await store.create(other, at({ userId: `${user}-other` }))

        const list = await store.listByUser!(user)

        expect(list.map((s) => s.key)).toEqual([k2, k1])
        expect(list[1]).toMatchObject({ userId: user, createdAt: t - 2000, userAgent: 'A' })
        expect(list[0]).toMatchObject({ ip: '10.0.0.2' })
      })

      it('leaves expired and destroyed sessions out of the list', async () => {
        const user = `user-${randomKey()}`
        const [live, expired, gone] = [randomKey(), randomKey(), randomKey()]
        await store.create(live, at({ userId: user }))
        await store.create(expired, at({ userId: user, expiresAt: t - 1 }))
        await store.create(gone, at({ userId: user }))
        await store.destroy(gone)

        const list = await store.listByUser!(user)

        expect(list.map((s) => s.key)).toEqual([live])
      })

      it('follows a session bound to a user by update, and unbound again', async () => {
        const user = `user-${randomKey()}`
        const key = randomKey()
        await store.create(key, at())

        await store.update(key, { userId: user })
        const bound = await store.listByUser!(user)
        await store.update(key, { userId: null })
        const unbound = await store.listByUser!(user)

        expect(bound.map((s) => s.key)).toEqual([key])
        expect(unbound).toEqual([])
        expect((await store.get(key))?.userId).toBeNull()
      })

      it("revokes all of a user's sessions but the one kept", async () => {
        const user = `user-${randomKey()}`
        const [k1, k2, k3] = [randomKey(), randomKey(), randomKey()]
        for (const k of [k1, k2, k3]) await store.create(k, at({ userId: user }))

        const count = await store.destroyByUser!(user, { except: k2 })

        expect(count).toBe(2)
        expect(await store.get(k1)).toBeNull()
        expect(await store.get(k3)).toBeNull()
        expect(await store.get(k2)).not.toBeNull()
        expect((await store.listByUser!(user)).map((s) => s.key)).toEqual([k2])
      })

      it('revokes every session of a user ("log out everywhere")', async () => {
        const user = `user-${randomKey()}`
        const keys = [randomKey(), randomKey()]
        for (const k of keys) await store.create(k, at({ userId: user }))

        expect(await store.destroyByUser!(user)).toBe(2)
        expect(await store.listByUser!(user)).toEqual([])
      })
    })

    describeFeature(list, 'listing every session', 'the store has no `list`', () => {
      it('lists live sessions, bound or not, with their summary fields, oldest first', async () => {
        const user = `user-${randomKey()}`
        const [bound, unbound, older] = [randomKey(), randomKey(), randomKey()]
        const b = at({ userId: user, createdAt: t - 2000, lastSeenAt: t - 500 })
        const u = at({ createdAt: t - 1000, userAgent: null, ip: null })
        await store.create(bound, b)
        await store.create(unbound, u)
        await store.create(older, at({ createdAt: t - 3000 }))

        const mine = new Set([bound, unbound, older])
        const list = (await store.list!({ limit: 10_000 })).filter((s) => mine.has(s.key))

        expect(list.map((s) => s.key)).toEqual([older, bound, unbound])
        expect(list[1]).toEqual({
          key: bound,
          userId: user,
          createdAt: b.createdAt,
          lastSeenAt: b.lastSeenAt,
          expiresAt: b.expiresAt,
          userAgent: b.userAgent,
          ip: b.ip,
        })
        expect(list[2]).toEqual({
          key: unbound,
          userId: null,
          createdAt: u.createdAt,
          lastSeenAt: u.lastSeenAt,
          expiresAt: u.expiresAt,
          userAgent: null,
          ip: null,
        })
      })

      it('leaves expired and destroyed sessions out', async () => {
        const [live, expired, gone] = [randomKey(), randomKey(), randomKey()]
        await store.create(live, at())
        await store.create(expired, at({ expiresAt: t - 1 }))
        await store.create(gone, at())
        await store.destroy(gone)

        const list = await store.list!({ limit: 10_000 })
        const keys = list.map((s) => s.key)

        expect(keys).toContain(live)
        expect(keys).not.toContain(expired)
        expect(keys).not.toContain(gone)
        expect(list.every((s) => s.expiresAt > t - 1000)).toBe(true)
      })

      it('returns at most `limit` sessions, oldest first', async () => {
        for (let i = 0; i < 3; i++) await store.create(randomKey(), at())

        const two = await store.list!({ limit: 2 })
        const byDefault = await store.list!()
        const none = await store.list!({ limit: 0 })

        expect(two).toHaveLength(2)
        expect(two[0]!.createdAt).toBeLessThanOrEqual(two[1]!.createdAt)
        expect(byDefault.length).toBeGreaterThanOrEqual(3)
        expect(byDefault.length).toBeLessThanOrEqual(100)
        const created = byDefault.map((s) => s.createdAt)
        expect(created).toEqual([...created].sort((x, y) => x - y))
        expect(none).toEqual([])
        await expect(store.list!({ limit: -1 })).rejects.toThrow(TypeError)
      })
    })

    describeFeature(prune, 'pruning', 'the store has no `prune`', () => {
      it('removes exactly the sessions that expired, says how many, and keeps live ones', async () => {
        const mine = await fresh()
        const user = `user-${randomKey()}`
        const [live, bound, loose, touched] = [randomKey(), randomKey(), randomKey(), randomKey()]
        // Expiring a minute ahead: long enough that no backend's own clock gets there first.
        const soon = { expiresAt: t + 60_000 }
        await mine.create(live, at({ userId: user }))
        await mine.create(bound, at({ ...soon, userId: user }))
        await mine.create(loose, at(soon))
        await mine.create(touched, at(soon))
        await mine.update(touched, { set: { a: '1' } })

        t += 120_000
        const count = await mine.prune!()
        const again = await mine.prune!()

        expect(count).toBe(3)
        expect(again).toBe(0)
        expect(await mine.get(live)).not.toBeNull()
        for (const key of [bound, loose, touched]) expect(await mine.get(key)).toBeNull()
        if (userIndex) expect((await mine.listByUser!(user)).map((s) => s.key)).toEqual([live])
      })

      it('reports progress as a running total ending at the count', async () => {
        const mine = await fresh()
        for (let i = 0; i < 3; i++) await mine.create(randomKey(), at({ expiresAt: t + 60_000 }))
        await mine.create(randomKey(), at())
        const seen: number[] = []

        t += 120_000
        const count = await mine.prune!({ onProgress: (n) => seen.push(n) })

        expect(count).toBe(3)
        expectProgress(seen, count)
      })

      it('reports progress once with 0 when nothing expired', async () => {
        const mine = await fresh()
        await mine.create(randomKey(), at())
        const seen: number[] = []

        const count = await mine.prune!({ onProgress: (n) => seen.push(n) })

        expect(count).toBe(0)
        expectProgress(seen, count)
      })
    })
  })
}

/**
 * Asserts `onProgress` values of a prune: called at least once, non-decreasing, the last equal
 * to the count returned.
 */
export function expectProgress(seen: readonly number[], count: number): void {
  expect(seen.length, 'onProgress was never called').toBeGreaterThan(0)
  for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!)
  expect(seen.at(-1)).toBe(count)
}

/**
 * Tests of an optional feature. A store without it shows them as skipped, the reason in the
 * title, rather than leaving them out: a missing test then reads as a choice, not an accident.
 */
function describeFeature(on: boolean, name: string, reason: string, fn: () => void): void {
  describe.skipIf(!on)(on ? name : `${name} (skipped: ${reason})`, fn)
}
