/**
 * Tagged JSON: values that JSON cannot hold (Date, bigint, bytes, Map, Set…) travel as one-key
 * objects whose key is a tag, as in Flask's `flask.json.tag`. A plain object that happens to
 * look like a tag is escaped with the ` di` tag, so user data can never be mistaken for one.
 * @module
 */
import { SerializeError } from '../errors.js'
import { fromBase64, toBase64url } from '../primitives/bytes.js'
import { isCanonicalBase64url } from '../primitives/encoding.js'
import { isForbiddenKey, maxDepth } from '../primitives/guards.js'

/** A JSON value: what `JSON.parse` returns. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue }

/** How one kind of value is written to JSON and read back. */
export interface Tag<T = unknown> {
  /** The key of the one-key object that marks the value. By convention it starts with a space. */
  readonly key: string
  /** Whether this tag writes `value`. Tags are tried in order; the first that matches wins. */
  check(value: unknown): value is T
  /** The JSON that stands for `value`; `tag` tags nested values. */
  toJSON(value: T, tag: (value: unknown) => JsonValue): JsonValue
  /** The value back from its JSON; nested values are already untagged. Throw to reject. */
  fromJSON(json: unknown): unknown
}

const escapeKey = ' di'

/** A set of tags, applied in order: `tag` turns values into JSON, `untag` turns JSON back. */
export class TaggedJSON {
  readonly #tags: Tag[] = []
  readonly #byKey = new Map<string, Tag>()

  constructor(tags: readonly Tag[]) {
    for (const tag of tags) this.register(tag)
  }

  /**
   * Adds a tag. A later tag is tried after the built-in ones, unless `first` is set.
   * @example
   * json.register({ key: ' money', check: (v): v is Money => v instanceof Money,
   *   toJSON: (m) => m.cents, fromJSON: (c) => new Money(Number(c)) })
   */
  register(tag: Tag, options: { first?: boolean } = {}): void {
    if (tag.key === escapeKey || this.#byKey.has(tag.key)) {
      throw new SerializeError(`a tag with key ${JSON.stringify(tag.key)} is already registered`)
    }
    this.#byKey.set(tag.key, tag)
    if (options.first) this.#tags.unshift(tag)
    else this.#tags.push(tag)
  }

  /** Whether `key` is the key of a registered tag (or the escape tag). */
  isTagKey(key: string): boolean {
    return key === escapeKey || this.#byKey.has(key)
  }

  /** The JSON value standing for `value`. Throws `SerializeError` for what cannot be kept. */
  tag = (value: unknown): JsonValue => this.#tag(value, 0)

  /**
   * `JSON.stringify(tag(value))`. Most sessions hold nothing to tag (strings, numbers, plain
   * objects), and for those a check that allocates nothing, and stringifying `value` itself,
   * halves the cost of writing a cookie.
   */
  stringify(value: unknown): string {
    return JSON.stringify(this.#needsNoTag(value, 0) ? value : this.#tag(value, 0))
  }

  /** Whether `tag(value)` would be a deep copy of `value` (so `value` is its own JSON). */
  #needsNoTag(value: unknown, depth: number): boolean {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return true
      case 'number':
        return Number.isFinite(value)
      case 'object':
        break
      default:
        return false
    }
    if (value === null) return true
    if (depth >= maxDepth) return false
    if (Array.isArray(value)) {
      if (Object.getPrototypeOf(value) !== Array.prototype) return false
      for (let i = 0; i < value.length; i++) {
        if (!this.#needsNoTag(value[i], depth + 1)) return false
      }
      return true
    }
    if (!isPlainObject(value)) return false
    let count = 0
    let only = ''
    for (const key in value) {
      if (isForbiddenKey(key)) return false
      const v = value[key]
      if (v === undefined) continue
      // `toJSON` would change what JSON.stringify writes; `tag` refuses functions anyway.
      if (!this.#needsNoTag(v, depth + 1)) return false
      count++
      only = key
    }
    return !(count === 1 && this.isTagKey(only))
  }

  #tag(value: unknown, depth: number): JsonValue {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value
      case 'number':
        if (Number.isFinite(value)) return value
        break
      case 'undefined':
      case 'function':
      case 'symbol':
        throw new SerializeError(`a ${typeof value} cannot be kept in a session`)
    }
    if (value === null) return null
    if (depth >= maxDepth)
      throw new SerializeError(`session data nests deeper than ${maxDepth} levels`)
    const inner = (v: unknown) => this.#tag(v, depth + 1)
    if (Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype) {
      return value.map(inner)
    }
    if (isPlainObject(value)) return this.#tagObject(value, inner)
    for (const tag of this.#tags) {
      if (tag.check(value)) return { [tag.key]: tag.toJSON(value, inner) }
    }
    const kind =
      typeof value === 'object' ? (value.constructor?.name ?? 'object') : String(typeof value)
    throw new SerializeError(
      `a ${kind} cannot be kept in a session: store plain data, or register a tag for it`,
    )
  }

  #tagObject(value: Record<string, unknown>, inner: (v: unknown) => JsonValue): JsonValue {
    const out: Record<string, JsonValue> = {}
    let count = 0
    let only = ''
    for (const key in value) {
      if (isForbiddenKey(key)) {
        throw new SerializeError(`the key "${key}" cannot be kept in a session`)
      }
      const v = value[key]
      if (v === undefined) continue
      out[key] = inner(v)
      count++
      only = key
    }
    if (count === 1 && this.isTagKey(only)) return { [escapeKey]: { [`${only}__`]: out[only]! } }
    return out
  }

  /** The value a JSON value stands for. Throws when a tag's content is not valid. */
  untag = (json: unknown): unknown => this.#untag(json, 0)

  #untag(json: unknown, depth: number): unknown {
    if (typeof json !== 'object' || json === null) return json
    // What is read must be writable again: `tag` refuses the same depth.
    if (depth >= maxDepth)
      throw new SerializeError(`session data nests deeper than ${maxDepth} levels`)
    if (Array.isArray(json)) {
      for (let i = 0; i < json.length; i++) json[i] = this.#untag(json[i], depth + 1)
      return json
    }
    const obj = json as Record<string, unknown>
    let count = 0
    let only = ''
    for (const key in obj) {
      if (isForbiddenKey(key)) throw new SerializeError(`the key "${key}" is not allowed`)
      obj[key] = this.#untag(obj[key], depth + 1)
      count++
      only = key
    }
    if (count !== 1) return obj
    if (only === escapeKey) return unescapeObject(obj[only])
    const tag = this.#byKey.get(only)
    return tag ? tag.fromJSON(obj[only]) : obj
  }
}

