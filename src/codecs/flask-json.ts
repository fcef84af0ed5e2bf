/**
 * Python-compatible JSON text for Flask cookies: the exact bytes `json.dumps(…, sort_keys=True,
 * separators=(",", ":"))` writes, and a reader as tolerant as Python's `json.loads`. Also the
 * JS stand-ins for the Python types Flask's tagged JSON keeps (tuple, Markup, UUID).
 * @module
 */
import { SerializeError } from '../errors.js'

/** A Python tuple: an array that Flask's tagged JSON writes as `{" t": […]}` and reads back. */
export class Tuple<T = unknown> extends Array<T> {
  // `map`, `filter` and `slice` give plain arrays, so deriving a list never makes a tuple.
  static override get [Symbol.species](): ArrayConstructor {
    return Array
  }
}

/** A MarkupSafe `Markup` string: HTML that Flask's tagged JSON keeps marked as safe. */
export class Markup {
  readonly value: string

  constructor(value: string) {
    this.value = value
  }

  /** The HTML, as Python's `__html__` protocol asks for. */
  __html__(): string {
    return this.value
  }

  toString(): string {
    return this.value
  }

  toJSON(): string {
    return this.value
  }
}

/** A Python `uuid.UUID`: 128 bits, shown as dashed lowercase hex. */
export class UUID {
  /** The 32 lowercase hex digits, without dashes: how Flask's tagged JSON writes it. */
  readonly hex: string

  /**
   * Reads the forms Python's `UUID()` constructor takes for the usual spellings: 32 hex digits
   * with or without dashes, braces, or a `urn:uuid:` prefix. Throws `SerializeError` otherwise.
   */
  constructor(text: string) {
    const hex = normalizeUUID(text)
    if (hex === null) {
      throw new SerializeError(`not a UUID: ${JSON.stringify(String(text).slice(0, 64))}`)
    }
    this.hex = hex
  }

  toString(): string {
    const h = this.hex
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }

  toJSON(): string {
    return this.toString()
  }
}

/**
 * Python floats whose value is integral (`1.0`, `1e+16`) come back as plain JS numbers, which
 * would go out again as ints. `parse` records them here, per container and key, with the value
 * read; `dumps` writes a number as a float when it still finds the same value there, so an
 * unchanged session re-encodes to the same bytes and a value the app replaced becomes an int.
 */
const floatMarks = new WeakMap<object, Map<string | number, number>>()

/** Marks `container[key]` as a Python float, so `dumps` writes an integral value as `1.0`. */
export function markFloat(container: object, key: string | number): void {
  const value = (container as Record<string | number, unknown>)[key]
  if (typeof value !== 'number') return
  let marks = floatMarks.get(container)
  if (!marks) {
    marks = new Map()
    floatMarks.set(container, marks)
  }
  marks.set(key, value)
}

/**
 * Carries the float marks of `from` over to `to`, key for key: for code that copies a decoded
 * container (`{ ...data }`) and wants `1.0` to stay a float.
 */
export function copyFloatMarks(from: object, to: object): void {
  const marks = floatMarks.get(from)
  if (marks) floatMarks.set(to, new Map(marks))
}

/** Whether `container[key]`, holding `value`, was read as (or marked) a Python float. */
function isMarkedFloat(container: object, key: string | number, value: number): boolean {
  const marked = floatMarks.get(container)?.get(key)
  return marked !== undefined && Object.is(marked, value)
}

/** How `dumps` writes what plain JSON cannot hold; the Flask codec supplies its tagged JSON. */
export interface DumpsOptions {
  /** Whether a one-key object with this key must be escaped as `{" di": {"<key>__": …}}`. */
  isTagKey?: (key: string) => boolean
  /** The tag key and the JSON-able content standing for a non-plain value, or undefined. */
  tag?: (value: object) => readonly [key: string, content: unknown] | undefined
}

/**
 * Containers nested deeper than this are refused both ways: anything written can be read back,
 * deep input can't exhaust the stack, and a cycle fails cleanly. No real session comes close.
 */
