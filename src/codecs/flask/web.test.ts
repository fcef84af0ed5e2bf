import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { noMeta } from '../types.js'
import { createFlaskCodec } from './codec.js'
import { createWebFlaskCodec } from './web.js'

const secret = 'the Flask app SECRET_KEY'
const t0 = Date.UTC(2026, 0, 1)
const day = 86_400

const dataArb = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !['_user', '_permanent'].includes(k)),
  fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean()),
  { maxKeys: 6 },
)

describe('createWebFlaskCodec against the node:crypto codec', () => {
  const node = createFlaskCodec({ secret })
  const web = createWebFlaskCodec({ secret })

  it('writes the very value the node:crypto codec writes, compressed or not', async () => {
    await fc.assert(
      fc.asyncProperty(dataArb, async (data) => {
        expect(await web.encode(data, noMeta, t0)).toBe(node.encode(data, noMeta, t0))
      }),
      { numRuns: 40 },
    )
  })

  it('reads what the node:crypto codec writes, compressed included', async () => {
    const data = { note: 'x'.repeat(300), user: 'ada' }
    const value = node.encode(data, { user: 'ada', createdAt: null, permanent: true }, t0)

    const result = await web.decode(value, { now: t0, maxAge: day })

    expect(value.startsWith('.')).toBe(true)
    expect(result).toEqual(node.decode(value, { now: t0, maxAge: day }))
    expect(result).toMatchObject({ ok: true, data, meta: { user: 'ada', permanent: true } })
  })

  it('reads a cookie signed with a fallback key, with its index', async () => {
    const old = createFlaskCodec({ secret: 'the old key' })
    const rotated = createWebFlaskCodec({ secret, fallbacks: ['the old key'] })

    const result = await rotated.decode(old.encode({ a: 1 }, noMeta, t0), { now: t0, maxAge: day })

    expect(result).toMatchObject({ ok: true, data: { a: 1 }, keyIndex: 1 })
  })

  it('refuses a changed signature and a cookie of another key', async () => {
    const value = node.encode({ a: 1 }, noMeta, t0)
    const changed = `${value.slice(0, -2)}${value.endsWith('AA') ? 'BA' : 'AA'}`
    const other = createFlaskCodec({ secret: 'another key' }).encode({ a: 1 }, noMeta, t0)

    expect(await web.decode(changed, { now: t0, maxAge: day })).toEqual({
      ok: false,
      reason: 'bad_signature',
    })
    expect(await web.decode(other, { now: t0, maxAge: day })).toEqual({
      ok: false,
      reason: 'bad_signature',
    })
  })
})