function unescapeObject(inner: unknown): Record<string, unknown> {
  if (!isPlainObject(inner)) throw new SerializeError('an escaped object must hold one key')
  const keys = Object.keys(inner)
  if (keys.length !== 1) throw new SerializeError('an escaped object must hold one key')
  const key = keys[0]!.slice(0, -2)
  if (isForbiddenKey(key)) throw new SerializeError(`the escaped key "${key}" is not allowed`)
  return { [key]: inner[keys[0]!] }
}

/** Whether `value` is an object literal (or a null-prototype object), not a class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** The tags of tessera's native format: Date, bigint, bytes, Map, Set and non-finite numbers. */
export const nativeTags: readonly Tag[] = [
  {
    key: ' d',
    check: (v): v is Date => v instanceof Date,
    toJSON: (d: Date) => {
      if (Number.isNaN(d.getTime())) throw new SerializeError('an invalid Date cannot be kept')
      return d.toISOString()
    },
    fromJSON: (s) => {
      const d = new Date(expectString(s, 'date'))
      if (Number.isNaN(d.getTime())) throw new SerializeError('not a date')
      return d
    },
  },
  {
    key: ' n',
    check: (v): v is bigint => typeof v === 'bigint',
    toJSON: (n: bigint) => n.toString(),
    fromJSON: (s) => {
      const text = expectString(s, 'bigint')
      if (!/^-?\d{1,4096}$/.test(text)) throw new SerializeError('not a bigint')
      return BigInt(text)
    },
  },
  {
    key: ' b',
    check: (v): v is Uint8Array => v instanceof Uint8Array,
    toJSON: (b: Uint8Array) => toBase64url(b),
    fromJSON: (s) => {
      const text = expectString(s, 'bytes')
      if (!isCanonicalBase64url(text)) throw new SerializeError('not canonical base64url')
      return Uint8Array.from(fromBase64(text))
    },
  },
  {
    key: ' m',
    check: (v): v is Map<unknown, unknown> => v instanceof Map,
    toJSON: (m: Map<unknown, unknown>, tag) => [...m].map(([k, v]) => [tag(k), tag(v)]),
    fromJSON: (pairs) => {
      if (!Array.isArray(pairs)) throw new SerializeError('a map must be a list of pairs')
      return new Map(
        pairs.map((pair) => {
          if (!Array.isArray(pair) || pair.length !== 2) throw new SerializeError('not a pair')
          return [pair[0], pair[1]] as const
        }),
      )
    },
  },
  {
    key: ' s',
    check: (v): v is Set<unknown> => v instanceof Set,
    toJSON: (s: Set<unknown>, tag) => [...s].map(tag),
    fromJSON: (items) => {
      if (!Array.isArray(items)) throw new SerializeError('a set must be a list')
      return new Set(items)
    },
  },
  {
    key: ' f',
    check: (v): v is number => typeof v === 'number' && !Number.isFinite(v),
    toJSON: (n: number) => String(n),
    fromJSON: (s) => {
      const text = expectString(s, 'number')
      if (text === 'NaN') return Number.NaN
      if (text === 'Infinity') return Number.POSITIVE_INFINITY
      if (text === '-Infinity') return Number.NEGATIVE_INFINITY
      throw new SerializeError('not a non-finite number')
    },
  },
]

function expectString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new SerializeError(`a tagged ${what} must be a string`)
  return value
}

/** A fresh tagged-JSON instance with the native tags, to which an app may add its own. */
export function createNativeJSON(extra: readonly Tag[] = []): TaggedJSON {
  return new TaggedJSON([...nativeTags, ...extra])
}
