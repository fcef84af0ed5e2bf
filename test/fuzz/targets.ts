/**
 * The fuzz targets, shared by the CI suite (`test/fuzz/*.test.ts`: a fixed seed, a modest
 * number of runs) and `npm run fuzz` (`scripts/fuzz.ts`: any seed, as many runs as fit in the
 * time given). Each target prepares what it needs (codecs, a store, an app) and hands back a
 * fast-check property and a cleanup.
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import { withSession } from '../../src/adapters/node.js'
import { createFlaskCodec, dumpsSession } from '../../src/codecs/flask/index.js'
import { createNativeCodec } from '../../src/codecs/native.js'
import { createNativeJSON, isPlainObject } from '../../src/codecs/tagged-json.js'
import type { CookieCodec, DecodeResult, SessionData } from '../../src/codecs/types.js'
import { noMeta } from '../../src/codecs/types.js'
import { isSessionError } from '../../src/errors.js'
import type { Session } from '../../src/session/session.js'
import { createSessions, type Sessions, type StoreSessions } from '../../src/session/sessions.js'
import { createFileStore } from '../../src/stores/file.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { createSqliteStore } from '../../src/stores/sqlite.js'
import type { Store, StoredSession } from '../../src/stores/types.js'
import { readCookie } from '../../src/transports/cookie.js'
import {
  anyHeader,
  cookieNameLike,
  flaskData,
  headerPair,
  hostileJsonText,
  hostileRecordData,
  hostileValueText,
  joinPairs,
  type Mutation,
  mutateAll,
  mutations,
  nativeData,
} from './support/arbitraries.js'
import {
  assertPrototypeIntact,
  forbiddenKeyPath,
  preview,
  rejectReasons,
  timed,
  timedAsync,
  within,
} from './support/checks.js'
import { FakeResponse, fakeRequest, setCookies } from './support/fake-http.js'
import { cookieName, fuzzSecret, sealNative, signFlask, signNative } from './support/forge.js'

/** Options fast-check runs a target with. */
export type RunParams = Pick<
  fc.Parameters<unknown>,
  'seed' | 'numRuns' | 'endOnFailure' | 'plugins' | 'path' | 'verbose'
>

/** A property ready to run, and what to release afterwards. */
export interface Prepared {
  /** Runs the property; failures whose message matches `ignore` count as passes (triage). */
  check(params: RunParams, ignore?: RegExp): Promise<fc.RunDetails<unknown>>
  close(): Promise<void>
}

/** One thing to fuzz. */
export interface FuzzTarget {
  name: string
  /** Runs with the fixed CI seed. */
  ciRuns: number
  /** A timing property: no shrinking (each run is slow, and a smaller input proves nothing). */
  timing?: boolean
  prepare(): Promise<Prepared> | Prepared
}

/** Wraps a property (sync or async) as a `Prepared`. */
export function prepared<Ts extends [unknown, ...unknown[]]>(
  property: fc.IRawProperty<Ts>,
  close: () => Promise<void> | void = () => {},
): Prepared {
  return {
    check: async (params, ignore) =>
      (await fc.check(
        ignore ? tolerant(property, ignore) : property,
        params as fc.Parameters<Ts>,
      )) as fc.RunDetails<unknown>,
    close: async () => {
      await close()
    },
  }
}

/**
 * The same property, but a failure whose message matches `ignore` passes: a known bug then
 * no longer stops the run, and the fuzzer can look for the next one.
 */
function tolerant<Ts>(property: fc.IRawProperty<Ts>, ignore: RegExp): fc.IRawProperty<Ts> {
  type Outcome = fc.PreconditionFailure | fc.PropertyFailure | null
  const pass = (outcome: Outcome): Outcome => {
    if (outcome === null || !('error' in outcome)) return outcome
    const error = outcome.error
    return ignore.test(error instanceof Error ? error.message : String(error)) ? null : outcome
  }
  return {
    isAsync: () => property.isAsync(),
    generate: (mrng, runId) => property.generate(mrng, runId),
    shrink: (value) => property.shrink(value),
    run: (value) => {
      const outcome = property.run(value) as Outcome | Promise<Outcome>
      return outcome instanceof Promise ? outcome.then(pass) : pass(outcome)
    },
    runBeforeEach: () => property.runBeforeEach(),
    runAfterEach: () => property.runAfterEach(),
  } as fc.IRawProperty<Ts>
}

