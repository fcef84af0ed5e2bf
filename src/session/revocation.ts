/**
 * Revocable cookie sessions, as `createSessions` sets them up: the options checked, the
 * per-user generations made, and `destroyByUser`, which bumps a user's generation.
 * @module
 */
import type { AnyCookieCodec } from '../codecs/types.js'
import { createGenerations, type Generations } from '../engines/generations.js'
import type { EngineContext } from '../engines/types.js'
import { ConfigError } from '../errors.js'
import { seconds } from '../primitives/durations.js'
import { requireMethods } from '../stores/common/config.js'
import type { Store } from '../stores/types.js'
import { draftOf, type Session } from './session.js'

/** Options of revocable cookie sessions. Durations in seconds. */
export interface RevocationOptions {
  /** Where the per-user generations live: any store (memory, SQLite, Redis, PostgreSQL…). */
  store: Store
  /**
   * How long a process trusts a user's generation it read, sparing the store a read per
   * request; a revocation reaches the other processes within it. 0 reads it on every request
   * of a signed-in user; at most 3600. @default 0
   */
  cache?: number
  /** How long a store call may take before the request fails with a 503. @default 1 */
  timeout?: number
}

/** The generations behind `options`, checked: throws `ConfigError` with the fix. */
export function makeGenerations(
  options: RevocationOptions,
  codec: AnyCookieCodec,
  absoluteTimeout: number,
  ctx: EngineContext,
): Generations {
  const { store } = options
  if (codec.format === 'flask') {
    throw new ConfigError(
      'revocation needs the native cookie format: a Flask cookie has no room for the ' +
        "user's generation; drop `format: 'flask'` or `revocation`",
    )
  }
  requireMethods(
    store?.name ?? 'revocation',
    'the revocation store',
    store,
    ['get', 'create', 'update'],
    'pass a store, e.g. `revocation: { store: createRedisStore({ url }) }`',
  )
  // A revocation that takes over an hour to reach every process is none, and a store call is
  // never given a minute: values past those were meant in milliseconds.
  const cache = seconds('revocation.cache', options.cache, 0, { max: 3600, zero: true })
  const timeout = seconds('revocation.timeout', options.timeout, 1, { max: 60 })
  return createGenerations({ store, cache, timeout, absoluteTimeout, ...ctx })
}

/** What revocable cookie sessions add to the session system. */
export function revocationOperations(generations: Generations): object {
  return {
    revocationStore: generations.store,
    async destroyByUser(userId: string, options: { except?: Session } = {}) {
      const next = await generations.bump(userId)
      const kept = options.except && draftOf(options.except)
      if (kept && kept.user === userId && !kept.destroyed) {
        // Re-issued with the new generation when the response goes out.
        kept.generation = next
        kept.userChanged = false
        kept.accessed = true
        kept.modified = true
      }
    },
  }
}