export const maxDepth = 512

/** Python's default cap on the digits of an int read from text (`sys.set_int_max_str_digits`). */
const maxIntDigits = 4300

const forbiddenKeys = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * The JSON text Flask writes for `value`: compact, keys in code-point order at every depth,
 * ASCII only (`\uXXXX`, lowercase), Python's float repr and exact bigints. Throws
 * `SerializeError` for what Python's JSON cannot hold.
 */
export function dumps(value: unknown, options: DumpsOptions = {}): string {
  return new Writer(options).value(value, 0)
}

class Writer {
  readonly #isTagKey: (key: string) => boolean
  readonly #tag: (value: object) => readonly [string, unknown] | undefined

  constructor(options: DumpsOptions) {
    this.#isTagKey = options.isTagKey ?? (() => false)
    this.#tag = options.tag ?? (() => undefined)
  }

  value(value: unknown, depth: number, float = false): string {
    switch (typeof value) {
      case 'string':
        return quote(value)
      case 'number':
        return formatNumber(value, float)
      case 'boolean':
        return value ? 'true' : 'false'
      case 'bigint':
        return value.toString()
      case 'object':
        if (value === null) return 'null'
        if (depth >= maxDepth) {
          throw new SerializeError(`session data nested over ${maxDepth} deep, or circular`)
        }
        return this.#object(value, depth + 1)
      default:
        throw new SerializeError(`a ${typeof value} cannot be kept in a session`)
    }
  }

  #object(value: object, depth: number): string {
    const proto = Object.getPrototypeOf(value)
    if (Array.isArray(value) && proto === Array.prototype) return this.#list(value, depth)
    if (proto === Object.prototype || proto === null) {
      return this.#dict(value as Record<string, unknown>, depth)
    }
    const tagged = this.#tag(value)
    if (tagged === undefined) {
      const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object'
      throw new SerializeError(
        `a ${kind} cannot be kept in a Flask session: store plain data, a Tuple, Uint8Array, ` +
          'Markup, UUID or Date',
      )
    }
    // The tag's content is one level deeper than the one-key object that wraps it.
    return `{${quote(tagged[0])}:${this.value(tagged[1], depth)}}`
  }

  #list(list: readonly unknown[], depth: number): string {
    let out = '['
    for (let i = 0; i < list.length; i++) {
      const item = list[i]
      if (item === undefined) throw new SerializeError('a list in a session cannot hold undefined')
      if (i > 0) out += ','
      out += this.value(item, depth, typeof item === 'number' && isMarkedFloat(list, i, item))
    }
    return `${out}]`
  }

  #dict(dict: Record<string, unknown>, depth: number): string {
    const keys: string[] = []
    for (const key in dict) {
      if (!Object.hasOwn(dict, key) || dict[key] === undefined) continue
      if (forbiddenKeys.has(key)) {
        throw new SerializeError(`the key "${key}" cannot be kept in a session`)
      }
      keys.push(key)
    }
    const only = keys.length === 1 ? keys[0]! : null
    if (only !== null && this.#isTagKey(only)) {
      // Flask's ` di` escape: a user dict that looks like a tag is written so it can't be read as one.
      return `{" di":{${quote(`${only}__`)}:${this.#member(dict, only, depth + 1)}}}`
    }
    keys.sort(compareCodePoints)
    let out = '{'
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      if (i > 0) out += ','
      out += `${quote(key)}:${this.#member(dict, key, depth)}`
    }
    return `${out}}`
  }

  #member(dict: Record<string, unknown>, key: string, depth: number): string {
    const item = dict[key]
    return this.value(item, depth, typeof item === 'number' && isMarkedFloat(dict, key, item))
  }
}

