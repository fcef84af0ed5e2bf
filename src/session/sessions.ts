/**
 * `createSessions`: the one object an app makes at start-up. It picks the engine (cookie or
 * store) from the options, and its type says which: only store sessions have the operations
 * on other sessions (list, revoke), so a call that cannot work does not compile.
 * @module
 */
import { createFlaskCodec } from '../codecs/flask/index.js'
import { createWebFlaskCodec } from '../codecs/flask/web.js'
import { type CryptoBackend, createNativeCodec } from '../codecs/native.js'
import { createWebNativeCodec } from '../codecs/native-web.js'
import { createNativeJSON, type Tag, type TaggedJSON } from '../codecs/tagged-json.js'
import type { AnyCookieCodec } from '../codecs/types.js'
import { createCookieEngine } from '../engines/cookie.js'
import { createGenerations, type Generations } from '../engines/generations.js'
import { createValidator, type StandardSchema } from '../engines/schema.js'
import { createStoreEngine, type PruneOptions } from '../engines/store.js'
import type {
  CommitResult,
  Engine,
  EngineContext,
  RequestMeta,
  SessionEvent,
} from '../engines/types.js'
import { ConfigError } from '../errors.js'
import { hasNodeCrypto, type Secrets, secretList } from '../primitives/keys.js'
import { requireMethods } from '../stores/common/config.js'
import type { SessionSummary, Store } from '../stores/types.js'
import { type CookieOptions, createCookieWriter, readCookie } from '../transports/cookie.js'
import { draftOf, Session, type SessionShape } from './session.js'

const day = 86_400

/** What both kinds of sessions take. Durations are in seconds. */
interface CommonOptions {
  /** One secret, or a rotation list newest first (the first signs, all verify). */
  secret: Secrets
  /** The session cookie's name and attributes. */
  cookie?: CookieOptions
  /**
   * The lifetime of a session (Flask's PERMANENT_SESSION_LIFETIME): how long a cookie session
   * is accepted after it was last written, a permanent cookie's Expires, and the default idle
   * timeout of store sessions. @default 2678400 (31 days)
   */
  maxAge?: number
  /** A session dies this long after it was created, however active. @default 7776000 (90 days) */
  absoluteTimeout?: number
  /**
   * Re-issue a permanent cookie on every request that reads the session, sliding its expiry
   * (Flask's SESSION_REFRESH_EACH_REQUEST). @default true
   */
  refresh?: boolean
  /**
   * A schema the session data must pass when loaded (any Standard Schema validator: zod,
   * valibot, arktype…). Data that fails it gives an empty session and a `rejected` event with
   * the issues, so a deploy that changes the session's shape never breaks a handler.
   */
  schema?: StandardSchema
  /** Extra tagged-JSON tags for native cookies and store values. */
  tags?: readonly Tag[]
  /** The clock, in epoch ms; tests inject one. */
  now?: () => number
}

/** What only cookie sessions take. */
interface CookieOnlyOptions {
  /**
   * How the cookie is written: tessera's `native` format, or `flask` for cookies a Flask app
   * with the same SECRET_KEY reads and writes. @default 'native'
   */
  format?: 'native' | 'flask'
  /** Encrypt native cookies (AES-256-GCM), so clients cannot read them. @default false */
  encrypt?: boolean
  /**
   * Where the cookie's crypto runs: `node` is `node:crypto`, synchronous and the fastest on
   * Node; `web` is Web Crypto (`crypto.subtle`), asynchronous, which every runtime has. The
   * cookies are the same either way. With `web` the adapters read the session before the
   * handler runs (with `lazy`, the handler awaits `session.load()`).
   * @default 'node' where `node:crypto` is available, else 'web'
   */
  crypto?: CryptoBackend
  /** A codec of your own, in place of `format`/`encrypt`. */
  codec?: AnyCookieCodec
  /**
   * Revocable cookie sessions: a store that keeps one generation number per user (never the
   * sessions), so `sessions.destroyByUser(user)` ends every cookie session of that user.
   */
  revocation?: RevocationOptions
}

/** Options of revocable cookie sessions. Durations in seconds. */
export interface RevocationOptions {
  /** Where the per-user generations live: any store (memory, SQLite, Redis, PostgreSQL…). */
  store: Store
  /**
   * How long a process trusts a user's generation it read, sparing the store a read per
   * request; a revocation reaches the other processes within it. 0 reads it on every request
   * of a signed-in user. @default 0
   */
  cache?: number
  /** How long a store call may take before the request fails with a 503. @default 1 */
  timeout?: number
}

