/**
 * The engine seam: where a session lives between requests. An engine is Flask's
 * `SessionInterface` in two halves: `open` reads a request's session from what its cookie
 * carries, `commit` decides what the response must carry and writes the store. Two engines
 * exist: cookie sessions (`./cookie.ts`) and store sessions (`./store.ts`).
 *
 * A request's session is a `Draft`: plain state that the engine fills and the `Session` object
 * (one layer up) reads and changes. Nothing above the session layer sees a draft.
 * @module
 */
import type { RejectReason, SessionData } from '../codecs/types.js'
import type { StoreError } from '../errors.js'
import type { Incoming, Outgoing } from '../transports/types.js'

export type { CommitResult } from '../transports/types.js'

/** Who made a request, recorded when a server-side session is created. */
export interface RequestMeta {
  userAgent?: string | null | undefined
  ip?: string | null | undefined
}

/**
 * Who made the request, as an adapter gives it: the values, or a function the engine calls only
 * when the request creates a session (reading a socket's address costs a request dearly).
 */
export type MetaSource = RequestMeta | (() => RequestMeta) | undefined

/** Lifecycle events, for logging and metrics. Session ids never appear in them. */
export type SessionEvent =
  | { type: 'created'; userId: string | null }
  | { type: 'regenerated'; userId: string | null }
  | { type: 'destroyed'; userId: string | null }
  | { type: 'rejected'; reason: RejectReason; issues?: readonly string[] }
  | { type: 'store_error'; error: StoreError }

/** The data if it passed the app's schema (as the schema returned it), else null and why. */
export interface Validated {
  data: SessionData | null
  issues?: string[]
}

/** What every engine is given: the clock, the event sink and the schema check. */
export interface EngineContext {
  now: () => number
  emit: (event: SessionEvent) => void
  validate: (data: SessionData) => Validated | Promise<Validated>
}

/**
 * One request's session, as the engine and the `Session` object share it. The first group is
 * what every engine keeps; the last is the store engine's.
 */
export interface Draft {
  data: SessionData
  /** The user the session is bound to. */
  user: string | null
  /** Whether the cookie outlives the browser (Flask's `session.permanent`). */
  permanent: boolean
  /** When the session began (epoch ms), or 0 for a new one. */
  createdAt: number
  /** This session's own lifetime in seconds (`session.maxAge`), or null for the configured one. */
  maxAge: number | null
  /** Revocable cookie sessions: the user's generation the cookie carries (0 for none). */
  generation: number

  /** Whether `data` and the metadata hold what the cookie or store has. */
  loaded: boolean
  /** The store read under way. */
  loading: Promise<void> | null
  /** Why the adapter's eager load failed (the store was down); thrown when the data is used. */
  loadError: unknown
  /**
   * Whether the engine has checked the cookie (for a store: which signed id it carries). Left
   * until something needs it: an HMAC and a SHA-256 are a seventh of a bare server's time per
   * request, wasted on requests that never use their session.
   */
  checked: boolean

  /** Keys set or deleted by this request: the patch a store applies. Made on the first write. */
  changed: Set<string> | null
  /**
   * Keys whose object values were read, so `markModified()` knows what a handler may have
   * mutated. Made on the first such read: most requests read none.
   */
  read: Set<string> | null
  cleared: boolean
  modified: boolean
  accessed: boolean
  isNew: boolean
  userChanged: boolean
  regenerate: boolean
  destroyed: boolean
  /** `maxAge` was set by this request. */
  maxAgeChanged: boolean
  /** `session.touch()`: the idle expiry is refreshed by this request, whatever is due. */
  touched: boolean
  /** Why the request's cookie was refused, when one was. */
  rejected: RejectReason | null
  /** The response's cookie is decided: a second commit is a no-op. */
  committed: boolean
  /** Saves now, before the response is sent: set by the adapter (`session.save()`). */
  save: (() => Promise<void>) | null
  /** The cookie (or the id in it) was signed with an older secret, so it is signed again. */
  resign: boolean

  /** Store sessions: the raw id, once known. */
  id: string | null
  /** Store sessions: the store key (the SHA-256 of the id), once known. */
  storeKey: string | null
  /** Store sessions: when the record was last refreshed, to know whether a touch is due. */
  lastSeenAt: number
  /** Store sessions: the record's expiry when loaded. */
  expiresAt: number

