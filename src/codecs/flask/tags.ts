/**
 * Flask's tags (`flask.json.tag`): how tuples, bytes, Markup, UUIDs and datetimes travel as
 * one-key JSON objects, and the JSON text Flask writes for a session with them.
 * @module
 */
import { SerializeError } from '../../errors.js'
import { fromBase64, toBase64 } from '../../primitives/bytes.js'
import { isPaddedBase64 } from '../../primitives/encoding.js'
import type { JsonValue, Tag } from '../tagged-json.js'
import { TaggedJSON } from '../tagged-json.js'
import type { SessionData } from '../types.js'
import { type DumpsOptions, dumps } from './dumps.js'
import { formatHttpDate, parseHttpDate } from './http-date.js'
import { copyFloatMarks, Markup, Tuple, UUID } from './python.js'

/** Flask's tags, in the order Flask tries them (after ` di` escaping, dicts and lists). */
export const flaskTags: readonly Tag[] = [
  {
    key: ' t',
    check: (v): v is Tuple => v instanceof Tuple,
    toJSON: (t: Tuple, tag) => {
      const items = Array.from(t, (item) => tag(item))
      copyFloatMarks(t, items)
      return items
    },
    fromJSON: (json) => {
      // Python's tuple() takes any iterable; a string gives its characters.
      if (typeof json === 'string') return Tuple.from(json)
      if (!Array.isArray(json)) throw new SerializeError('a tagged tuple must be a list')
      const tuple = Tuple.from(json)
      copyFloatMarks(json, tuple)
      return tuple
    },
  },
  {
    key: ' b',
    check: (v): v is Uint8Array => v instanceof Uint8Array,
    toJSON: (b: Uint8Array) => toBase64(b),
    fromJSON: (json) => {
      if (typeof json !== 'string' || !isPaddedBase64(json)) {
        throw new SerializeError('tagged bytes must be standard base64')
      }
      return Uint8Array.from(fromBase64(json))
    },
  },
  {
    key: ' m',
    // Flask tags anything with a callable `__html__`, as Jinja and MarkupSafe do.
    check: (v): v is { __html__(): unknown } =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as { __html__?: unknown }).__html__ === 'function',
    toJSON: (v: { __html__(): unknown }) => String(v.__html__()),
    fromJSON: (json) => {
      if (typeof json !== 'string') throw new SerializeError('tagged markup must be a string')
      return new Markup(json)
    },
  },
  {
    key: ' u',
    check: (v): v is UUID => v instanceof UUID,
    toJSON: (u: UUID) => u.hex,
    fromJSON: (json) => {
      if (typeof json !== 'string') throw new SerializeError('a tagged UUID must be a string')
      return new UUID(json)
    },
  },
  {
    key: ' d',
    check: (v): v is Date => v instanceof Date,
    toJSON: (d: Date) => formatHttpDate(d),
    // As in Werkzeug's parse_date, a date that can't be read becomes None, not an error.
    fromJSON: (json) => {
      if (typeof json !== 'string') throw new SerializeError('a tagged datetime must be a string')
      return parseHttpDate(json)
    },
  },
]

/** Flask's tagged JSON (`flask.json.tag.TaggedJSONSerializer`) on tessera's engine. */
export const flaskJSON: TaggedJSON = new TaggedJSON(flaskTags)

/** For `dumps`, which writes nested values itself: tags hand back their content untouched. */
const passThrough = (value: unknown): JsonValue => value as JsonValue

const dumpsOptions: DumpsOptions = {
  isTagKey: (key) => flaskJSON.isTagKey(key),
  tag: (value) => {
    for (const tag of flaskTags) {
      if (tag.check(value)) return [tag.key, tag.toJSON(value, passThrough)]
    }
    return undefined
  },
}

/** The JSON text Flask writes for a session: tagged, sorted, compact, ASCII. */
export function dumpsSession(data: SessionData): string {
  return dumps(data, dumpsOptions)
}
