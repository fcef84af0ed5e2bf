import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSha1Mac } from './keys.js'

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
