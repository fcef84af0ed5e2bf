/**
 * Secrets and the keys derived from them. An app gives one secret, or a list for rotation
 * (newest first: the first signs, all verify). Each purpose gets its own HKDF subkey, so a
 * value made for one purpose (a cookie, a session id, a CSRF token) never verifies as another.
 * @module
 */
import type * as NodeCrypto from 'node:crypto'
import { ConfigError } from '../errors.js'
import { constantTimeEqual, toHex, utf8Bytes } from './bytes.js'
import { nodeCrypto } from './runtime.js'

/**
 * Node's one-shot `crypto.hash` (20.12+): no Hash object, no native handle for the collector
 * to finalize. Looked up, not imported by name, so a runtime without it still loads this module.
 */
const oneShotHash = typeof nodeCrypto?.hash === 'function' ? nodeCrypto.hash : null

/** Whether this build and runtime have `node:crypto`, which the synchronous codecs use. */
export const hasNodeCrypto: boolean = nodeCrypto !== null

/**
 * `node:crypto`, or a `ConfigError` naming the fix where it is absent (edge runtimes): there,
 * cookie sessions use Web Crypto (`crypto: 'web'`), and server-side stores are not available.
 */
export function requireNodeCrypto(what: string): typeof NodeCrypto {
  if (nodeCrypto) return nodeCrypto
  throw new ConfigError(
    `${what} needs node:crypto, which this runtime (or tessera's edge build) lacks; ` +
      "use cookie sessions, which take Web Crypto there (`crypto: 'web'`)",
  )
}

/** A secret as the app gives it: text (used as UTF-8) or bytes. */
export type Secret = string | Uint8Array

/** One secret or a rotation list, newest first. */
export type Secrets = Secret | readonly Secret[]

/** The minimum secret length, in bytes: 256 bits, what HMAC-SHA256 and AES-256 need. */
export const minSecretBytes = 32

/**
 * The secrets as byte buffers, newest first. Throws `ConfigError` for a missing, empty,
 * duplicate or short secret, naming the fix.
 */
export function secretList(secrets: Secrets | undefined, minBytes = minSecretBytes): Uint8Array[] {
  if (secrets === undefined || secrets === null) {
    throw new ConfigError(
      'no secret was given; pass `secret`, e.g. `secret: process.env.SECRET_KEY` holding one ' +
        'made by `npx tessera secret` (tessera reads no environment variable itself)',
    )
  }
  const list = typeof secrets === 'string' || secrets instanceof Uint8Array ? [secrets] : secrets
  if (list.length === 0) {
    throw new ConfigError('the secret list is empty; give at least one secret')
  }
  const seen = new Set<string>()
  return list.map((secret, i) => {
    const bytes = typeof secret === 'string' ? utf8Bytes(secret) : Uint8Array.from(secret)
    const which = list.length > 1 ? `secret #${i + 1}` : 'the secret'
    if (bytes.length < minBytes) {
      throw new ConfigError(
        `${which} is ${bytes.length} bytes; it must be at least ${minBytes} random bytes. ` +
          'Run `npx tessera secret` for a new one (keep the old one after it while you rotate)',
      )
    }
    const hex = toHex(bytes)
    if (seen.has(hex)) throw new ConfigError(`${which} appears twice in the secret list`)
    seen.add(hex)
    return bytes
  })
}

/** A 32-byte subkey of `secret` for one purpose (HKDF-SHA256). */
export function deriveKey(secret: Uint8Array, purpose: string, length = 32): Buffer {
  const { hkdfSync } = requireNodeCrypto('deriving a key')
  return Buffer.from(hkdfSync('sha256', secret, 'tessera', `tessera/${purpose}`, length))
}

/** A short, public identifier of a secret, so a reader picks the right key without trying all. */
export function keyId(secret: Uint8Array): string {
  return deriveKey(secret, 'key-id', 6).toString('base64url')
}

/** HMAC-SHA256 of `message` under `key`. */
export function hmac(key: Buffer, message: string): Buffer {
  const { createHmac } = requireNodeCrypto('HMAC')
  return createHmac('sha256', key).update(message).digest()
}

/**
 * HMAC-SHA256 under one fixed key, made once for a key used on every request, of a fixed
 * prefix (a cookie's name, which binds the value to it) followed by each message.
 */
export interface Mac {
  /** The MAC of the prefix and `message` (UTF-8), as unpadded base64url: 43 characters. */
  sign(message: string): string
  /**
   * Whether `given` is the MAC of the prefix and `message` in its one canonical spelling,
   * compared in constant time. Anything else, of any length, is `false`, never a throw.
   */
  matches(message: string, given: string): boolean
}

/** 43 base64url characters whose last one carries no bits past the 256th: one spelling per MAC. */
const macPattern = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/

/**
 * HMAC-SHA256 under `key` of `prefix` and then each message (`paddedHmac`): a request verifies
 * a MAC on every cookie it reads. The result is checked against `createHmac` once, here; where
 * they differ, or `crypto.hash` is missing, it is `createHmac`.
 */
