/**
 * The options of `createSessions`: those both kinds take, and those of cookie sessions and of
 * store sessions alone, so passing one to the wrong kind does not compile.
 * @module
 */
import type { CryptoBackend } from '../codecs/native.js'
import type { Tag } from '../codecs/tagged-json.js'
import type { AnyCookieCodec } from '../codecs/types.js'
import type { StandardSchema } from '../engines/schema.js'
import type { Secrets } from '../primitives/keys.js'
import type { Store } from '../stores/types.js'
import type { CookieOptions } from '../transports/cookie.js'
import type { TokenOptions } from '../transports/token.js'
import type { RevocationOptions } from './revocation.js'

/** What both kinds of sessions take. Durations are in seconds. */
export interface CommonOptions {
  /** One secret, or a rotation list newest first (the first signs, all verify). */
  secret: Secrets
  /** The session cookie's name and attributes. */
  cookie?: CookieOptions
  /**
   * Also accept the session in a request header, for clients that are not browsers:
   * `Authorization: Bearer <token>` (`true`), or `{ header: 'x-session' }`. The token is what
   * the cookie would hold; a changed session comes back in the `Session-Token` response header
   * (or `header`), empty once the session ended. A request carrying both the cookie and a
   * token is refused with `SessionConflictError` (400). @default false
   */
  token?: boolean | TokenOptions
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
export interface CookieOnlyOptions {
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
export interface StoreOnlyOptions {
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
