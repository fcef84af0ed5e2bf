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

/** A cookie value that verified: its data, when it was issued, and which secret signed it. */
export interface DecodeSuccess {
  ok: true
  data: SessionData
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

/** Turns session data into a cookie value and back. Implementations never throw from `decode`. */
export interface CookieCodec {
  /** The name shown in logs, the demo's footer and the CLI: `native`, `encrypted`, `flask`. */
  readonly format: string
  /** The cookie value for `data`, issued at `now` (epoch ms). Throws `SerializeError`. */
  encode(data: SessionData, now: number): string
  /** The data in `value`, or why it was refused. */
  decode(value: string, options: DecodeOptions): DecodeResult
}
