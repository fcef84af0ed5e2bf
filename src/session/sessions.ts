/**
 * The session manager: opens a request's session from its cookie and decides, at the end, what
 * the response must carry. It never touches a request or response itself; adapters do that.
 * @module
 */
import { createFlaskCodec } from '../codecs/flask.js'
import { createNativeCodec } from '../codecs/native.js'
import { createNativeJSON, isPlainObject, type Tag } from '../codecs/tagged-json.js'
import type { CookieCodec, DecodeSuccess, RejectReason, SessionData } from '../codecs/types.js'
import { ConfigError, SessionError, StoreError } from '../errors.js'
import { createDeadlines } from '../primitives/deadlines.js'
import {
  createMac,
  deriveKey,
  type Mac,
  type Secrets,
  secretList,
  sha256,
} from '../primitives/keys.js'
import { randomToken } from '../primitives/random.js'
import type { SessionPatch, SessionSummary, Store, StoredSession } from '../stores/types.js'
import { type CookieOptions, createCookieWriter, readCookie } from '../transports/cookie.js'
import {
  newState,
  Session,
  type SessionShape,
  type SessionState,
  settle,
  stateOf,
} from './session.js'

const day = 86_400

/** Options of `createSessions`. Durations are in seconds. */
export interface SessionsOptions {
  /** One secret, or a rotation list newest first (the first signs, all verify). */
  secret: Secrets
  /** Keep the data on the server, with only a signed id in the cookie. Absent: cookie sessions. */
  store?: Store
  /**
   * How a cookie session is written: tessera's `native` format, or `flask` for cookies a
   * Flask app with the same SECRET_KEY reads and writes. @default 'native'
   */
  format?: 'native' | 'flask'
  /** Encrypt native cookie sessions (AES-256-GCM), so clients cannot read them. @default false */
  encrypt?: boolean
  /** A codec of your own, in place of `format`/`encrypt`. */
  codec?: CookieCodec
  /** The session cookie's name and attributes. */
  cookie?: CookieOptions
  /**
   * The lifetime of a session (Flask's PERMANENT_SESSION_LIFETIME): how long a cookie session
   * is accepted after it was last written, a permanent cookie's Expires, and the default idle
   * timeout of server-side sessions. @default 2678400 (31 days)
   */
  maxAge?: number
  /** Server-side: a session unused this long expires (sliding). @default maxAge */
  idleTimeout?: number
  /** Server-side: a session dies this long after it was created, however active. @default 90 days */
  absoluteTimeout?: number
  /** Server-side: the idle expiry is refreshed at most once per this interval. @default 60 */
  touchInterval?: number
  /**
   * Server-side: seconds between sweeps of expired sessions (`store.prune()`), run in the
   * background; 0 turns them off, e.g. when a cron job runs `tessera sessions prune`.
   * @default 3600
   */
  pruneInterval?: number
  /**
   * Re-issue a permanent cookie on every request that reads the session, sliding its expiry
   * (Flask's SESSION_REFRESH_EACH_REQUEST). @default true
   */
  refresh?: boolean
  /** Milliseconds a store call may take before the request fails with a 503. @default 1000 */
  storeTimeout?: number
  /**
   * A schema the session data must pass when loaded (any Standard Schema validator: zod,
   * valibot, arktype…). Data that fails it gives an empty session and a `rejected` event with
   * the issues, so a deploy that changes the session's shape never breaks a handler.
   */
  schema?: StandardSchema
  /** Extra tagged-JSON tags for native sessions and server-side values. */
  tags?: readonly Tag[]
  /** The clock, in epoch ms; tests inject one. */
  now?: () => number
}

/** Lifecycle events, for logging and metrics. Session ids never appear in them. */
export type SessionEvent =
  | { type: 'created'; userId: string | null }
  | { type: 'regenerated'; userId: string | null }
  | { type: 'destroyed'; userId: string | null }
  | { type: 'rejected'; reason: RejectReason; issues?: readonly string[] }
  | { type: 'store_error'; error: StoreError }

/** What the response must carry once the request is done with its session. */
export interface CommitResult {
  /** A `Set-Cookie` value, or null to leave the client's cookie alone. */
  setCookie: string | null
  /** Whether the response depends on the cookie, so caches must key on it (`Vary: Cookie`). */
  vary: boolean
}

