import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { deriveKey, hmac } from '../primitives/keys.js'
import { createNativeCodec } from './native.js'
import { createNativeJSON } from './tagged-json.js'
import { noMeta } from './types.js'

const secret = 'a-test-secret-that-is-32-bytes-long!'
const older = 'an-older-secret-that-is-32-bytes-long'
const t0 = Date.UTC(2026, 0, 1)
const day = 86_400

for (const encrypt of [false, true]) {
  const mode = encrypt ? 'encrypted' : 'signed'

  describe(`createNativeCodec (${mode})`, () => {
    const codec = createNativeCodec({ secrets: secret, encrypt })

    it('round-trips Date, bigint, bytes, Map, Set and nested data', () => {
      const data = {
        when: new Date('2024-02-29T13:05:09.123Z'),
        big: 2n ** 80n,
        raw: new Uint8Array([0, 255, 7]),
        map: new Map<unknown, unknown>([
          ['a', 1],
          [2, new Set(['x'])],
        ]),
        set: new Set([1, 'two']),
        nested: { list: [1, 'x', null, true, { ' d': 'looks like a tag' }] },
        nan: Number.NaN,
      }

      const result = codec.decode(codec.encode(data, noMeta, t0), { now: t0, maxAge: day })

      expect(result).toEqual({ ok: true, data, meta: noMeta, issuedAt: t0, keyIndex: 0 })
    })

    it('accepts a cookie just under maxAge old and rejects one exactly maxAge old', () => {
      const value = codec.encode({ a: 1 }, noMeta, t0)

      expect(codec.decode(value, { now: t0 + day * 1000 - 1, maxAge: day }).ok).toBe(true)
      expect(codec.decode(value, { now: t0 + day * 1000, maxAge: day })).toEqual({
        ok: false,
        reason: 'expired',
      })
    })

    it('accepts a cookie dated up to 60 s ahead (clock skew) and rejects one further ahead', () => {
      const value = codec.encode({ a: 1 }, noMeta, t0)

      expect(codec.decode(value, { now: t0 - 45_000, maxAge: day }).ok).toBe(true)
      expect(codec.decode(value, { now: t0 - 61_000, maxAge: day })).toEqual({
        ok: false,
        reason: 'future',
      })
    })

    it('verifies a cookie signed with an older secret after rotation', () => {
      const value = createNativeCodec({ secrets: older, encrypt }).encode({ u: 1 }, noMeta, t0)
      const rotated = createNativeCodec({ secrets: [secret, older], encrypt })

      const result = rotated.decode(value, { now: t0, maxAge: day })

      expect(result).toMatchObject({ ok: true, data: { u: 1 }, keyIndex: 1 })
    })

    it('rejects a cookie signed with a secret no longer in the list', () => {
      const value = createNativeCodec({ secrets: older, encrypt }).encode({ u: 1 }, noMeta, t0)

      expect(codec.decode(value, { now: t0, maxAge: day })).toEqual({
        ok: false,
        reason: 'unknown_key',
      })
    })

    it('rejects a value made for another cookie name', () => {
      const value = createNativeCodec({ secrets: secret, encrypt, name: 'other' }).encode(
        { u: 1 },
        noMeta,
        t0,
      )

      expect(codec.decode(value, { now: t0, maxAge: day }).ok).toBe(false)
    })

    it('rejects any single changed character', () => {
      const value = codec.encode({ user: 'admin', n: 42 }, noMeta, t0)
      const alphabet = 'ABCabc019-_.'

      fc.assert(
        fc.property(
          fc.nat({ max: value.length - 1 }),
          fc.constantFrom(...alphabet),
          (index, char) => {
            fc.pre(value[index] !== char)
            const changed = value.slice(0, index) + char + value.slice(index + 1)
            return !codec.decode(changed, { now: t0, maxAge: day }).ok
          },
        ),
        { seed: 42, numRuns: 500 },
      )
    })

    it('round-trips any JSON object', () => {
      fc.assert(
        fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (data) => {
          fc.pre(!['__proto__', 'constructor', 'prototype'].some((k) => Object.hasOwn(data, k)))
          const encoded = codec.encode(data, noMeta, t0)
          const result = codec.decode(encoded, { now: t0, maxAge: day })
          return (
            result.ok &&
            JSON.stringify(result.data) === JSON.stringify(JSON.parse(JSON.stringify(data)))
          )
        }),
        { seed: 7, numRuns: 200 },
      )
    })

    it('never throws on garbage', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 300 }), (value) => {
          codec.decode(value, { now: t0, maxAge: day })
          codec.decode(`${encrypt ? 'e1' : 's1'}.${value}`, { now: t0, maxAge: day })
          if (encrypt) codec.decode(`e2.${value}`, { now: t0, maxAge: day })
          return true
        }),
        { seed: 1, numRuns: 500 },
      )
    })
  })
}

/** A signed cookie holding `json` as its payload, as a key holder (or a bug) could make one. */
function sign(json: string): string {
  const [v, kid, iat] = createNativeCodec({ secrets: secret }).encode({}, noMeta, t0).split('.')
  const head = `${v}.${kid}.${iat}.${Buffer.from(json).toString('base64url')}`
  const macKey = deriveKey(Buffer.from(secret), 'cookie-mac')
  return `${head}.${hmac(macKey, `session\0${head}`).toString('base64url')}`
}