/** How long a forged or encoded cookie is accepted, in the codec targets. */
export const maxAge = 3600
const nativeJSON = createNativeJSON()

// =============================================================================================
// readCookie

/** `readCookie` as its documentation says, written the plain way: the oracle. */
export function readCookieOracle(header: string | undefined, name: string): string[] {
  if (!header) return []
  const found: string[] = []
  for (const segment of header.split(';')) {
    const eq = segment.indexOf('=')
    if (eq === -1 || segment.slice(0, eq).trim() !== name) continue
    let value = segment.slice(eq + 1).trim()
    if (value.length > 1 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    found.push(value)
  }
  return found
}

const headerValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...'AZaz09-_.="\\ \t,'), maxLength: 40 }),
)

export const readCookieTarget: FuzzTarget = {
  name: 'readCookie',
  ciRuns: 1000,
  prepare: () =>
    prepared(
      fc.property(
        fc.oneof(
          fc.option(anyHeader, { nil: undefined }),
          joinPairs(fc.array(headerPair(cookieNameLike, headerValue), { maxLength: 6 })),
        ),
        fc.oneof({ weight: 4, arbitrary: fc.constant(cookieName) }, fc.string({ maxLength: 6 })),
        (header, name) => {
          const got = timed('readCookie', () => readCookie(header, name))
          const want = readCookieOracle(header, name)
          if (!isDeepStrictEqual(got, want)) {
            throw new Error(
              `readCookie gave ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`,
            )
          }
        },
      ),
    ),
}

// =============================================================================================
// Codecs

interface CodecUnderTest {
  format: 'native' | 'encrypted' | 'flask'
  codec: CookieCodec
  /** Valid session data for this format. */
  data: fc.Arbitrary<SessionData>
  /** A cookie holding `json` verbatim, signed (or sealed) with the real key. */
  forge(json: string, now: number, compress: boolean): string
  /** The text that decides whether two decoded sessions are the same. */
  canonical(data: SessionData): string
  /** Whether any change to a valid cookie must make it invalid (no alternative spellings). */
  strict: boolean
}

export function codecUnderTest(format: CodecUnderTest['format']): CodecUnderTest {
  if (format === 'flask') {
    return {
      format,
      codec: createFlaskCodec({ secret: fuzzSecret }),
      data: flaskData,
      forge: (json, now, compress) => signFlask(json, now, compress),
      canonical: dumpsSession,
      // Flask accepts the unused low bits of the signature's last character and `=` padding.
      strict: false,
    }
  }
  const encrypt = format === 'encrypted'
  return {
    format,
    codec: createNativeCodec({ secrets: fuzzSecret, encrypt, name: cookieName }),
    data: nativeData,
    forge: (json, now) => (encrypt ? sealNative(json, now) : signNative(json, now)),
    canonical: (data) => JSON.stringify(nativeJSON.tag(data)),
    strict: true,
  }
}

/** What a codec target feeds `decode`. */
type CodecInput =
  | { kind: 'any'; value: string }
  | { kind: 'mutant'; data: SessionData; mutations: Mutation[] }
  | { kind: 'forged'; json: string; age: number; compress: boolean; mutations: Mutation[] | null }

const ageSeconds = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: maxAge }) },
  { weight: 1, arbitrary: fc.constantFrom(-61, -60, -1, maxAge, maxAge + 1, 2 ** 31) },
)

function codecInput(data: fc.Arbitrary<SessionData>): fc.Arbitrary<CodecInput> {
  return fc.oneof(
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }))
        .map((value): CodecInput => ({ kind: 'any', value })),
    },
    {
      weight: 2,
      arbitrary: fc.record({ data, mutations }).map((r): CodecInput => ({ kind: 'mutant', ...r })),
    },
    {
      weight: 4,
      arbitrary: fc
        .record({
          json: hostileJsonText,
          age: ageSeconds,
          compress: fc.boolean(),
          mutations: fc.option(mutations, { nil: null, freq: 4 }),
        })
        .map((r): CodecInput => ({ kind: 'forged', ...r })),
    },
  )
}

/**
 * Checks one decode result: a known shape, a plain object without forbidden keys, and data that
 * can be written back and reads back the same (otherwise any write to it is a 500).
 */