/** Who made the request, recorded when a server-side session is created. */
export interface RequestMeta {
  userAgent?: string | null | undefined
  ip?: string | null | undefined
}

/** A configured session system: the one object an app makes at start-up. */
export interface Sessions<T extends SessionShape = SessionShape> {
  /** `cookie` or `store`. */
  readonly mode: 'cookie' | 'store'
  /** Where sessions live, for display: `cookie/native`, `cookie/flask`, `sqlite`, `redis`… */
  readonly description: string
  readonly cookieName: string
  readonly store: Store | null
  /**
   * A request's session, from its `Cookie` header. Never throws for a bad cookie. `meta` may be
   * a function, called only if the request creates a server-side session.
   */
  open(cookieHeader: string | undefined, meta?: RequestMeta | (() => RequestMeta)): Session<T>
  /** Saves the session and says what the response must carry. Throws `StoreError`. */
  commit(session: Session<T>): Promise<CommitResult>
  /**
   * The same, without waiting, when no store call is needed (always, for cookie sessions);
   * null when the store must be written, so the caller must use `commit`.
   */
  commitSync(session: Session<T>): CommitResult | null
  /** A user's live sessions (server-side mode). */
  listByUser(userId: string): Promise<SessionSummary[]>
  /** Ends a user's sessions, but the one under `except` (a store key); returns how many. */
  destroyByUser(userId: string, options?: { except?: string }): Promise<number>
  /** Ends the session with this store key. */
  destroy(key: string): Promise<void>
  /** The store key of a session (a hash of its id), or null before it has one. */
  keyOf(session: Session<T>): string | null
  /** Listens to lifecycle events. Returns a function that stops listening. */
  on(listener: (event: SessionEvent) => void): () => void
  /** Closes the store. */
  close(): Promise<void>
}

const idPattern = /^[A-Za-z0-9_-]{43}$/

/**
 * Makes the session system.
 * @example
 * const sessions = createSessions({ secret: process.env.SECRET_KEY! })
 * const sessions = createSessions({ secret, store: createSqliteStore({ path: 'data/sessions.db' }) })
 */
export function createSessions<T extends SessionShape = SessionShape>(
  options: SessionsOptions,
): Sessions<T> {
  const now = options.now ?? Date.now
  const writer = createCookieWriter(options.cookie)
  const name = writer.name
  const maxAge = options.maxAge ?? 31 * day
  const refresh = options.refresh ?? true
  const listeners = new Set<(event: SessionEvent) => void>()
  const secrets = secretList(options.secret)
  const json = createNativeJSON(options.tags)
  if (!(maxAge > 0)) throw new ConfigError('maxAge must be a positive number of seconds')

  function emit(event: SessionEvent): void {
    for (const listener of listeners) {
      try {
        listener(event)
      } catch {
        // A failing logger must not fail the request.
      }
    }
  }

  function reject(state: SessionState, reason: RejectReason, issues?: readonly string[]): void {
    state.rejected = reason
    emit(issues ? { type: 'rejected', reason, issues } : { type: 'rejected', reason })
  }

  const schema = options.schema?.['~standard']
  /** The data if it passes the schema (as the schema returns it), else null with the issues. */
  function validate(data: SessionData): Validated | Promise<Validated> {
    if (!schema) return { data }
    const outcome = (result: StandardResult): Validated => {
      if (result.issues) return { data: null, issues: result.issues.map(describeIssue) }
      const value = result.value
      return { data: value !== null && typeof value === 'object' ? (value as SessionData) : data }
    }
    const result = schema.validate(data)
    return result instanceof Promise ? result.then(outcome) : outcome(result)
  }

  const common = {
    cookieName: name,
    on(listener: (event: SessionEvent) => void) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }

  const absolute = options.absoluteTimeout ?? 90 * day
  const idle = options.idleTimeout ?? maxAge
  // A cookie session lives maxAge after its last write, a stored one idleTimeout after its last use.
  const lifetime = options.store ? idle : maxAge
  if (lifetime > absolute) {
    throw new ConfigError(
      `the session lifetime (${options.store ? 'idleTimeout' : 'maxAge'}, ${lifetime} s) is ` +
        `longer than absoluteTimeout (${absolute} s); shorten it or raise absoluteTimeout`,
    )
  }
  if (!options.store) {
    if (options.idleTimeout !== undefined) {
      throw new ConfigError(
        'idleTimeout is for server-side sessions; a cookie session is accepted for maxAge ' +
          'seconds after it was last written, so set maxAge',
      )
    }
    const codec = options.codec ?? makeCodec(options, secrets, name, json)
    return {
      ...common,
      ...cookieMode<T>(codec, writer, { now, maxAge, absolute, refresh, reject, validate }),
    }
  }
  return {
    ...common,
    ...storeMode<T>(options.store, {
      writer,
      now,
      maxAge,
      json,
      reject,
      emit,
      idle,
      absolute,
      touchInterval: options.touchInterval ?? 60,
      pruneInterval: options.pruneInterval ?? 3600,
      timeout: options.storeTimeout ?? 1000,
      idKeys: secrets.map((s) => createMac(deriveKey(s, 'session-id'))),
      validate,
      name,
    }),
  }
}

