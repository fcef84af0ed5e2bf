/**
 * Random bytes from Node's CSPRNG, fetched in blocks. Every `randomBytes` call makes a system
 * call (OpenSSL asks for the process id, to notice a fork), which on sandboxed or virtualised
 * kernels costs microseconds: here, more than sealing the cookie itself. Slicing a 4 KiB block
 * makes a GCM nonce or a session id cost a copy. Node's own `randomUUID` caches its random
 * bytes the same way. Every byte is handed out once.
 * @module
 */
import { randomFillSync } from 'node:crypto'

const blockSize = 4096
let block = Buffer.alloc(0)
let offset = blockSize

/** `size` fresh random bytes (at most 4096), as a view that no later call overwrites. */
export function randomBytesPooled(size: number): Buffer {
  if (offset + size > block.length) {
    // A new block each time, never refilled in place: views handed out stay as they were.
    block = randomFillSync(Buffer.allocUnsafeSlow(blockSize))
    offset = 0
  }
  const bytes = block.subarray(offset, offset + size)
  offset += size
  return bytes
}

/** A random token of `size` bytes, as base64url. */
export function randomToken(size = 32): string {
  return randomBytesPooled(size).toString('base64url')
}
