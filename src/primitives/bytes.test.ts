import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

/** The module as an edge runtime loads it: with no global Buffer. */
let edge: typeof import('./bytes.js')

beforeAll(async () => {
  vi.stubGlobal('Buffer', undefined)
  vi.resetModules()
  edge = await import('./bytes.js')
  vi.unstubAllGlobals()
})

afterAll(() => {
  vi.resetModules()
})

describe('bytes without a global Buffer (edge runtimes)', () => {
  it('spells bytes in base64 and base64url as Buffer does, and reads them back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const base64 = Buffer.from(bytes).toString('base64')
        const base64url = Buffer.from(bytes).toString('base64url')

        expect(edge.toBase64(bytes)).toBe(base64)
        expect(edge.toBase64url(bytes)).toBe(base64url)
        expect(edge.fromBase64(base64)).toEqual(bytes)
        expect(edge.fromBase64(base64url)).toEqual(bytes)
      }),
    )
  })

  it('measures and encodes UTF-8 as Buffer does, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 50 }), (text) => {
        expect(edge.utf8Length(text)).toBe(Buffer.byteLength(text))
        expect(edge.utf8Bytes(text)).toEqual(new Uint8Array(Buffer.from(text)))
        expect(edge.utf8Text(edge.utf8Bytes(text))).toBe(Buffer.from(text).toString())
      }),
    )
    expect(edge.utf8Length('a\ud800b\udc00')).toBe(Buffer.byteLength('a\ud800b\udc00'))
  })

  it('compares bytes by value, and a length mismatch as unequal', () => {
    expect(edge.constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true)
    expect(edge.constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false)
    expect(edge.constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false)
  })
})