/** What only store sessions take. */
interface StoreOnlyOptions {
  /** A session unused this long expires (sliding). @default maxAge */
  idleTimeout?: number
  /** The idle expiry is refreshed at most once per this interval. @default 60 */
  touchInterval?: number
  /**
   * Seconds between sweeps of expired sessions (`store.prune()`), run in the background; 0
   * turns them off, e.g. when a cron job runs `tessera sessions prune`. @default 3600
   */
  pruneInterval?: number
  /** Milliseconds a store call may take before the request fails with a 503. @default 1000 */
  storeTimeout?: number
}

/** Options of cookie sessions: the whole session travels in the cookie. */
export interface CookieSessionsOptions
  extends CommonOptions,
    CookieOnlyOptions,
    Partial<Record<keyof StoreOnlyOptions, never>> {
  store?: undefined
}

/** Options of revocable cookie sessions: cookie sessions, with a store for the generations. */
export interface RevocableCookieSessionsOptions extends CookieSessionsOptions {
  revocation: RevocationOptions
}

/** Options of store sessions: the data lives in `store`, a signed id in the cookie. */
export interface StoreSessionsOptions<S extends Store = Store>
  extends CommonOptions,
    StoreOnlyOptions,
    Partial<Record<keyof CookieOnlyOptions, never>> {
  /** Where the sessions live. */
  store: S
}

/**
 * Options of `createSessions` when the kind is decided at run time (a store from
 * configuration): every option, and a result of either kind.
 */
export interface SessionsOptions extends CommonOptions, CookieOnlyOptions, StoreOnlyOptions {
  /** Keep the data on the server, with only a signed id in the cookie. Absent: cookie sessions. */
  store?: Store | undefined
}

/** What every session system has, whichever its kind. */
export interface SessionsBase<in out T extends object = SessionShape> {
  /** `cookie` or `store`. */
  readonly mode: 'cookie' | 'store'
  /** Where sessions live, for display: `cookie/native`, `cookie/flask`, `sqlite`, `redis`… */
  readonly description: string
  readonly cookieName: string
  /**
   * A request's session, from its `Cookie` header. Never throws for a bad cookie. `meta` may be
   * a function, called only if the request creates a store session.
   */
  open(cookieHeader: string | undefined, meta?: RequestMeta | (() => RequestMeta)): Session<T>
  /** Saves the session and says what the response must carry. Throws `StoreError`. */
  commit(session: Session<T>): Promise<CommitResult>
  /**
   * The same, without waiting, when no store call is needed (always, for cookie sessions);
   * null when the store must be written, so the caller must use `commit`.
   */
  commitSync(session: Session<T>): CommitResult | null
  /** Listens to lifecycle events. Returns a function that stops listening. */
  on(listener: (event: SessionEvent) => void): () => void
  /** Stops background work and closes the store. */
  close(): Promise<void>
}

/** Cookie sessions: nothing is kept on the server, so there is nothing to list or revoke. */
export interface CookieSessions<in out T extends object = SessionShape> extends SessionsBase<T> {
  readonly mode: 'cookie'
}

/**
 * Revocable cookie sessions: cookie sessions that "log out everywhere" can end, through the
 * per-user generation kept in `revocation.store`.
 */
export interface RevocableCookieSessions<in out T extends object = SessionShape>
  extends CookieSessions<T> {
  /** Where the generations live. */
  readonly revocationStore: Store
  /**
   * Ends every cookie session bound to `userId` (their cookies are refused from the next
   * request on, in other processes once their `cache` has passed). `except` keeps one session,
   * the current request's, which is re-issued with the new generation.
   */
  destroyByUser(userId: string, options?: { except?: Session<T> }): Promise<void>
}

/** The operations a store may lack (`list`, `prune`), present on the sessions when it has them. */
export type OptionalOperations<S extends Store> = (undefined extends S['list']
  ? unknown
  : {
      /** Live sessions, for operators (see `Store.list`). */
      list(options?: { limit?: number }): Promise<SessionSummary[]>
    }) &
  (undefined extends S['prune']
    ? unknown
    : {
        /** Removes expired sessions now; how many. */
        prune(options?: PruneOptions): Promise<number>
      })

/** Store sessions: the data lives in a store, which can list and revoke them. */
export type StoreSessions<
  T extends object = SessionShape,
  S extends Store = Store,
