/**
 * Generators of hostile input: arbitrary text, JSON written by hand (duplicate keys, tag-like
 * objects, `__proto__` at any depth, huge numbers, deep nesting), valid session data for each
 * format, mutations of valid cookies and whole `Cookie` headers.
 * @module
 */
import fc from 'fast-check'
import { Markup, Tuple, UUID } from '../../../src/codecs/flask/index.js'

// ---------------------------------------------------------------------------------------------
// Keys and strings

/** Keys that mean something to a prototype, to tagged JSON or to the session manager. */
export const specialKeys = [
  '__proto__',
  'constructor',
  'prototype',
  '__proto____',
  'constructor__',
  'prototype__',
  ' t',
  ' b',
  ' m',
  ' u',
  ' d',
  ' n',
  ' s',
  ' f',
  ' di',
  ' di__',
  ' t__',
  ' d__',
  '_permanent',
  '_user',
  '',
  'a',
  '0',
  '4294967295',
  'toString',
  'hasOwnProperty',
  '__defineGetter__',
] as const

export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...specialKeys) },
  { weight: 2, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
)

// Node's toUTCString writes the same IMF-fixdate as Werkzeug's http_date for the years 1 to
// 9999 Flask keeps, so the month names come from it rather than from another copy of the list.
const monthNames = Array.from({ length: 12 }, (_, month) =>
  new Date(Date.UTC(2000, month)).toUTCString().slice(8, 11),
)

/** RFC 2822 dates as Flask's ` d` tag holds them, biased to the edges of years, months and zones. */
export const httpDateText: fc.Arbitrary<string> = fc.oneof(
  {
    // The last and first instants Python's datetime holds, in zones that push them over.
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          'Fri, 31 Dec 9999 23:59:59',
          'Fri, 31 Dec 9999 12:00:00',
          'Mon, 01 Jan 0100 00:00:00',
        ),
        fc.constantFrom('GMT', 'EST', 'PDT', '-0001', '-2359', '-9999', '+0001', '+9999'),
      )
      .map(([date, zone]) => `${date} ${zone}`),
  },
  { weight: 3, arbitrary: randomHttpDate() },
)

function randomHttpDate(): fc.Arbitrary<string> {
  return fc
    .record({
      weekday: fc.constantFrom('Mon, ', 'Thu, ', 'Xyz, ', ''),
      day: fc.oneof(fc.constantFrom(1, 31), fc.integer({ min: 0, max: 32 })),
      month: fc.oneof(
        fc.constantFrom('Jan', 'Dec'),
        fc.constantFrom(...monthNames),
        fc.constantFrom('January', 'Foo', 'dec'),
      ),
      year: fc.oneof(
        fc.constantFrom(1, 99, 100, 9999),
        fc.constantFrom(0, 2, 68, 69, 1970, 2038, 10000),
        fc.integer({ min: 0, max: 10_000 }),
      ),
      hour: fc.oneof(fc.constantFrom(0, 23, 24), fc.integer({ min: 0, max: 24 })),
      minute: fc.constantFrom(0, 59, 60, 7),
      second: fc.constantFrom(0, 59, 60, 9),
      zone: fc.oneof(
        fc.constantFrom('+9999', '-9999', '+2359', '-2359'),
        fc.constantFrom('GMT', 'UTC', 'Z', 'PST', '+0000', '-0000', '+1', 'XYZ', ''),
      ),
    })
    .map(({ weekday, day, month, year, hour, minute, second, zone }) => {
      const two = (n: number) => String(n).padStart(2, '0')
      return `${weekday}${two(day)} ${month} ${String(year).padStart(4, '0')} ${two(hour)}:${two(minute)}:${two(second)} ${zone}`.trim()
    })
}

/** Strings a tag might be fed: dates, digits, base64, UUIDs, non-finite names, long runs. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 16 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: httpDateText },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'NaN',
      'Infinity',
      '-Infinity',
      '1970-01-01T00:00:00.000Z',
      '+275760-09-13T00:00:00.000Z',
      '+275760-09-13T00:00:00.001Z',
      'not a date',
      '0123456789abcdef0123456789abcdef',
      'urn:uuid:{01234567-89ab-cdef-0123-456789abcdef}',
      'AAAA',
      'AAA=',
      'A===',
      '-_-_',
      '+/+/',
      '\ud800',
      '\udfff\ud800',
      '\u0000',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 5000 }).map((n) => '9'.repeat(n)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('x', '\\', '"', '\u00e9', '\ud83d\ude00', 'ab'),
        fc.integer({ min: 1, max: 2000 }),
      )
      .map(([unit, n]) => unit.repeat(n)),
  },
)

// ---------------------------------------------------------------------------------------------
// JSON written by hand

/** A JSON syntax tree: unlike a JS object it may repeat keys and hold any key at all. */
export type JsonNode =
  | { t: 'raw'; text: string }
  | { t: 'str'; value: string }
  | { t: 'arr'; items: JsonNode[] }
  | { t: 'obj'; entries: [string, JsonNode][] }

