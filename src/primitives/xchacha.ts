/**
 * XChaCha20-Poly1305 (the IETF AEAD with a 24-byte nonce), in plain JavaScript: the sealing of
 * tessera's `e2.` cookies wherever no native library loads. It imports nothing from `node:*`,
 * so edge runtimes (Workers, Deno, Bun) read and write the same cookies with it. On Node,
 * `xchacha-native.ts` picks libsodium's implementation when it loads, and this one otherwise.
 *
 * Why this construction: a random 24-byte nonce never needs counting (AES-GCM's 12-byte random
 * nonce is good for about 2^32 messages per key, which a busy site's cookies can reach), and
 * one call seals or opens, with no cipher context to set up per cookie.
 * @module
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'

/** Bytes of an XChaCha20-Poly1305 nonce. */
export const xchachaNonceBytes = 24
/** Bytes of the Poly1305 tag that follows the ciphertext. */
export const xchachaTagBytes = 16

/** Sealing and opening under a 32-byte key; the tag follows the ciphertext. */
export interface XChaCha {
  /** Which implementation: `'libsodium'` or `'js'`. */
  readonly name: string
  /** `ciphertext | tag` of `plaintext` with `aad` authenticated alongside. */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array
  /** The plaintext of `ciphertext | tag`, or null when the tag does not verify. Never throws. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null
}

/** The pure-JavaScript implementation (`@noble/ciphers`). */
export const xchachaJs: XChaCha = {
  name: 'js',
  seal: (key, nonce, plaintext, aad) => xchacha20poly1305(key, nonce, aad).encrypt(plaintext),
  open(key, nonce, sealed, aad) {
    if (sealed.length < xchachaTagBytes) return null
    try {
      return xchacha20poly1305(key, nonce, aad).decrypt(sealed)
    } catch {
      return null
    }
  },
}
