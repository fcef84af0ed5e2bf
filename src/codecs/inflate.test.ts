import { inflateSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { deflate } from './deflate.js'
import { inflateJs } from './inflate.js'

describe('inflateJs', () => {
  it('inflates what deflate writes, as node:zlib does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const packed = deflate(bytes).slice()

        expect(inflateJs(packed)).toEqual(new Uint8Array(inflateSync(packed)))
      }),
    )
  })

  it('throws past 64 KiB of output, a broken stream and a truncated one', () => {
    const bomb = deflate(new Uint8Array((64 << 10) + 1)).slice()
    const packed = deflate(new TextEncoder().encode('{"a":1}')).slice()

    expect(() => inflateJs(bomb)).toThrow('limit')
    expect(() => inflateJs(packed.subarray(0, packed.length - 3))).toThrow()
    expect(() => inflateJs(new Uint8Array([1, 2, 3, 4]))).toThrow()
  })
})
