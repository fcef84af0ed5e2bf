/**
 * Secrets and the keys derived from them. An app gives one secret, or a list for rotation
 * (newest first: the first signs, all verify). Each purpose gets its own HKDF subkey, so a
 * value made for one purpose (a cookie, a session id, a CSRF token) never verifies as another.
 * @module
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import { ConfigError } from '../errors.js'

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
export function secretList(secrets: Secrets | undefined, minBytes = minSecretBytes): Buffer[] {
  if (secrets === undefined || secrets === null) {
    throw new ConfigError(
      'no secret was given; pass `secret` (or set SECRET_KEY), e.g. one made by `npx tessera secret`',
    )
  }
  const list = typeof secrets === 'string' || secrets instanceof Uint8Array ? [secrets] : secrets
  if (list.length === 0) {
    throw new ConfigError('the secret list is empty; give at least one secret')
  }
  const seen = new Set<string>()
  return list.map((secret, i) => {
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret)
    const which = list.length > 1 ? `secret #${i + 1}` : 'the secret'
    if (bytes.length < minBytes) {
      throw new ConfigError(
        `${which} is ${bytes.length} bytes; it must be at least ${minBytes} random bytes. ` +
          'Run `npx tessera secret` for a new one (keep the old one after it while you rotate)',
      )
    }
    const hex = bytes.toString('hex')
    if (seen.has(hex)) throw new ConfigError(`${which} appears twice in the secret list`)
    seen.add(hex)
    return bytes
  })
}

/** A 32-byte subkey of `secret` for one purpose (HKDF-SHA256). */
export function deriveKey(secret: Buffer, purpose: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'tessera', `tessera/${purpose}`, length))
}

/** A short, public identifier of a secret, so a reader picks the right key without trying all. */
export function keyId(secret: Buffer): string {
  return deriveKey(secret, 'key-id', 6).toString('base64url')
}

/** HMAC-SHA256 of `message` under `key`. */
export function hmac(key: Buffer, message: string): Buffer {
  return createHmac('sha256', key).update(message).digest()
}

/** Equality of two MACs in constant time; a length mismatch is `false`, never a throw. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The SHA-256 of `text`, base64url: how a session id is kept in a store. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}
