import { describe, expect, it } from 'vitest'
import { now, secret, signRaw } from '../../../test/vectors/flask-oracle.js'
import type { DecodeResult, SessionData } from '../types.js'
import { createFlaskCodec } from './codec.js'
import { markFloat, Tuple } from './python.js'
import { dumpsSession } from './tags.js'

const day = 86_400

function decodeAt(cookie: string): DecodeResult {
  return createFlaskCodec({ secret }).decode(cookie, { now, maxAge: 31 * day })
}

function dataOf(result: DecodeResult): SessionData {
  if (!result.ok) throw new Error(`expected an accepted cookie, got ${result.reason}`)
  return result.data
}

describe('Flask payloads through the codec', () => {
  describe('payloads', () => {
    it.each([
      ['a list', '[1,2,3]'],
      ['a string', '"text"'],
      ['null', 'null'],
      ['a number', '42'],
      ['a tuple', '{" t":[1]}'],
      ['markup', '{" m":"<b>"}'],
    ])('rejects a signed payload that is %s as not_object', (_, json) => {
      expect(decodeAt(signRaw(json))).toEqual({ ok: false, reason: 'not_object' })
    })

    it.each([
      ['__proto__ at the top', '{"__proto__":{"polluted":1},"user":"u1"}'],
      ['constructor nested', '{"a":{"constructor":{"prototype":{"polluted":1}}}}'],
      ['prototype in a list', '{"a":[{"prototype":{"polluted":1}}]}'],
      ['__proto__ behind the di escape', '{"a":{" di":{"__proto____":{"polluted":1}}}}'],
    ])('rejects a signed payload with %s and leaves Object.prototype untouched', (_, json) => {
      const result = decodeAt(signRaw(json))

      expect(result.ok).toBe(false)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect(Object.prototype).not.toHaveProperty('polluted')
    })

    it('reads NaN, Infinity and -Infinity and writes them back unchanged', () => {
      const json = '{"a":NaN,"b":Infinity,"c":-Infinity,"d":-0.0}'

      const data = dataOf(decodeAt(signRaw(json)))

      expect(data).toStrictEqual({ a: Number.NaN, b: Infinity, c: -Infinity, d: -0 })
      expect(dumpsSession(data)).toBe(json)
    })

    it('reads ints beyond 2^53 - 1 as bigint and writes them back exactly', () => {
      const json = '{"big":18446744073709551616,"edge":9007199254740991,"neg":-9007199254740993}'

      const data = dataOf(decodeAt(signRaw(json)))

      expect(data).toStrictEqual({
        big: 18446744073709551616n,
        edge: 9007199254740991,
        neg: -9007199254740993n,
      })
      expect(dumpsSession(data)).toBe(json)
    })

    it('reads raw UTF-8 and any key order, and writes the canonical form back', () => {
      const cookie = signRaw('{ "z" : "café 😀", "a" : [1, 2] }')

      const data = dataOf(decodeAt(cookie))

      expect(data).toStrictEqual({ z: 'café 😀', a: [1, 2] })
      expect(dumpsSession(data)).toBe('{"a":[1,2],"z":"caf\\u00e9 \\ud83d\\ude00"}')
    })

    it('reads a compressed payload of raw JSON', () => {
      const data = dataOf(decodeAt(signRaw('{"x":"abcabcabcabcabcabcabc"}', { compress: true })))

      expect(data).toEqual({ x: 'abcabcabcabcabcabcabc' })
    })

    it.each([
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])],
      ['invalid JSON', '{"a":}'],
      ['a trailing comma', '{"a":1,}'],
      ['JSON followed by more text', '{"a":1} x'],
    ])('rejects a signed payload with %s as bad_payload', (_, json) => {
      expect(decodeAt(signRaw(json))).toEqual({ ok: false, reason: 'bad_payload' })
    })

    it('rejects a payload flagged compressed that does not inflate as bad_payload', () => {
      const cookie = signRaw('{"a":1}', { flagOnly: true })

      expect(decodeAt(cookie)).toEqual({ ok: false, reason: 'bad_payload' })
    })

    it('rejects a compressed payload that inflates past 1 MiB as bad_payload', () => {
      const cookie = signRaw(`{"a":"${'x'.repeat(1_100_000)}"}`, { compress: true })

      expect(cookie.length).toBeLessThan(4096)
      expect(decodeAt(cookie)).toEqual({ ok: false, reason: 'bad_payload' })
    })

    it('rejects tagged values Flask could not load as invalid_data', () => {
      expect(decodeAt(signRaw('{"u":{" u":"not-a-uuid"}}'))).toEqual({
        ok: false,
        reason: 'invalid_data',
      })
      expect(decodeAt(signRaw('{"b":{" b":"!!!"}}'))).toEqual({ ok: false, reason: 'invalid_data' })
      expect(decodeAt(signRaw('{"t":{" t":5}}'))).toEqual({ ok: false, reason: 'invalid_data' })
    })

    it('reads an unparsable tagged datetime as null, as Werkzeug does', () => {
      expect(dataOf(decodeAt(signRaw('{"d":{" d":"not a date"}}')))).toStrictEqual({ d: null })
    })

    it('reads a tagged tuple of a string as its characters, as tuple() does', () => {
      expect(dataOf(decodeAt(signRaw('{"t":{" t":"ab"}}')))).toStrictEqual({
        t: Tuple.of('a', 'b'),
      })
    })

    it('unescapes a session whose only key is a tag, and escapes it again', () => {
      const json = '{" di":{" t__":[1]}}'

      const data = dataOf(decodeAt(signRaw(json)))

      expect(data).toStrictEqual({ ' t': [1] })
      expect(dumpsSession(data)).toBe(json)
    })
  })

  describe('integral floats', () => {
    it('keeps 1.0 a float when decoded data is re-encoded unchanged', () => {
      const json = '{"a":1.0,"l":[2.0,3],"t":{" t":[4.0]},"x":1e+16}'

      const data = dataOf(decodeAt(signRaw(json)))

      expect(data).toStrictEqual({ a: 1, l: [2, 3], t: Tuple.of(4), x: 1e16 })
      expect(dumpsSession(data)).toBe(json)
    })

    it('writes a number the app put in place of a float as an int', () => {
      const data = dataOf(decodeAt(signRaw('{"a":1.0,"b":2.0}')))

      data.a = 5

      expect(dumpsSession(data)).toBe('{"a":5,"b":2.0}')
    })

    it('writes a number as a float once markFloat marks it', () => {
      const data = { ratio: 3 }

      markFloat(data, 'ratio')

      expect(dumpsSession(data)).toBe('{"ratio":3.0}')
    })
  })
})
