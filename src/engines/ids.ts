/**
 * Session ids: the default (32 random bytes) and an app's own `genid`, held to an entropy rule
 * at start-up and to a format on every call.
 * @module
 */
import { ConfigError, SessionError } from '../errors.js'
import { createMac, deriveKey } from '../primitives/keys.js'

/** The default id: 32 random bytes as base64url. */
export const idPattern = /^[A-Za-z0-9_-]{43}$/
/** What an id from an app's `genid` may be: base64url characters, 22 to 256 of them. */
export const customIdPattern = /^[A-Za-z0-9_-]{22,256}$/
/** The length of a signed id's MAC (HMAC-SHA256, base64url). */
export const macLength = 43

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const genidRule =
  'a session id must be 22 to 256 characters of A-Z a-z 0-9 - _ carrying at least 128 random ' +
  'bits (32 hex digits, or 22 base64url characters; not a UUID), e.g. ' +
  "`() => crypto.randomBytes(32).toString('base64url')`"

/**
 * Checks an app's `genid` at start-up: 8 ids are made, and each must be 22 to 256 base64url
 * characters, their alphabet must give them 128 bits at least (4 a character for hex, about 6
 * for base64url; a UUID, 122 at most, is refused), they must all differ, and at least half of
 * their characters must vary between them, which refuses counters and timestamps. It cannot
 * prove randomness: it catches the usual mistakes, and the README says to use a CSPRNG.
 */
export function checkGenid(genid: unknown): void {
  if (typeof genid !== 'function') {
    throw new ConfigError(`genid must be a function returning a session id; ${genidRule}`)
  }
  const samples: string[] = []
  for (let i = 0; i < 8; i++) {
    const id: unknown = genid()
    if (typeof id !== 'string' || !customIdPattern.test(id)) {
      throw new ConfigError(`genid returned ${describeId(id)}; ${genidRule}`)
    }
    samples.push(id)
  }
  if (new Set(samples).size < samples.length) {
    throw new ConfigError(`genid returned the same id twice in 8 calls; ${genidRule}`)
  }
  const joined = samples.join('')
  const hex = /^[0-9a-fA-F-]+$/.test(joined)
  let alphabet = 16
  if (!hex) {
    alphabet = 0
    if (/[0-9]/.test(joined)) alphabet += 10
    if (/[a-z]/.test(joined)) alphabet += 26
    if (/[A-Z]/.test(joined)) alphabet += 26
    if (/[-_]/.test(joined)) alphabet += 2
  }
  // A UUID's 32 hex digits hold 122 random bits at most: 6 are its version and variant.
  if (samples.every((id) => uuidPattern.test(id))) {
    throw new ConfigError(`genid returned UUIDs, which hold at most 122 random bits; ${genidRule}`)
  }
  // A hex id's dashes are layout, not randomness.
  const shortest = Math.min(...samples.map((id) => (hex ? id.replace(/-/g, '') : id).length))
  const bits = Math.floor(shortest * Math.log2(alphabet))
  if (bits < 128) {
    throw new ConfigError(
      `genid's ids carry at most ${bits} bits (${shortest} characters of a ${alphabet}-letter ` +
        `alphabet); ${genidRule}`,
    )
  }
  // Characters that never change across 8 ids carry nothing: a counter or a clock changes few.
  const length = Math.min(...samples.map((id) => id.length))
  let varying = 0
  for (let i = 0; i < length; i++) {
    if (samples.some((id) => id[i] !== samples[0]![i])) varying++
  }
  if (varying * 2 < length) {
    throw new ConfigError(
      `genid's ids vary in ${varying} of their ${length} characters over 8 calls: that is a ` +
        `counter or a clock, not a random id; ${genidRule}`,
    )
  }
}

/**
 * `genid`, checked on every call: an id that breaks the format later than start-up fails the
 * request (`BAD_SESSION_ID`) rather than reaching the store.
 */
export function checkedIds(genid: () => string): () => string {
  return () => {
    const id: unknown = genid()
    if (typeof id !== 'string' || !customIdPattern.test(id)) {
      throw new SessionError('BAD_SESSION_ID', `genid returned ${describeId(id)}; ${genidRule}`)
    }
    return id
  }
}

function describeId(id: unknown): string {
  if (typeof id === 'string') {
    return `${JSON.stringify(id.slice(0, 40))}${id.length > 40 ? '…' : ''} (${id.length} characters)`
  }
  if (id instanceof Promise) return 'a Promise (genid must be synchronous)'
  return `a ${id === null ? 'null' : typeof id}`
}

/** Signs ids into cookie values and finds the id in one, for the cookie `name`. */
export function createIdSigner(
  secrets: readonly Uint8Array[],
  name: string,
  custom: boolean,
): {
  sign(id: string): string
  /** The id in a cookie value and the index of the secret that signed it, or null. */
  unsign(value: string): { id: string; keyIndex: number } | null
} {
  const idKeys = secrets.map((secret) => createMac(deriveKey(secret, 'session-id'), `${name}\0`))
  const pattern = custom ? customIdPattern : idPattern
  return {
    sign: (id) => `${id}.${idKeys[0]!.sign(id)}`,
    unsign(value) {
      // An id holds no dot, so the MAC's is the only one; the default id is 43 characters.
      const dot = value.length - macLength - 1
      if (custom ? dot < 22 || value.charCodeAt(dot) !== 46 : dot !== 43 || value[43] !== '.') {
        return null
      }
      const id = value.slice(0, dot)
      const mac = value.slice(dot + 1)
      if (!pattern.test(id)) return null
      for (let i = 0; i < idKeys.length; i++) {
        if (idKeys[i]!.matches(id, mac)) return { id, keyIndex: i }
      }
      return null
    },
  }
}