export function checkDecoded(
  under: CodecUnderTest,
  value: string,
  result: DecodeResult,
  now: number,
): void {
  if (typeof result !== 'object' || result === null || typeof result.ok !== 'boolean') {
    throw new Error(`decode returned ${String(result)}`)
  }
  if (!result.ok) {
    if (!rejectReasons.has(result.reason)) throw new Error(`unknown reason ${result.reason}`)
    return
  }
  if (!isPlainObject(result.data))
    throw new Error('decode accepted data that is not a plain object')
  const path = forbiddenKeyPath(result.data)
  if (path !== null) {
    throw new Error(`decode accepted a forbidden key at ${path} from ${preview(value)}`)
  }
  let again: string
  try {
    again = under.codec.encode(result.data, noMeta, now)
  } catch (error) {
    throw new Error(
      `decode accepted data that encode refuses (${(error as Error).message}) from ${preview(value)}`,
    )
  }
  const back = under.codec.decode(again, { now, maxAge })
  if (!back.ok) throw new Error(`re-encoded data does not decode: ${back.reason}`)
  if (under.canonical(back.data) !== under.canonical(result.data)) {
    // Flask (Python's email.utils) reads a year below 100 as 19xx/20xx, and so does tessera's
    // Flask codec, on purpose: a date that far back changes once, then stays. Anything else
    // that changes is a bug.
    const settled =
      under.format === 'flask'
        ? under.codec.decode(under.codec.encode(back.data, noMeta, now), { now, maxAge })
        : null
    if (settled?.ok && under.canonical(settled.data) === under.canonical(back.data)) return
    throw new Error(
      `re-encoded data decodes to something else: ${under.canonical(result.data).slice(0, 200)} became ${under.canonical(back.data).slice(0, 200)}`,
    )
  }
}

function codecTarget(format: CodecUnderTest['format'], ciRuns: number): FuzzTarget {
  return {
    name: `${format} codec decode`,
    ciRuns,
    prepare() {
      const under = codecUnderTest(format)
      const { codec } = under
      return prepared(
        fc.property(codecInput(under.data), (input) => {
          const now = Date.now()
          let value: string
          let original: SessionData | null = null
          if (input.kind === 'any') {
            value = input.value
          } else if (input.kind === 'mutant') {
            const valid = codec.encode(input.data, noMeta, now)
            value = mutateAll(valid, input.mutations)
            if (value === valid) return
            const decoded = codec.decode(valid, { now, maxAge })
            if (!decoded.ok)
              throw new Error(`a freshly encoded cookie is refused: ${decoded.reason}`)
            original = decoded.data
          } else {
            const forged = under.forge(input.json, now - input.age * 1000, input.compress)
            value = input.mutations ? mutateAll(forged, input.mutations) : forged
            if (input.mutations) {
              if (value === forged) return
              const decoded = codec.decode(forged, { now, maxAge })
              original = decoded.ok ? decoded.data : null
            }
          }
          const result = timed(`${format} decode of ${preview(value, 60)}`, () =>
            codec.decode(value, { now, maxAge }),
          )
          checkDecoded(under, value, result, now)
          assertPrototypeIntact()
          if (result.ok && input.kind !== 'any' && (input.kind === 'mutant' || input.mutations)) {
            // A changed cookie may only verify as another spelling of the same session.
            if (under.strict) throw new Error(`a mutated cookie verified: ${preview(value)}`)
            if (original === null || under.canonical(original) !== under.canonical(result.data)) {
              throw new Error(`a mutated cookie verified with other data: ${preview(value)}`)
            }
          }
        }),
      )
    },
  }
}

export const nativeCodecTarget = codecTarget('native', 400)
export const encryptedCodecTarget = codecTarget('encrypted', 400)
export const flaskCodecTarget = codecTarget('flask', 400)

// =============================================================================================
// The store record decoder: sessions.open(cookie) + load() over a store with hostile records

/** A session made through the API, so its cookie is genuine; the record is then replaced. */
export async function makeStoredSession(
  sessions: StoreSessions,
): Promise<{ cookie: string; key: string }> {
  const session = sessions.open(undefined)
  session.set('seed', 1)
  const { setCookie } = await sessions.commit(session)
  return { cookie: setCookie!.slice(0, setCookie!.indexOf(';')), key: sessions.keyOf(session)! }
}

/** A record around `data`, live for an hour. */
export function liveRecord(data: Record<string, string>, now = Date.now()): StoredSession {
  return {
    data,
    userId: null,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + 3_600_000,
    permanent: false,
    userAgent: null,
    ip: null,
  }
}

