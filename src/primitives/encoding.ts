/**
 * The strictness checks for text that carries bytes (base64, base64url, hex). Node's decoders
 * skip characters they do not know and ignore the unused low bits of a last character, so one
 * byte string has many spellings; every check of what a cookie may spell lives here.
 * @module
 */
import { fromBase64 } from './bytes.js'

/** The 6-bit value of each base64url character by char code, -1 for every other character. */
export const base64urlValues: Int8Array = new Int8Array(128).fill(-1)
for (const [i, c] of [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
].entries()) {
  base64urlValues[c.charCodeAt(0)] = i
}

// A regex for the alphabet: V8 scans a single character class faster than a loop over the text.
const base64urlText = /^[A-Za-z0-9_-]+$/

/** Whether `text` is one or more base64url characters (no padding, no other character). */
export function isBase64url(text: string): boolean {
  return base64urlText.test(text)
}

/**
 * Whether `text` is unpadded base64url in its one canonical spelling: only the alphabet, no
 * last group of a single character (it holds no whole byte), and zero in the bits of the last
 * character past the final byte (4 of them after 2 characters, 2 after 3). The empty text is
 * the canonical spelling of no bytes.
 */
export function isCanonicalBase64url(text: string): boolean {
  if (text === '') return true
  if (!base64urlText.test(text)) return false
  const tail = text.length % 4
  if (tail === 0) return true
  if (tail === 1) return false
  const last = base64urlValues[text.charCodeAt(text.length - 1)]!
  return (last & (tail === 2 ? 0x0f : 0x03)) === 0
}

/**
 * The bytes of a base64url text, or null unless it is in canonical form
 * (`isCanonicalBase64url`), so two spellings of one value never both decode.
 */
export function decodeCanonicalBase64url(text: string): Uint8Array | null {
  return isCanonicalBase64url(text) ? fromBase64(text) : null
}

/**
 * Whether `text` is standard base64 (`+` and `/`), padded with `=` to a multiple of 4, as
 * Python's `b64encode` writes it. Like Python's decoder, it leaves the spare bits of the last
 * character unchecked.
 */
export function isPaddedBase64(text: string): boolean {
  if (text.length % 4 !== 0) return false
  let end = text.length
  if (text.charCodeAt(end - 1) === 0x3d) end--
  if (text.charCodeAt(end - 1) === 0x3d) end--
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i)
    const ok =
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2b ||
      c === 0x2f
    if (!ok) return false
  }
  return true
}

/** The value of a hex digit (either case) by char code, or -1. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}