> = StoreSessionsBase<T, S> & OptionalOperations<S>

/**
 * A session system of either kind, as adapters take it and as an app that picks its store at
 * run time holds it: narrow with `sessions.mode === 'store'` to reach the store's operations.
 */
export type Sessions<T extends object = SessionShape> = CookieSessions<T> | StoreSessions<T>

/** What every store session system has. */
export interface StoreSessionsBase<in out T extends object = SessionShape, S extends Store = Store>
  extends SessionsBase<T> {
  readonly mode: 'store'
  readonly store: S
  /** The store key of a session (a hash of its id), or null before it has one. */
  keyOf(session: Session<T>): string | null
  /** A user's live sessions, newest first. */
  listByUser(userId: string): Promise<SessionSummary[]>
  /** Ends a user's sessions, but the one under `except` (a store key); how many. */
  destroyByUser(userId: string, options?: { except?: string }): Promise<number>
  /** Ends the session with this store key. */
  destroy(key: string): Promise<void>
}

/**
 * Makes the session system.
 * @example
 * const sessions = createSessions({ secret: process.env.SECRET_KEY! })
 * const sessions = createSessions({ secret, store: createSqliteStore({ path: 'data/sessions.db' }) })
 */
export function createSessions<T extends object = SessionShape>(
  options: RevocableCookieSessionsOptions,
): RevocableCookieSessions<T>
export function createSessions<T extends object = SessionShape>(
  options: CookieSessionsOptions,
): CookieSessions<T>
export function createSessions<T extends object = SessionShape, S extends Store = Store>(
  options: StoreSessionsOptions<S>,
): StoreSessions<T, S>
export function createSessions<T extends object = SessionShape>(
  options: SessionsOptions,
): CookieSessions<T> | StoreSessions<T>
export function createSessions<T extends object = SessionShape>(
  options: SessionsOptions,
): CookieSessions<T> | StoreSessions<T> {
  const listeners = new Set<(event: SessionEvent) => void>()
  const ctx: EngineContext = {
    now: options.now ?? Date.now,
    emit(event) {
      for (const listener of listeners) {
        try {
          listener(event)
        } catch {
          // A failing logger must not fail the request.
        }
      }
    },
    validate: createValidator(options.schema),
  }
  const cookie = createCookieWriter(options.cookie)
  const secrets = secretList(options.secret)
  const json = createNativeJSON(options.tags)
  const maxAge = options.maxAge ?? 31 * day
  const absoluteTimeout = options.absoluteTimeout ?? 90 * day
  if (!(maxAge > 0)) throw new ConfigError('maxAge must be a positive number of seconds')
  const store = options.store
  // A cookie session lives maxAge after its last write, a stored one idleTimeout after its last use.
  const lifetime = store ? (options.idleTimeout ?? maxAge) : maxAge
  if (lifetime > absoluteTimeout) {
    throw new ConfigError(
      `the session lifetime (${store ? 'idleTimeout' : 'maxAge'}, ${lifetime} s) is ` +
        `longer than absoluteTimeout (${absoluteTimeout} s); shorten it or raise absoluteTimeout`,
    )
  }

  let engine: Engine
  let operations: object = {}
  if (!store) {
    // The other store options are harmless here (an app configured for either kind may pass
    // them always); this one says the app expects an idle timeout it would not get.
    if (options.idleTimeout !== undefined) {
      throw new ConfigError(
        'idleTimeout is for store sessions; a cookie session is accepted for maxAge seconds ' +
          'after it was last written, so set maxAge (or pass a `store`)',
      )
    }
    const codec = options.codec ?? makeCodec(options, secrets, cookie.name, json)
    const generations = options.revocation
      ? makeGenerations(options.revocation, codec, absoluteTimeout, ctx)
      : undefined
    engine = createCookieEngine(
      { codec, cookie, maxAge, absoluteTimeout, refresh: options.refresh ?? true, generations },
      ctx,
    )
    if (generations) operations = revocationOperations(generations)
  } else {
    // Checked when the sessions are made, not on the request that first needs one of them.
    requireMethods(
      store.name,
      'the store',
      store,
      ['get', 'create', 'update', 'destroy', 'listByUser', 'destroyByUser'],
      'a store implements the Store interface (see the README\'s "Writing a store")',
    )
    for (const name of ['format', 'encrypt', 'codec', 'crypto', 'revocation'] as const) {
      if (options[name] !== undefined) {
        throw new ConfigError(
          `${name} is for cookie sessions; with a store only a signed id travels in the cookie`,
        )
      }
    }
    const storeEngine = createStoreEngine(
      {
        store,
        cookie,
        secrets,
        json,
        idleTimeout: lifetime,
        absoluteTimeout,
        touchInterval: options.touchInterval ?? 60,
        pruneInterval: options.pruneInterval ?? 3600,
        storeTimeout: options.storeTimeout ?? 1000,
      },
      ctx,
    )
    engine = storeEngine
    const { listByUser, destroyByUser, destroy, list, prune } = storeEngine
    operations = {
      store,
      keyOf(session: Session<T>) {
        const draft = draftOf(session)
        storeEngine.check(draft)
        return draft.storeKey
      },
      listByUser,
      destroyByUser,
      destroy,
      ...(list && { list }),
      ...(prune && { prune }),
    }
  }

  const sessions: SessionsBase<T> = {
    mode: engine.kind,
    description: engine.description,
    cookieName: cookie.name,
    open(cookieHeader, meta) {
      return new Session<T>(engine.open(readCookie(cookieHeader, cookie.name), meta), engine)
    },
    commit(session) {
      return engine.commit(draftOf(session))
    },
    commitSync(session) {
      return engine.commitSync(draftOf(session))
    },
    on(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close: () => engine.close(),
  }
  return Object.assign(sessions, operations) as CookieSessions<T> | StoreSessions<T>
}

function makeGenerations(
  options: RevocationOptions,
  codec: AnyCookieCodec,
  absoluteTimeout: number,
  ctx: EngineContext,
): Generations {
  const { store } = options
  if (codec.format === 'flask') {
    throw new ConfigError(
      'revocation needs the native cookie format: a Flask cookie has no room for the ' +
        "user's generation; drop `format: 'flask'` or `revocation`",
    )
  }
  requireMethods(
    store?.name ?? 'revocation',
    'the revocation store',
    store,
    ['get', 'create', 'update'],
    'pass a store, e.g. `revocation: { store: createRedisStore({ url }) }`',
  )
  const cache = options.cache ?? 0
  const timeout = options.timeout ?? 1
  if (!(cache >= 0 && Number.isFinite(cache))) {
    throw new ConfigError(`revocation.cache must be 0 or more seconds, not ${cache}`)
  }
  if (!(timeout > 0 && Number.isFinite(timeout))) {
    throw new ConfigError(`revocation.timeout must be a positive number of seconds, not ${timeout}`)
  }
  return createGenerations({ store, cache, timeout, absoluteTimeout, ...ctx })
}

function revocationOperations(generations: Generations): object {
  return {
    revocationStore: generations.store,
    async destroyByUser(userId: string, options: { except?: Session } = {}) {
      const next = await generations.bump(userId)
      const kept = options.except && draftOf(options.except)
      if (kept && kept.user === userId && !kept.destroyed) {
        // Re-issued with the new generation when the response goes out.
        kept.generation = next
        kept.userChanged = false
        kept.accessed = true
        kept.modified = true
      }
    },
  }
}

function makeCodec(
  options: CookieOnlyOptions,
  secrets: Uint8Array[],
  name: string,
  json: TaggedJSON,
): AnyCookieCodec {
  const backend = options.crypto ?? (hasNodeCrypto ? 'node' : 'web')
  if (backend !== 'node' && backend !== 'web') {
    throw new ConfigError(`crypto must be 'node' or 'web', not ${JSON.stringify(backend)}`)
  }
  if (options.format === 'flask') {
    if (options.encrypt) {
      throw new ConfigError(
        'Flask cookies are signed, not encrypted; drop `encrypt` or use the native format',
      )
    }
    const [secret, ...fallbacks] = secrets
    const flask = { secret: secret!, fallbacks }
    return backend === 'web' ? createWebFlaskCodec(flask) : createFlaskCodec(flask)
  }
  if (options.format !== undefined && options.format !== 'native') {
    throw new ConfigError(
      `format must be 'native' or 'flask', not ${JSON.stringify(options.format)}`,
    )
  }
  const native = { secrets, encrypt: options.encrypt ?? false, name, json }
  return backend === 'web' ? createWebNativeCodec(native) : createNativeCodec(native)
}

export type { StandardSchema } from '../engines/schema.js'
export type { CommitResult, RequestMeta, SessionEvent } from '../engines/types.js'
