import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compareCodePoints, dumps, formatNumber } from './dumps.js'
import { parse } from './parse.js'
import { Tuple } from './python.js'
import { dumpsSession } from './tags.js'

const vectors: {
  cases: { name: string; valid: boolean; session: unknown; payload_json: string | null }[]
} = JSON.parse(
  readFileSync(
    new URL('../../../test/vectors/flask-session-cookies.json', import.meta.url),
    'utf8',
  ),
)
const valid = vectors.cases.filter((c) => c.valid)

describe('dumps', () => {
  it.each(valid.filter((c) => c.session !== null).map((c) => [c.name, c] as const))(
    'writes the payload_json of %s from its parsed value',
    (_, c) => {
      expect(dumps(parse(c.payload_json!))).toBe(c.payload_json)
    },
  )

  it('sorts keys by code point: U+FF5E before an astral character, unlike UTF-16 order', () => {
    const data = { '😀': 1, '\uff5e': 2 }

    expect(dumps(data)).toBe('{"\\uff5e":2,"\\ud83d\\ude00":1}')
    expect(['😀', '\uff5e'].sort()).toEqual(['😀', '\uff5e']) // what JS's own sort would do
  })

  it('sorts integer-like keys as strings, not in JS enumeration order', () => {
    const data = { a: 0, '9': 0, '10': 0, '1.5': 0, '1': 0, '01': 0, '-1': 0 }

    expect(dumps(data)).toBe('{"-1":0,"01":0,"1":0,"1.5":0,"10":0,"9":0,"a":0}')
  })

  it('escapes what ensure_ascii escapes, in lowercase hex', () => {
    expect(dumps('\x7f\u2028\ud800\u00e9\x01/<>&"\\\n')).toBe(
      '"\\u007f\\u2028\\ud800\\u00e9\\u0001/<>&\\"\\\\\\n"',
    )
  })

  it('escapes one-key objects whose key is a tag, at any depth', () => {
    expect(dumpsSession({ x: { ' t': 'not a tuple' } })).toBe(
      '{"x":{" di":{" t__":"not a tuple"}}}',
    )
    expect(dumpsSession({ y: { ' u': Tuple.of(1, 2) } })).toBe(
      '{"y":{" di":{" u__":{" t":[1,2]}}}}',
    )
    expect(dumpsSession({ ' di': 5 })).toBe('{" di":{" di__":5}}')
  })

  it('leaves tag-like keys alone when they are not a lone registered tag', () => {
    expect(dumpsSession({ x: { ' t__': 1 } })).toBe('{"x":{" t__":1}}')
    expect(dumpsSession({ x: { ' t': 1, z: 2 } })).toBe('{"x":{" t":1,"z":2}}')
    expect(dumpsSession({ x: { ' x': [1] } })).toBe('{"x":{" x":[1]}}')
  })

  it('writes bigints as exact ints', () => {
    expect(dumps({ n: 2n ** 64n })).toBe('{"n":18446744073709551616}')
  })
})

describe('formatNumber', () => {
  it.each([
    [0.1, '0.1'],
    [-2.5, '-2.5'],
    [1e-7, '1e-07'],
    [1e-6, '1e-06'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [2.5e-5, '2.5e-05'],
    [123456.789, '123456.789'],
    [1.5e300, '1.5e+300'],
    [5e-324, '5e-324'],
    [1.2345678901234568e17, '1.2345678901234568e+17'],
    [1e21, '1e+21'],
    [1e16, '1e+16'],
    [2 ** 53, '9007199254740992.0'],
    [-0, '-0.0'],
    [Number.NaN, 'NaN'],
    [-Infinity, '-Infinity'],
    [42, '42'],
    [-9007199254740991, '-9007199254740991'],
  ])('writes %d as Python writes it', (n, text) => {
    expect(formatNumber(n)).toBe(text)
  })

  it('writes an integral number marked as a float with .0 or an exponent', () => {
    expect(formatNumber(1, true)).toBe('1.0')
    expect(formatNumber(1234567890123456, true)).toBe('1234567890123456.0')
    expect(formatNumber(1e16, true)).toBe('1e+16')
  })
})

describe('compareCodePoints', () => {
  it('orders lone surrogates and astral characters by code point', () => {
    const keys = ['\ue000', '\ud800', '😀', '\uffff', 'a']

    expect(keys.sort(compareCodePoints)).toEqual(['a', '\ud800', '\ue000', '\uffff', '😀'])
  })
})