/** Number literals, valid and not, as Python's and JavaScript's parsers see them. */
const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.double().map((n) => (Number.isFinite(n) ? String(n) : String(n))),
  fc.constantFrom(
    '0',
    '-0',
    '1.0',
    '-0.0',
    '1e400',
    '-1e400',
    '1e-400',
    '1E+2',
    '0.1e1',
    '9007199254740993',
    '-9007199254740993',
    '123456789012345678901234567890',
    '01',
    '1.',
    '.5',
    '-',
    '+1',
    '0x10',
    '1e',
  ),
  fc.integer({ min: 14, max: 4400 }).map((n) => '7'.repeat(n)),
  fc.integer({ min: 14, max: 4400 }).map((n) => `-${'7'.repeat(n)}.0`),
)

const literalText = fc.constantFrom(
  'true',
  'false',
  'null',
  'NaN',
  'Infinity',
  '-Infinity',
  'nul',
  'True',
)

const tagKeys = [' t', ' b', ' m', ' u', ' d', ' n', ' s', ' f', ' di'] as const

/** Hostile JSON trees: tag-like one-key objects, escapes, forbidden keys at any depth. */
export const jsonNode: fc.Arbitrary<JsonNode> = fc.letrec<{ node: JsonNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 3, arbitrary: hostileString.map((value): JsonNode => ({ t: 'str', value })) },
    { weight: 2, arbitrary: numberText.map((text): JsonNode => ({ t: 'raw', text })) },
    { weight: 1, arbitrary: literalText.map((text): JsonNode => ({ t: 'raw', text })) },
    {
      weight: 2,
      arbitrary: fc
        .array(tie('node'), { maxLength: 4 })
        .map((items): JsonNode => ({ t: 'arr', items })),
    },
    {
      weight: 2,
      arbitrary: fc
        .array(fc.tuple(hostileKey, tie('node')), { maxLength: 4 })
        .map((entries): JsonNode => ({ t: 'obj', entries })),
    },
    {
      // A tag-like one-key object: {" t": …}, {" d": …}, {" di": …}.
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(...tagKeys), tie('node'))
        .map(([key, value]): JsonNode => ({ t: 'obj', entries: [[key, value]] })),
    },
    {
      // A date tag holding a date, for both formats' date readers.
      weight: 1,
      arbitrary: fc
        .oneof(
          httpDateText,
          fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'Invalid' : d.toISOString())),
        )
        .map((text): JsonNode => ({ t: 'obj', entries: [[' d', { t: 'str', value: text }]] })),
    },
    {
      // Flask's escape, around a key that may become forbidden once its `__` is dropped.
      weight: 2,
      arbitrary: fc.tuple(hostileKey, fc.boolean(), tie('node')).map(
        ([key, suffix, value]): JsonNode => ({
          t: 'obj',
          entries: [[' di', { t: 'obj', entries: [[suffix ? `${key}__` : key, value]] }]],
        }),
      ),
    },
  ),
})).node

/**
 * Flask's ` di` escapes nested `levels` deep around a key that becomes `base` once every level
 * has dropped its two characters: `{" di":{" di":{"__proto______":…}}}` unescapes, inside out, to
 * `{"__proto__":…}`.
 */
export const escapeChain: fc.Arbitrary<JsonNode> = fc
  .record({
    base: fc.constantFrom('__proto__', 'constructor', 'prototype', ' t', ' di', 'a', ''),
    levels: fc.integer({ min: 1, max: 3 }),
    miscount: fc.constantFrom(0, 0, 0, 1, -1),
    value: fc.oneof(
      fc.constant<JsonNode>({ t: 'raw', text: '1' }),
      fc.constant<JsonNode>({ t: 'obj', entries: [['polluted', { t: 'raw', text: 'true' }]] }),
    ),
  })
  .map(({ base, levels, miscount, value }) => {
    const suffix = '__'.repeat(Math.max(0, levels + miscount))
    let node: JsonNode = { t: 'obj', entries: [[`${base}${suffix}`, value]] }
    for (let i = 0; i < levels; i++) node = { t: 'obj', entries: [[' di', node]] }
    return node
  })

/** The JSON text of a tree; strings are escaped as JSON.stringify does (or left raw). */
export function emit(node: JsonNode): string {
  switch (node.t) {
    case 'raw':
      return node.text
    case 'str':
      return JSON.stringify(node.value)
    case 'arr':
      return `[${node.items.map(emit).join(',')}]`
    case 'obj':
      return `{${node.entries.map(([k, v]) => `${JSON.stringify(k)}:${emit(v)}`).join(',')}}`
  }
}

