/**
 * zlib's inflate in JavaScript (pako's port of stock zlib), for runtimes without `node:zlib`:
 * how a compressed Flask cookie is read on the edge. The output buffer is the cap, so a small
 * cookie can never inflate into a large allocation.
 * @module
 */
import zlibInflate from 'pako/lib/zlib/inflate.js'
import ZStream from 'pako/lib/zlib/zstream.js'

// zlib.h's constants.
const Z_FINISH = 4
const Z_OK = 0
const Z_STREAM_END = 1
const windowBits = 15

/** Most bytes a cookie's payload may inflate to: a cookie is 4 KB, this is a zip-bomb guard. */
const maxBytes = 64 << 10

/**
 * `input`, a zlib stream, inflated. Throws when the stream is broken, truncated or would
 * inflate past 64 KiB, as Node's `inflateSync` with `maxOutputLength` does.
 */
export function inflateJs(input: Uint8Array): Uint8Array {
  const stream = new ZStream()
  if (zlibInflate.inflateInit2(stream, windowBits) !== Z_OK) throw new Error('inflateInit2 failed')
  const output = new Uint8Array(maxBytes)
  stream.input = input
  stream.next_in = 0
  stream.avail_in = input.length
  stream.output = output
  stream.next_out = 0
  stream.avail_out = output.length
  const status = zlibInflate.inflate(stream, Z_FINISH)
  const length = stream.next_out
  zlibInflate.inflateEnd(stream)
  if (status !== Z_STREAM_END) {
    throw new Error(stream.avail_out === 0 ? 'inflated past the limit' : 'not a whole zlib stream')
  }
  return output.subarray(0, length)
}
