// Types for the part of pako's zlib-level API (its `pako/lib/zlib/*` exports, the JavaScript
// port of zlib's C interface) that `deflate.ts` uses; pako's own types cover only its wrappers.

declare module 'pako/lib/zlib/zstream.js' {
  /** zlib's `z_stream`: the input and output buffers and positions of one stream. */
  export default class ZStream {
    input: Uint8Array | null
    next_in: number
    avail_in: number
    output: Uint8Array | null
    next_out: number
    avail_out: number
    msg: string
    /** The deflate state, as far as `deflate.ts` reaches into it: the window and hash heads. */
    state: {
      head: Uint16Array
      window: Uint8Array
      hash_shift: number
      hash_mask: number
    } | null
  }
}

declare module 'pako/lib/zlib/deflate.js' {
  import type ZStream from 'pako/lib/zlib/zstream.js'

  interface ZlibDeflate {
    deflateInit2(
      strm: ZStream,
      level: number,
      method: number,
      windowBits: number,
      memLevel: number,
      strategy: number,
      legacyHash: boolean,
    ): number
    deflateReset(strm: ZStream): number
    deflate(strm: ZStream, flush: number): number
  }
  const zlibDeflate: ZlibDeflate
  export default zlibDeflate
}

declare module 'pako/lib/zlib/inflate.js' {
  import type ZStream from 'pako/lib/zlib/zstream.js'

  interface ZlibInflate {
    inflateInit2(strm: ZStream, windowBits: number): number
    inflate(strm: ZStream, flush: number): number
    inflateEnd(strm: ZStream): number
  }
  const zlibInflate: ZlibInflate
  export default zlibInflate
}