/** Ways to make valid-looking JSON text hostile as a whole. */
const wrapping = fc.oneof(
  { weight: 6, arbitrary: fc.constant((text: string) => text) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        // Up to the deepest nesting a native cookie of 8192 characters can carry (about 3000).
        fc.oneof(
          fc.constantFrom(1, 100, 255, 256, 511, 512, 513, 1000, 2000, 2900, 3000, 3030),
          fc.integer({ min: 0, max: 3030 }),
        ),
        fc.constantFrom('[', '{"a":', '{" t":', '{" di":{"k__":', '{" s":', '{" m":[['),
        // Inside an object, or the payload is refused as "not an object" before the tags run.
        fc.boolean(),
      )
      .map(([depth, open, inObject]) => (text: string) => {
        const close = {
          '[': ']',
          '{"a":': '}',
          '{" t":': '}',
          '{" di":{"k__":': '}}',
          '{" s":': '}',
          '{" m":[[': ']]}',
        }[open]!
        const nested = `${open.repeat(depth)}${text}${close.repeat(depth)}`
        return inObject ? `{"k":${nested}}` : nested
      }),
  },
  {
    weight: 1,
    arbitrary: fc.nat().map((cut) => (text: string) => text.slice(0, cut % (text.length + 1))),
  },
  { weight: 1, arbitrary: fc.constant((text: string) => ` \t\n${text}\r\n `) },
  { weight: 1, arbitrary: fc.constant((text: string) => `${text}${text}`) },
)

/**
 * Hostile JSON text for a session payload: mostly an object at the top (so it gets past the
 * "not an object" check), sometimes anything.
 */
export const hostileJsonText: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .array(fc.tuple(hostileKey, jsonNode), { maxLength: 5 })
          .map((entries): JsonNode => ({ t: 'obj', entries })),
      },
      { weight: 1, arbitrary: jsonNode },
      {
        weight: 1,
        arbitrary: fc
          .tuple(hostileKey, escapeChain)
          .map(([key, chain]): JsonNode => ({ t: 'obj', entries: [[key, chain]] })),
      },
      { weight: 1, arbitrary: escapeChain },
      {
        weight: 1,
        arbitrary: fc
          .jsonValue()
          .map((v): JsonNode => ({ t: 'raw', text: JSON.stringify(v) ?? 'null' })),
      },
    ),
    wrapping,
  )
  .map(([node, wrap]) => wrap(emit(node)))

/** Text a store may hand back for one session key: hostile JSON, or any text at all. */
export const hostileValueText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: jsonNode.map(emit) },
  { weight: 1, arbitrary: escapeChain.map(emit) },
  { weight: 1, arbitrary: hostileJsonText },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
)

/** A stored session's `data`: session keys (forbidden ones too) to hostile value text. */
export const hostileRecordData: fc.Arbitrary<Record<string, string>> = fc
  .array(fc.tuple(hostileKey, hostileValueText), { maxLength: 5 })
  .map((entries) => {
    const data: Record<string, string> = Object.create(null)
    for (const [k, v] of entries) data[k] = v
    return data
  })

// ---------------------------------------------------------------------------------------------
// Valid session data

const safeKey = fc
  .oneof(fc.string({ maxLength: 8 }), fc.constantFrom(' t', ' d', ' di', '_x', 'a.b', 'é'))
  .filter(
    (k) =>
      k !== '__proto__' &&
      k !== 'constructor' &&
      k !== 'prototype' &&
      !k.startsWith('_permanent') &&
      k !== '_user',
  )

const plainLeaf = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
)

/** Values tessera's native format keeps: JSON plus Date, bigint, bytes, Map, Set, ±Infinity, NaN. */
export const nativeValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    plainLeaf,
    fc.date({ noInvalidDate: true }),
    fc.bigInt(),
    fc.uint8Array({ maxLength: 8 }),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(safeKey, tie('v'), { maxKeys: 3 }),
    fc.array(fc.tuple(tie('v'), tie('v')), { maxLength: 2 }).map((pairs) => new Map(pairs)),
    fc.array(tie('v'), { maxLength: 3 }).map((items) => new Set(items)),
  ),
})).v

/** Values a Flask session keeps: JSON plus Tuple, bytes, Markup, UUID, Date (whole seconds). */
export const flaskValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    plainLeaf,
    fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }),
    fc.uint8Array({ maxLength: 8 }),
    fc.string({ maxLength: 8 }).map((s) => new Markup(s)),
    fc.uuid().map((u) => new UUID(u)),
    fc
      .date({
        min: new Date('0001-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59Z'),
        noInvalidDate: true,
      })
      .map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000)),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.array(tie('v'), { maxLength: 3 }).map((items) => Tuple.from(items)),
    fc.dictionary(safeKey, tie('v'), { maxKeys: 3 }),
  ),
})).v

