/**
 * The transport seam: how a session's value travels between client and server. A transport
 * reads the value(s) a request carries and turns what the engine decided into response
 * headers; adapters only hand it the request's headers and copy its answer onto the response.
 * @module
 */

/**
 * A request's headers, as an adapter has them: Fetch `Headers` (or anything with `get`), a
 * node:http header record (`req.headers`, keys in lower case), or the `Cookie` header alone.
 */
export type RequestHeaders =
  | string
  | undefined
  | {
      /** The value of the header `name`, or null (undefined) when absent. */
      get(name: string): string | null | undefined
    }
  | Readonly<Record<string, string | string[] | undefined>>

/** One header of `headers` by its lower-case name, or undefined. */
export function headerOf(headers: RequestHeaders, name: string): string | undefined {
  if (headers === undefined) return undefined
  if (typeof headers === 'string') return name === 'cookie' ? headers : undefined
  const get = (headers as { get?: unknown }).get
  if (typeof get === 'function') {
    return (get.call(headers, name) as string | null | undefined) ?? undefined
  }
  const value = (headers as Readonly<Record<string, string | string[] | undefined>>)[name]
  return Array.isArray(value) ? value.join(', ') : value
}

/** Why a transport refused what a request carried: the session is then anonymous. */
export type TransportRefusal = 'malformed' | 'too_large'

/** What a request carries of its session. */
export interface Incoming {
  /** The candidate values: a cookie may come more than once; a chunked one comes joined. */
  readonly values: readonly string[]
  /** How it came: in a cookie, or in a request header (a token client, with no cookie). */
  readonly via: 'cookie' | 'token'
  /** Whether the request carried any of it, refused or not (so a response may delete it). */
  readonly present: boolean
  /** Why it was refused before any engine saw it, or null. */
  readonly refused: TransportRefusal | null
  /**
   * The cookie names of a chunked session the request held: bit `i` for `name.i`, and bit 31
   * for the plain `name`. A response deletes those it does not write again. 0 otherwise.
   */
  readonly held: number
}

/**
 * What the engine decided the client must keep: nothing new (`keep`), a new `value` (a
 * permanent one until `expiresAt`, epoch ms), or nothing any more (`remove`).
 */
export interface Outgoing {
  readonly action: 'keep' | 'set' | 'remove'
  readonly value: string
  readonly expiresAt: number | undefined
  /** Whether the response depends on the session, so caches must key on it (`Vary`). */
  readonly vary: boolean
}

const keepVary: Outgoing = Object.freeze({
  action: 'keep',
  value: '',
  expiresAt: undefined,
  vary: true,
})
const keepQuiet: Outgoing = Object.freeze({ ...keepVary, vary: false })
const removeVary: Outgoing = Object.freeze({ ...keepVary, action: 'remove' })
const removeQuiet: Outgoing = Object.freeze({ ...removeVary, vary: false })

/** Leave the client's value alone. */
export function keep(vary: boolean): Outgoing {
  return vary ? keepVary : keepQuiet
}

/** Delete the client's value. */
export function removal(vary: boolean): Outgoing {
  return vary ? removeVary : removeQuiet
}

/** Give the client `value`, for the browser's session or until `expiresAt` (epoch ms). */
export function setTo(value: string, expiresAt: number | undefined): Outgoing {
  return { action: 'set', value, expiresAt, vary: true }
}

/** A response header: `[name, value]`. */
export type ResponseHeader = readonly [name: string, value: string]

/** What the response must carry once the request is done with its session. */
export interface CommitResult {
  /**
   * A `Set-Cookie` value, or null to leave the client's cookie alone. A chunked session sets
   * several: this is the first, the others are in `headers`.
   */
  setCookie: string | null
  /** Whether the response depends on the session, so caches must key on it (`Vary`). */
  vary: boolean
  /**
   * The headers beyond `setCookie`, in order, to append (`set-cookie`) or set (any other): a
   * chunked session's further `Set-Cookie` lines, a header token's new value. Absent when none.
   */
  headers?: readonly ResponseHeader[]
  /** The request headers `Vary` names when `vary` is true. @default 'Cookie' */
  varyOn?: string
}
