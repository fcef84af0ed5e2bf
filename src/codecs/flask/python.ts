/**
 * JavaScript stand-ins for the Python values Flask's tagged JSON keeps that JavaScript has no
 * twin for: tuples, MarkupSafe strings, UUIDs, and floats whose value is integral (`1.0`).
 * @module
 */
import { SerializeError } from '../../errors.js'
import { hexValue } from '../../primitives/encoding.js'

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

  /** The HTML itself. */
  toString(): string {
    return this.value
  }

  /** The HTML itself, so `JSON.stringify` shows it. */
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

  /** The canonical form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, as Python's `str(uuid)`. */
  toString(): string {
    const h = this.hex
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }

  /** The canonical form, so `JSON.stringify` shows it. */
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
export function isMarkedFloat(container: object, key: string | number, value: number): boolean {
  const marked = floatMarks.get(container)?.get(key)
  return marked !== undefined && Object.is(marked, value)
}

/** Forgets a float mark of `container[key]`: a repeated key read later held an int. */
export function unmarkFloat(container: object, key: string | number): void {
  floatMarks.get(container)?.delete(key)
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
