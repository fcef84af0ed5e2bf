import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { now, secret, signRaw } from '../../../test/vectors/flask-oracle.js'
import { ConfigError, SerializeError } from '../../errors.js'
import type { DecodeResult, SessionData } from '../types.js'
import { noMeta } from '../types.js'
import { createFlaskCodec, decodeFlaskUnsafe } from './codec.js'
import { Markup, Tuple, UUID } from './python.js'
import { dumpsSession } from './tags.js'

interface Vector {
  name: string
  secret_key: string
  fallback_keys: string[]
  cookie: string
  timestamp: number | null
  verify_at: number
  max_age: number
  valid: boolean
  session: unknown
  payload_json: string | null
  expected: unknown
}

const vectors: { cases: Vector[] } = JSON.parse(
  readFileSync(
    new URL('../../../test/vectors/flask-session-cookies.json', import.meta.url),
    'utf8',
  ),
)
const valid = vectors.cases.filter((c) => c.valid)
const invalid = vectors.cases.filter((c) => !c.valid)

const day = 86_400

/** The JS value a vector's `expected` describes, markers ($tuple, $bytes…) turned into values. */
function fromExpected(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromExpected)
  if (typeof value !== 'object' || value === null) return value
  const entries = Object.entries(value)
  const [marker, inner] = entries.length === 1 ? entries[0]! : ['', undefined]
  switch (marker) {
    case '$tuple':
      return Tuple.from((inner as unknown[]).map(fromExpected))
    case '$bytes':
      return new Uint8Array(Buffer.from(inner as string, 'base64'))
    case '$markup':
      return new Markup(inner as string)
    case '$uuid':
      return new UUID(inner as string)
    case '$datetime':
      return new Date(inner as string)
    case '$bigint':
      return BigInt(inner as string)
    case '$float':
      return inner === '-0.0' ? -0 : Number(inner)
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, fromExpected(v)]))
}

function decodeAt(cookie: string, at = now, maxAge = 31 * day): DecodeResult {
  return createFlaskCodec({ secret }).decode(cookie, { now: at, maxAge })
}

function dataOf(result: DecodeResult): SessionData {
  if (!result.ok) throw new Error(`expected an accepted cookie, got ${result.reason}`)
  return result.data
}

/** The dict Flask holds: the data, with the metadata back under its reserved keys. */
function flaskDictOf(result: DecodeResult): SessionData {
  const data = dataOf(result)
  if (!result.ok) return data
  const dict = { ...data }
  if (result.meta.permanent) dict._permanent = true
  if (result.meta.user !== null) dict._user = result.meta.user
  return dict
}

const base64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

