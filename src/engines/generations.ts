/**
 * Revocable cookie sessions: a generation number per user, kept in a store, that every cookie
 * bound to that user carries. "Log out everywhere" bumps it, and a cookie carrying any other
 * generation is refused, so cookie sessions can be revoked while the server still keeps no
 * session.
 *
 * The generation lives in the store as an ordinary record (data `{ generation }`, no user)
 * under a key derived from the user id, so every store serves, custom ones included, with the
 * methods it has anyway. Two facts keep it sound:
 *
 * - A cookie is accepted only when its generation *equals* the current one. A record that
 *   vanished (expired, or a store that lost it) reads as 0, which refuses every cookie issued
 *   after a bump rather than accepting the revoked ones.
 * - The record outlives every cookie it vouches for: it is written to expire a day past the
 *   absolute timeout, and refreshed at each login once less than that remains. A cookie dies
 *   at most `absoluteTimeout` after its session began, which is never after its login.
 * @module
 */
import { sha256 } from '../primitives/keys.js'
import type { Store, StoredSession } from '../stores/types.js'
import { createStoreCalls } from './store-calls.js'
import type { SessionEvent } from './types.js'

/** Options of `createGenerations`. Durations in seconds. */
export interface GenerationsOptions {
  store: Store
  /** How long this process trusts a generation it read; 0 reads the store on every request. */
  cache: number
  /** How long a store call may take before the request fails with a 503. */
  timeout: number
  /** The sessions' absolute timeout: no cookie outlives it. */
  absoluteTimeout: number
  now: () => number
  emit: (event: SessionEvent) => void
}

/** The per-user generations, with this process's cache in front of the store. */
export interface Generations {
  readonly store: Store
  /** The user's generation if this process read it less than `cache` seconds ago. */
  cached(user: string): number | undefined
  /** The user's generation, from the cache or the store. Rejects with `StoreError`. */
  current(user: string): Promise<number>
  /**
   * The generation a session bound to `user` now must carry: read from the store, never the
   * cache (a login just after a "log out everywhere" elsewhere would otherwise be refused a few
   * seconds later), and the record kept alive for the new cookie.
   */
  forLogin(user: string): Promise<number>
  /** Ends every cookie session of `user`; the new generation. */
  bump(user: string): Promise<number>
}

/** How many users' generations one process remembers. */
const maxCached = 10_000
const day = 86_400_000

/** The store key of a user's generation record: shaped like a session key, and as opaque. */
export function generationKey(user: string): string {
  return sha256(`tessera-generation\0${user}`)
}

/** The per-user generations in `options.store`. */
export function createGenerations(options: GenerationsOptions): Generations {
  const { store, now, emit } = options
  const ttl = options.cache * 1000
  const absolute = options.absoluteTimeout * 1000
  const ms = options.timeout * 1000
  const call = createStoreCalls(store, ms, emit)
  const cache = new Map<string, { generation: number; until: number }>()
  const reading = new Map<string, Promise<StoredSession | null>>()

  function remember(user: string, generation: number): number {
    if (ttl <= 0) return generation
    cache.delete(user)
    // Oldest first in a Map: past the bound, the least recently read user is forgotten.
    if (cache.size >= maxCached) cache.delete(cache.keys().next().value as string)
    cache.set(user, { generation, until: now() + ttl })
    return generation
  }

  /** One store read per user at a time: a burst of one user's requests shares it. */
  function read(user: string): Promise<StoredSession | null> {
    let pending = reading.get(user)
    if (!pending) {
      pending = call('read the session generation', () => store.get(generationKey(user)))
      reading.set(user, pending)
      const done = () => reading.delete(user)
      pending.then(done, done)
    }
    return pending
  }

  function record(generation: number, t: number): StoredSession {
    return {
      data: { generation: String(generation) },
      userId: null,
      createdAt: t,
      lastSeenAt: t,
      expiresAt: t + absolute + day,
      permanent: false,
      userAgent: null,
      ip: null,
    }
  }

  return {
    store,
    cached(user) {
      const entry = cache.get(user)
      if (entry === undefined) return undefined
      if (entry.until <= now()) {
        cache.delete(user)
        return undefined
      }
      return entry.generation
    },
    async current(user) {
      return remember(user, generationOf(await read(user)))
    },
    async forLogin(user) {
      const found = await call('read the session generation', () => store.get(generationKey(user)))
      const generation = generationOf(found)
      const t = now()
      if (found && found.expiresAt < t + absolute) {
        await call('keep the session generation', () =>
          store.update(generationKey(user), { lastSeenAt: t, expiresAt: t + absolute + day }),
        )
      }
      return remember(user, generation)
    },
    async bump(user) {
      const key = generationKey(user)
      const t = now()
      const found = await call('read the session generation', () => store.get(key))
      // Two bumps at once may both write n + 1: either way every cookie of generation n is
      // refused, which is all a bump promises.
      const next = generationOf(found) + 1
      const patched =
        found !== null &&
        (await call('bump the session generation', () =>
          store.update(key, {
            set: { generation: String(next) },
            lastSeenAt: t,
            expiresAt: t + absolute + day,
          }),
        ))
      if (!patched) {
        await call('bump the session generation', () => store.create(key, record(next, t)))
      }
      return remember(user, next)
    },
  }
}

/** The generation a record holds; 0 for none, or for one that is not a generation record. */
function generationOf(found: StoredSession | null): number {
  const text = found?.data.generation
  if (text === undefined) return 0
  const value = Number(text)
  return Number.isSafeInteger(value) && value > 0 ? value : 0
}
