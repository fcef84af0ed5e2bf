/**
 * `createSessions`: the one object an app makes at start-up. It picks the engine (cookie or
 * store) from the options, and its type says which: only store sessions have the operations
 * on other sessions (list, revoke), so a call that cannot work does not compile.
 * @module
 */
import { createFlaskCodec } from '../codecs/flask/index.js'
import { createWebFlaskCodec } from '../codecs/flask/web.js'
import { createNativeCodec } from '../codecs/native.js'
import { createWebNativeCodec } from '../codecs/native-web.js'
import { createNativeJSON, type TaggedJSON } from '../codecs/tagged-json.js'
import type { AnyCookieCodec } from '../codecs/types.js'
import { createCookieEngine } from '../engines/cookie.js'
import { checkGenid } from '../engines/ids.js'
import { createValidator } from '../engines/schema.js'
import { createStoreEngine, type PruneOptions } from '../engines/store.js'
import {
  type CommitResult,
  type Draft,
  type Engine,
  type EngineContext,
  isHttps,
  type RequestMeta,
  type SessionEvent,
} from '../engines/types.js'
import { ConfigError } from '../errors.js'
import { utf8Length } from '../primitives/bytes.js'
import { maxLifetime, seconds } from '../primitives/durations.js'
import { hasNodeCrypto, secretList } from '../primitives/keys.js'
import { requireMethods } from '../stores/common/config.js'
import type { SessionSummary, Store } from '../stores/types.js'
import { createChunker } from '../transports/chunks.js'
import { createCookieWriter, maxCookieBytes } from '../transports/cookie.js'
import { createTokenReader } from '../transports/token.js'
import { createTransport } from '../transports/transport.js'
import type { Outgoing, RequestHeaders } from '../transports/types.js'
import type {
  CookieOnlyOptions,
  CookieSessionsOptions,
  RevocableCookieSessionsOptions,
  SessionsOptions,
  StoreSessionsOptions,
} from './options.js'
import { makeGenerations, revocationOperations } from './revocation.js'
import { draftOf, Session, type SessionShape } from './session.js'

const day = 86_400

/** What every session system has, whichever its kind. */
export interface SessionsBase<in out T extends object = SessionShape> {
  /** `cookie` or `store`. */
  readonly mode: 'cookie' | 'store'
  /** Where sessions live, for display: `cookie/native`, `cookie/flask`, `sqlite`, `redis`… */
  readonly description: string
  readonly cookieName: string
  /**
   * The request headers a response varies on when it depends on the session: `Cookie`, and
   * the token's header when header tokens are on.
   */
  readonly varyOn: string
  /**
   * The headers of header tokens (the `token` option), in lower case: the request's
   * (`authorization`, as `Bearer <token>`, or the app's own) and the response's
   * (`session-token`). Null when sessions travel in cookies alone.
   */
  readonly token: { readonly header: string; readonly responseHeader: string } | null
  /**
   * Whether the cookie is Secure on HTTPS requests only (`cookie.secure: 'auto'`): then adapters
   * pass `open` whether the request came over HTTPS.
   */
  readonly secureAuto: boolean
  /**
   * A request's session, from its headers (Fetch `Headers`, node's `req.headers`) or its
   * `Cookie` header alone. Never throws for a bad cookie or token; throws
   * `SessionConflictError` for a request carrying both. `meta` may be a function, called only
   * if the request creates a store session; `https` (or a function asked once, when a cookie is
   * written) says the request came over HTTPS, for `secure: 'auto'`.
   */
  open(
    headers: RequestHeaders,
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
  const chunkOptions = options.cookie?.chunks
  const chunks = chunkOptions
    ? createChunker(cookie, chunkOptions === true ? {} : chunkOptions)
    : null
  // The longest value the codec takes, and a token may carry: one cookie's, or all chunks'.
  const maxValue = chunks ? chunks.maxBytes : maxCookieBytes - utf8Length(cookie.name) - 1
  // Under `secure: 'auto'` every line the transport writes follows the request's protocol,
  // asked of the adapter only when a cookie is written.
  const secureOver = (draft: Draft, outgoing: Outgoing) =>
    cookie.auto && outgoing.action !== 'keep' && isHttps(draft)
  const token = options.token
    ? createTokenReader(options.token === true ? {} : options.token)
    : null
  const transport = createTransport({ cookie, chunks, token, maxTokenLength: maxValue })
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
    if (chunks && (options.format === 'flask' || options.codec)) {
      throw new ConfigError(
        'cookie.chunks needs the native format: Flask, and a codec of your own, read one cookie',
      )
    }
    if (options.genid !== undefined) {
      throw new ConfigError(
        'genid is for store sessions; a cookie session has no id (its data is the cookie), ' +
          'so pass a `store` or drop `genid`',
      )
    }
    const codec = options.codec ?? makeCodec(options, secrets, cookie.name, json, maxValue)
    const generations = options.revocation
      ? makeGenerations(options.revocation, codec, absoluteTimeout, ctx)
      : undefined
    engine = createCookieEngine(
      {
        codec,
        cookieName: cookie.name,
        maxAge,
        absoluteTimeout,
        refresh: options.refresh ?? true,
        generations,
      },
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
    if (chunks) {
      throw new ConfigError(
        'cookie.chunks is for cookie sessions; with a store only a signed id travels in the cookie',
      )
    }
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
        cookieName: cookie.name,
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
    varyOn: transport.varyOn,
    token: token && { header: token.header, responseHeader: token.responseHeader },
    secureAuto: cookie.auto,
    open(headers, meta, https) {
      return new Session<T>(engine.open(transport.read(headers), meta, https), engine)
    },
    async commit(session) {
      const draft = draftOf(session)
      const outgoing = await engine.commit(draft)
      return transport.respond(draft.incoming, outgoing, secureOver(draft, outgoing))
    },
    commitSync(session) {
      const draft = draftOf(session)
      const outgoing = engine.commitSync(draft)
      if (outgoing === null) return null
      return transport.respond(draft.incoming, outgoing, secureOver(draft, outgoing))
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
  maxLength: number,
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
  const native = { secrets, encrypt: options.encrypt ?? false, name, json, maxLength }
  return backend === 'web' ? createWebNativeCodec(native) : createNativeCodec(native)
}

export type { StandardSchema } from '../engines/schema.js'
export type { CommitResult, RequestMeta, SessionEvent } from '../engines/types.js'
export type {
  CookieSessionsOptions,
  RevocableCookieSessionsOptions,
  SessionsOptions,
  StoreSessionsOptions,
} from './options.js'
