/**
 * zlib's deflate, byte for byte as Python's `zlib.compress` writes it (Flask compresses its
 * cookies with it). Node's own zlib is Chromium's fork, whose output differs for most inputs,
 * so this is pako, the JavaScript port of stock zlib. One stream is set up once and reset per
 * call: `pako.deflate` sets up a fresh one each time, and its 256 KB of buffers cost more than
 * compressing a cookie.
 * @module
 */
import zlibDeflate from 'pako/lib/zlib/deflate.js'
import ZStream from 'pako/lib/zlib/zstream.js'

// zlib.h's constants, as pako's `deflate` uses them by default.
const Z_DEFAULT_COMPRESSION = -1
const Z_DEFLATED = 8
const Z_DEFAULT_STRATEGY = 0
const Z_FINISH = 4
const Z_OK = 0
const Z_STREAM_END = 1
const windowBits = 15
const memLevel = 8

let stream: ZStream | null = null
let output = new Uint8Array(4096)
/** Stands in for the hash heads while pako resets the stream, so its zeroing loop has no work. */
const noHeads = new Uint16Array(0)

/**
 * `input` compressed in the zlib format at level 6, as `zlib.compress(input)` in Python.
 * The result is a view of a buffer this module reuses: valid until the next call.
 */
export function deflate(input: Uint8Array): Uint8Array {
  if (stream === null) {
    const fresh = new ZStream()
    const status = zlibDeflate.deflateInit2(
      fresh,
      Z_DEFAULT_COMPRESSION,
      Z_DEFLATED,
      windowBits,
      memLevel,
      Z_DEFAULT_STRATEGY,
      true, // pako's `legacyHash`, its default: the hash of stock zlib 1.2, Python's output
    )
    if (status !== Z_OK) throw new Error(`zlib deflateInit2 failed (${status})`)
    stream = fresh
  } else if (!reset(stream)) {
    stream = null
    throw new Error('zlib deflateReset failed')
  }
  // zlib's deflateBound, rounded up: room for the whole output, so one call finishes.
  const bound = input.length + (input.length >> 12) + (input.length >> 14) + 64
  if (output.length < bound) output = new Uint8Array(bound)
  stream.input = input
  stream.next_in = 0
  stream.avail_in = input.length
  stream.output = output
  stream.next_out = 0
  stream.avail_out = output.length
  const status = zlibDeflate.deflate(stream, Z_FINISH)
  const length = stream.next_out
  // Drop the references, so the stream holds no caller's data between calls.
  stream.input = null
  if (status !== Z_STREAM_END) {
    stream = null
    throw new Error(`zlib deflate did not finish (${status})`)
  }
  return output.subarray(0, length)
}

/**
 * `deflateReset`, with the 32K hash heads cleared by `fill` (a memset) rather than by pako's
 * element-by-element loop, which took half the time of encoding a Flask cookie. pako's reset
 * runs as written otherwise: it zeroes an empty array instead, and gets the real one back.
 */
function reset(stream: ZStream): boolean {
  const state = stream.state
  if (state === null) return false
  const heads = state.head
  heads.fill(0)
  state.head = noHeads
  try {
    return zlibDeflate.deflateReset(stream) === Z_OK
  } finally {
    state.head = heads
  }
}