  /** The values of the session cookie (or the token) in the request: `incoming.values`. */
  readonly cookies: readonly string[]
  /** What the request carried of its session, as its transport read it. */
  readonly incoming: Incoming
  /** Who made the request, for a session it creates. */
  readonly who: MetaSource
  /**
   * Whether the request came over HTTPS, as the adapter's trust setting decides, for a
   * `secure: 'auto'` cookie: a function until first asked, then its answer.
   */
  https: boolean | (() => boolean) | undefined
}

/** A fresh draft: nothing loaded, nothing changed. An object literal, so every draft has one shape. */
export function newDraft(incoming: Incoming, who: MetaSource, https: Draft['https']): Draft {
  return {
    data: {},
    user: null,
    permanent: false,
    createdAt: 0,
    maxAge: null,
    generation: 0,
    loaded: false,
    loading: null,
    loadError: null,
    checked: false,
    changed: null,
    read: null,
    cleared: false,
    modified: false,
    accessed: false,
    isNew: true,
    userChanged: false,
    regenerate: false,
    destroyed: false,
    maxAgeChanged: false,
    touched: false,
    rejected: null,
    committed: false,
    save: null,
    resign: false,
    id: null,
    storeKey: null,
    lastSeenAt: 0,
    expiresAt: 0,
    cookies: incoming.values,
    incoming,
    who,
    https,
  }
}

/**
 * Puts a draft back as `open` left it, before its data was read: what `session.reload()` does
 * before reading it again. What the request carried (cookies, who, the checked id) stays.
 */
export function resetDraft(draft: Draft): void {
  draft.data = {}
  draft.user = null
  draft.permanent = false
  draft.createdAt = 0
  draft.maxAge = null
  draft.generation = 0
  draft.loaded = false
  draft.loadError = null
  draft.changed = null
  draft.read = null
  draft.cleared = false
  draft.modified = false
  draft.isNew = true
  draft.userChanged = false
  draft.regenerate = false
  draft.destroyed = false
  draft.maxAgeChanged = false
  draft.touched = false
  draft.rejected = null
  draft.resign = false
}

/** Whether the request came over HTTPS (asked of the adapter once). */
export function isHttps(draft: Draft): boolean {
  const https = draft.https
  if (typeof https !== 'function') return https === true
  const answer = https()
  draft.https = answer
  return answer
}

/** How a session is kept between requests: the two halves every engine has. */
export interface Engine {
  readonly kind: 'cookie' | 'store'
  /** Where sessions live, for display: `cookie/native`, `cookie/flask`, `sqlite`, `redis`… */
  readonly description: string
  readonly cookieName: string
  /** Keys the format keeps for its metadata, refused by `session.set` (Flask's `_permanent`…). */
  readonly reservedKeys: ReadonlySet<string>
  /**
   * Whether the session is saved key by key, so two requests that change different keys both
   * keep their change (store sessions); cookie sessions are written whole.
   */
  readonly keyed: boolean
  /**
   * Whether `load` may have to wait for a store (store sessions, revocable cookie sessions)
   * or for Web Crypto (cookie sessions with `crypto: 'web'`), so adapters load the session
   * before the handler runs.
   */
  readonly loadsAsync: boolean
  /** A request's session from what it carried. Never throws for a bad cookie. */
  open(incoming: Incoming, who: MetaSource, https?: Draft['https']): Draft
  /** Runs the cookie check `open` deferred, once. */
  check(draft: Draft): void
  /** Reads the session if that needs no I/O, and says whether it is now loaded. */
  loadSync(draft: Draft): boolean
  /** Reads the session from where it lives. Rejects with `StoreError` when the store fails. */
  load(draft: Draft): Promise<void>
  /** Reads the session again, dropping what this request changed. Rejects with `StoreError`. */
  reload(draft: Draft): Promise<void>
  /** Throws a `ConfigError` unless `seconds` can be a session's own lifetime here. */
  checkMaxAge(seconds: number): void
  /** Saves the session and says what the client must keep. Rejects with `StoreError`. */
  commit(draft: Draft): Promise<Outgoing>
  /** The same without waiting when no store call is due; null when `commit` must be used. */
  commitSync(draft: Draft): Outgoing | null
  /** Releases timers and the store. */
  close(): Promise<void>
}

/** Browsers keep a cookie at most 400 days (RFC 6265bis): never promise longer. */
const maxCookieLifetime = 400 * 86_400 * 1000

/** `expiresAt`, capped at what a browser keeps from `t`. */
export function capExpiry(expiresAt: number, t: number): number {
  return Math.min(expiresAt, t + maxCookieLifetime)
}

/** Whether `data` holds no key. */
export function isEmpty(data: SessionData): boolean {
  for (const _ in data) return false
  return true
}
