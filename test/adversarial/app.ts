/**
 * The fixture app of the adversarial suite (security test plan, section 0): a small node:http
 * app built on `withSession`, parameterised by mode, with
 *
 * - a fake clock (`createSessions({ now })`, and the memory, file and SQLite stores' `now`);
 * - a store spy (`test/support/spy-store.ts`, wrapped in a recorder that notes every call with
 *   its raw key and the request that made it, and can delay or fail calls);
 * - a captured logger: every `sessions.on(...)` event, the app's own request log and whatever
 *   the library prints through `console`, each line tagged with the request that produced it.
 *
 * Endpoints (section 0): `GET /whoami` · `GET /public` · `GET /protected` · `POST /login` ·
 * `POST /logout` (and `GET /logout` → 405) · `POST /logout-others` · `POST /elevate` ·
 * `POST /s/set?k=&v=` (or the value as the body; `json=1` parses it) · `GET /s/get?k=` ·
 * `GET /s/has?k=` · `POST /s/slow-set?k=&v=&ms=[&barrier=NAME&n=2]` · `POST /s/incr?k=`, plus
 * test-only admin hooks `POST /admin/terminate?user=` and `POST /admin/disable?user=`.
 *
 * Clock and stores: the fake clock drives tessera's own expiry checks in every mode (the core
 * compares a record's `createdAt`/`expiresAt` with `now()`), and the memory, file and SQLite
 * stores' liveness checks too. Redis and PostgreSQL decide liveness on real time (Redis TTL,
 * `Date.now()` in SQL), so the clock starts just ahead of real time and only moves forward:
 * their records never die early, and a case that needs the store itself to forget a record
 * (prune, TTL) uses short real timeouts there, or is pinned to the stores the clock reaches.
 *
 * The serving, recording and store pieces (`serve`, `createRecording`, `makeStore`,
 * `recordingStore`, `logSessionEvents`) also run the demo site (`demo-site.ts`), so both
 * targets give the invariants the same record (`Target`).
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withSession } from '../../src/adapters/node.js'
import { isSessionError } from '../../src/errors.js'
import { csrfToken } from '../../src/features/csrf.js'
import { flash } from '../../src/features/flash.js'
import type { Session } from '../../src/session/session.js'
import {
  type CookieSessions,
  createSessions,
  type Sessions,
  type SessionsOptions,
  type StoreSessions,
} from '../../src/session/sessions.js'
import { createFileStore, type FileStoreOptions } from '../../src/stores/file.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { createPostgresStore, type PostgresStoreOptions } from '../../src/stores/postgres.js'
import { createRedisStore } from '../../src/stores/redis.js'
import { createSqliteStore } from '../../src/stores/sqlite.js'
import type { SessionPatch, Store, StoredSession } from '../../src/stores/types.js'
import { DATABASE_URL, postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js'
import { spyStore } from '../support/spy-store.js'

// ---------------------------------------------------------------------------------------------
// Modes and the plan's test configuration

export type ModeName =
  | 'signed'
  | 'encrypted'
  | 'flask'
  | 'memory'
  | 'file'
  | 'sqlite'
  | 'redis'
  | 'postgres'

/** CK: cookie sessions (the plan's SC and EC, plus the Flask format); SRV: server-side stores. */
export type Group = 'CK' | 'SRV'

export interface Mode {
  name: ModeName
  group: Group
  label: string
  /** The session cookie's name: `__Host-sid` server-side, `__Host-session` for cookie modes. */
  cookieName: string
  /** Why the mode's service is missing (null: available), for `describeService`. */
  unavailable: (() => Promise<string | null>) | null
}

/** Every mode the plan names, in one table the test files loop over. */
export const modes: readonly Mode[] = [
  {
    name: 'signed',
    group: 'CK',
    label: 'signed cookie (SC)',
    cookieName: '__Host-session',
    unavailable: null,
  },
  {
    name: 'encrypted',
    group: 'CK',
    label: 'encrypted cookie (EC)',
    cookieName: '__Host-session',
    unavailable: null,
  },
  {
    name: 'flask',
    group: 'CK',
    label: 'Flask-format cookie',
    cookieName: '__Host-session',
    unavailable: null,
  },
  {
    name: 'memory',
    group: 'SRV',
    label: 'memory store',
    cookieName: '__Host-sid',
    unavailable: null,
  },
  {
    name: 'file',
    group: 'SRV',
    label: 'file store (FS)',
    cookieName: '__Host-sid',
    unavailable: null,
  },
  {
    name: 'sqlite',
    group: 'SRV',
    label: 'SQLite store (SQ)',
    cookieName: '__Host-sid',
    unavailable: null,
  },
  {
    name: 'redis',
    group: 'SRV',
    label: 'Redis store (RD)',
    cookieName: '__Host-sid',
    unavailable: () => redisAvailable(),
  },
  {
    name: 'postgres',
    group: 'SRV',
    label: 'PostgreSQL store (PG)',
    cookieName: '__Host-sid',
    unavailable: () => postgresAvailable(),
  },
]

