/**
 * The session cookie on the wire: reading it from a `Cookie` header and writing `Set-Cookie`.
 * @module
 */
import { stringifySetCookie } from 'cookie'
import { ConfigError, CookieTooLargeError } from '../errors.js'
import { utf8Length } from '../primitives/bytes.js'
import { maxCookieBytes } from '../primitives/limits.js'

export { maxCookieBytes }

/** The session cookie's attributes, as Flask's `SESSION_COOKIE_*` settings. */
export interface CookieOptions {
  /** @default 'session' */
  name?: string
  /** @default '/' */
  path?: string
  /** No Domain by default: the cookie stays on the host that set it. */
  domain?: string
  /** Hidden from page script. @default true */
  httpOnly?: boolean
  /**
   * Sent over HTTPS only. Required by `__Host-`/`__Secure-` names and by SameSite=None. `'auto'`
   * sets Secure on the responses to requests that came over HTTPS, as the adapter's proxy trust
   * setting decides (express-session's `secure: 'auto'`). @default false
   */
  secure?: boolean | 'auto'
  /** @default 'Lax' */
  sameSite?: 'Strict' | 'Lax' | 'None' | false
  /** CHIPS partitioned cookie; implies Secure, as in Flask. @default false */
  partitioned?: boolean
  /**
   * Split a session too large for one cookie over `name.0`, `name.1`, … (cookie sessions in
   * the native format). `true` takes the defaults. Off, a session over 4096 bytes is a
   * `CookieTooLargeError` at save time. @default false
   */
  chunks?: boolean | ChunkOptions
}

/** Limits of a chunked session cookie. */
export interface ChunkOptions {
  /** The most cookies one session may take. @default 4 */
  maxChunks?: number
  /**
   * The most bytes the session's cookies may add to a request's `Cookie` header (names,
   * values and separators). Larger sessions are refused at save time, larger headers read as
   * no session. Servers and proxies cap a header line at 8 KB (nginx, Apache) or all headers at
   * 16 KB (Node): raise it only as far as everything in front of the app accepts. @default 8192
   */
  maxBytes?: number
}

/** Writes `Set-Cookie` values for one configured cookie. */
export interface CookieWriter {
  readonly name: string
  /** Whether Secure follows the request's protocol (`secure: 'auto'`): then `https` counts. */
  readonly auto: boolean
  /**
   * A cookie holding `value`; a browser-session cookie unless `expiresAt` (epoch ms) is given.
   * `https` says the request came over HTTPS, for a `secure: 'auto'` cookie.
   */
  set(value: string, expiresAt?: number, https?: boolean): string
  /** A cookie that deletes the session cookie, with the same attributes. */
  remove(https?: boolean): string
  /** A `Set-Cookie` line for the cookie `name` (a chunk's) with the same attributes, unchecked. */
  line(name: string, value: string, expiresAt: number | undefined, https?: boolean): string
  /** A `Set-Cookie` line deleting the cookie `name`, with the same attributes. */
  removeLine(name: string, https?: boolean): string
  /** The longest the attributes of a line can be, `Expires` and an 'auto' Secure included. */
  readonly attributeBytes: number
}