export function createMac(key: Uint8Array, prefix = ''): Mac {
  const { createHmac } = requireNodeCrypto('HMAC')
  const copy = Buffer.from(key)
  const given = Buffer.alloc(32)
  const expected = Buffer.alloc(32)
  const slowMac = (message: string) => createHmac('sha256', copy).update(prefix + message)
  const slow: Mac = {
    sign: (message) => slowMac(message).digest('base64url'),
    matches: (message, text) => {
      if (!macPattern.test(text)) return false
      given.write(text, 'base64url')
      return safeEqual(given, slowMac(message).digest())
    },
  }
  const hash = oneShotHash
  if (!hash) return slow
  const outerOf = paddedHmac(hash, 'sha256', copy, prefix, 'utf8')
  const fast: Mac = {
    sign: (message) => hash('sha256', outerOf(message), 'base64url'),
    matches: (message, text) => {
      if (!macPattern.test(text)) return false
      given.write(text, 'base64url')
      expected.write(hash('sha256', outerOf(message), 'binary'), 0, 'binary')
      return safeEqual(given, expected)
    },
  }
  const probe = 'mac self-check \u00e9\u{1F600}'
  const probeMac = slow.sign(probe)
  return fast.sign(probe) === probeMac && fast.matches(probe, probeMac) ? fast : slow
}

/** HMAC-SHA1 under one fixed key: itsdangerous's signature, which Flask cookies carry. */
export interface Sha1Mac {
  /**
   * The 20-byte MAC of `message` (one byte per UTF-16 unit, Node's `latin1`), in a buffer the
   * next call reuses.
   */
  digest(message: string): Uint8Array
  /** The MAC of `message` as unpadded base64url: 27 characters. */
  sign(message: string): string
}

/**
 * HMAC-SHA1 under `key` (`paddedHmac`), as `createMac` does HMAC-SHA256: a `createHmac` object
 * per call cost about as much as deflating a small Flask cookie (`npm run bench:codecs`). The
 * result is checked against `createHmac` once, here; where they differ, or `crypto.hash` is
 * missing, it is `createHmac`.
 */
export function createSha1Mac(key: Uint8Array): Sha1Mac {
  const { createHmac } = requireNodeCrypto('HMAC-SHA1')
  const copy = Buffer.from(key)
  const slow: Sha1Mac = {
    digest: (message) => createHmac('sha1', copy).update(message, 'latin1').digest(),
    sign: (message) => createHmac('sha1', copy).update(message, 'latin1').digest('base64url'),
  }
  const hash = oneShotHash
  if (!hash) return slow
  const outerOf = paddedHmac(hash, 'sha1', copy, '', 'latin1')
  const digest = Buffer.alloc(20)
  const fast: Sha1Mac = {
    digest: (message) => {
      digest.write(hash('sha1', outerOf(message), 'binary'), 0, 'binary')
      return digest
    },
    sign: (message) => hash('sha1', outerOf(message), 'base64url'),
  }
  // Longer than the 512 bytes set aside, so the check covers the buffer growing too.
  const probe = 'tessera\0flask mac self-check \u00e9'.repeat(20)
  const probeMac = Buffer.from(slow.digest(probe))
  const agrees =
    safeEqual(fast.digest(probe), probeMac) &&
    safeEqual(Buffer.from(fast.sign(probe), 'base64url'), probeMac)
  return agrees ? fast : slow
}

/**
 * RFC 2104's HMAC over Node's one-shot `crypto.hash`, for a key used on every request: the
 * padded keys, and a prefix every message shares, are written once, and no Buffer is made per
 * call (`crypto.hash` returning a string costs a quarter of one returning a Buffer). The
 * function returned takes a message and gives back the outer hash's input, [opad key | inner
 * digest], in a buffer the next call reuses, for the caller to hash in the encoding it needs.
 */
function paddedHmac(
  hash: NonNullable<typeof oneShotHash>,
  algorithm: 'sha256' | 'sha1',
  key: Buffer,
  prefix: string,
  encoding: 'utf8' | 'latin1',
): (message: string) => Buffer {
  const block = 64
  const k =
    key.length > block ? requireNodeCrypto('HMAC').createHash(algorithm).update(key).digest() : key
  const prefixBytes = Buffer.from(prefix, encoding)
  /** Where each message starts: after the inner pad and the prefix. */
  const start = block + prefixBytes.length
  // UTF-8 takes at most 3 bytes per UTF-16 unit; latin1, one.
  const unitBytes = encoding === 'utf8' ? 3 : 1
  // [ipad key | prefix | message]: one hash call covers all three.
  let inner = Buffer.alloc(start + 512)
  const outer = Buffer.alloc(block + (algorithm === 'sha256' ? 32 : 20))
  for (let i = 0; i < block; i++) {
    const byte = i < k.length ? k[i]! : 0
    inner[i] = byte ^ 0x36
    outer[i] = byte ^ 0x5c
  }
  prefixBytes.copy(inner, block)
  return (message) => {
    if (start + message.length * unitBytes > inner.length) {
      const grown = Buffer.alloc(start + message.length * unitBytes)
      inner.copy(grown, 0, 0, start)
      inner = grown
    }
    const length = inner.write(message, start, encoding)
    outer.write(hash(algorithm, inner.subarray(0, start + length), 'binary'), block, 'binary')
    return outer
  }
}

/** Equality of two MACs in constant time; a length mismatch is `false`, never a throw. */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (!nodeCrypto) return constantTimeEqual(a, b)
  return a.length === b.length && nodeCrypto.timingSafeEqual(a, b)
}

/** The SHA-256 of `text`, base64url: how a session id is kept in a store. */
export function sha256(text: string): string {
  if (oneShotHash) return oneShotHash('sha256', text, 'base64url')
  return requireNodeCrypto('SHA-256').createHash('sha256').update(text).digest('base64url')
}
