/**
 * Durations in options: every one is in seconds, as a cookie's Max-Age is. Each has a ceiling
 * well above any sensible value, so a number meant as milliseconds (express-session's
 * `cookie.maxAge`, the store timeouts of tessera 0.1) is refused at start-up, with the
 * value it was probably meant to be, instead of making a session last for decades.
 * @module
 */
import { ConfigError } from '../errors.js'

/** The longest a browser keeps a cookie (RFC 6265bis), in seconds: no lifetime needs more. */
export const maxLifetime = 400 * 86_400

/** How a duration option is bounded. */
export interface DurationRule {
  /** The largest value accepted, in seconds. */
  max: number
  /** Whether 0 is accepted (it turns the thing off). @default false */
  zero?: boolean
}

/**
 * `value` as a duration in seconds, or `fallback` when it is absent. Throws a `ConfigError`
 * naming the option and the unit for anything else: not a number, negative, zero where that
 * means nothing, or past `max`, which is where a value in milliseconds lands.
 */
export function seconds(
  name: string,
  value: unknown,
  fallback: number,
  rule: DurationRule,
): number {
  if (value === undefined) return fallback
  checkSeconds(name, value, rule)
  return value
}

/** Throws unless `value` is a duration in seconds that `rule` accepts. */
export function checkSeconds(
  name: string,
  value: unknown,
  rule: DurationRule,
): asserts value is number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (value > 0 || (value === 0 && rule.zero === true))
  if (!ok) {
    throw new ConfigError(
      `${name} must be a ${rule.zero ? 'non-negative' : 'positive'} number of seconds, ` +
        `got ${typeof value === 'number' ? value : typeof value}`,
    )
  }
  if (value > rule.max) {
    throw new ConfigError(
      `${name} is ${value} seconds, longer than the ${describe(rule.max)} it may be; durations ` +
        `in tessera are in seconds: if you meant ${value} milliseconds, write ${value / 1000}`,
    )
  }
}

/** A number of seconds in the largest unit that divides it, for messages: `400 days`, `60 s`. */
export function describe(s: number): string {
  if (s >= 86_400 && s % 86_400 === 0) return `${s / 86_400} days`
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600} hours`
  return `${s} s`
}
