/**
 * Flask's JSON reader: JSON text read as Python's `json.loads` reads it, in linear time, with
 * the integral floats it meets marked so they are written back as floats.
 * @module
 */
import { SerializeError } from '../../errors.js'
import { hexValue } from '../../primitives/encoding.js'
import { isForbiddenKey, maxDepth } from '../../primitives/guards.js'
import { markFloat, unmarkFloat } from './python.js'

/** Python's default cap on the digits of an int read from text (`sys.set_int_max_str_digits`). */
const maxIntDigits = 4300

/**
 * The value of a JSON text, read as Python's `json.loads` reads it: any key order, raw UTF-8,
 * `NaN`/`Infinity`/`-Infinity`, and ints beyond 2^53 - 1 as `bigint`. Objects are plain
 * objects; the keys `__proto__`, `constructor` and `prototype` are refused. Runs in linear
 * time and throws only `SerializeError`.
 */
export function parse(text: string): unknown {
  src = text
  pos = 0
  depth = 0
  try {
    const value = readValue()
    skipSpace()
    if (pos !== src.length) fail('extra data after the value')
    return value
  } finally {
    src = ''
  }
}

// The parser's state lives in the module: parsing is synchronous and never re-entered, and
// plain functions over module variables are what V8 runs fastest.
let src = ''
let pos = 0
let depth = 0
/** Set by `readValue` when the value just read was a float literal with an integral value. */
let integralFloat = false

function fail(what: string): never {
  throw new SerializeError(`invalid JSON at offset ${pos}: ${what}`)
}

function skipSpace(): void {
  for (;;) {
    const c = src.charCodeAt(pos)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return
    pos++
  }
}

function readValue(): unknown {
  skipSpace()
  integralFloat = false
  const c = src.charCodeAt(pos)
  switch (c) {
    case 0x7b: // {
      return readObject()
    case 0x5b: // [
      return readArray()
    case 0x22: // "
      return readString()
    case 0x74: // t
      return readWord('true', true)
    case 0x66: // f
      return readWord('false', false)
    case 0x6e: // n
      return readWord('null', null)
    case 0x4e: // N
      return readWord('NaN', Number.NaN)
    case 0x49: // I
      return readWord('Infinity', Number.POSITIVE_INFINITY)
    default:
      if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return readNumber()
      return fail(Number.isNaN(c) ? 'unexpected end' : 'unexpected character')
  }
}

function readWord<T>(word: string, value: T): T {
  if (!src.startsWith(word, pos)) fail(`expected ${word}`)
  pos += word.length
  return value
}

function enter(): void {
  if (++depth > maxDepth) fail(`nested over ${maxDepth} deep`)
  pos++
}

function readObject(): Record<string, unknown> {
  enter()
  const out: Record<string, unknown> = {}
  skipSpace()
  if (src.charCodeAt(pos) === 0x7d) {
    pos++
  } else {
    for (;;) {
      if (src.charCodeAt(pos) !== 0x22) fail('expected a key')
      const key = readString()
      if (isForbiddenKey(key)) fail(`the key "${key}" is not allowed`)
      skipSpace()
      if (src.charCodeAt(pos) !== 0x3a) fail("expected ':'")
      pos++
      const value = readValue()
      if (key === ' di') checkEscaped(value)
      // Assigning never reaches a prototype: the keys that could were refused above.
      out[key] = value
      if (integralFloat) markFloat(out, key)
      else if (typeof value === 'number') unmarkFloat(out, key) // a repeated key
      skipSpace()
      const c = src.charCodeAt(pos++)
      if (c === 0x7d) break
      if (c !== 0x2c) fail("expected ',' or '}'")
      skipSpace()
    }
  }
  depth--
  integralFloat = false
  return out
}

function readArray(): unknown[] {
  enter()
  const out: unknown[] = []
  skipSpace()
  if (src.charCodeAt(pos) === 0x5d) {
    pos++
  } else {
    for (;;) {
      out.push(readValue())
      if (integralFloat) markFloat(out, out.length - 1)
      skipSpace()
      const c = src.charCodeAt(pos++)
      if (c === 0x5d) break
      if (c !== 0x2c) fail("expected ',' or ']'")
    }
  }
  depth--
  integralFloat = false
  return out
}

