/**
 * "No input takes more than linear time", as properties: each run builds one input shape at a
 * size n and at 8n, times the target on both (best of several rounds, enough calls per round
 * to be measurable) and requires the ratio to stay well under quadratic (64): under 40.
 * @module
 */
import fc from 'fast-check'
import type { CookieCodec } from '../../src/codecs/types.js'
import { createSessions } from '../../src/session/sessions.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { readCookie } from '../../src/transports/cookie.js'
import { timed } from './support/checks.js'
import { cookieName, fuzzSecret } from './support/forge.js'
import {
  codecUnderTest,
  type FuzzTarget,
  liveRecord,
  makeStoredSession,
  maxAge,
  prepared,
} from './targets.js'

/** Quadratic time would give 64; linear gives 8, n log n about 9. */
export const maxRatio = 40
const rounds = 5
/** Each round runs the small input for at least this long, so timer noise stays small. */
const roundMs = 2

/** Milliseconds per call of `fn`, over one round of `calls` calls. */
async function round(fn: () => unknown, calls: number): Promise<number> {
  const start = performance.now()
  for (let i = 0; i < calls; i++) {
    const result = fn()
    if (result instanceof Promise) await result
  }
  return (performance.now() - start) / calls
}

/**
 * Times `run` on `small` and `large` (8 times the size); throws when it grows faster than linear.
 * The rounds of the two sizes alternate and the best of each is kept, so a busy machine slows
 * both alike; a ratio over the bound is measured again (twice) before it counts, because
 * real superlinear growth shows every time and a stolen time slice does not.
 */
export async function assertLinear<T>(
  what: string,
  run: (input: T) => unknown,
  small: T,
  large: T,
): Promise<void> {
  await run(small)
  await run(large) // warm up both paths
  let calls = 1
  while ((await round(() => run(small), calls)) * calls < roundMs && calls < 1 << 14) calls *= 2
  let a = 0
  let b = 0
  for (let attempt = 0; attempt < 3; attempt++) {
    a = Number.POSITIVE_INFINITY
    b = Number.POSITIVE_INFINITY
    for (let i = 0; i < rounds; i++) {
      a = Math.min(a, await round(() => run(small), calls))
      b = Math.min(b, await round(() => run(large), calls))
    }
    if (b / a <= maxRatio) return
  }
  throw new Error(
    `${what}: 8 times the input took ${(b / a).toFixed(1)} times as long ` +
      `(${a.toFixed(3)} ms → ${b.toFixed(3)} ms per call), three times over: more than linear`,
  )
}

/**
 * The small size of a large-input case. Its 8-fold stays under 128 KiB, V8's largest object in
 * the ordinary heap: a bigger string or array is mapped from the kernel on its own, and where
 * system calls are slow (sandboxed kernels) that alone costs 100 times the parse, which would
 * read as quadratic time. Quadratic code shows at 64 KiB as plainly as at 128 KiB.
 */
const bigInput = 8_192

/** Repeats `unit` to exactly `size` characters. */
export function fill(unit: string, size: number): string {
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size)
}

// =============================================================================================

/** Cookie-header units: some without `=`, which make a segment-by-segment reader rescan. */
const headerUnit = fc.oneof(
  fc.constantFrom(
    'a;',
    ';',
    ' ;',
    'session;',
    ';;=',
    'a=b;',
    'session=x;',
    'session="',
    '"',
    ' ',
    '=',
    'session=;',
  ),
  fc.string({ minLength: 1, maxLength: 6 }),
  fc.string({ unit: fc.constantFrom(...'a=; "s'), minLength: 1, maxLength: 6 }),
)

export const readCookieLinearTarget: FuzzTarget = {
  name: 'readCookie is linear',
  ciRuns: 12,
  timing: true,
  prepare: () =>
    prepared(
      fc.asyncProperty(headerUnit, async (unit) => {
        const n = bigInput
        await assertLinear(
          `readCookie of ${JSON.stringify(unit)} repeated`,
          (header: string) => readCookie(header, cookieName),
          fill(unit, n),
          fill(unit, 8 * n),
        )
      }),
    ),
}

// =============================================================================================

/** JSON values to repeat in a list: numbers, strings, tags of every kind. */
const jsonSnippets = [
  '1',
  '1.0',
  '-0',
  '1e308',
  '1e400',
  '12345678901234567890',
  '"x"',
  '"\\u0041"',
  '"\\ud800"',
  'null',
  'true',
  'NaN',
  '{}',
  '[]',
  '[[[]]]',
  '{"a":1}',
  '{"a":1,"a":2}',
  '{" t":[]}',
  '{" t":"ab"}',
  '{" di":{"a__":1}}',
  '{" d":"Thu, 01 Jan 1970 00:00:00 GMT"}',
  '{" d":"1970-01-01T00:00:00Z"}',
  '{" u":"0123456789abcdef0123456789abcdef"}',
  '{" b":"AAAA"}',
  '{" m":"x"}',
  '{" m":[]}',
  '{" s":[]}',
  '{" n":"1"}',
  '{" f":"NaN"}',
] as const

/** A JSON session payload of one shape, of about `size` characters. */
type Shape =
  | { kind: 'list'; snippet: string }
  | { kind: 'string'; unit: string }
  | { kind: 'keys'; snippet: string }
  | { kind: 'nest'; open: '[' | '{"a":' }
  | { kind: 'raw'; unit: string }