function makeCodec(
  options: SessionsOptions,
  secrets: Buffer[],
  name: string,
  json: ReturnType<typeof createNativeJSON>,
): CookieCodec {
  if (options.format === 'flask') {
    if (options.encrypt) {
      throw new ConfigError(
        'Flask cookies are signed, not encrypted; drop `encrypt` or use the native format',
      )
    }
    const [secret, ...fallbacks] = secrets
    return createFlaskCodec({ secret: secret!, fallbacks })
  }
  if (options.format !== undefined && options.format !== 'native') {
    throw new ConfigError(
      `format must be 'native' or 'flask', not ${JSON.stringify(options.format)}`,
    )
  }
  return createNativeCodec({ secrets, encrypt: options.encrypt ?? false, name, json })
}

type Common = 'cookieName' | 'on'

/** The outcome of schema validation. */
interface Validated {
  data: SessionData | null
  issues?: string[]
}

type Reject = (state: SessionState, reason: RejectReason, issues?: readonly string[]) => void

interface CookieModeContext {
  now: () => number
  maxAge: number
  absolute: number
  refresh: boolean
  reject: Reject
  validate: (data: SessionData) => Validated | Promise<Validated>
}

function cookieMode<T extends SessionShape>(
  codec: CookieCodec,
  writer: ReturnType<typeof createCookieWriter>,
  { now, maxAge, absolute, refresh, reject, validate }: CookieModeContext,
): Omit<Sessions<T>, Common> {
  function load(state: SessionState): void {
    let found: DecodeSuccess | null = null
    let foundValue = ''
    let refused: RejectReason | null = null
    for (const value of state.cookies) {
      if (value === '' || value === foundValue) continue
      const result = codec.decode(value, { now: now(), maxAge })
      if (!result.ok) {
        refused ??= result.reason
        continue
      }
      if (found) {
        // Two different valid session cookies: which one the browser meant cannot be known.
        reject(state, 'malformed')
        return
      }
      found = result
      foundValue = value
    }
    // One event per request, however many bad values it carried: logs must not amplify.
    if (!found) {
      if (refused) reject(state, refused)
      return
    }
    const raw = found.data
    const { permanent, user: userId } = found.meta
    // When the session began, for the absolute timeout; a Flask cookie does not say, so there
    // each write starts the clock again.
    const created = found.meta.createdAt ?? found.issuedAt
    if (now() - created >= absolute * 1000) {
      reject(state, 'expired')
      return
    }
    const checked = validate(raw)
    if (checked instanceof Promise) {
      throw new ConfigError(
        'the session schema validates asynchronously, but cookie sessions load synchronously; ' +
          'use a synchronous schema',
      )
    }
    if (!checked.data) {
      reject(state, 'invalid_data', checked.issues)
      return
    }
    state.permanent = permanent
    state.userId = userId
    state.data = checked.data
    state.isNew = false
    state.rejected = null
    state.createdAt = created
    // Signed with an older secret: re-issue under the current one.
    state.resign = found.keyIndex > 0
  }

  function commitSync(state: SessionState): CommitResult {
    if (!state.accessed || state.committed) return { setCookie: null, vary: state.accessed }
    state.committed = true
    const empty = isEmpty(state.data) && state.userId === null
    if (state.destroyed || empty) {
      return { setCookie: state.modified ? writer.remove() : null, vary: true }
    }
    if (!state.modified && !state.resign && !(state.permanent && refresh)) {
      return { setCookie: null, vary: state.accessed }
    }
    const t = now()
    // A new or regenerated session starts its absolute timeout now; a re-issued one keeps it.
    const created = state.isNew || state.regenerate ? t : state.createdAt
    const value = codec.encode(
      state.data,
      { user: state.userId, createdAt: created, permanent: state.permanent },
      t,
    )
    const expiresAt = Math.min(t + maxAge * 1000, created + absolute * 1000)
    return {
      setCookie: writer.set(value, state.permanent ? capExpiry(expiresAt, t) : undefined),
      vary: true,
    }
  }

  return {
    mode: 'cookie',
    description: `cookie/${codec.format}`,
    store: null,
    open(cookieHeader) {
      const state = newState(readCookie(cookieHeader, writer.name), undefined)
      if (state.cookies.length === 0) state.loaded = true
      else state.loadSync = load
      return new Session<T>(state)
    },
    async commit(session) {
      return commitSync(session[stateOf])
    },
    commitSync(session) {
      return commitSync(session[stateOf])
    },
    keyOf: () => null,
    async listByUser() {
      throw notInCookieMode("list a user's sessions")
    },
    async destroyByUser() {
      throw notInCookieMode("revoke a user's sessions")
    },
    async destroy() {
      throw notInCookieMode('revoke a session')
    },
    async close() {},
  }
}