function readString(): string {
  let at = pos + 1
  let start = at
  let out = ''
  for (;;) {
    const c = src.charCodeAt(at)
    if (c === 0x22) break
    if (c === 0x5c) {
      out += src.slice(start, at) + readEscape(at)
      at += src.charCodeAt(at + 1) === 0x75 ? 6 : 2
      start = at
      continue
    }
    // Python's strict mode refuses raw control characters; NaN is the end of the text.
    if (!(c >= 0x20)) {
      pos = at
      fail(Number.isNaN(c) ? 'unterminated string' : 'control character in a string')
    }
    at++
  }
  pos = at + 1
  return out === '' ? src.slice(start, at) : out + src.slice(start, at)
}

/** The text of the escape starting at `at` (a backslash): 2 characters, or 6 for `\uXXXX`. */
function readEscape(at: number): string {
  const c = src.charCodeAt(at + 1)
  if (c === 0x75) {
    let code = 0
    for (let k = at + 2; k < at + 6; k++) {
      const h = hexValue(src.charCodeAt(k))
      if (h < 0) {
        pos = at
        fail('bad \\u escape')
      }
      code = code * 16 + h
    }
    // Surrogates stay separate code units: a pair in the text forms the same JS string.
    return String.fromCharCode(code)
  }
  const piece = simpleEscapes[c]
  if (piece === undefined) {
    pos = at
    fail('bad escape')
  }
  return piece
}

function readNumber(): number | bigint {
  const start = pos
  let at = pos
  if (src.charCodeAt(at) === 0x2d) {
    at++
    if (src.startsWith('Infinity', at)) {
      pos = at + 8
      return Number.NEGATIVE_INFINITY
    }
  }
  const intStart = at
  const first = src.charCodeAt(at)
  if (first === 0x30) at++
  else if (first >= 0x31 && first <= 0x39) at = skipDigits(at)
  else {
    pos = at
    fail('expected a digit')
  }
  const intEnd = at
  let isFloat = false
  if (src.charCodeAt(at) === 0x2e) {
    const after = skipDigits(at + 1)
    if (after === at + 1) {
      pos = at
      fail('expected a digit after the point')
    }
    at = after
    isFloat = true
  }
  const e = src.charCodeAt(at)
  if (e === 0x65 || e === 0x45) {
    let p = at + 1
    const sign = src.charCodeAt(p)
    if (sign === 0x2b || sign === 0x2d) p++
    const after = skipDigits(p)
    if (after === p) {
      pos = at
      fail('expected a digit in the exponent')
    }
    at = after
    isFloat = true
  }
  pos = at
  const literal = src.slice(start, at)
  if (isFloat) {
    const value = Number(literal)
    integralFloat = Number.isInteger(value)
    return value
  }
  if (intEnd - intStart <= 15) return Number(literal) || 0 // Python's int -0 is 0
  if (intEnd - intStart > maxIntDigits) fail(`an int over ${maxIntDigits} digits`)
  const value = Number(literal)
  return Number.isSafeInteger(value) ? value : BigInt(literal)
}

function skipDigits(from: number): number {
  let at = from
  for (;;) {
    const c = src.charCodeAt(at)
    if (!(c >= 0x30 && c <= 0x39)) return at // NaN past the end stops too
    at++
  }
}

const simpleEscapes: Record<number, string> = {
  34: '"',
  92: '\\',
  47: '/',
  98: '\b',
  102: '\f',
  110: '\n',
  114: '\r',
  116: '\t',
}

/**
 * Refuses an escaped object (` di`) whose key, once its last two characters are dropped, would
 * be a forbidden key: the tagged-JSON engine creates that key when it unescapes.
 */
function checkEscaped(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return
  for (const key in value) {
    if (isForbiddenKey(key.slice(0, -2))) {
      throw new SerializeError(`the escaped key "${key}" is not allowed`)
    }
  }
}
