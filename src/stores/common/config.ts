/**
 * Checks of a store's options, run when the store is made: a mistake there is a `ConfigError`
 * naming the fix, thrown at start-up, never a `TypeError` on the first request.
 * @module
 */
import { ConfigError } from '../../errors.js'
import { seconds } from '../../primitives/durations.js'

/** A `ConfigError` whose message starts with the store it is about. */
export function configError(store: string, message: string, cause?: unknown): ConfigError {
  return new ConfigError(
    `${store} session store: ${message}`,
    cause === undefined ? undefined : { cause },
  )
}

/**
 * The store's clock: `now` (epoch ms) when given, else `Date.now`. Every store takes it, so tests
 * move time forward instead of sleeping.
 */
export function clockOption(store: string, now: unknown): () => number {
  if (now === undefined) return Date.now
  if (typeof now !== 'function') {
    throw configError(
      store,
      `\`now\` must be a function returning epoch milliseconds (like Date.now), got ${describe(now)}`,
    )
  }
  return now as () => number
}

/**
 * A positive number of seconds at most `max`, or `fallback` when absent; returned in
 * milliseconds, the unit the store's timers use. A value past `max` is most likely meant as
 * milliseconds (the unit of these options in tessera 0.1), and the error says so.
 */
export function secondsAsMs(
  store: string,
  name: string,
  value: unknown,
  fallback: number,
  max: number,
): number {
  try {
    return seconds(`\`${name}\``, value, fallback, { max }) * 1000
  } catch (error) {
    throw configError(store, (error as Error).message)
  }
}

/** A whole number at least `min`, or `fallback` when absent. */
export function wholeNumber(
  store: string,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(Number.isInteger(value) && value >= min)) {
    throw configError(
      store,
      `\`${name}\` must be a whole number, at least ${min}, got ${describe(value)}; ` +
        `leave it out for the default (${fallback})`,
    )
  }
  return value
}

/** A string, or `fallback` when absent. */
export function stringOption(
  store: string,
  name: string,
  value: unknown,
  fallback: string,
): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string') {
    throw configError(store, `\`${name}\` must be a string, got ${describe(value)}`)
  }
  return value
}

/** A plain SQL identifier: what the stores accept as a table or schema name. */
export function sqlIdentifier(
  store: string,
  name: string,
  value: unknown,
  fallback: string,
): string {
  const text = stringOption(store, name, value, fallback)
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(text)) {
    throw configError(
      store,
      `the ${name} name ${JSON.stringify(text)} is not a plain SQL identifier; use 1 to 63 ` +
        'letters, digits and underscores, starting with a letter or an underscore',
    )
  }
  return text
}

/** Throws unless the object has every method named. */
export function requireMethods(
  store: string,
  what: string,
  value: unknown,
  methods: readonly string[],
  fix: string,
): void {
  const missing =
    typeof value === 'object' && value !== null
      ? methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function')
      : methods
  if (missing.length > 0) {
    throw configError(store, `${what} has no ${missing.map((m) => `\`${m}\``).join(', ')}; ${fix}`)
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  return `a ${typeof value}`
}

/** A finite number at least 0, or `fallback` when absent. */
export function nonNegative(
  store: string,
  name: string,
  value: unknown,
  fallback: number,
  unit: string,
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(Number.isFinite(value) && value >= 0)) {
    throw configError(
      store,
      `\`${name}\` must be a number of ${unit}, 0 or more, got ${describe(value)}; ` +
        `leave it out for the default (${fallback})`,
    )
  }
  return value
}
