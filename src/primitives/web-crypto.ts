/**
 * The keys of `keys.ts` over Web Crypto (`crypto.subtle`), for runtimes without `node:crypto`
 * (workerd, Vercel Edge, Next.js middleware) or when an app asks for it (`crypto: 'web'`).
 * Every value is the same as Node's: HKDF-SHA256 subkeys, HMAC-SHA256 MACs as 43 base64url
 * characters, AES-256-GCM. Web Crypto is asynchronous, so everything here returns a promise.
 * @module
 */
import { ConfigError } from '../errors.js'
import { fromBase64, toBase64url, utf8Bytes } from './bytes.js'
import { safeEqual } from './keys.js'

/** The runtime's `crypto.subtle`, or a `ConfigError` naming what is missing. */
export function subtle(): SubtleCrypto {
  const found = (globalThis as { crypto?: Crypto }).crypto?.subtle
  if (!found) {
    throw new ConfigError(
      'this runtime has neither node:crypto nor Web Crypto (crypto.subtle); tessera needs one',
    )
  }
  return found
}

/** `bytes` as the `BufferSource` Web Crypto's types want (a plain ArrayBuffer-backed view). */
function source(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes)
}

const salt = utf8Bytes('tessera')

/** A `length`-byte HKDF-SHA256 subkey of `secret` for one purpose, as `deriveKey` makes it. */
export async function deriveKeyWeb(
  secret: Uint8Array,
  purpose: string,
  length = 32,
): Promise<Uint8Array> {
  const s = subtle()
  const base = await s.importKey('raw', source(secret), 'HKDF', false, ['deriveBits'])
  const bits = await s.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: source(salt),
      info: source(utf8Bytes(`tessera/${purpose}`)),
    },
    base,
    length * 8,
  )
  return new Uint8Array(bits)
}

/** The public identifier of a secret, as `keyId` gives it. */
export async function keyIdWeb(secret: Uint8Array): Promise<string> {
  return toBase64url(await deriveKeyWeb(secret, 'key-id', 6))
}

/** HMAC under one fixed key, over Web Crypto. */
export interface WebMac {
  /** The MAC of `message` (UTF-8, or the given bytes), as unpadded base64url. */
  sign(message: string | Uint8Array): Promise<string>
  /** The raw MAC of `message`. */
  digest(message: string | Uint8Array): Promise<Uint8Array>
  /**
   * Whether `given` is the MAC of `message` in its one canonical spelling; anything else is
   * `false`, never a rejection. The MAC is computed and compared by `safeEqual`, as on Node.
   */
  matches(message: string | Uint8Array, given: string): Promise<boolean>
}

/** 43 base64url characters whose last one carries no bits past the 256th: one spelling per MAC. */
const sha256MacPattern = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/

/**
 * HMAC-SHA256 (or HMAC-SHA1, for Flask's cookies) under `key`. The key is imported on first
 * use, once: a codec is made synchronously, at the app's start.
 */
export function createWebMac(key: Uint8Array, hash: 'SHA-256' | 'SHA-1' = 'SHA-256'): WebMac {
  const raw = Uint8Array.from(key)
  let imported: Promise<CryptoKey> | null = null
  const cryptoKey = () => {
    imported ??= subtle().importKey('raw', raw, { name: 'HMAC', hash }, false, ['sign'])
    return imported
  }
  const bytes = (message: string | Uint8Array) =>
    source(typeof message === 'string' ? utf8Bytes(message) : message)
  const digest = async (message: string | Uint8Array) =>
    new Uint8Array(await subtle().sign('HMAC', await cryptoKey(), bytes(message)))
  return {
    digest,
    sign: async (message) => toBase64url(await digest(message)),
    async matches(message, given) {
      if (hash !== 'SHA-256' || !sha256MacPattern.test(given)) return false
      return safeEqual(fromBase64(given), await digest(message))
    },
  }
}

/** AES-256-GCM under one fixed key, over Web Crypto: 12-byte IV, 16-byte tag after the text. */
export interface WebAead {
  /** `plaintext` sealed with `iv`, binding `aad`: the ciphertext and then the tag. */
  seal(iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>
  /** The plaintext, or null when the tag does not verify (a wrong key, a changed byte). */
  open(iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array | null>
}

/** AES-256-GCM under the 32-byte `key`, imported on first use. */
export function createWebAead(key: Uint8Array): WebAead {
  const raw = Uint8Array.from(key)
  let imported: Promise<CryptoKey> | null = null
  const cryptoKey = () => {
    imported ??= subtle().importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
    return imported
  }
  return {
    async seal(iv, aad, plaintext) {
      const params = { name: 'AES-GCM', iv: source(iv), additionalData: source(aad) }
      return new Uint8Array(await subtle().encrypt(params, await cryptoKey(), source(plaintext)))
    },
    async open(iv, aad, sealed) {
      const params = { name: 'AES-GCM', iv: source(iv), additionalData: source(aad) }
      try {
        return new Uint8Array(await subtle().decrypt(params, await cryptoKey(), source(sealed)))
      } catch {
        return null
      }
    },
  }
}