describe('createNativeCodec', () => {
  it('keeps the data readable in signed mode and hidden in encrypted mode', () => {
    const signed = createNativeCodec({ secrets: secret }).encode(
      { user: 'visible-name' },
      noMeta,
      t0,
    )
    const sealed = createNativeCodec({ secrets: secret, encrypt: true }).encode(
      { user: 'visible-name' },
      noMeta,
      t0,
    )

    expect(Buffer.from(signed.split('.')[3]!, 'base64url').toString()).toContain('visible-name')
    expect(Buffer.from(sealed.split('.')[3]!, 'base64url').toString()).not.toContain('visible-name')
  })

  it('does not accept a signed cookie where an encrypted one is expected, nor the reverse', () => {
    const signed = createNativeCodec({ secrets: secret })
    const sealed = createNativeCodec({ secrets: secret, encrypt: true })

    expect(sealed.decode(signed.encode({ a: 1 }, noMeta, t0), { now: t0, maxAge: day }).ok).toBe(
      false,
    )
    expect(signed.decode(sealed.encode({ a: 1 }, noMeta, t0), { now: t0, maxAge: day }).ok).toBe(
      false,
    )
  })

  it('rejects payloads with prototype keys without polluting Object.prototype', () => {
    const codec = createNativeCodec({ secrets: secret })

    const top = codec.decode(sign('{"__proto__":{"isAdmin":true},"a":1}'), { now: t0, maxAge: day })
    const nested = codec.decode(sign('{"a":{"constructor":{"prototype":1}}}'), {
      now: t0,
      maxAge: day,
    })
    const plain = codec.decode(sign('{"a":1}'), { now: t0, maxAge: day })

    expect(top).toEqual({ ok: false, reason: 'bad_payload' })
    expect(nested).toEqual({ ok: false, reason: 'bad_payload' })
    expect(plain.ok).toBe(true)
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined()
  })

  describe('metadata', () => {
    const codec = createNativeCodec({ secrets: secret })
    const read = (value: string) => codec.decode(value, { now: t0, maxAge: day })

    it('carries the user, the creation time and permanence apart from the data', () => {
      const meta = { user: 'u-1', createdAt: t0 - 5000, permanent: true }

      const result = read(codec.encode({ _user: 'mine', _permanent: 0 }, meta, t0))

      expect(result).toMatchObject({ ok: true, data: { _user: 'mine', _permanent: 0 }, meta })
    })

    it('leaves defaults out of the cookie: no user, not permanent', () => {
      const result = read(codec.encode({ a: 1 }, { ...noMeta, createdAt: t0 }, t0))

      expect(result).toMatchObject({ ok: true, meta: { ...noMeta, createdAt: t0 } })
    })

    it("carries a session's own lifetime after the other metadata", () => {
      const meta = { user: null, createdAt: t0, permanent: false, maxAge: 600 }

      const result = read(codec.encode({ a: 1 }, meta, t0))

      expect(result).toMatchObject({ ok: true, meta })
    })

    it("still reads a 0.1 cookie, whose metadata sat among the data's keys", () => {
      const legacy = sign(`{"a":1,"_permanent":true,"_user":"u-1","_created":${t0 / 1000 - 5}}`)

      expect(read(legacy)).toMatchObject({
        ok: true,
        data: { a: 1 },
        meta: { user: 'u-1', createdAt: t0 - 5000, permanent: true },
      })
    })

    it("carries a bound user's generation, for revocable cookie sessions", () => {
      const meta = { user: 'u-1', createdAt: t0, permanent: false, generation: 3 }

      expect(read(codec.encode({}, meta, t0))).toMatchObject({ ok: true, meta })
      // Without a user there is no generation to carry.
      const anonymous = read(codec.encode({}, { ...noMeta, generation: 3 }, t0))
      expect(anonymous).toMatchObject({ ok: true, meta: { user: null } })
      expect(anonymous.ok && anonymous.meta.generation).toBeFalsy()
    })

    it('refuses metadata of a shape it never writes', () => {
      const shapes = ['[{}]', '[{},"x"]', '[{},1,2]', '[{},1,null,true]', '[{},1,null,1,0,5,6]']
      shapes.push('[{},1,"u",0,0]', '[{},1,"u",0,1.5]', '[{},1,"u",0,"1"]', '[{},1,null,0,1,5]')
      shapes.push('[{},1,null,1,0,0]', '[{},1,null,0,0,"60"]', '[{},1,null,0,0,null]')
      for (const json of shapes) {
        expect(read(sign(json)), json).toEqual({ ok: false, reason: 'bad_payload' })
      }
    })
  })

  it('rejects a signed payload that is not an object', () => {
    const codec = createNativeCodec({ secrets: secret })
    const json = createNativeJSON()
    // Encoding an array through a cast, as a bug or a key holder might.
    const value = codec.encode(json.untag([1, 2]) as unknown as Record<string, unknown>, noMeta, t0)

    expect(codec.decode(value, { now: t0, maxAge: day })).toEqual({
      ok: false,
      reason: 'not_object',
    })
  })

  it('refuses short, empty and duplicate secrets at creation, naming the fix', () => {
    expect(() => createNativeCodec({ secrets: 'short' })).toThrow(/npx tessera secret/)
    expect(() => createNativeCodec({ secrets: [] })).toThrow(ConfigError)
    expect(() => createNativeCodec({ secrets: [secret, secret] })).toThrow(/twice/)
  })
})

describe('createNativeCodec limits', () => {
  it('refuses a value longer than any cookie a browser keeps, before any crypto', () => {
    const codec = createNativeCodec({ secrets: secret })

    expect(codec.decode('s'.repeat(4089), { now: t0, maxAge: day })).toEqual({
      ok: false,
      reason: 'too_large',
    })
  })
})
