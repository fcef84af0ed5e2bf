/**
 * The session in a request header, for clients that are not browsers (mobile apps, command-line
 * tools, other services): `Authorization: Bearer <token>` or a header of the app's choosing,
 * where the token is exactly what the cookie would hold. A changed session comes back in a
 * response header; an ended one as that header, empty.
 * @module
 */
import { ConfigError } from '../errors.js'

/** Options of header tokens. */
export interface TokenOptions {
  /**
   * The request header that carries the token: `authorization`, as `Bearer <token>`, or a
   * header of its own such as `x-session`, holding the token alone. @default 'authorization'
   */
  header?: string
  /**
   * The response header that carries a changed session, and is empty when the session ended.
   * @default 'session-token' with `authorization`, else `header`
   */
  responseHeader?: string
}

/** A compiled `TokenOptions`. */
export interface TokenReader {
  /** The request header, in lower case. */
  readonly header: string
  /** The response header, in lower case. */
  readonly responseHeader: string
  /** The name `Vary` gives the request header: `Authorization`, `X-Session`. */
  readonly varyName: string
  /**
   * The token in the header's value: '' when the header asks for a new session (the `Bearer`
   * scheme alone, or a named header left empty); null when the header is absent or holds
   * another scheme (`Basic …`), so the request is no token request.
   */
  parse(value: string | undefined): string | null
}

const headerName = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

/** Checks the options once, at start-up. */
export function createTokenReader(options: TokenOptions): TokenReader {
  const header = (options.header ?? 'authorization').toLowerCase()
  const bearer = header === 'authorization'
  const responseHeader = (
    options.responseHeader ?? (bearer ? 'session-token' : header)
  ).toLowerCase()
  for (const name of [header, responseHeader]) {
    if (!headerName.test(name) || ['cookie', 'set-cookie'].includes(name)) {
      throw new ConfigError(
        `"${name}" cannot carry a session token: give a header name such as "x-session"`,
      )
    }
  }
  if (responseHeader === 'authorization') {
    throw new ConfigError('a response cannot carry Authorization; pick another `responseHeader`')
  }
  return {
    header,
    responseHeader,
    varyName: header.replace(
      /(^|-)([a-z])/g,
      (_m, dash: string, c: string) => dash + c.toUpperCase(),
    ),
    parse(value) {
      if (value === undefined) return null
      const text = value.trim()
      if (!bearer) return text
      // RFC 9110: the scheme is case-insensitive, and one or more spaces part it from the token.
      if (text.length < 6 || text.slice(0, 6).toLowerCase() !== 'bearer') return null
      if (text.length === 6) return ''
      if (text[6] !== ' ') return null
      return text.slice(7).trim()
    },
  }
}
