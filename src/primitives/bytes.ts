/**
 * Bytes and their text spellings (UTF-8, base64, base64url) on every runtime. Node's `Buffer`
 * does these natively and is used where it exists; elsewhere (workerd, Vercel Edge) it is
 * `TextEncoder`, `btoa` and `atob`.
 * @module
 */

/** Node's Buffer where the runtime has one (Node, Bun, Deno's npm code), else null. */
const NodeBuffer: typeof Buffer | null =
  typeof (globalThis as { Buffer?: unknown }).Buffer === 'function'
    ? (globalThis as { Buffer: typeof Buffer }).Buffer
    : null

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The UTF-8 bytes of `text`. */
export function utf8Bytes(text: string): Uint8Array {
  return NodeBuffer ? NodeBuffer.from(text, 'utf8') : encoder.encode(text)
}

/** How many bytes `text` takes in UTF-8. */
export function utf8Length(text: string): number {
  if (NodeBuffer) return NodeBuffer.byteLength(text, 'utf8')
  let length = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    // A surrogate pair is 4 bytes for 2 units, a lone surrogate 3 (as U+FFFD).
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        length += 2
        i++
        continue
      }
    }
    length += c < 0x800 ? 1 : 2
  }
  return length
}

/** `bytes` read as UTF-8 (malformed sequences as U+FFFD). */
export function utf8Text(bytes: Uint8Array): string {
  if (NodeBuffer)
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  return decoder.decode(bytes)
}

/** `text` of code points below 256, one byte each (Node's `latin1`). */
export function latin1Bytes(text: string): Uint8Array {
  if (NodeBuffer) return NodeBuffer.from(text, 'latin1')
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i)
  return bytes
}

/** `bytes` as standard base64, padded. */
export function toBase64(bytes: Uint8Array): string {
  if (NodeBuffer) {
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  }
  let binary = ''
  // In slices: String.fromCharCode takes its bytes as arguments, and arguments are limited.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

/** `bytes` as unpadded base64url. */
export function toBase64url(bytes: Uint8Array): string {
  if (NodeBuffer) {
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
  }
  return toBase64(bytes).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
}

/**
 * The bytes of base64 or base64url `text`. The caller checks the spelling first
 * (`primitives/encoding.ts`); here any valid text decodes as Node's decoder would.
 */
export function fromBase64(text: string): Uint8Array {
  if (NodeBuffer) return NodeBuffer.from(text, 'base64')
  const standard = text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')
  const binary = atob(standard + '='.repeat((4 - (standard.length % 4)) % 4))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** The bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let hex = ''
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0')
  return hex
}

/** `parts` one after the other, in a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/**
 * Whether `a` and `b` hold the same bytes, in time that depends on their length only; a length
 * mismatch is `false`. For runtimes without `crypto.timingSafeEqual`.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}
