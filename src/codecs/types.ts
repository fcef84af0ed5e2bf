/**
 * The codec seam: how a session's data becomes a cookie value and back.
 * @module
 */

/** A session's data: string keys to values a codec can keep. */
export type SessionData = Record<string, unknown>

/**
 * Why a cookie was not accepted. Exposed for logging only: every reason gives the same outcome
 * (an empty session), so nothing on the wire tells an attacker which check failed.
 */
export type RejectReason =
  | 'malformed'
  | 'bad_signature'
  | 'unknown_key'
  | 'expired'
  | 'future'
  | 'bad_payload'
  | 'not_object'
  | 'too_large'
  | 'invalid_data'
  | 'revoked'

/**
 * What tessera keeps about a session beside its data, never among the user's keys: a codec or
 * store carries it apart from the data, so `session.set('_user', x)` stays plain data.
 */
export interface SessionMeta {
  /** The user the session is bound to (`session.setUser`), or null. */
  user: string | null
  /**
   * When the session began (epoch ms), for the absolute timeout; null where the format does
   * not carry it (Flask's), and the issue time then stands in.
   */
  createdAt: number | null
  /** Whether the cookie outlives the browser (Flask's `session.permanent`). */
  permanent: boolean
  /**
   * The session's own lifetime in seconds (`session.maxAge`); absent or null for the app's
   * `maxAge`. Only formats with `lifetimes` carry it.
   */
  maxAge?: number | null
  /**
   * The user's generation when the session was bound (revocable cookie sessions); absent or 0
   * where there is none. Formats without room for it (Flask's) leave it out.
   */
  generation?: number
}

/** A cookie value that verified: its data and metadata, when it was issued, which secret signed it. */
export interface DecodeSuccess {
  ok: true
  data: SessionData
  meta: SessionMeta
  issuedAt: number
  keyIndex: number
}

/** What `decode` made of a cookie value. */
export type DecodeResult = DecodeSuccess | { ok: false; reason: RejectReason }

/** Options for reading a cookie. */
export interface DecodeOptions {
  /** The clock, in epoch milliseconds. */
  now: number
  /** Seconds after its issue time that a cookie is still accepted. */
  maxAge: number
}

/**
 * Turns a session's data and metadata into a cookie value and back. Implementations never
 * throw from `decode`.
 */
export interface CookieCodec {
  /** The name shown in logs, the demo's footer and the CLI: `native`, `encrypted`, `flask`. */
  readonly format: string
  /**
   * Keys of the data that the format keeps its metadata under, which `session.set` refuses.
   * Empty for formats that carry metadata apart from the data (tessera's own); Flask's cookie is
   * one dict, so there `_permanent` and `_user` are taken.
   */
  readonly reservedKeys: ReadonlySet<string>
  /**
   * Whether the format carries a session's own lifetime (`SessionMeta.maxAge`). Then `decode`
   * is given the longest lifetime a session may have, and the engine holds each cookie to its
   * own. tessera's format does; Flask's does not.
   */
  readonly lifetimes?: boolean
  /** The cookie value for `data` and `meta`, issued at `now` (epoch ms). Throws `SerializeError`. */
  encode(data: SessionData, meta: SessionMeta, now: number): string
  /** The data and metadata in `value`, or why it was refused. */
  decode(value: string, options: DecodeOptions): DecodeResult
}

/**
 * A codec whose crypto is asynchronous (Web Crypto, which has no synchronous calls): the same
 * seam as `CookieCodec`, with promises. The cookie engine awaits it, so a session it reads is
 * loaded before the handler runs (`await session.load()` with the adapters' `lazy` option).
 */
export interface AsyncCookieCodec {
  /** The name shown in logs, the demo's footer and the CLI: `native`, `encrypted`, `flask`. */
  readonly format: string
  /** As `CookieCodec.reservedKeys`. */
  readonly reservedKeys: ReadonlySet<string>
  /** As `CookieCodec.lifetimes`. */
  readonly lifetimes?: boolean
  /** Tells the engine to await `encode` and `decode`. */
  readonly async: true
  /** The cookie value for `data` and `meta`, issued at `now`. Rejects with `SerializeError`. */
  encode(data: SessionData, meta: SessionMeta, now: number): Promise<string>
  /** The data and metadata in `value`, or why it was refused. Never rejects. */
  decode(value: string, options: DecodeOptions): Promise<DecodeResult>
}

/** A codec of either kind. */
export type AnyCookieCodec = CookieCodec | AsyncCookieCodec

/** The metadata of a session with none: no user, no creation time, not permanent. */
export const noMeta: SessionMeta = Object.freeze({ user: null, createdAt: null, permanent: false })