export const modeByName = (name: ModeName): Mode => modes.find((m) => m.name === name)!

/** The plan's test configuration (section 0), in seconds unless named otherwise. */
export const plan = {
  idle: 30 * 60,
  absolute: 8 * 60 * 60,
  skew: 60,
  storeTimeoutMs: 500,
  /** RFC 6265bis: user agents cap Expires/Max-Age at 400 days. */
  maxPersistence: 400 * 86_400,
} as const

/** Keys of the anonymous session that survive login (X-07's whitelist). */
export const preAuthWhitelist = new Set(['cart'])

// ---------------------------------------------------------------------------------------------
// The fake clock

export interface FakeClock {
  now: () => number
  advance(ms: number): void
  set(ms: number): void
}

/**
 * A clock that starts at the next whole second of real time (or at `start`) and moves only
 * when told.
 */
export function fakeClock(start?: number): FakeClock {
  let t = start ?? Math.ceil(Date.now() / 1000) * 1000 + 1000
  return {
    now: () => t,
    advance(ms) {
      if (ms < 0) throw new Error('the fake clock only moves forward')
      t += ms
    },
    set(ms) {
      if (ms < t) throw new Error('the fake clock only moves forward')
      t = ms
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Request context, store recorder and logger

export interface StoreCall {
  op: string
  /** The store key (SHA-256 of the id), when the call has one. */
  key: string | null
  /** `touch` for an update that only moves the expiry; `data` for any other update. */
  kind: 'read' | 'touch' | 'data' | 'create' | 'destroy' | 'other'
  /** `METHOD /path` of the request that made the call, or `setup` outside any request. */
  route: string
  request: string | null
  patch?: SessionPatch
  /** What a `create` stores. */
  record?: StoredSession
}

export interface LogLine {
  level: 'info' | 'warn' | 'error'
  text: string
  request: string | null
}

interface RequestContext {
  id: string
  route: string
}

const als = new AsyncLocalStorage<RequestContext>()

const writeOps = new Set(['create', 'update', 'destroy', 'destroyByUser', 'clear', 'prune'])

/** Whether a call changed the store. */
export function isWrite(call: StoreCall): boolean {
  return writeOps.has(call.op)
}

/** Faults a case can switch on: every matching call waits `delayMs`, then fails with `error`. */
export interface Faults {
  delayMs: number
  error: Error | null
  /** Only these operations (all when null). */
  ops: Set<string> | null
  /** Store calls started and not yet settled (delayed ones included). */
  inFlight: number
}

/** Wraps `inner` so every call is recorded with its request, and can be delayed or failed. */
export function recordingStore(
  inner: Store,
  record: (call: StoreCall) => void,
  faults: Faults,
  owned: boolean,
): Store {
  const wrapped: Record<string, unknown> = { name: inner.name }
  const methods = [
    'get',
    'create',
    'update',
    'destroy',
    'listByUser',
    'destroyByUser',
    'list',
    'prune',
    'clear',
    'migrate',
    'close',
  ] as const
  for (const op of methods) {
    const fn = inner[op] as ((...args: unknown[]) => Promise<unknown>) | undefined
    if (!fn || (op === 'close' && !owned)) continue
    wrapped[op] = async (...args: unknown[]) => {
      const ctx = als.getStore()
      const key = op === 'get' || op === 'create' || op === 'update' || op === 'destroy'
      const patch = op === 'update' ? (args[1] as SessionPatch) : undefined
      const created = op === 'create' ? (args[1] as StoredSession) : undefined
      record({
        op,
        key: key ? String(args[0]) : null,
        kind: kindOf(op, patch),
        route: ctx?.route ?? 'setup',
        request: ctx?.id ?? null,
        ...(patch ? { patch } : {}),
        ...(created ? { record: created } : {}),
      })
      const faulty = ctx !== undefined && (faults.ops === null || faults.ops.has(op))
      faults.inFlight++
      try {
        if (faulty && faults.delayMs > 0) await sleep(faults.delayMs)
        if (faulty && faults.error) throw faults.error
        return await fn.apply(inner, args)
      } finally {
        faults.inFlight--
      }
    }
  }
  return wrapped as unknown as Store
}

function kindOf(op: string, patch: SessionPatch | undefined): StoreCall['kind'] {
  if (op === 'get' || op === 'listByUser' || op === 'list') return 'read'
  if (op === 'create') return 'create'
  if (op === 'destroy' || op === 'destroyByUser') return 'destroy'
  if (op === 'update') {
    const data =
      patch?.set !== undefined ||
      patch?.unset !== undefined ||
      patch?.clear !== undefined ||
      patch?.userId !== undefined ||
      patch?.permanent !== undefined
    return data ? 'data' : 'touch'
  }
  return 'other'
}

// ---------------------------------------------------------------------------------------------
// Stores, made fresh for each app, with raw access for seeding and counting

/** Access to a store below its API: counting records, seeding broken ones. */
export interface RawStore {
  /** Records the store holds, expired or not (what a dump would show). */
  count(): Promise<number>
  /**
   * Replaces, below the store's API, the data container of the record under `key` with `text`
   * (whatever the storage allows). Returns false when this store cannot hold that text there.
   */
  seedData(key: string, text: string): Promise<boolean>
  /** Where the store keeps its files (file and SQLite stores). */
  dir?: string
  dbPath?: string
  close(): Promise<void>
}

export interface MadeStore {
  store: Store
  raw: RawStore
  cleanup(): Promise<void>
}

const runId = () => `tessera_adv_${randomBytes(5).toString('hex')}`

export interface StoreOverrides {
  file?: Partial<FileStoreOptions>
  postgres?: Partial<PostgresStoreOptions>
  /** Give the fake clock to the stores that take one (default true). */
  clockInStore?: boolean
}

/** A fresh store of `mode`'s kind, with its own folder, key prefix or schema. */
export async function makeStore(
  mode: ModeName,
  now: () => number,
  overrides: StoreOverrides,
): Promise<MadeStore> {
  const clock = overrides.clockInStore === false ? {} : { now }
  switch (mode) {
    case 'memory': {
      const store = createMemoryStore({ sweepInterval: 0, ...clock })
      return {
        store,
        raw: {
          count: async () => store.size,
          // The memory store keeps live objects, normalised by `create`: there is no stored
          // form to corrupt below its API, so nothing can be planted.
          seedData: async () => false,
          close: async () => {},
        },
        cleanup: async () => store.close?.(),
      }
    }
    case 'file': {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-adv-file-'))
      const store = createFileStore({ dir, ...clock, ...overrides.file })
      const { readFile, writeFile } = await import('node:fs/promises')
      return {
        store,
        raw: {
          dir,
          count: async () =>
            readdirSync(dir).filter((f) => /^[A-Za-z0-9_-]+\.json$/.test(f)).length,
          seedData: async (key, text) => {
            const path = join(dir, `${key}.json`)
            const current = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
            const { data: _, ...meta } = current
            // The data member is spliced in as text, so invalid JSON breaks the whole file.
            await writeFile(path, `{"data":${text},${JSON.stringify(meta).slice(1)}`)
            return true
          },
          close: async () => {},
        },
        cleanup: async () => {
          await store.close?.()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    }
    case 'sqlite': {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-adv-sqlite-'))
      const dbPath = join(dir, 'sessions.db')
      const store = createSqliteStore({ path: dbPath, ...clock })
      await store.migrate?.()
      const { default: Database } = await import('better-sqlite3')
      let db: InstanceType<typeof Database> | null = null
      const open = () => {
        db ??= new Database(dbPath)
        db.pragma('busy_timeout = 1000')
        return db
      }
      return {
        store,
        raw: {
          dir,
          dbPath,
          count: async () =>
            (open().prepare('SELECT count(*) AS n FROM tessera_sessions').get() as { n: number }).n,
          seedData: async (key, text) => {
            open().prepare('UPDATE tessera_sessions SET data = ? WHERE key = ?').run(text, key)
            return true
          },
          close: async () => {
            db?.close()
            db = null
          },
        },
        cleanup: async () => {
          db?.close()
          await store.close?.()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    }
    case 'redis': {
      const prefix = `${runId()}:`
      const store = createRedisStore({ url: REDIS_URL, prefix })
      const { createClient } = await import('redis')
      const client = createClient({ url: REDIS_URL })
      client.on('error', () => {})
      await client.connect()
      // Warm up: the first command connects the store's own client.
      await store.get('warm-up-key-that-does-not-exist')
      const scan = async (pattern: string) => {
        const found: string[] = []
        let cursor = '0'
        do {
          const [next, keys] = (await client.sendCommand([
            'SCAN',
            cursor,
            'MATCH',
            pattern,
            'COUNT',
            '1000',
          ])) as [string, string[]]
          cursor = next
          found.push(...keys)
        } while (cursor !== '0')
        return found
      }
      return {
        store,
        raw: {
          count: async () => (await scan(`${prefix}s:*`)).length,
          seedData: async (key, text) => {
            const hash = `${prefix}s:{${key}}`
            // A Redis session is a hash; "the record is <text>" is a key of the wrong type.
            const ttl = await client.sendCommand(['PTTL', hash])
            await client.sendCommand(['DEL', hash])
            await client.sendCommand([
              'SET',
              hash,
              text,
              'PX',
              String(Math.max(Number(ttl), 60_000)),
            ])
            return true
          },
          close: async () => {},
        },
        cleanup: async () => {
          await store.close?.()
          // Only this run's keys: never FLUSHALL.
          for (const k of await scan(`${prefix}*`)) await client.sendCommand(['UNLINK', k])
          client.destroy()
        },
      }
    }
    case 'postgres': {
      const schema = runId()
      const store = createPostgresStore({
        connectionString: DATABASE_URL,
        schema,
        ...overrides.postgres,
      })
      await store.migrate?.()
      await store.get('warm-up-key-that-does-not-exist')
      const { default: pg } = await import('pg')
      const client = new pg.Client({ connectionString: DATABASE_URL })
      client.on('error', () => {})
      await client.connect()
      const table = `"${schema}".tessera_sessions`
      return {
        store,
        raw: {
          count: async () =>
            Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n),
          seedData: async (key, text) => {
            try {
              await client.query(`UPDATE ${table} SET data = $1::jsonb WHERE key = $2`, [text, key])
              return true
            } catch {
              return false // jsonb refuses text that is not JSON
            }
          },
          close: async () => {},
        },
        cleanup: async () => {
          await store.close?.()
          // Only the schema this run created.
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
          await client.end()
        },
      }
    }
    default:
      throw new Error(`${mode} is not a store mode`)
  }
}

// ---------------------------------------------------------------------------------------------
// The app

export type Shape = { user?: string; [key: string]: unknown }

export interface AppOptions {
  /** Secrets, newest first (default: one fresh 32-byte key). */
  secrets?: Uint8Array[]
  /** Options passed on to `createSessions` over the plan's defaults. */
  sessions?: Partial<SessionsOptions>
  /** Wraps the (recorded) store, e.g. to replace it; applied under the spy. */
  wrapStore?: (store: Store) => Store
  /** Store construction overrides. */
  store?: StoreOverrides
  /** Where the fake clock starts (default: the next whole second of real time, plus one). */
  clockStart?: number
  /** A ready-made store to use instead of a fresh one of the mode's kind; never closed here. */
  useStore?: { store: Store; raw?: RawStore; cleanup?: () => Promise<void> }
}

/** One HTTP exchange with the app, and what it caused. */
export interface Result {
  id: string
  status: number
  headers: Record<string, string | string[] | undefined>
  setCookies: string[]
  body: string
  /** Client-side round trip, ms. */
  ms: number
  /** Server-side, from the request event to the end of the response, ms (NaN if unknown). */
  serverMs: number
  /** Store calls this request made. */
  calls: StoreCall[]
  /** Log lines this request produced. */
  logs: LogLine[]
  json<T = Record<string, unknown>>(): T
  /** `name=value` of the first Set-Cookie, or throws. */
  cookie(): string
}

export interface Send {
  method?: string
  /** The `Cookie` header, as given (latin1; use `raw` for bytes Node's client refuses). */
  cookie?: string
  headers?: Record<string, string>
  body?: string
}

/** A spy over a store: call counts, and `fail` to make every call reject. */
export type Spy = Store & { calls: Record<string, number>; fail: boolean; writes(): number }

/** What a target records while it runs: store calls, log lines, exchanges and cookies sent. */
export interface Recording {
  /** Every store call since the target started. */
  calls: StoreCall[]
  logs: LogLine[]
  /** Every exchange since the target started. */
  results: Result[]
  /** Cookie values sent to the target, in order: the invariants look for them in logs, bodies. */
  sentCookies: string[]
  /** Adds a line to the log, tagged with the request being served, if any. */
  log(level: LogLine['level'], text: string): void
}

/** An empty recording. */
export function createRecording(): Recording {
  const logs: LogLine[] = []
  return {
    calls: [],
    logs,
    results: [],
    sentCookies: [],
    log: (level, text) => logs.push({ level, text, request: als.getStore()?.id ?? null }),
  }
}

/** A handler served on loopback: how to talk to it. */
export interface Served {
  url: string
  port: number
  request(path: string, send?: Send): Promise<Result>
  /** Sends raw bytes (a whole request head without the final CRLF) over a fresh socket. */
  sendRaw(head: Buffer | string): Promise<Result>
  close(): Promise<void>
}

/**
 * What the section-5 invariants (`harness.ts`) read of a running target: the fixture app here,
 * or the demo site (`demo-site.ts`).
 */
export interface Target extends Omit<Recording, 'log'>, Served {
  sessions: { readonly cookieName: string }
  clock: { now(): number }
  secrets: Uint8Array[]
  /** The longest a persistent cookie may live, in ms (maxAge; server-side min(idle, absolute)). */
  persistMs: number
  /** Extra values that must never appear in logs or bodies. */
  sensitive: Set<string>
  /** Whether every Set-Cookie must carry `Secure`. */
  secure: boolean
  /**
   * Cookies the target sets besides the session's, by name, with the longest each may live in
   * ms; they must carry the same attributes. Absent: none.
   */
  otherCookies?: ReadonlyMap<string, number>
  /** `METHOD /path` of the endpoints that change state, whose store writes are expected. */
  writeRoutes: ReadonlySet<string>
  /**
   * Store writes a GET makes by design, besides refreshing the idle expiry (which any GET may).
   * Absent: none.
   */
  readWrite?: (call: StoreCall) => boolean
}

export interface TestApp extends Target {
  mode: Mode
  sessions: CookieSessions<Shape> | StoreSessions<Shape>
  clock: FakeClock
  /** The spy over the store (counts, `fail`), null for cookie modes. */
  spy: Spy | null
  raw: RawStore | null
  /** The store below the recorder and the spy (for a second app over the same data). */
  baseStore: Store | null
  faults: Faults
  /** Reads the store key of a server-side cookie value (`id.mac`): SHA-256 of the id. */
  keyOfCookie(cookie: string): string | null
}

/** The fixture's endpoints that change state (section 0, and the admin hooks). */
const fixtureWriteRoutes: ReadonlySet<string> = new Set([
  'POST /login',
  'POST /logout',
  'POST /logout-others',
  'POST /elevate',
  'POST /s/set',
  'POST /s/slow-set',
  'POST /s/incr',
  'POST /admin/terminate',
  'POST /admin/disable',
  'POST /s/revoked-during',
])

let requestSeq = 0

/** Starts the fixture app for `mode` on a free loopback port. */
export async function startApp(mode: Mode, options: AppOptions = {}): Promise<TestApp> {
  const clock = fakeClock(options.clockStart)
  const secrets = options.secrets ?? [randomBytes(32)]
  const recording = createRecording()
  const { calls, log } = recording
  const faults: Faults = { delayMs: 0, error: null, ops: null, inFlight: 0 }

  let made: MadeStore | null = null
  let spy: Spy | null = null
  let storeOption: Store | undefined
  if (mode.group === 'SRV') {
    made = options.useStore
      ? {
          store: options.useStore.store,
          raw: options.useStore.raw ?? noRaw,
          cleanup: options.useStore.cleanup ?? (async () => {}),
        }
      : await makeStore(mode.name, clock.now, options.store ?? {})
    // A store given with `useStore` belongs to the caller (its `cleanup` closes it).
    const recorded = recordingStore(
      made.store,
      (call) => calls.push(call),
      faults,
      !options.useStore,
    )
    spy = spyStore(options.wrapStore ? options.wrapStore(recorded) : recorded) as Spy
    storeOption = spy
  }

  const base: SessionsOptions = {
    secret: secrets,
    now: clock.now,
    cookie: { name: mode.cookieName, secure: true },
    maxAge: plan.idle,
    storeTimeout: plan.storeTimeoutMs / 1000,
    pruneInterval: 0,
    ...(mode.name === 'encrypted' ? { encrypt: true } : {}),
    ...(mode.name === 'flask' ? { format: 'flask' as const } : {}),
    absoluteTimeout: plan.absolute,
    ...(storeOption ? { store: storeOption, idleTimeout: plan.idle } : {}),
  }
  const final: SessionsOptions = { ...base, ...options.sessions }
  const sessions = createSessions<Shape>(final)
  const maxAge = final.maxAge ?? 31 * 86_400
  const persistMs =
    1000 *
    (final.store
      ? Math.min(final.idleTimeout ?? maxAge, final.absoluteTimeout ?? 90 * 86_400)
      : maxAge)
  logSessionEvents(sessions, log)

  const disabled = new Set<string>()
  const barriers = new Map<string, { arrived: number; release: (() => void)[] }>()

  const handler = withSession(sessions, async (req, res, session) => {
    try {
      await route(req, res, session)
    } finally {
      log('info', `${req.method} ${pathOf(req)} rejected=${session.rejectedReason ?? '-'}`)
    }
  })

  async function route(req: IncomingMessage, res: ServerResponse, session: Session<Shape>) {
    const url = new URL(req.url ?? '/', 'http://app.test')
    const q = url.searchParams
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /public':
        return send(res, 200, 'public', 'text/plain')
      case 'GET /whoami':
        return sendJson(res, 200, {
          user: session.get('user') ?? null,
          userId: session.userId,
          size: session.size,
        })
      case 'GET /protected': {
        const user = session.get('user')
        if (!user) return redirect(res, '/login')
        return sendJson(res, 200, { user })
      }
      case 'POST /login': {
        const user = q.get('user') ?? 'alice'
        if (disabled.has(user)) return sendJson(res, 403, { error: 'account_disabled' })
        session.regenerate()
        for (const key of session.keys()) if (!preAuthWhitelist.has(key)) session.delete(key)
        session.set('user', user)
        session.setUser(user)
        session.set('authAt', clock.now())
        if (q.get('permanent') === '1') session.permanent = true
        return redirect(res, '/whoami')
      }
      case 'POST /logout':
        session.destroy()
        res.setHeader('clear-site-data', '"cookies"')
        return redirect(res, '/login')
      case 'GET /logout':
        res.setHeader('allow', 'POST')
        return sendJson(res, 405, { error: 'method_not_allowed' })
      case 'POST /logout-others': {
        const userId = session.userId
        if (!userId) return sendJson(res, 401, { error: 'not_logged_in' })
        if (sessions.mode === 'cookie') return sendJson(res, 501, { error: 'not_supported' })
        const revoked = await sessions.destroyByUser(userId, {
          except: sessions.keyOf(session)!,
        })
        session.regenerate()
        return sendJson(res, 200, { revoked })
      }
      case 'POST /elevate':
        if (!session.get('user')) return sendJson(res, 401, { error: 'not_logged_in' })
        session.regenerate()
        session.set('elevated', true)
        return sendJson(res, 200, { elevated: true })
      case 'POST /s/set':
      case 'POST /s/slow-set': {
        const key = q.get('k') ?? ''
        const text = q.get('v') ?? (await readBody(req))
        try {
          const value = q.get('json') === '1' ? JSON.parse(text) : text
          session.set(key, value)
          if (url.pathname === '/s/slow-set') {
            const name = q.get('barrier')
            if (name) await barrier(name, Number(q.get('n') ?? 2))
            await sleep(Number(q.get('ms') ?? 0))
          }
          await session.save()
        } catch (error) {
          if (isSessionError(error, 'SERIALIZE') || error instanceof SyntaxError) {
            return sendJson(res, 400, { error: 'bad_value' })
          }
          if (isSessionError(error, 'COOKIE_TOO_LARGE')) {
            return sendJson(res, 413, { error: 'session_too_large' })
          }
          throw error
        }
        return send(res, 200, 'ok', 'text/plain')
      }
      case 'GET /s/get': {
        const value = session.get(q.get('k') ?? '')
        return sendJson(res, 200, { value: value === undefined ? null : value })
      }
      case 'GET /s/has':
        return sendJson(res, 200, { has: session.has(q.get('k') ?? '') })
      case 'POST /s/incr': {
        const key = q.get('k') ?? 'n'
        const n = Number(session.get(key) ?? 0) + 1
        session.set(key, n)
        return sendJson(res, 200, { value: n })
      }
      case 'POST /s/revoked-during': {
        // Another device logs the user out everywhere while this request runs; then this
        // request changes its session the way `op` says.
        const user = session.userId
        if (sessions.mode !== 'store' || user === null) return sendJson(res, 400, { error: 'no' })
        await sessions.destroyByUser(user)
        const op = q.get('op')
        if (op === 'set') session.set('late', 'write')
        else if (op === 'regenerate') session.regenerate()
        else if (op === 'markModified') session.markModified('user')
        else if (op === 'setUser') session.setUser(`${user}-2`)
        else if (op === 'flash') flash(session, 'late message')
        else if (op === 'csrf') {
          session.delete('_csrf')
          csrfToken(session)
        } else if (op === 'permanent') session.permanent = !session.permanent
        else return sendJson(res, 400, { error: 'unknown op' })
        return sendJson(res, 200, { op })
      }
      case 'POST /admin/terminate':
      case 'POST /admin/disable': {
        const user = q.get('user') ?? ''
        if (url.pathname === '/admin/disable') disabled.add(user)
        if (sessions.mode !== 'store') throw new Error('revoking needs a store')
        const revoked = await sessions.destroyByUser(user)
        return sendJson(res, 200, { revoked })
      }
      default:
        return send(res, 404, 'not found', 'text/plain')
    }
  }

  function barrier(name: string, n: number): Promise<void> {
    const b = barriers.get(name) ?? { arrived: 0, release: [] }
    barriers.set(name, b)
    b.arrived++
    if (b.arrived >= n) {
      for (const release of b.release) release()
      barriers.delete(name)
      return Promise.resolve()
    }
    return new Promise((resolve) => b.release.push(resolve))
  }

  const served = await serve(handler, recording)
  const app: TestApp = {
    ...served,
    calls,
    logs: recording.logs,
    results: recording.results,
    sentCookies: recording.sentCookies,
    mode,
    sessions,
    clock,
    secrets,
    spy,
    raw: made?.raw ?? null,
    baseStore: made?.store ?? null,
    faults,
    persistMs,
    sensitive: new Set(),
    secure: true,
    writeRoutes: fixtureWriteRoutes,
    keyOfCookie,
    async close() {
      await served.close()
      await sessions.close()
      await made?.raw.close()
      await made?.cleanup()
    },
  }
  return app
}

/** Logs the library's events on `sessions` into the captured log, as an app would. */
export function logSessionEvents(
  sessions: Pick<Sessions<Shape>, 'on'>,
  log: Recording['log'],
): void {
  sessions.on((event) => {
    switch (event.type) {
      case 'rejected':
        log(
          'warn',
          `session rejected: ${event.reason}${event.issues ? ` (${event.issues.join('; ')})` : ''}`,
        )
        break
      case 'store_error': {
        const cause = event.error.cause
        log(
          'error',
          `session store error: ${event.error.message}${cause instanceof Error ? ` [cause: ${cause.stack}]` : ''}`,
        )
        break
      }
      default:
        log('info', `session ${event.type} (user ${event.userId ?? '-'})`)
    }
  })
}

/**
 * Serves `handler` on a free loopback port. Each request runs in its own context, so the store
 * recorder and the log know which request made a call or a line; every exchange lands in
 * `recording`, and so does whatever is printed through `console` meanwhile.
 */
export async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => unknown,
  recording: Recording,
): Promise<Served> {
  const { calls, logs, results, sentCookies, log } = recording
  const serverTimes = new Map<string, number>()
  const server: Server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    const given = req.headers['x-test-request']
    const id = typeof given === 'string' ? given : `srv-${++requestSeq}`
    const started = performance.now()
    res.on('finish', () => serverTimes.set(id, performance.now() - started))
    als.run({ id, route: `${req.method} ${pathOf(req)}` }, () => {
      void handler(req, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const agent = new Agent({ keepAlive: true, maxSockets: 256 })

  // What the library prints (the adapter's 500 handler, warnings) belongs to the captured log.
  const stopConsole = captureConsole(log)

  const served: Served = {
    url: `http://127.0.0.1:${port}`,
    port,
    request(path, s = {}) {
      const id = `req-${++requestSeq}`
      if (s.cookie !== undefined) noteCookies(s.cookie, sentCookies)
      for (const v of Object.values(s.headers ?? {})) sentCookies.push(v)
      const started = performance.now()
      return new Promise<Result>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path,
            method: s.method ?? 'GET',
            agent,
            headers: {
              'x-test-request': id,
              ...(s.cookie !== undefined ? { cookie: s.cookie } : {}),
              ...(s.body !== undefined ? { 'content-length': Buffer.byteLength(s.body) } : {}),
              ...s.headers,
            },
          },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (c: Buffer) => chunks.push(c))
            res.on('end', () => {
              const result = makeResult(
                id,
                res.statusCode ?? 0,
                res.headers,
                Buffer.concat(chunks).toString('utf8'),
                performance.now() - started,
              )
              resolve(result)
            })
            res.on('error', reject)
          },
        )
        req.on('error', reject)
        req.end(s.body)
      })
    },
    sendRaw(head) {
      const id = `raw-${++requestSeq}`
      const started = performance.now()
      return new Promise<Result>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1')
        const chunks: Buffer[] = []
        socket.on('data', (c) => chunks.push(c))
        socket.on('error', (error: NodeJS.ErrnoException) => {
          // The server may close on a request it refuses before reading all of it.
          if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish()
          else reject(error)
        })
        let done = false
        const finish = () => {
          if (done) return
          done = true
          const parsed = parseRawResponse(Buffer.concat(chunks))
          resolve(
            makeResult(id, parsed.status, parsed.headers, parsed.body, performance.now() - started),
          )
        }
        socket.on('end', finish)
        socket.on('close', finish)
        const prefix = Buffer.from(`X-Test-Request: ${id}\r\nConnection: close\r\n\r\n`, 'latin1')
        const headBuffer = typeof head === 'string' ? Buffer.from(head, 'latin1') : head
        // Insert our headers after the request line's headers: the head ends without CRLFCRLF.
        socket.write(Buffer.concat([headBuffer, Buffer.from('\r\n'), prefix]))
      })
    },
    async close() {
      stopConsole()
      agent.destroy()
      await new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    },
  }

  function makeResult(
    id: string,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    body: string,
    ms: number,
  ): Result {
    const raw = headers['set-cookie']
    const setCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
    const timed = serverTimes.get(id)
    serverTimes.delete(id)
    const result: Result = {
      id,
      status,
      headers,
      setCookies,
      body,
      ms,
      serverMs: timed ?? Number.NaN,
      calls: calls.filter((c) => c.request === id),
      logs: logs.filter((l) => l.request === id),
      json: <T>() => JSON.parse(body) as T,
      cookie() {
        const header = setCookies[0]
        if (!header) throw new Error(`no Set-Cookie on ${status} ${body}`)
        return header.slice(0, header.indexOf(';'))
      },
    }
    results.push(result)
    return result
  }

  return served
}