function canonicalNative(data: unknown): string {
  return JSON.stringify(nativeJSON.tag(data))
}

/**
 * Opens and loads the session of `cookie`, within the hang limit, and checks the outcome: a
 * session with data that can be written back and read again, or an anonymous one. A `StoreError`
 * is only allowed when `storeErrors` says so.
 */
export async function loadAndWriteBack(
  sessions: Sessions,
  cookie: string,
  what: string,
  options: { storeErrors?: boolean; mustBeAnonymous?: boolean } = {},
): Promise<void> {
  let session: Session
  try {
    session = await timedAsync(`load of ${what}`, async () => {
      const s = sessions.open(cookie)
      await s.load()
      return s
    })
  } catch (error) {
    if (options.storeErrors && isSessionError(error, 'STORE_UNAVAILABLE')) return
    throw new Error(`load of ${what} threw ${describeError(error)}`)
  }
  assertPrototypeIntact()
  const reason = session.rejectedReason
  if (reason !== null) {
    if (reason !== 'invalid_data' && reason !== 'expired')
      throw new Error(`unexpected reason ${reason}`)
    if (!session.isEmpty) throw new Error('a refused session kept data')
    await sessions.commit(session)
    return
  }
  if (options.mustBeAnonymous)
    throw new Error(`an expired or unreadable record was loaded: ${what}`)
  const data = session.toJSON()
  const path = forbiddenKeyPath(data)
  if (path !== null) throw new Error(`load accepted a forbidden key at ${path} from ${what}`)
  // The handler reads everything and writes it all back: the write must not fail (a 500)…
  const keys = session.keys()
  for (const key of keys) session.get(key)
  if (keys.length > 0) session.markModified(...keys)
  try {
    await sessions.commit(session)
  } catch (error) {
    throw new Error(`writing back the data loaded from ${what} threw ${describeError(error)}`)
  }
  // …and read back as the same data.
  const again = sessions.open(cookie)
  await again.load()
  if (again.rejectedReason !== null)
    throw new Error(`written-back data is refused: ${again.rejectedReason}`)
  if (canonicalNative(again.toJSON()) !== canonicalNative(data)) {
    throw new Error(`written-back data reads back different from ${what}`)
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

function storeSessions(store: Store): StoreSessions {
  return createSessions({ secret: fuzzSecret, store, pruneInterval: 0 })
}

export const memoryStoreTarget: FuzzTarget = {
  name: 'store record decoder (memory)',
  ciRuns: 300,
  prepare() {
    const store = createMemoryStore({ maxSessions: 500, sweepInterval: 0 })
    const sessions = storeSessions(store)
    return prepared(
      fc.asyncProperty(hostileRecordData, async (data) => {
        const { cookie, key } = await makeStoredSession(sessions)
        await store.create(key, liveRecord(data))
        await loadAndWriteBack(sessions, cookie, `the record ${preview(JSON.stringify(data))}`)
        await store.destroy(key)
      }),
      () => sessions.close(),
    )
  },
}

/** What the file store may find in a session file: a record of any shape, or any text. */
const fileText = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({
        data: fc.oneof(
          { weight: 4, arbitrary: hostileRecordData.map((d) => ({ ...d })) },
          { weight: 1, arbitrary: fc.jsonValue() },
        ),
        userId: fc.oneof(fc.constant(null), fc.string({ maxLength: 4 }), fc.integer()),
        createdAt: fc.oneof(fc.constant('now' as const), fc.jsonValue()),
        // Expired, or live for a second at least: never on the edge while the test runs.
        expiresIn: fc.oneof(
          fc.integer({ min: -10_000, max: 0 }),
          fc.integer({ min: 1000, max: 3_600_000 }),
          fc.constant(null),
        ),
        permanent: fc.jsonValue(),
      })
      .map((r) => ({ kind: 'record' as const, ...r })),
  },
  { weight: 1, arbitrary: hostileJsonText.map((text) => ({ kind: 'text' as const, text })) },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: 'binary', maxLength: 80 })
      .map((text) => ({ kind: 'text' as const, text })),
  },
)

