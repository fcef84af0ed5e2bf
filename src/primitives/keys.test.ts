import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createMac, createSha1Mac } from './keys.js'

/** Text of code units below 256, as Flask's signed messages are (Node's `latin1`). */
const latin1Text = (maxLength: number) =>
  fc
    .array(fc.integer({ min: 0, max: 255 }), { maxLength })
    .map((codes) => String.fromCharCode(...codes))

describe('createSha1Mac', () => {
  it('gives what createHmac gives, for keys longer and shorter than a block, call after call', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 100 }),
        // Some messages past the 512 bytes first set aside, so the buffer grows between calls.
        fc.array(latin1Text(1200), { minLength: 1, maxLength: 4 }),
        (key, messages) => {
          const mac = createSha1Mac(key)
          for (const message of messages) {
            const expected = createHmac('sha1', key).update(message, 'latin1').digest()
            expect(Buffer.from(mac.digest(message))).toEqual(expected)
            expect(mac.sign(message)).toBe(expected.toString('base64url'))
          }
        },
      ),
      { numRuns: 300, seed: 20261206 },
    )
  })

  it('signs messages of every length around the 64-byte block and its padding', () => {
    const key = createHmac('sha1', 'secret').update('cookie-session').digest()
    const mac = createSha1Mac(key)
    for (let length = 0; length <= 200; length++) {
      const message = 'a.b-_'.repeat(41).slice(0, length)
      expect(mac.sign(message), `length ${length}`).toBe(
        createHmac('sha1', key).update(message, 'latin1').digest('base64url'),
      )
    }
  })
})

describe('createMac', () => {
  it('gives HMAC-SHA256 of its prefix and each message, as createHmac does, call after call', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 100 }),
        fc.string({ maxLength: 20 }),
        // Some past the 512 bytes first set aside (UTF-8 up to 3 bytes a unit), so it grows.
        fc.array(fc.string({ maxLength: 400, unit: 'binary' }), { minLength: 1, maxLength: 4 }),
        (key, prefix, messages) => {
          const mac = createMac(key, prefix)
          for (const message of messages) {
            const expected = createHmac('sha256', key)
              .update(prefix + message)
              .digest('base64url')
            expect(mac.sign(message)).toBe(expected)
            expect(mac.matches(message, expected)).toBe(true)
          }
        },
      ),
      { numRuns: 300, seed: 20261207 },
    )
  })

  it('refuses a MAC made with another prefix, another spelling or another length', () => {
    const key = Buffer.alloc(32, 7)
    const mac = createMac(key, 'session\0')
    const good = mac.sign('s1.value')

    expect(mac.matches('s1.value', good)).toBe(true)
    expect(mac.matches('s1.value', createMac(key, 'other\0').sign('s1.value'))).toBe(false)
    expect(mac.matches('s1.value', createMac(key).sign('session\0s1.value'))).toBe(true)
    // The last character's unused low bits set: the same bytes, not the one canonical text.
    const last = good.at(-1)!
    const sibling = 'AEIMQUYcgkosw048'.includes(last)
      ? String.fromCharCode(last.charCodeAt(0) + 1)
      : last
    expect(mac.matches('s1.value', good.slice(0, -1) + sibling)).toBe(false)
    expect(mac.matches('s1.value', good.slice(0, -1))).toBe(false)
    expect(mac.matches('s1.value', `${good}A`)).toBe(false)
  })
})
