/**
 * A session system's transport: which of a request's headers carry its session, and which
 * headers a response needs for what the engine decided. The cookie (one, or chunked) always;
 * a request header too when header tokens are on. A request carries one or the other: both is
 * refused, since which session the client meant cannot be known.
 * @module
 */
import { CookieTooLargeError, SessionConflictError } from '../errors.js'
import type { Chunker } from './chunks.js'
import { type CookieWriter, readCookie } from './cookie.js'
import type { TokenReader } from './token.js'
import {
  type CommitResult,
  headerOf,
  type Incoming,
  type Outgoing,
  type RequestHeaders,
  type ResponseHeader,
} from './types.js'

/** What a transport is made of; each part checked by its own factory. */
export interface TransportParts {
  cookie: CookieWriter
  /** Chunked cookies, or null for one cookie. */
  chunks: Chunker | null
  /** Header tokens, or null for cookies alone. */
  token: TokenReader | null
  /** The longest value a token may carry: what the codec accepts. */
  maxTokenLength: number
}

/** Reads a request's session and writes a response's. */
export interface Transport {
  /** The request headers a response that depends on the session varies on. */
  readonly varyOn: string
  /**
   * The session's value(s) in a request's headers. Throws `SessionConflictError` when the
   * request carries both the cookie and a token.
   */
  read(headers: RequestHeaders): Incoming
  /**
   * The headers giving the client what the engine decided. `https` (the request came over
   * HTTPS) makes every `Set-Cookie` line Secure under `secure: 'auto'`. Throws
   * `CookieTooLargeError`.
   */
  respond(incoming: Incoming, outgoing: Outgoing, https?: boolean): CommitResult
}

/** Puts the parts together. */
export function createTransport(parts: TransportParts): Transport {
  const { cookie, chunks, token, maxTokenLength } = parts
  const name = cookie.name
  const varyOn = token ? `Cookie, ${token.varyName}` : 'Cookie'

  function result(setCookie: string | null, vary: boolean, headers?: ResponseHeader[]) {
    const out: CommitResult = { setCookie, vary }
    if (headers !== undefined && headers.length > 0) out.headers = headers
    if (token) out.varyOn = varyOn
    return out
  }

  function cookieLines(lines: string[], vary: boolean): CommitResult {
    const rest: ResponseHeader[] = []
    for (let i = 1; i < lines.length; i++) rest.push(['set-cookie', lines[i]!])
    return result(lines[0] ?? null, vary, rest)
  }

  function readCookies(headers: RequestHeaders): Incoming {
    const header = headerOf(headers, 'cookie')
    if (chunks) return chunks.read(header)
    const values = readCookie(header, name)
    return { values, via: 'cookie', present: values.length > 0, refused: null, held: 0 }
  }

  return {
    varyOn,
    read(headers) {
      const incoming = readCookies(headers)
      if (!token) return incoming
      const carried = token.parse(headerOf(headers, token.header))
      if (carried === null) return incoming
      if (incoming.refused !== null || incoming.values.some((value) => value !== '')) {
        throw new SessionConflictError(name, token.header)
      }
      return {
        values: carried === '' ? [] : [carried],
        via: 'token',
        present: carried !== '',
        refused: carried.length > maxTokenLength ? 'too_large' : null,
        held: 0,
      }
    },
    respond(incoming, outgoing, https) {
      const { action, vary } = outgoing
      if (action === 'keep') return result(null, vary)
      if (incoming.via === 'token') {
        const value = action === 'set' ? outgoing.value : ''
        if (value.length > maxTokenLength) {
          throw new CookieTooLargeError(
            name,
            value.length,
            maxTokenLength,
            `over the ${maxTokenLength} bytes a session token may hold`,
          )
        }
        // A token answer never sets a cookie: the client came without one.
        return result(null, vary, [[token!.responseHeader, value]])
      }
      if (action === 'remove') {
        return chunks
          ? cookieLines(chunks.remove(incoming.held, https), vary)
          : result(cookie.remove(https), vary)
      }
      if (chunks) {
        const lines = chunks.write(outgoing.value, outgoing.expiresAt, incoming.held, https)
        return cookieLines(lines, vary)
      }
      return result(cookie.set(outgoing.value, outgoing.expiresAt, https), vary)
    },
  }
}