/** Validates the options once, at start-up, and returns a writer with the attributes ready. */
export function createCookieWriter(options: CookieOptions = {}): CookieWriter {
  const name = options.name ?? 'session'
  const path = options.path ?? '/'
  const partitioned = options.partitioned ?? false
  const secure = options.secure === true || partitioned
  // Partitioned implies Secure, so 'auto' has nothing left to decide there.
  const auto = options.secure === 'auto' && !partitioned
  if (options.secure !== undefined && typeof options.secure !== 'boolean' && !auto && !secure) {
    throw new ConfigError(
      `cookie secure must be true, false or 'auto', not ${JSON.stringify(options.secure)}`,
    )
  }
  // What 'auto' leaves off over plain HTTP, a browser requires for these.
  const alwaysSecure = auto ? " ('auto' leaves Secure off over plain HTTP)" : ''
  const httpOnly = options.httpOnly ?? true
  const sameSite = options.sameSite ?? 'Lax'
  // As Werkzeug does: a leading dot is meaningless to browsers, and a port is not part of a domain.
  const domain = options.domain?.replace(/^\./, '').replace(/:\d+$/, '')
  if (sameSite !== false && !['Strict', 'Lax', 'None'].includes(sameSite)) {
    throw new ConfigError(
      `cookie sameSite must be 'Strict', 'Lax', 'None' or false, not ${sameSite}`,
    )
  }
  if (sameSite === 'None' && !secure) {
    throw new ConfigError(
      `a SameSite=None cookie must be Secure${alwaysSecure}; set \`secure: true\``,
    )
  }
  if (name.startsWith('__Host-') && (!secure || path !== '/' || domain !== undefined)) {
    throw new ConfigError(
      `a "__Host-" cookie must be Secure${alwaysSecure}, have Path=/ and no Domain; ` +
        `fix the options of "${name}"`,
    )
  }
  if (name.startsWith('__Secure-') && !secure) {
    throw new ConfigError(
      `a "__Secure-" cookie must be Secure${alwaysSecure}; set \`secure: true\` for "${name}"`,
    )
  }
  // The cookie library checks the name, path and domain against RFC 6265's grammar.
  try {
    stringifySetCookie({ name, value: 'x', path, ...(domain === undefined ? {} : { domain }) })
  } catch (cause) {
    throw new ConfigError(`invalid session cookie option: ${(cause as Error).message}`, { cause })
  }
  let rest = ''
  if (httpOnly) rest += '; HttpOnly'
  rest += `; Path=${path}`
  if (sameSite) rest += `; SameSite=${sameSite}`
  if (partitioned) rest += '; Partitioned'
  const tail = secure ? `; Secure${rest}` : rest
  // For an HTTPS request under 'auto'.
  const secureTail = `; Secure${rest}`
  const head = domain === undefined ? '' : `; Domain=${domain}`
  const limit = maxCookieBytes - utf8Length(name) - 1
  const line = (cookie: string, value: string, expiresAt: number | undefined, https?: boolean) => {
    const expires = expiresAt === undefined ? '' : `; Expires=${new Date(expiresAt).toUTCString()}`
    return `${cookie}=${value}${head}${expires}${auto && https ? secureTail : tail}`
  }
  const removeLine = (cookie: string, https?: boolean) =>
    `${cookie}=${head}; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0${auto && https ? secureTail : tail}`

  return {
    name,
    auto,
    line,
    removeLine,
    // '; Expires=' and an HTTP date of 29 characters; the longer tail when 'auto' may add Secure.
    attributeBytes: utf8Length(head) + 39 + utf8Length(auto ? secureTail : tail),
    set(value, expiresAt, https) {
      if (value.length > limit) {
        throw new CookieTooLargeError(name, utf8Length(name) + 1 + value.length, maxCookieBytes)
      }
      return line(name, value, expiresAt, https)
    },
    remove(https) {
      return removeLine(name, https)
    },
  }
}

/**
 * Every value of the cookie `name` in a `Cookie` header, in order, trimmed and unquoted. Only
 * the one name is looked for, and every occurrence is kept: two different valid session cookies
 * in one request must make it anonymous, which a parser that keeps one value per name hides.
 */
export function readCookie(header: string | undefined, name: string): string[] {
  const found: string[] = []
  if (!header) return found
  // One native split, then work bounded by each pair: linear in the header, whatever it holds
  // (a search for '=' from each segment's start would rescan the rest of a `;;;;…` header).
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    // A pair without '=', or a name-less '=value', holds no cookie of this name.
    if (eq < 1 || pair.slice(0, eq).trim() !== name) continue
    let value = pair.slice(eq + 1).trim()
    if (value.length > 1 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    found.push(value)
  }
  return found
}
