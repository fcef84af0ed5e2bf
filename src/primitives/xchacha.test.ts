import { describe, expect, it } from 'vitest'
import { type XChaCha, xchachaJs } from './xchacha.js'
import { xchacha } from './xchacha-native.js'

const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s/g, ''), 'hex'))

// The AEAD test vector of the XChaCha20-Poly1305 Internet-Draft (draft-irtf-cfrg-xchacha, A.3.1).
const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f')
const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657')
const aad = hex('50515253c0c1c2c3c4c5c6c7')
const plaintext = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
)
const tag = 'c0875924c1c7987947deafd8780acf49'

const implementations: [string, XChaCha][] = [
  ['JavaScript', xchachaJs],
  ['Node (libsodium where it loads)', xchacha()],
]

for (const [label, aead] of implementations) {
  describe(`XChaCha20-Poly1305, ${label}`, () => {
    it('seals the Internet-Draft test vector to its published tag', () => {
      const sealed = aead.seal(key, nonce, plaintext, aad)

      expect(sealed.length).toBe(plaintext.length + 16)
      expect(Buffer.from(sealed.subarray(plaintext.length)).toString('hex')).toBe(tag)
    })

    it('opens what it sealed, and nothing with a changed byte, AAD or key', () => {
      const sealed = aead.seal(key, nonce, plaintext, aad)
      const flipped = Uint8Array.from(sealed)
      flipped[5]! ^= 0x40
      const otherKey = Uint8Array.from(key)
      otherKey[0]! ^= 1

      expect(Buffer.from(aead.open(key, nonce, sealed, aad)!).equals(Buffer.from(plaintext))).toBe(
        true,
      )
      expect(aead.open(key, nonce, flipped, aad)).toBeNull()
      expect(aead.open(key, nonce, sealed, aad.subarray(1))).toBeNull()
      expect(aead.open(otherKey, nonce, sealed, aad)).toBeNull()
      expect(aead.open(key, nonce, sealed.subarray(0, 15), aad)).toBeNull()
    })
  })
}