/**
 * Orders strings as Python does, by code point. UTF-16 order (JS's default) differs only when
 * the first differing units are both surrogates-or-above (an astral character against U+E000
 * to U+FFFF), so only then is the slower code-point walk needed.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    if (x < 0xd800 || y < 0xd800) return x - y
    return compareByCodePoint(a, b)
  }
  return a.length - b.length
}

function compareByCodePoint(a: string, b: string): number {
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!
    const y = b.codePointAt(j)!
    if (x !== y) return x - y
    i += x > 0xffff ? 2 : 1
    j += y > 0xffff ? 2 : 1
  }
  return a.length - i - (b.length - j)
}

/** The escapes Python writes in short form: `"` `\\` newline, return, tab, backspace, form feed. */
const shortEscapes: Record<number, string> = {
  34: '\\"',
  92: '\\\\',
  10: '\\n',
  13: '\\r',
  9: '\\t',
  8: '\\b',
  12: '\\f',
}

/** A JSON string literal as Python writes it with `ensure_ascii=True`. */
function quote(text: string): string {
  let out = '"'
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) continue
    if (i > start) out += text.slice(start, i)
    out += shortEscapes[c] ?? `\\u${c.toString(16).padStart(4, '0')}`
    start = i + 1
  }
  if (start === 0) return `"${text}"`
  return `${out}${text.slice(start)}"`
}

/**
 * A number as Python writes it. Safe integers are ints; everything else is a float in
 * Python's repr: shortest round-trip digits, fixed notation for decimal exponents -4 to 15,
 * otherwise `d.ddde±XX`. Integral numbers beyond 2^53 are floats too, so they read back as the
 * same JS number (a `bigint` is the way to hold a large Python int).
 */
export function formatNumber(n: number, float = false): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Number.POSITIVE_INFINITY) return 'Infinity'
  if (n === Number.NEGATIVE_INFINITY) return '-Infinity'
  if (Object.is(n, -0)) return '-0.0'
  if (!float && Number.isSafeInteger(n)) return String(n)
  // toExponential() with no argument gives the shortest digits that round-trip, as repr does.
  const exp = Math.abs(n).toExponential()
  const e = exp.indexOf('e')
  const digits = exp[1] === '.' ? exp[0]! + exp.slice(2, e) : exp.slice(0, e)
  const power = Number(exp.slice(e + 1))
  const sign = n < 0 ? '-' : ''
  if (power < -4 || power >= 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    const abs = Math.abs(power)
    return `${sign}${mantissa}e${power < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`
  }
  const point = power + 1
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`
}

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
      if (isForbidden(key)) fail(`the key "${key}" is not allowed`)
      skipSpace()
      if (src.charCodeAt(pos) !== 0x3a) fail("expected ':'")
      pos++
      const value = readValue()
      if (key === ' di') checkEscaped(value)
      // Assigning never reaches a prototype: the keys that could were refused above.
      out[key] = value
      if (integralFloat) markFloat(out, key)
      else if (typeof value === 'number') floatMarks.get(out)?.delete(key) // a repeated key
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

function isForbidden(key: string): boolean {
  return (key.length === 9 || key.length === 11) && forbiddenKeys.has(key)
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

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}

/**
 * Refuses an escaped object (` di`) whose key, once its last two characters are dropped, would
 * be a forbidden key: the tagged-JSON engine creates that key when it unescapes.
 */
function checkEscaped(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return
  for (const key in value) {
    if (isForbidden(key.slice(0, -2))) {
      throw new SerializeError(`the escaped key "${key}" is not allowed`)
    }
  }
}

/** The 32 lowercase hex digits of a UUID spelled as Python's `UUID()` reads it, or null. */
function normalizeUUID(text: string): string | null {
  if (typeof text !== 'string' || text.length > 64) return null
  let hex = text.replaceAll('urn:', '').replaceAll('uuid:', '')
  let start = 0
  let end = hex.length
  while (start < end && (hex[start] === '{' || hex[start] === '}')) start++
  while (end > start && (hex[end - 1] === '{' || hex[end - 1] === '}')) end--
  hex = hex.slice(start, end).replaceAll('-', '')
  if (hex.length !== 32) return null
  for (let i = 0; i < 32; i++) if (hexValue(hex.charCodeAt(i)) < 0) return null
  return hex.toLowerCase()
}