function notInCookieMode(what: string): SessionError {
  return new SessionError(
    'COOKIE_MODE',
    `cannot ${what} with cookie sessions: the data lives in each browser's cookie, so the server ` +
      'has no list to read; use a server-side store',
  )
}

interface StoreModeContext {
  writer: ReturnType<typeof createCookieWriter>
  now: () => number
  maxAge: number
  json: ReturnType<typeof createNativeJSON>
  reject: Reject
  validate: (data: SessionData) => Validated | Promise<Validated>
  emit: (event: SessionEvent) => void
  idle: number
  absolute: number
  touchInterval: number
  pruneInterval: number
  timeout: number
  idKeys: Mac[]
  name: string
}

function storeMode<T extends SessionShape>(
  store: Store,
  ctx: StoreModeContext,
): Omit<Sessions<T>, Common> {
  const { writer, now, json, reject, emit, idKeys, name } = ctx
  const sweeper = startSweeper(store, ctx.pruneInterval, (cause) =>
    emit({
      type: 'store_error',
      error: new StoreError(store.name, 'prune expired sessions', { cause }),
    }),
  )

  const deadlines = createDeadlines(ctx.timeout)

  /** Runs a store operation within the store timeout; failures become `StoreError`s. */
  function call<R>(operation: string, run: () => Promise<R>): Promise<R> {
    return deadlines.within(
      run,
      () => new Error(`no answer within ${ctx.timeout} ms`),
      (cause) => {
        const error =
          cause instanceof StoreError ? cause : new StoreError(store.name, operation, { cause })
        emit({ type: 'store_error', error })
        return error
      },
    )
  }

  function signId(id: string): string {
    return `${id}.${idKeys[0]!.sign(`${name}\0${id}`)}`
  }

  /** The id in a cookie value and the index of the secret that signed it, or null. */
  function unsignId(value: string): { id: string; keyIndex: number } | null {
    const dot = value.indexOf('.')
    if (dot !== 43 || value.length !== 87) return null
    const id = value.slice(0, 43)
    const mac = value.slice(44)
    if (!idPattern.test(id)) return null
    for (let i = 0; i < idKeys.length; i++) {
      if (idKeys[i]!.matches(`${name}\0${id}`, mac)) return { id, keyIndex: i }
    }
    return null
  }

  /** The deferred half of `open`: which id the cookie carries, if any is validly signed. */
  function checkIds(state: SessionState): void {
    let found: { id: string; keyIndex: number } | null = null
    let refused = false
    for (const value of state.cookies) {
      if (value === '') continue
      const signed = unsignId(value)
      if (!signed) {
        refused = true
        continue
      }
      if (found && found.id !== signed.id) {
        // Two different valid ids: which one the browser meant cannot be known.
        reject(state, 'malformed')
        found = null
        break
      }
      found = signed
    }
    // One event per request, however many bad values it carried: logs must not amplify.
    if (!found && refused && state.rejected === null) reject(state, 'bad_signature')
    if (found) {
      state.rejected = null
      state.id = found.id
      state.storeKey = sha256(found.id)
      state.resign = found.keyIndex > 0
      state.loadAsync = load
    } else {
      state.loaded = true
    }
  }

  function decodeData(record: StoredSession): SessionData | null {
    if (!isPlainObject(record.data)) return null
    const data: SessionData = {}
    try {
      for (const key of Object.keys(record.data)) {
        if (key === '__proto__' || key === 'constructor' || key === 'prototype') return null
        data[key] = json.untag(JSON.parse(record.data[key]!))
      }
    } catch {
      return null
    }
    return data
  }

  function encodeValue(value: unknown): string {
    return json.stringify(value)
  }

  function expiryFor(createdAt: number, t: number): number {
    return Math.min(t + ctx.idle * 1000, createdAt + ctx.absolute * 1000)
  }

  async function load(state: SessionState): Promise<void> {
    const key = state.storeKey!
    const record = await call('read a session', () => store.get(key))
    const t = now()
    if (!record || record.createdAt + ctx.absolute * 1000 <= t || record.expiresAt <= t) {
      state.storeKey = null
      state.id = null
      reject(state, 'expired')
      return
    }
    const decoded = decodeData(record)
    // Awaited only when the schema is asynchronous: an await costs a turn of the microtask queue.
    let checked: Validated = { data: null }
    if (decoded) {
      const validated = ctx.validate(decoded)
      checked = validated instanceof Promise ? await validated : validated
    }
    if (!checked.data) {
      state.storeKey = null
      state.id = null
      reject(state, 'invalid_data', checked.issues)
      return
    }
    state.data = checked.data
    state.isNew = false
    state.userId = record.userId
    state.permanent = record.permanent
    state.createdAt = record.createdAt
    state.lastSeenAt = record.lastSeenAt
    state.expiresAt = record.expiresAt
  }

  function cookieFor(id: string, permanent: boolean, expiresAt: number): string {
    return writer.set(signId(id), permanent ? capExpiry(expiresAt, now()) : undefined)
  }

  async function create(state: SessionState, t: number): Promise<string> {
    const id = randomToken(32)
    const key = sha256(id)
    const data: Record<string, string> = {}
    for (const k of Object.keys(state.data)) data[k] = encodeValue(state.data[k])
    const createdAt = t
    const expiresAt = expiryFor(createdAt, t)
    const meta = typeof state.meta === 'function' ? state.meta() : state.meta
    await call('create a session', () =>
      store.create(key, {
        data,
        userId: state.userId,
        createdAt,
        lastSeenAt: t,
        expiresAt,
        permanent: state.permanent,
        userAgent: meta?.userAgent ?? null,
        ip: meta?.ip ?? null,
      }),
    )
    state.id = id
    state.storeKey = key
    return cookieFor(id, state.permanent, expiresAt)
  }

  async function commit(state: SessionState): Promise<CommitResult> {
    if (state.loading) await state.loading
    if (!state.loaded || state.committed) return { setCookie: null, vary: state.accessed }
    state.committed = true
    const key = state.storeKey
    const t = now()
    const empty = isEmpty(state.data) && state.userId === null
    const hadCookie = state.cookies.length > 0

    if (state.destroyed || (key !== null && empty && state.modified)) {
      if (key !== null) await call('destroy a session', () => store.destroy(key))
      if (key !== null) emit({ type: 'destroyed', userId: state.userId })
      return { setCookie: hadCookie ? writer.remove() : null, vary: true }
    }
    if (key === null) {
      if (empty) {
        // A stale or refused cookie is removed once the request looked at the session.
        const stale = hadCookie && (state.modified || state.rejected !== null)
        return { setCookie: stale && state.accessed ? writer.remove() : null, vary: state.accessed }
      }
      const setCookie = await create(state, t)
      emit({ type: 'created', userId: state.userId })
      return { setCookie, vary: true }
    }
    if (state.regenerate) {
      const setCookie = await create(state, t)
      await call('destroy a session', () => store.destroy(key))
      emit({ type: 'regenerated', userId: state.userId })
      return { setCookie, vary: true }
    }
    const touchDue = t - state.lastSeenAt >= ctx.touchInterval * 1000
    if (!state.modified && !touchDue) {
      return {
        setCookie: state.resign ? cookieFor(state.id!, state.permanent, state.expiresAt) : null,
        vary: state.accessed,
      }
    }
    const expiresAt = expiryFor(state.createdAt, t)
    const patch: SessionPatch = { lastSeenAt: t, expiresAt }
    if (state.modified) {
      const set: Record<string, string> = {}
      const unset: string[] = []
      for (const k of state.changed ?? []) {
        if (Object.hasOwn(state.data, k)) set[k] = encodeValue(state.data[k])
        else unset.push(k)
      }
      patch.set = set
      patch.unset = unset
      if (state.cleared) patch.clear = true
      if (state.userChanged) patch.userId = state.userId
      patch.permanent = state.permanent
    }
    const applied = await call('update a session', () => store.update(key, patch))
    if (!applied) {
      // Revoked or expired while this request ran: never bring it back.
      return { setCookie: writer.remove(), vary: true }
    }
    const reissue = state.permanent || state.resign
    return {
      setCookie: reissue ? cookieFor(state.id!, state.permanent, expiresAt) : null,
      vary: true,
    }
  }

  return {
    mode: 'store',
    description: store.name,
    store,
    open(cookieHeader, meta) {
      const state = newState(readCookie(cookieHeader, writer.name), meta)
      state.perKey = true
      if (state.cookies.some((value) => value !== '')) state.checkIds = checkIds
      else state.loaded = true
      return new Session<T>(state)
    },
    commit(session) {
      return commit(session[stateOf])
    },
    commitSync(session) {
      const state = session[stateOf]
      if (state.loading) return null
      if (!state.loaded || state.committed) return { setCookie: null, vary: state.accessed }
      const dueAt = state.lastSeenAt + ctx.touchInterval * 1000
      if (state.modified || state.resign || (state.storeKey !== null && now() >= dueAt)) return null
      if (state.storeKey === null && state.cookies.length > 0 && state.rejected !== null)
        return null
      state.committed = true
      return { setCookie: null, vary: state.accessed }
    },
    keyOf(session) {
      settle(session[stateOf])
      return session[stateOf].storeKey
    },
    async listByUser(userId) {
      if (!store.listByUser)
        throw new ConfigError(`the ${store.name} store cannot list a user's sessions`)
      return call('list sessions', () => store.listByUser!(userId))
    },
    async destroyByUser(userId, options) {
      if (!store.destroyByUser) {
        throw new ConfigError(`the ${store.name} store cannot revoke a user's sessions`)
      }
      return call('revoke sessions', () => store.destroyByUser!(userId, options))
    },
    async destroy(key) {
      await call('destroy a session', () => store.destroy(key))
    },
    async close() {
      sweeper.stop()
      await store.close?.()
    },
  }
}

