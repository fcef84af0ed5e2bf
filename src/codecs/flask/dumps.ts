/**
 * Flask's JSON writer: the exact bytes `json.dumps(…, sort_keys=True, separators=(",", ":"))`
 * writes, with Python's float repr and ASCII escaping, so a session re-encodes to what Flask
 * would set.
 * @module
 */
import { SerializeError } from '../../errors.js'
import { isForbiddenKey, maxDepth } from '../../primitives/guards.js'
import { isMarkedFloat } from './python.js'

/** How `dumps` writes what plain JSON cannot hold; the Flask codec supplies its tagged JSON. */
export interface DumpsOptions {
  /** Whether a one-key object with this key must be escaped as `{" di": {"<key>__": …}}`. */
  isTagKey?: (key: string) => boolean
  /** The tag key and the JSON-able content standing for a non-plain value, or undefined. */
  tag?: (value: object) => readonly [key: string, content: unknown] | undefined
}

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
      if (isForbiddenKey(key)) {
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