describe('createFlaskCodec', () => {
  describe('with the Flask 3.1.3 vectors', () => {
    it.each(valid.map((c) => [c.name, c] as const))('decodes %s to what Flask loads', (_, c) => {
      const codec = createFlaskCodec({ secret: c.secret_key, fallbacks: c.fallback_keys })

      const result = codec.decode(c.cookie, { now: c.verify_at * 1000, maxAge: c.max_age })

      expect(result.ok).toBe(true)
      expect(flaskDictOf(result)).toStrictEqual(fromExpected(c.expected))
      expect(result.ok && result.issuedAt).toBe(c.timestamp! * 1000)
    })

    it.each(valid.map((c) => [c.name, c] as const))(
      're-encodes %s to the exact cookie Flask set',
      (_, c) => {
        const codec = createFlaskCodec({ secret: c.secret_key, fallbacks: c.fallback_keys })
        const result = codec.decode(c.cookie, { now: c.verify_at * 1000, maxAge: c.max_age })
        if (!result.ok) throw new Error(result.reason)
        // keyIndex says which key verified it: 0 is the current key, i the fallback given i-th.
        const signer = result.keyIndex === 0 ? c.secret_key : c.fallback_keys[result.keyIndex - 1]!

        const again = createFlaskCodec({ secret: signer }).encode(
          result.data,
          result.meta,
          c.timestamp! * 1000,
        )

        expect(again).toBe(c.cookie)
      },
    )

    it.each(invalid.map((c) => [c.name, c] as const))('rejects %s', (_, c) => {
      const codec = createFlaskCodec({ secret: c.secret_key, fallbacks: c.fallback_keys })

      const result = codec.decode(c.cookie, { now: c.verify_at * 1000, maxAge: c.max_age })

      expect(result.ok).toBe(false)
    })

    it('verifies fallback-signed vectors whatever order the fallbacks are given in', () => {
      const c = vectors.cases.find((v) => v.name === 'fallback_oldest_of_two')!
      const codec = createFlaskCodec({
        secret: c.secret_key,
        fallbacks: [...c.fallback_keys].reverse(),
      })

      const result = codec.decode(c.cookie, { now: c.verify_at * 1000, maxAge: c.max_age })

      expect(result).toMatchObject({ ok: true, keyIndex: 2 })
    })
  })

  describe('keys', () => {
    it('signs with the current secret even when fallbacks are given', () => {
      const codec = createFlaskCodec({ secret: 'key-v3', fallbacks: ['key-v1', 'key-v2'] })

      const cookie = codec.encode({ user: 'x' }, noMeta, now)

      expect(createFlaskCodec({ secret: 'key-v3' }).decode(cookie, { now, maxAge: day }).ok).toBe(
        true,
      )
    })

    it('reports the fallback that verified a cookie as keyIndex 1 and up', () => {
      const cookie = signRaw('{"user":"old"}', { key: 'key-v1' })
      const codec = createFlaskCodec({ secret: 'key-v3', fallbacks: ['key-v2', 'key-v1'] })

      const result = codec.decode(cookie, { now, maxAge: day })

      expect(result).toMatchObject({ ok: true, keyIndex: 2, data: { user: 'old' } })
    })

    it('accepts a secret given as bytes, the same as its UTF-8 text', () => {
      const cookie = createFlaskCodec({ secret: 'clé' }).encode({ a: 1 }, noMeta, now)

      const result = createFlaskCodec({ secret: Buffer.from('clé', 'utf8') }).decode(cookie, {
        now,
        maxAge: day,
      })

      expect(result.ok).toBe(true)
    })

    it('throws ConfigError at creation when the secret or a fallback is empty', () => {
      expect(() => createFlaskCodec({ secret: '' })).toThrow(ConfigError)
      expect(() => createFlaskCodec({ secret: 'k', fallbacks: [new Uint8Array()] })).toThrow(
        ConfigError,
      )
    })
  })

  describe('expiry', () => {
    it('accepts a cookie exactly maxAge seconds old and rejects one a second older', () => {
      const cookie = signRaw('{"a":1}', { seconds: now / 1000 - 3600 })

      expect(decodeAt(cookie, now, 3600).ok).toBe(true)
      expect(decodeAt(cookie, now + 1000, 3600)).toEqual({ ok: false, reason: 'expired' })
    })

    it('rejects a cookie dated one second in the future as future', () => {
      const cookie = signRaw('{"a":1}', { seconds: now / 1000 + 1 })

      expect(decodeAt(cookie)).toEqual({ ok: false, reason: 'future' })
    })

    it('floors the clock to whole seconds, as int(time.time()) does', () => {
      const cookie = signRaw('{"a":1}', { seconds: now / 1000 + 1 })

      expect(decodeAt(cookie, now + 999).ok).toBe(false)
      expect(decodeAt(cookie, now + 1000).ok).toBe(true)
    })

    it('writes time 0 as an empty timestamp segment and reads it back', () => {
      const codec = createFlaskCodec({ secret })

      const cookie = codec.encode({ a: 1 }, noMeta, 999)

      expect(cookie).toMatch(/^eyJhIjoxfQ\.\.[A-Za-z0-9_-]{27}$/)
      expect(codec.decode(cookie, { now: 0, maxAge: 0 })).toMatchObject({ ok: true, issuedAt: 0 })
    })

    it('rejects a signed timestamp longer than 8 bytes as malformed', () => {
      const cookie = signRaw('{"a":1}', { timestamp: 'AAAAAAAAAAAAAA' })

      expect(decodeAt(cookie)).toEqual({ ok: false, reason: 'malformed' })
    })
  })

  describe('the signature', () => {
    const cookie = signRaw('{"user":"admin"}')
    const last = cookie.at(-1)!

    it('accepts one or two = after the signature, as Python pads and decodes it', () => {
      expect(decodeAt(`${cookie}=`).ok).toBe(true)
      expect(decodeAt(`${cookie}==`).ok).toBe(true)
    })

    it('accepts a last character that differs only in the 2 bits HMAC-SHA1 does not use', () => {
      const bits = base64url.indexOf(last)

      for (const flip of [1, 2, 3]) {
        const variant = cookie.slice(0, -1) + base64url[bits ^ flip]

        expect(decodeAt(variant).ok).toBe(true)
      }
    })

    it.each([
      ['three =', `${cookie}===`],
      ['a trailing space', `${cookie} `],
      ['two trailing spaces', `${cookie}  `],
      [
        'a character of another high bit',
        cookie.slice(0, -1) + base64url[base64url.indexOf(last) ^ 4],
      ],
      ['a missing character', cookie.slice(0, -1)],
      ['an SHA-256 length', `${cookie}${'A'.repeat(16)}`],
    ])('rejects a signature with %s', (_, variant) => {
      expect(decodeAt(variant).ok).toBe(false)
    })

    it('rejects a signature spelled in the standard alphabet (+ and / for - and _)', () => {
      let user = 0
      let signed = signRaw('{"user":0}')
      while (!/[-_]/.test(signed.slice(-27))) signed = signRaw(`{"user":${++user}}`)
      const standard =
        signed.slice(0, -27) + signed.slice(-27).replaceAll('-', '+').replaceAll('_', '/')

      expect(decodeAt(signed).ok).toBe(true)
      expect(decodeAt(standard).ok).toBe(false)
    })

    it('verifies signed texts of every length modulo the 64-byte HMAC block', () => {
      const lengths = new Set<number>()

      for (let n = 0; n < 120; n++) {
        // Timestamps of 1 to 4 bytes: 2, 3, 4 and 6 characters.
        for (const seconds of [200, 300, 70_000, now / 1000]) {
          const cookie = signRaw(`{"s":"${'a'.repeat(n)}"}`, { seconds })
          lengths.add(cookie.lastIndexOf('.') % 64)

          expect(decodeAt(cookie, seconds * 1000).ok).toBe(true)
        }
      }
      expect(lengths.size).toBe(64)
    })

    it('rejects a cookie longer than 4096 characters, more than a browser keeps, as too_large', () => {
      expect(decodeAt(`${'a'.repeat(4100)}.${cookie}`)).toEqual({ ok: false, reason: 'too_large' })
    })

    it.each([
      ['empty', ''],
      ['without a dot', 'abc'],
      ['without a timestamp', 'eyJhIjoxfQ.3W-oIHNfbrFNDEzkGKEkTwRe8Ww'],
      ['with an extra dot in the payload', `e.${cookie}`],
      ['with only dots', '...'],
      ['with non-ASCII', `é${cookie}`],
    ])('rejects a value %s as malformed before any crypto', (_, value) => {
      expect(decodeAt(value)).toEqual({ ok: false, reason: 'malformed' })
    })

    it('never throws, whatever the input', () => {
      const codec = createFlaskCodec({ secret })

      fc.assert(
        fc.property(fc.string({ maxLength: 80 }), (value) => {
          expect(codec.decode(value, { now, maxAge: day }).ok).toBe(false)
        }),
      )
      expect(codec.decode(null as unknown as string, { now, maxAge: day }).ok).toBe(false)
    })
  })

  describe('encode', () => {
    it('compresses only when zlib saves at least 2 bytes', () => {
      const codec = createFlaskCodec({ secret })

      expect(codec.encode({ s: 'ab'.repeat(40) }, noMeta, now).startsWith('.')).toBe(true)
      expect(codec.encode({ s: 'ab' }, noMeta, now).startsWith('.')).toBe(false)
    })

    it('writes every Flask tag in the form Flask reads', () => {
      const data = {
        b: new Uint8Array([0xff, 0xfe]),
        d: new Date('2024-02-29T13:05:09.987Z'),
        m: new Markup('<b>x</b>'),
        t: Tuple.of<unknown>(1, Tuple.of(2)),
        u: new UUID('{12345678-1234-5678-9ABC-DEF012345678}'),
      }

      expect(dumpsSession(data)).toBe(
        '{"b":{" b":"//4="},"d":{" d":"Thu, 29 Feb 2024 13:05:09 GMT"},"m":{" m":"<b>x</b>"},' +
          '"t":{" t":[1,{" t":[2]}]},"u":{" u":"12345678123456789abcdef012345678"}}',
      )
    })

    it('throws SerializeError for values a Flask session cannot hold', () => {
      const codec = createFlaskCodec({ secret })

      expect(() => codec.encode({ m: new Map() }, noMeta, now)).toThrow(SerializeError)
      expect(() => codec.encode({ f: () => 1 }, noMeta, now)).toThrow(SerializeError)
      expect(() => codec.encode({ l: [undefined] }, noMeta, now)).toThrow(SerializeError)
      expect(() => codec.encode(JSON.parse('{"__proto__":1}'), noMeta, now)).toThrow(SerializeError)
    })

    it('throws SerializeError for circular data instead of overflowing the stack', () => {
      const loop: Record<string, unknown> = {}
      loop.self = loop

      expect(() => createFlaskCodec({ secret }).encode(loop, noMeta, now)).toThrow(SerializeError)
    })

    it('skips keys whose value is undefined', () => {
      expect(dumpsSession({ a: 1, b: undefined })).toBe('{"a":1}')
    })
  })

  describe('properties', () => {
    const forbidden = new Set(['__proto__', 'constructor', 'prototype'])
    const text = fc.string({
      unit: fc.oneof(
        fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
        fc.constantFrom('😀', '\uff5e', ' t', ' di', '__', 'a'),
      ),
      maxLength: 6,
    })
    const key = text.filter((k) => !forbidden.has(k))
    const seconds = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000)
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', maxDepth: 3 },
        fc.constant(null),
        fc.boolean(),
        fc.double(),
        fc.integer(),
        fc.bigInt().filter((n) => n > 2n ** 53n - 1n || n < 1n - 2n ** 53n),
        text,
        fc.uint8Array({ maxLength: 6 }),
        text.map((s) => new Markup(s)),
        fc.uuid().map((u) => new UUID(u)),
        fc
          // From year 100: Flask reads years 1-99 back as 19xx/20xx, and so does this codec.
          .date({
            min: new Date('0100-01-01T00:00:00Z'),
            max: new Date('9999-12-31T23:59:59Z'),
            noInvalidDate: true,
          })
          .map(seconds),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.array(tie('value'), { maxLength: 4 }).map((items) => Tuple.from(items)),
        fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
      ),
    }))
    const session = fc.dictionary(key, value, { maxKeys: 5, noNullPrototype: true })

    it('round-trips any session of Flask-storable values through encode and decode', () => {
      const codec = createFlaskCodec({ secret })

      fc.assert(
        fc.property(session, (data) => {
          const cookie = codec.encode(data, noMeta, now)
          fc.pre(cookie.length <= 4096)

          expect(dataOf(codec.decode(cookie, { now, maxAge: day }))).toStrictEqual(data)
        }),
      )
    })

    it('rejects any single changed character, unless it only touches unused signature bits', () => {
      const codec = createFlaskCodec({ secret })

      fc.assert(
        fc.property(
          session,
          fc.nat(),
          fc.constantFrom(...`${base64url}.=`),
          (data, at, replacement) => {
            const cookie = codec.encode(data, noMeta, now)
            fc.pre(cookie.length <= 4096)
            const i = at % cookie.length
            fc.pre(cookie[i] !== replacement)
            const changed = cookie.slice(0, i) + replacement + cookie.slice(i + 1)

            const result = codec.decode(changed, { now, maxAge: day })

            // Only the last character's 2 unused low bits may differ, and then nothing else does.
            const harmless =
              i === cookie.length - 1 &&
              base64url.indexOf(replacement) >> 2 === base64url.indexOf(cookie[i]!) >> 2
            expect(result.ok).toBe(harmless)
            if (result.ok) expect(result.data).toStrictEqual(data)
          },
        ),
      )
    })
  })
})

describe('decodeFlaskUnsafe', () => {
  it('returns the payload of a cookie signed with another key, for debugging', () => {
    const cookie = signRaw('{"user":"x"}', { key: 'someone-else', compress: true })

    expect(decodeFlaskUnsafe(cookie)).toStrictEqual({
      ok: true,
      data: { user: 'x' },
      issuedAt: now,
      compressed: true,
    })
  })

  it('returns non-object payloads as they are', () => {
    expect(decodeFlaskUnsafe(signRaw('[1,{" t":[2]}]'))).toMatchObject({
      ok: true,
      data: [1, Tuple.of(2)],
    })
  })

  it('reports a value that is not a cookie as malformed', () => {
    expect(decodeFlaskUnsafe('nope')).toEqual({ ok: false, reason: 'malformed' })
  })
})
