import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeCanonicalBase64url,
  hexValue,
  isBase64url,
  isCanonicalBase64url,
  isPaddedBase64,
} from './encoding.js'

describe('isBase64url', () => {
  it('accepts the URL-safe alphabet and nothing else', () => {
    expect(isBase64url('AZaz09-_')).toBe(true)
    expect(isBase64url('')).toBe(false)
    expect(isBase64url('ab+c')).toBe(false)
    expect(isBase64url('abc=')).toBe(false)
    expect(isBase64url('a.b')).toBe(false)
  })
})

describe('isCanonicalBase64url', () => {
  it('accepts what Buffer writes for any bytes, the empty text included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(isCanonicalBase64url(Buffer.from(bytes).toString('base64url'))).toBe(true)
      }),
    )
  })

  it('refuses a second spelling: spare bits set in the last character', () => {
    // "AA" and "AAA" are the canonical spellings; "AB" and "AAB" decode to the same bytes.
    expect(Buffer.from('AB', 'base64url')).toEqual(Buffer.from('AA', 'base64url'))

    expect(isCanonicalBase64url('AB')).toBe(false)
    expect(isCanonicalBase64url('AAB')).toBe(false)
    expect(isCanonicalBase64url('AQ')).toBe(true)
  })

  it('refuses a lone last character, padding and characters outside the alphabet', () => {
    expect(isCanonicalBase64url('AAAAA')).toBe(false)
    expect(isCanonicalBase64url('AA==')).toBe(false)
    expect(isCanonicalBase64url('AA/+')).toBe(false)
  })
})

describe('decodeCanonicalBase64url', () => {
  it('gives the bytes of a canonical text and null for any other spelling', () => {
    expect(decodeCanonicalBase64url('aGk')).toEqual(Buffer.from('hi'))
    expect(decodeCanonicalBase64url('aGl')).toBeNull()
  })
})

describe('isPaddedBase64', () => {
  it('accepts what Python b64encode writes, padding included', () => {
    expect(isPaddedBase64('//4=')).toBe(true)
    expect(isPaddedBase64('aGk=')).toBe(true)
    expect(isPaddedBase64('aA==')).toBe(true)
    expect(isPaddedBase64('')).toBe(true)
  })

  it('refuses unpadded text, the URL-safe alphabet and padding in the middle', () => {
    expect(isPaddedBase64('aGk')).toBe(false)
    expect(isPaddedBase64('__4=')).toBe(false)
    expect(isPaddedBase64('a=k=')).toBe(false)
    expect(isPaddedBase64('a===')).toBe(false)
  })
})

describe('hexValue', () => {
  it('reads hex digits in either case and nothing else', () => {
    expect(['0', '9', 'a', 'f', 'A', 'F', 'g', ' '].map((c) => hexValue(c.charCodeAt(0)))).toEqual([
      0, 9, 10, 15, 10, 15, -1, -1,
    ])
  })
})