/** The store key of a server-side cookie value (`id.mac`, or `name=id.mac`): SHA-256 of the id. */
export function keyOfCookie(cookie: string): string | null {
  const value = cookie.includes('=') ? cookie.slice(cookie.indexOf('=') + 1) : cookie
  const dot = value.indexOf('.')
  if (dot !== 43) return null
  return sha256Base64url(value.slice(0, 43))
}

const consoleMethods = ['log', 'info', 'warn', 'error'] as const
const consoleSinks = new Set<(level: LogLine['level'], text: string) => void>()
let consoleOriginals: ((...args: unknown[]) => void)[] | null = null

/**
 * Routes `console` output into every live app's log while any app runs (patched once, however
 * many apps are alive, and restored when the last one closes).
 */
function captureConsole(sink: (level: LogLine['level'], text: string) => void): () => void {
  if (!consoleOriginals) {
    consoleOriginals = consoleMethods.map((m) => console[m])
    for (const m of consoleMethods) {
      const level = m === 'error' ? 'error' : m === 'warn' ? 'warn' : 'info'
      console[m] = (...args: unknown[]) => {
        const text = args
          .map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a)))
          .join(' ')
        for (const s of consoleSinks) s(level, text)
      }
    }
  }
  consoleSinks.add(sink)
  return () => {
    consoleSinks.delete(sink)
    if (consoleSinks.size === 0 && consoleOriginals) {
      for (const [i, m] of consoleMethods.entries()) console[m] = consoleOriginals[i]!
      consoleOriginals = null
    }
  }
}

const noRaw: RawStore = {
  count: async () => Number.NaN,
  seedData: async () => false,
  close: async () => {},
}

function noteCookies(header: string, into: string[]): void {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    into.push((eq === -1 ? part : part.slice(eq + 1)).trim())
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8` })
  res.end(body)
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), 'application/json')
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'content-type': 'text/plain; charset=utf-8' })
  res.end(`See ${location}`)
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function sha256Base64url(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

function parseRawResponse(bytes: Buffer): {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
} {
  const text = bytes.toString('latin1')
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) return { status: 0, headers: {}, body: '' }
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0)
  const headers: Record<string, string | string[] | undefined> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (name === 'set-cookie') {
      const list = (headers[name] as string[] | undefined) ?? []
      list.push(value)
      headers[name] = list
    } else headers[name] = value
  }
  let body = bytes.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'))
  if (String(headers['transfer-encoding'] ?? '').includes('chunked')) body = dechunk(body)
  return { status, headers, body: body.toString('utf8') }
}

function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at)
    if (lineEnd === -1) break
    const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1'), 16)
    if (!(size > 0)) break
    out.push(body.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
  return Buffer.concat(out)
}
