import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { forbiddenKeys, isForbiddenKey } from '../primitives/guards.js'
import { createNativeCodec } from './native.js'
import { createWebNativeCodec } from './native-web.js'
import type { SessionMeta } from './types.js'

const secret = 'a-test-secret-that-is-32-bytes-long!'
const older = 'an-older-secret-that-is-32-bytes-long'
const t0 = Date.UTC(2026, 0, 1)
const day = 86_400
const meta: SessionMeta = { user: 'ada', createdAt: t0 - 5000, permanent: true }

/** Session data as JSON gives it: what every format keeps. */
const dataArb = fc
  .dictionary(
    fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !isForbiddenKey(k)),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 6 },
  )
  // A key a session refuses (`__proto__`, `constructor`, `prototype`, at any depth) throws in
  // both codecs alike, so it is left out here.
  .filter((data) => ![...forbiddenKeys].some((key) => JSON.stringify(data).includes(`"${key}"`)))

for (const encrypt of [false, true]) {
  const mode = encrypt ? 'encrypted' : 'signed'

  describe(`createWebNativeCodec (${mode}) against the node:crypto codec`, () => {
    const node = createNativeCodec({ secrets: secret, encrypt })
    const web = createWebNativeCodec({ secrets: secret, encrypt })

    it('reads what the node:crypto codec writes, and the other way round', async () => {
      await fc.assert(
        fc.asyncProperty(dataArb, async (data) => {
          const fromNode = node.encode(data, meta, t0)
          const fromWeb = await web.encode(data, meta, t0)

          expect(await web.decode(fromNode, { now: t0, maxAge: day })).toEqual(
            node.decode(fromNode, { now: t0, maxAge: day }),
          )
          // The same session as the node:crypto codec's own value gives.
          expect(node.decode(fromWeb, { now: t0, maxAge: day })).toEqual(
            node.decode(fromNode, { now: t0, maxAge: day }),
          )
        }),
        { numRuns: 40 },
      )
    })

    it('refuses a changed byte, as the node:crypto codec does', async () => {
      const value = node.encode({ user: 'ada' }, meta, t0)
      const at = value.length - 5
      const changed = value.slice(0, at) + (value[at] === 'A' ? 'B' : 'A') + value.slice(at + 1)

      const result = await web.decode(changed, { now: t0, maxAge: day })

      expect(result).toEqual({ ok: false, reason: 'bad_signature' })
      expect(node.decode(changed, { now: t0, maxAge: day })).toEqual(result)
    })

    it('reads a cookie of an older secret after rotation, with its key index', async () => {
      const old = createNativeCodec({ secrets: older, encrypt })
      const rotated = createWebNativeCodec({ secrets: [secret, older], encrypt })

      const result = await rotated.decode(old.encode({ a: 1 }, meta, t0), { now: t0, maxAge: day })

      expect(result).toMatchObject({ ok: true, data: { a: 1 }, keyIndex: 1 })
    })

    it('refuses a cookie bound to another cookie name', async () => {
      const other = createNativeCodec({ secrets: secret, encrypt, name: 'other' })

      const result = await web.decode(other.encode({ a: 1 }, meta, t0), { now: t0, maxAge: day })

      expect(result).toEqual({ ok: false, reason: 'bad_signature' })
    })

    it('refuses an expired cookie and one dated in the future', async () => {
      const value = await web.encode({ a: 1 }, meta, t0)

      expect(await web.decode(value, { now: t0 + day * 1000, maxAge: day })).toEqual({
        ok: false,
        reason: 'expired',
      })
      expect(await web.decode(value, { now: t0 - 120_000, maxAge: day })).toEqual({
        ok: false,
        reason: 'future',
      })
    })
  })
}

describe('createWebNativeCodec (signed)', () => {
  it('writes the very value the node:crypto codec writes', async () => {
    const node = createNativeCodec({ secrets: secret })
    const web = createWebNativeCodec({ secrets: secret })
    const data = { username: 'ada', n: [1, 2.5, 'é😀'] }

    expect(await web.encode(data, meta, t0)).toBe(node.encode(data, meta, t0))
  })
})
