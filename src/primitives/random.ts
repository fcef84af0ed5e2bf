/**
 * Random bytes from Node's CSPRNG, fetched in blocks. Every `randomBytes` call makes a system
 * call (OpenSSL asks for the process id, to notice a fork), which on sandboxed or virtualised
 * kernels costs microseconds: here, more than sealing the cookie itself. Slicing a 4 KiB block
 * makes a GCM nonce or a session id cost a copy. Node's own `randomUUID` caches its random
 * bytes the same way. Every byte is handed out once.
 * @module
 */
import { toBase64url } from './bytes.js'
import { nodeCrypto } from './runtime.js'

const blockSize = 4096
let block: Uint8Array = new Uint8Array(0)
let offset = blockSize

/**
 * A new block of random bytes: Node's `randomFillSync` into a Buffer, or Web Crypto's
 * `getRandomValues` (synchronous too) where `node:crypto` is absent.
 */
const fill: () => Uint8Array = ((node) =>
  node
    ? () => node.randomFillSync(Buffer.allocUnsafeSlow(blockSize))
    : () => globalThis.crypto.getRandomValues(new Uint8Array(blockSize)))(nodeCrypto)

/** `size` fresh random bytes (at most 4096), as a view that no later call overwrites. */
export function randomBytesPooled(size: number): Uint8Array {
  if (offset + size > block.length) {
    // A new block each time, never refilled in place: views handed out stay as they were.
    block = fill()
    offset = 0
  }
  const bytes = block.subarray(offset, offset + size)
  offset += size
  return bytes
}

/** A random token of `size` bytes, as base64url. */
export function randomToken(size = 32): string {
  return toBase64url(randomBytesPooled(size))
}
