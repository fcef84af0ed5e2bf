import fc from 'fast-check'
import pako from 'pako'
import { describe, expect, it } from 'vitest'
import { deflate } from './deflate.js'

describe('deflate (one reused zlib stream)', () => {
  it('writes the same bytes as a fresh pako.deflate, call after call, whatever came before', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 3000 }),
      fc.json({ maxDepth: 4 }),
      fc.uint8Array({ maxLength: 70_000 }),
    )
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 4 }), (inputs) => {
        for (const input of inputs) {
          const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input
          expect(Buffer.from(deflate(bytes))).toEqual(Buffer.from(pako.deflate(bytes)))
        }
      }),
      { numRuns: 150, seed: 20261128 },
    )
  })

  it('compresses an empty input and a large, repetitive one', () => {
    expect(Buffer.from(deflate(new Uint8Array(0)))).toEqual(
      Buffer.from(pako.deflate(new Uint8Array(0))),
    )
    const big = Buffer.from('{"cart":[1,2,3],"user":"admin"}'.repeat(10_000))
    expect(Buffer.from(deflate(big))).toEqual(Buffer.from(pako.deflate(big)))
  })
})
