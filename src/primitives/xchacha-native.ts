/**
 * XChaCha20-Poly1305 for Node: libsodium through `sodium-native` (an optional dependency that
 * ships prebuilt binaries) when it loads and agrees with the JavaScript implementation on a
 * probe, else that implementation (`xchacha.ts`). Under callgrind, libsodium opens a session
 * cookie in about a quarter of the instructions of Node's AES-GCM set-up
 * (`createDecipheriv`), and the JavaScript one costs more than both; docs/performance.md has
 * the figures.
 * @module
 */
import { nodeModule } from './runtime.js'
import { type XChaCha, xchachaJs, xchachaTagBytes } from './xchacha.js'

/** The few `sodium-native` functions used here, as its README documents them. */
interface Sodium {
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number
  crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number
}

function loadSodium(): Sodium | null {
  try {
    // A require for this file, not a bare `require`: bundlers turn that, in an ES module, into
    // a stub that throws. The CommonJS build has `import.meta.url` through tsup's shims.
    if (!nodeModule) return null
    return nodeModule.createRequire(import.meta.url)('sodium-native') as Sodium
  } catch {
    return null
  }
}

function wrap(sodium: Sodium): XChaCha {
  return {
    name: 'libsodium',
    seal(key, nonce, plaintext, aad) {
      const out = Buffer.allocUnsafe(plaintext.length + xchachaTagBytes)
      sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, plaintext, aad, null, nonce, key)
      return out
    },
    open(key, nonce, sealed, aad) {
      if (sealed.length < xchachaTagBytes) return null
      const out = Buffer.allocUnsafe(sealed.length - xchachaTagBytes)
      try {
        sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, sealed, aad, nonce, key)
      } catch {
        return null
      }
      return out
    },
  }
}

/** Whether `candidate` seals as the JavaScript implementation does and opens what it sealed. */
function agrees(candidate: XChaCha): boolean {
  const key = new Uint8Array(32).map((_, i) => i * 7 + 1)
  const nonce = new Uint8Array(24).map((_, i) => 255 - i)
  const text = new TextEncoder().encode('tessera\0xchacha self-check \u00e9')
  const aad = new TextEncoder().encode('session\0e2.probe')
  try {
    const sealed = candidate.seal(key, nonce, text, aad)
    const expected = xchachaJs.seal(key, nonce, text, aad)
    const opened = candidate.open(key, nonce, expected, aad)
    const tampered = Uint8Array.from(expected)
    tampered[0]! ^= 1
    return (
      sameBytes(sealed, expected) &&
      opened !== null &&
      sameBytes(opened, text) &&
      candidate.open(key, nonce, tampered, aad) === null
    )
  } catch {
    return false
  }
}

/** Byte equality of public probe values (no secret in them, so no constant time needed). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

let chosen: XChaCha | undefined

/**
 * libsodium's XChaCha20-Poly1305 when `sodium-native` loads and passes the probe, otherwise the
 * JavaScript one. Chosen once per process, on first use.
 */
export function xchacha(): XChaCha {
  if (chosen === undefined) {
    const sodium = loadSodium()
    const native = sodium ? wrap(sodium) : null
    chosen = native && agrees(native) ? native : xchachaJs
  }
  return chosen
}
