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
import { checkGenid } from '../engines/ids.js'
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
import { maxLifetime, seconds } from '../primitives/durations.js'
import { hasNodeCrypto, type Secrets, secretList } from '../primitives/keys.js'
import { requireMethods } from '../stores/common/config.js'
import type { SessionSummary, Store } from '../stores/types.js'
import { type CookieOptions, createCookieWriter, readCookie } from '../transports/cookie.js'
import { makeGenerations, type RevocationOptions, revocationOperations } from './revocation.js'
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
   * timeout of store sessions. A session may have its own (`session.maxAge`).
   * @default 2678400 (31 days)
   */
  maxAge?: number
  /**
   * A session dies this long after it was created, however active; at most 400 days.
   * @default 7776000 (90 days)
   */
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

/** What only store sessions take. */
interface StoreOnlyOptions {
  /** A session unused this long expires (sliding). @default maxAge */
  idleTimeout?: number
  /** The idle expiry is refreshed at most once per this interval; at most a day. @default 60 */
  touchInterval?: number
  /**
   * Seconds between sweeps of expired sessions (`store.prune()`), run in the background; 0
   * turns them off, e.g. when a cron job runs `tessera sessions prune`; at most a week.
   * @default 3600
   */
  pruneInterval?: number
  /**
   * Seconds a store call may take before the request fails with a 503 (fractions allowed:
   * `0.5`); at most 60. It was milliseconds in tessera 0.1. @default 1
   */
  storeTimeout?: number
  /**
   * Makes session ids, in place of 32 random bytes (express-session's `genid`, without its
   * `req`). Each id must be 22 to 256 characters of A-Z a-z 0-9 - _ and carry 128 random bits
   * at least (32 hex digits, 22 base64url characters; not a UUID); at start-up tessera calls it
   * 8 times and refuses ids that repeat, fall short, or barely change (a counter, a clock).
   * Ids are signed and stored by their SHA-256, as tessera's own.
   * @example
   * genid: () => `${region}-${crypto.randomBytes(24).toString('base64url')}`
   */
  genid?: () => string
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
   * Whether the cookie is Secure on HTTPS requests only (`cookie.secure: 'auto'`): then adapters
   * pass `open` whether the request came over HTTPS.
   */
  readonly secureAuto: boolean
  /**
   * A request's session, from its `Cookie` header. Never throws for a bad cookie. `meta` may be
   * a function, called only if the request creates a store session; `https` (or a function
   * asked once, when a cookie is written) says the request came over HTTPS, for `secure: 'auto'`.
   */
  open(
    cookieHeader: string | undefined,
    meta?: RequestMeta | (() => RequestMeta),
    https?: boolean | (() => boolean),
  ): Session<T>
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
  const maxAge = seconds('maxAge', options.maxAge, 31 * day, { max: maxLifetime })
  const absoluteTimeout = seconds('absoluteTimeout', options.absoluteTimeout, 90 * day, {
    max: maxLifetime,
  })
  const store = options.store
  // A cookie session lives maxAge after its last write, a stored one idleTimeout after its last use.
  const lifetime = store
    ? seconds('idleTimeout', options.idleTimeout, maxAge, { max: maxLifetime })
    : maxAge
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
    if (options.genid !== undefined) {
      throw new ConfigError(
        'genid is for store sessions; a cookie session has no id (its data is the cookie), ' +
          'so pass a `store` or drop `genid`',
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
    if (options.genid !== undefined) checkGenid(options.genid)
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
        touchInterval: seconds('touchInterval', options.touchInterval, 60, {
          max: day,
          zero: true,
        }),
        pruneInterval: seconds('pruneInterval', options.pruneInterval, 3600, {
          max: 7 * day,
          zero: true,
        }),
        storeTimeout: seconds('storeTimeout', options.storeTimeout, 1, { max: 60 }),
        genid: options.genid,
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
    secureAuto: cookie.auto,
    open(cookieHeader, meta, https) {
      return new Session<T>(engine.open(readCookie(cookieHeader, cookie.name), meta, https), engine)
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