export const fileStoreTarget: FuzzTarget = {
  name: 'store record decoder (file)',
  ciRuns: 150,
  prepare() {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-fuzz-file-'))
    const store = createFileStore({ dir })
    const sessions = storeSessions(store)
    return prepared(
      fc.asyncProperty(fileText, async (input) => {
        const { cookie, key } = await makeStoredSession(sessions)
        const now = Date.now()
        let text: string
        let expired = false
        if (input.kind === 'record') {
          const expiresAt = input.expiresIn === null ? 'never' : now + input.expiresIn
          expired = typeof expiresAt !== 'number' || expiresAt <= now
          text = JSON.stringify({
            data: input.data,
            userId: input.userId,
            createdAt: input.createdAt === 'now' ? now : input.createdAt,
            lastSeenAt: now,
            expiresAt,
            permanent: input.permanent,
          })
          // A record that is not dated in numbers cannot be live.
          if (input.createdAt !== 'now' && typeof input.createdAt !== 'number') expired = true
        } else {
          text = input.text
        }
        writeFileSync(join(dir, `${key}.json`), text)
        await loadAndWriteBack(sessions, cookie, `the file ${preview(text)}`, {
          mustBeAnonymous: expired,
        })
        await store.destroy(key)
      }),
      async () => {
        await sessions.close()
        rmSync(dir, { recursive: true, force: true })
      },
    )
  },
}

export const sqliteStoreTarget: FuzzTarget = {
  name: 'store record decoder (sqlite)',
  ciRuns: 200,
  prepare() {
    const db = new Database(':memory:')
    const store = createSqliteStore({ db })
    const sessions = storeSessions(store)
    let overwrite: Database.Statement | null = null
    return prepared(
      fc.asyncProperty(
        fc.oneof(
          { weight: 3, arbitrary: hostileRecordData.map((d) => JSON.stringify({ ...d })) },
          { weight: 1, arbitrary: hostileJsonText },
          { weight: 1, arbitrary: hostileValueText },
        ),
        async (text) => {
          const { cookie, key } = await makeStoredSession(sessions)
          overwrite ??= db.prepare('UPDATE tessera_sessions SET data = ? WHERE key = ?')
          overwrite.run(text, key)
          // A row whose data is damaged is a bad record, not a store outage: the session
          // must come out anonymous, as the file store does, not as a 503 on every request.
          await loadAndWriteBack(sessions, cookie, `the row data ${preview(text)}`)
          await store.destroy(key)
        },
      ),
      async () => {
        await sessions.close()
        db.close()
      },
    )
  },
}

// =============================================================================================
// The whole request path: withSession (node:http adapter) with arbitrary Cookie headers

const routes = ['public', 'whoami', 'set', 'touch', 'login', 'logout', 'writeHead'] as const
type Route = (typeof routes)[number]

/** The fuzzed app: every route answers 200, whatever the session holds. */
function fuzzApp(sessions: Sessions) {
  // The default answers, without the console noise: a 503 for a store outage, a 500 (with the
  // error, for the failure report) for anything else.
  const onError = (error: unknown, _req: unknown, res: ServerResponse) => {
    const down = isSessionError(error, 'STORE_UNAVAILABLE')
    res.writeHead(down ? 503 : 500, { 'content-type': 'text/plain' })
    res.end(down ? 'store unavailable' : `500: ${describeError(error)}`)
  }
  return withSession(
    sessions,
    (req, res, session) => {
      const route = (req.url ?? '/').slice(1) as Route
      // Whatever a hostile session holds (a bigint too) must not make the app itself throw.
      const body = () =>
        JSON.stringify(
          { user: session.get('user') ?? null, n: session.get('n') ?? null },
          (_, v) => (typeof v === 'bigint' ? `${v}n` : v),
        )
      switch (route) {
        case 'public':
          return res.end('public')
        case 'whoami':
          return res.end(body())
        case 'set':
          session.set('n', 42)
          return res.end(body())
        case 'touch': {
          const keys = session.keys()
          for (const key of keys) session.get(key)
          if (keys.length > 0) session.markModified(...keys)
          return res.end(body())
        }
        case 'login':
          session.regenerate()
          session.set('user', 'carol')
          return res.end(body())
        case 'logout':
          session.destroy()
          return res.end('{"user":null,"n":null}')
        case 'writeHead': {
          const text = body()
          res.writeHead(200, { 'content-type': 'application/json' })
          return res.end(text)
        }
      }
    },
    { onError },
  )
}

type App = ReturnType<typeof fuzzApp>

