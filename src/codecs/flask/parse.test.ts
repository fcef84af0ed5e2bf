import { describe, expect, it } from 'vitest'
import { SerializeError } from '../../errors.js'
import { maxDepth } from '../../primitives/guards.js'
import { dumps } from './dumps.js'
import { parse } from './parse.js'

describe('parse', () => {
  it('reads ints up to 2^53 - 1 as numbers and larger ones as bigint', () => {
    expect(parse('[9007199254740991,9007199254740992,-0,-0.0]')).toStrictEqual([
      9007199254740991,
      9007199254740992n,
      0,
      -0,
    ])
  })

  it('keeps the last value of a repeated key, as Python does', () => {
    expect(parse('{"a":1.0,"a":2}')).toStrictEqual({ a: 2 })
    expect(dumps(parse('{"a":1.0,"a":1}'))).toBe('{"a":1}')
  })

  it('reads escapes, including surrogate pairs and lone surrogates', () => {
    expect(parse('"\\ud83d\\ude00\\ud800\\/\\b\\f\\n\\r\\t\\"\\\\\\u00E9"')).toBe(
      '😀\ud800/\b\f\n\r\t"\\é',
    )
  })

  it.each([
    ['a trailing comma', '[1,]'],
    ['a leading zero', '01'],
    ['a bare minus', '-'],
    ['a point without digits', '1.'],
    ['a raw control character', '"a\nb"'],
    ['an unterminated string', '"abc'],
    ['a bad escape', '"\\x41"'],
    ['a short \\u escape', '"\\u12"'],
    ['a single-quoted string', "{'a':1}"],
    ['nothing', ''],
    ['an int of over 4300 digits', '9'.repeat(4301)],
    ['lowercase nan', 'nan'],
  ])('throws SerializeError for %s', (_, json) => {
    expect(() => parse(json)).toThrow(SerializeError)
  })

  it(`refuses nesting over ${maxDepth} deep without overflowing the stack`, () => {
    expect(() => parse('['.repeat(100_000))).toThrow(SerializeError)
    expect(parse(`${'['.repeat(maxDepth)}${']'.repeat(maxDepth)}`)).toBeInstanceOf(Array)
  })

  it('reads a long document in one pass', () => {
    const json = `[${'{"k":"v\\n","n":1.5},'.repeat(50_000)}0]`

    expect((parse(json) as unknown[]).length).toBe(50_001)
  })
})
