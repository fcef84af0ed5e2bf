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
/** Bytes the stream last compressed, or -1 when unknown: what `reset` has to clear after. */
let lastLength = -1
/**
 * Up to this input length, `reset` clears only the hash heads the last input could have set;
 * past it, all 32K of them, a memset that costs less than hashing that many positions.
 */
const targetedClearMax = 1024

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
  lastLength = -1
  const status = zlibDeflate.deflate(stream, Z_FINISH)
  const length = stream.next_out
  // Drop the references, so the stream holds no caller's data between calls.
  stream.input = null
  if (status !== Z_STREAM_END) {
    stream = null
    throw new Error(`zlib deflate did not finish (${status})`)
  }
  lastLength = input.length
  return output.subarray(0, length)
}

/**
 * `deflateReset`, with the 32K hash heads cleared here rather than by pako's element-by-element
 * loop, which took half the time of encoding a Flask cookie. pako's reset runs as written
 * otherwise: it zeroes an empty array instead, and gets the real one back.
 *
 * After a short input only the heads it could have set are cleared. zlib sets `head[h]` only for
 * a position whose 3 bytes are in the window, h being the classic rolling hash of those bytes
 * (`legacyHash`, whose shift times 3 covers every hash bit, so h depends on them alone); the
 * input sits at the window's start, as nothing slides before 32K. Hashing every position of the
 * last input, the 2 past its end included, covers them all. Otherwise all heads are zeroed by
 * `fill`, a memset.
 */
function reset(stream: ZStream): boolean {
  const state = stream.state
  if (state === null) return false
  const heads = state.head
  if (lastLength >= 0 && lastLength <= targetedClearMax) {
    const { window, hash_shift: shift, hash_mask: mask } = state
    for (let i = 0; i < lastLength; i++) {
      heads[((((window[i]! << shift) ^ window[i + 1]!) << shift) ^ window[i + 2]!) & mask] = 0
    }
  } else {
    heads.fill(0)
  }
  lastLength = -1
  state.head = noHeads
  try {
    return zlibDeflate.deflateReset(stream) === Z_OK
  } finally {
    state.head = heads
  }
}