/** Runs one fake request through the app; never longer than a second. */
export async function request(app: App, route: string, cookie: string | undefined) {
  const res = new FakeResponse()
  const served = app(fakeRequest(`/${route}`, cookie), res.asServerResponse)
  const [, result] = await within(
    `the request /${route} with Cookie ${preview(cookie ?? '', 80)}`,
    Promise.all([served, res.done]),
    1000,
  )
  return result
}

/** A cookie value for a session logged in as `user`. */
async function loginValue(sessions: Sessions, user: string): Promise<string> {
  const session = sessions.open(undefined)
  session.set('user', user)
  const { setCookie } = await sessions.commit(session)
  return setCookie!.slice(cookieName.length + 1, setCookie!.indexOf(';'))
}

/** A header built only from alice's value, bob's, and values no codec can accept: its user is known. */
type Slot = 'alice' | 'bob' | { junk: string } | { other: string; value: string }

const junk = fc
  .string({ unit: fc.constantFrom(...'!AZaz09-_.= '), maxLength: 30 })
  .map((s) => `!${s}`)

const oracleSlots = fc.array(
  fc.oneof(
    fc.constant<Slot>('alice'),
    fc.constant<Slot>('bob'),
    junk.map((j): Slot => ({ junk: j })),
    fc
      .record({
        other: fc.constantFrom('a', 'sessionx', 'Session', 'csrf'),
        value: fc.constantFrom('alice', 'bob', '1'),
      })
      .map((o): Slot => o),
  ),
  { maxLength: 5 },
)

type RequestInput =
  | { kind: 'oracle'; route: Route; slots: Slot[]; sep: string; space: string; quote: boolean }
  | { kind: 'wild'; route: Route; header: string | undefined }
  | { kind: 'mutant'; route: Route; which: 'alice' | 'bob'; mutations: Mutation[]; around: string }
  | { kind: 'forged'; route: Route; json: string; compress: boolean }

function requestInput(forgeable: boolean): fc.Arbitrary<RequestInput> {
  const route = fc.constantFrom(...routes)
  const options: fc.WeightedArbitrary<RequestInput>[] = [
    {
      weight: 4,
      arbitrary: fc
        .record({
          route,
          slots: oracleSlots,
          sep: fc.constantFrom('; ', ';', ' ; '),
          space: fc.constantFrom('', ' '),
          quote: fc.boolean(),
        })
        .map((r): RequestInput => ({ kind: 'oracle', ...r })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ route, header: fc.option(anyHeader, { nil: undefined }) })
        .map((r): RequestInput => ({ kind: 'wild', ...r })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          route,
          which: fc.constantFrom('alice' as const, 'bob' as const),
          mutations,
          around: fc.constantFrom('', 'a=b; ', 'session=; '),
        })
        .map((r): RequestInput => ({ kind: 'mutant', ...r })),
    },
  ]
  if (forgeable) {
    options.push({
      weight: 2,
      arbitrary: fc
        .record({ route, json: hostileJsonText, compress: fc.boolean() })
        .map((r): RequestInput => ({ kind: 'forged', ...r })),
    })
  }
  return fc.oneof(...options)
}