/**
 * Prunes the store every `interval` seconds, first after a random part of it, so that app
 * instances started together don't all sweep at once. The timer never keeps the process alive.
 */
function startSweeper(
  store: Store,
  interval: number,
  onError: (cause: unknown) => void,
): { stop(): void } {
  let timer: NodeJS.Timeout | null = null
  let stopped = false
  const prune = store.prune?.bind(store)
  if (prune && interval > 0) {
    const schedule = (delay: number) => {
      if (stopped) return
      timer = setTimeout(() => {
        prune().then(
          () => schedule(interval * 1000),
          (cause: unknown) => {
            onError(cause)
            schedule(interval * 1000)
          },
        )
      }, delay)
      timer.unref()
    }
    schedule(Math.random() * interval * 1000)
  }
  return {
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}

/** A Standard Schema validator (https://standardschema.dev), as zod, valibot and arktype provide. */
export interface StandardSchema {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => StandardResult | Promise<StandardResult>
  }
}

/** What a Standard Schema validator returns. */
export type StandardResult =
  | { readonly value: unknown; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
      }>
    }

function describeIssue(
  issue: Extract<StandardResult, { issues: unknown }>['issues'][number],
): string {
  const path = issue.path
    ?.map((part) => String(typeof part === 'object' ? part.key : part))
    .join('.')
  return path ? `${path}: ${issue.message}` : issue.message
}

/** Browsers keep a cookie at most 400 days (RFC 6265bis): never promise longer. */
const maxCookieLifetime = 400 * day * 1000

function capExpiry(expiresAt: number, t: number): number {
  return Math.min(expiresAt, t + maxCookieLifetime)
}

function isEmpty(data: SessionData): boolean {
  for (const _ in data) return false
  return true
}