const shape: fc.Arbitrary<Shape> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(...jsonSnippets)
      .map((snippet): Shape => ({ kind: 'list', snippet })),
  },
  {
    weight: 2,
    arbitrary: fc
      .string({ minLength: 1, maxLength: 6 })
      .map((unit): Shape => ({ kind: 'string', unit })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(...jsonSnippets)
      .map((snippet): Shape => ({ kind: 'keys', snippet })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('[' as const, '{"a":' as const)
      .map((open): Shape => ({ kind: 'nest', open })),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ minLength: 1, maxLength: 6 })
      .map((unit): Shape => ({ kind: 'raw', unit })),
  },
)

export function payload(s: Shape, size: number): string {
  switch (s.kind) {
    case 'list': {
      const count = Math.max(1, Math.floor((size - 12) / (s.snippet.length + 1)))
      return `{"k":[${`${s.snippet},`.repeat(count)}0]}`
    }
    case 'string': {
      const escaped = JSON.stringify(s.unit).slice(1, -1)
      return `{"k":"${escaped.repeat(Math.max(1, Math.floor((size - 8) / escaped.length)))}"}`
    }
    case 'keys': {
      // The same key over and over: the last one wins.
      const count = Math.max(1, Math.floor(size / (s.snippet.length + 5)))
      return `{${`"k":${s.snippet},`.repeat(count)}"z":0}`
    }
    case 'nest': {
      const depth = Math.floor(size / (s.open.length + 1))
      return `{"k":${s.open.repeat(depth)}0${(s.open === '[' ? ']' : '}').repeat(depth)}}`
    }
    case 'raw':
      return fill(s.unit, size)
  }
}

function describeShape(s: Shape): string {
  return JSON.stringify(s)
}

function codecLinearTarget(
  format: 'native' | 'encrypted' | 'flask',
  compress: boolean,
  n: number,
  ciRuns: number,
): FuzzTarget {
  return {
    name: `${format}${compress ? ' (compressed)' : ''} decode is linear`,
    ciRuns,
    timing: true,
    prepare() {
      const under = codecUnderTest(format)
      const codec: CookieCodec = under.codec
      return prepared(
        fc.asyncProperty(shape, fc.boolean(), async (s, signed) => {
          const now = Date.now()
          const make = (size: number) => {
            const json = payload(s, size)
            // Signed with the real key, the JSON parser and the tags run; unsigned, the checks
            // in front of them do.
            return signed ? under.forge(json, now, compress) : json
          }
          await assertLinear(
            `${format} decode of ${describeShape(s)} (${signed ? 'signed' : 'unsigned'})`,
            (value: string) => codec.decode(value, { now, maxAge }),
            make(n),
            make(8 * n),
          )
        }),
      )
    },
  }
}

/** Native cookies are read up to 8192 characters: JSON of 4800 stays under it once in base64. */
export const nativeLinearTarget = codecLinearTarget('native', false, 600, 10)
export const encryptedLinearTarget = codecLinearTarget('encrypted', false, 600, 10)
export const flaskLinearTarget = codecLinearTarget('flask', false, 600, 10)
/** A compressed Flask payload may inflate to 1 MiB: repeated JSON of 512 KiB fits in a cookie. */
export const flaskCompressedLinearTarget = codecLinearTarget('flask', true, 65_536, 10)

/**
 * The biggest compressed payload Flask cookies may carry (it inflates to just under the 1 MiB
 * cap): a cookie of 1 to 4 KB, signed with the real key, must still decode within the hang limit.
 */
export const flaskInflateCapTarget: FuzzTarget = {
  name: 'flask compressed payload at the inflate cap decodes in time',
  ciRuns: 8,
  timing: true,
  prepare() {
    const under = codecUnderTest('flask')
    return prepared(
      fc.property(
        fc.constantFrom(...jsonSnippets),
        fc.integer({ min: 900_000, max: 1_040_000 }),
        (snippet, size) => {
          const now = Date.now()
          const value = under.forge(payload({ kind: 'list', snippet }, size), now, true)
          const what = `flask decode of a ${value.length}-char cookie inflating to ${size} bytes of [${snippet},…]`
          timed(what, () => under.codec.decode(value, { now, maxAge }))
        },
      ),
    )
  },
}

// =============================================================================================

export const storeLinearTarget: FuzzTarget = {
  name: 'store record decoder is linear',
  ciRuns: 10,
  timing: true,
  prepare() {
    const store = createMemoryStore({ maxSessions: 100, sweepInterval: 0 })
    const sessions = createSessions({ secret: fuzzSecret, store, pruneInterval: 0 })
    return prepared(
      fc.asyncProperty(shape, async (s) => {
        const n = bigInput
        const small = await makeStoredSession(sessions)
        const large = await makeStoredSession(sessions)
        await store.create(small.key, liveRecord({ k: payload(s, n) }))
        await store.create(large.key, liveRecord({ k: payload(s, 8 * n) }))
        await assertLinear(
          `load of a record holding ${describeShape(s)}`,
          async (cookie: string) => {
            const session = sessions.open(cookie)
            await session.load()
          },
          small.cookie,
          large.cookie,
        )
        await store.destroy(small.key)
        await store.destroy(large.key)
      }),
      () => sessions.close(),
    )
  },
}