function requestTarget(
  mode: 'native' | 'encrypted' | 'flask' | 'memory store',
  ciRuns: number,
): FuzzTarget {
  return {
    name: `request path (${mode})`,
    ciRuns,
    prepare() {
      const store =
        mode === 'memory store'
          ? createMemoryStore({ maxSessions: 2000, sweepInterval: 0 })
          : undefined
      const sessions = createSessions({
        secret: fuzzSecret,
        pruneInterval: 0,
        ...(store ? { store } : {}),
        ...(mode === 'flask' ? { format: 'flask' as const } : {}),
        ...(mode === 'encrypted' ? { encrypt: true } : {}),
      })
      const app = fuzzApp(sessions)
      const forge =
        mode === 'memory store' ? null : codecUnderTest(mode === 'native' ? 'native' : mode).forge
      return prepared(
        fc.asyncProperty(requestInput(forge !== null), async (input) => {
          const alice = await loginValue(sessions, 'alice')
          const bob = await loginValue(sessions, 'bob')
          let header: string | undefined
          /** The user the request must see, when the header makes it certain. */
          let expected: string | null | undefined
          let hostile = false
          if (input.kind === 'oracle') {
            const seen = new Set<string>()
            const parts = input.slots.map((slot) => {
              const q = (v: string) => (input.quote ? `"${v}"` : v)
              if (slot === 'alice' || slot === 'bob') {
                seen.add(slot)
                return `${input.space}session=${q(slot === 'alice' ? alice : bob)}`
              }
              if ('junk' in slot) return `session=${q(slot.junk)}${input.space}`
              return `${slot.other}=${slot.value}`
            })
            header = parts.length > 0 ? parts.join(input.sep) : undefined
            expected = seen.size === 1 ? [...seen][0]! : null
          } else if (input.kind === 'wild') {
            header = input.header
          } else if (input.kind === 'mutant') {
            header = `${input.around}session=${mutateAll(input.which === 'alice' ? alice : bob, input.mutations)}`
          } else {
            header = `session=${forge!(input.json, Date.now() - 1000, input.compress)}`
            hostile = true
          }
          const result = await request(app, input.route, header)
          const cookies = setCookies(result)
          const what = `/${input.route} with Cookie ${preview(header ?? '', 200)}`
          // By design, a save that would pass 4096 bytes is a CookieTooLargeError: a forged
          // cookie already near the limit may hit it on any write.
          if (hostile && result.status === 500 && result.body.includes('CookieTooLargeError'))
            return
          if (result.destroyed || result.status !== 200) {
            throw new Error(
              `${what} answered ${result.destroyed ? 'a destroyed socket' : result.status}: ${result.body}`,
            )
          }
          if (cookies.some((c) => !c.startsWith(`${cookieName}=`)))
            throw new Error(`${what} set a foreign cookie`)
          if (input.route === 'public') {
            if (cookies.length > 0 || result.headers.vary !== undefined) {
              throw new Error(`${what} did not touch the session, yet got Set-Cookie or Vary`)
            }
            return
          }
          const user = (JSON.parse(result.body) as { user: unknown }).user
          if (input.route === 'login' && user !== 'carol') throw new Error(`${what} did not log in`)
          if (input.route === 'logout' && user !== null) throw new Error(`${what} did not log out`)
          const seesUser = ['whoami', 'set', 'touch', 'writeHead'].includes(input.route)
          if (seesUser && expected !== undefined && user !== expected) {
            throw new Error(`${what} saw user ${JSON.stringify(user)}, expected ${expected}`)
          }
          if (seesUser && !hostile && user !== null && user !== 'alice' && user !== 'bob') {
            throw new Error(`${what} saw a user nobody logged in as: ${JSON.stringify(user)}`)
          }
          if (seesUser && user !== null && cookies.some((c) => c.includes('Max-Age=0'))) {
            throw new Error(`${what} saw user ${String(user)} but deleted the cookie`)
          }
          // What the request wrote is what the next one reads, with the cookie it was given.
          if (input.route === 'set' || input.route === 'login' || input.route === 'logout') {
            const given = cookies.at(-1)
            const next = given ? given.slice(0, given.indexOf(';')) : header
            const after = await request(app, 'whoami', next)
            const seen = JSON.parse(after.body) as { user: unknown; n: unknown }
            if (after.status !== 200)
              throw new Error(`after ${what}, /whoami answered ${after.status}`)
            if (input.route === 'logout' && (seen.user !== null || seen.n !== null)) {
              throw new Error(`after ${what}, the session is still there: ${after.body}`)
            }
            if (input.route === 'set' && (seen.n !== 42 || !isDeepStrictEqual(seen.user, user))) {
              throw new Error(`after ${what}, /whoami saw ${after.body}`)
            }
            if (input.route === 'login' && seen.user !== 'carol') {
              throw new Error(`after ${what}, /whoami saw ${after.body}`)
            }
          }
          // A revoked session stays revoked: the old cookie of a destroyed session is anonymous.
          if (store && input.route === 'logout' && header !== undefined) {
            const again = await request(app, 'whoami', header)
            if ((JSON.parse(again.body) as { user: unknown }).user !== null) {
              throw new Error(`${what}: the old cookie still works after logout`)
            }
          }
        }),
        () => sessions.close(),
      )
    },
  }
}

export const nativeRequestTarget = requestTarget('native', 200)
export const encryptedRequestTarget = requestTarget('encrypted', 150)
export const flaskRequestTarget = requestTarget('flask', 200)
export const storeRequestTarget = requestTarget('memory store', 200)