export const nativeData = fc.dictionary(safeKey, nativeValue, { maxKeys: 4 })
export const flaskData = fc.dictionary(safeKey, flaskValue, { maxKeys: 4 })

// ---------------------------------------------------------------------------------------------
// Mutations of a valid cookie

const cookieChars = fc.oneof(
  fc.constantFrom(...'ABCabc019-_.=+/ "\\;,%'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
)

export type Mutation =
  | { op: 'flip' | 'insert'; at: number; ch: string }
  | { op: 'delete' | 'duplicate'; at: number; length: number }
  | { op: 'swap' | 'dropSegment' | 'repeatSegment'; a: number; b: number }
  | { op: 'truncate'; at: number }
  | { op: 'case' | 'pad' | 'quote' | 'wrapSpace' }

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constantFrom('flip' as const, 'insert' as const),
    at: fc.nat(),
    ch: cookieChars,
  }),
  fc.record({
    op: fc.constantFrom('delete' as const, 'duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 24 }),
  }),
  fc.record({
    op: fc.constantFrom('swap' as const, 'dropSegment' as const, 'repeatSegment' as const),
    a: fc.nat(),
    b: fc.nat(),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constantFrom('case' as const, 'pad' as const, 'quote' as const, 'wrapSpace' as const),
  }),
)

/** Applies one mutation; positions wrap around the value's length. */
export function mutate(value: string, m: Mutation): string {
  const n = value.length
  switch (m.op) {
    case 'flip': {
      const i = m.at % Math.max(n, 1)
      return value.slice(0, i) + m.ch + value.slice(i + 1)
    }
    case 'insert': {
      const i = m.at % (n + 1)
      return value.slice(0, i) + m.ch + value.slice(i)
    }
    case 'delete': {
      const i = m.at % Math.max(n, 1)
      return value.slice(0, i) + value.slice(i + m.length)
    }
    case 'duplicate': {
      const i = m.at % Math.max(n, 1)
      return value.slice(0, i + m.length) + value.slice(i)
    }
    case 'swap':
    case 'dropSegment':
    case 'repeatSegment': {
      const parts = value.split('.')
      const a = m.a % parts.length
      const b = m.b % parts.length
      if (m.op === 'swap') [parts[a], parts[b]] = [parts[b]!, parts[a]!]
      else if (m.op === 'dropSegment') parts.splice(a, 1)
      else parts.splice(a, 0, parts[b]!)
      return parts.join('.')
    }
    case 'truncate':
      return value.slice(0, m.at % Math.max(n, 1))
    case 'case':
      return value.replace(/[a-z]/, (c) => c.toUpperCase())
    case 'pad':
      return `${value}=`
    case 'quote':
      return `"${value}"`
    case 'wrapSpace':
      return ` ${value} `
  }
}

export const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 })

export function mutateAll(value: string, list: readonly Mutation[]): string {
  return list.reduce(mutate, value)
}

// ---------------------------------------------------------------------------------------------
// Cookie headers

/** Any text at all, as a `Cookie` header. */
export const anyHeader: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: fc.constantFrom(...'session=;" \t,ab'), maxLength: 200 }),
)

/** One `name=value` pair as a client may send it, with stray spaces and quotes. */
export function headerPair(
  name: fc.Arbitrary<string>,
  value: fc.Arbitrary<string>,
): fc.Arbitrary<string> {
  return fc
    .record({
      name,
      value,
      before: fc.constantFrom('', ' ', '  ', '\t'),
      around: fc.constantFrom('=', ' =', '= ', ' = '),
      after: fc.constantFrom('', ' ', '\t'),
      quote: fc.boolean(),
    })
    .map(
      ({ name, value, before, around, after, quote }) =>
        `${before}${name}${around}${quote ? `"${value}"` : value}${after}`,
    )
}

/** Cookie names, the session's among look-alikes. */
export const cookieNameLike = fc.oneof(
  { weight: 3, arbitrary: fc.constant('session') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Session',
      'sessions',
      'sess',
      'session\u0000',
      'a',
      '',
      '__Host-session',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'abcs=" \t'), maxLength: 8 }) },
)

/** Joins pairs the ways clients and attackers do: `; `, `;`, doubled or trailing separators. */
export function joinPairs(pairs: fc.Arbitrary<string[]>): fc.Arbitrary<string> {
  return fc
    .tuple(pairs, fc.constantFrom('; ', ';', ' ; ', ';;'), fc.constantFrom('', ';', '; '))
    .map(([list, sep, tail]) => list.join(sep) + tail)
}
