/**
 * CSRF protection bound to the session (the synchronizer token pattern): a random token kept in
 * the session goes into every form, and a request that changes state must send it back.
 * `session.regenerate()` rotates it, so a token seen before login is worthless after.
 * @module
 */
import { utf8Bytes } from '../primitives/bytes.js'
import { safeEqual } from '../primitives/keys.js'
import { randomToken } from '../primitives/random.js'
import { rotatedKeys, viaToken } from '../session/handle.js'
import type { Session } from '../session/session.js'

/** The session key of the token. A privilege change (`regenerate()`) drops it. */
const csrfKey = '_csrf'
rotatedKeys.add(csrfKey)

/** The form field a token is read from. */
export const csrfField = '_csrf'
/** The request header a token is read from, before the form field (JSON and single-page clients). */
export const csrfHeader = 'x-csrf-token'

/** Methods that change state and must carry a token (RFC 9110's unsafe methods). */
const unsafeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** The session's CSRF token, created (and saved with the session) on first use. */
export function csrfToken<T extends object>(session: Session<T>): string {
  const s = session as unknown as Session<Record<string, unknown>>
  const token = s.get(csrfKey)
  if (typeof token === 'string') return token
  const fresh = randomToken(32)
  s.set(csrfKey, fresh)
  return fresh
}

/** A hidden form field carrying the token; put it in every form that POSTs. */
export function csrfInput<T extends object>(session: Session<T>): string {
  // The token is base64url, so it needs no HTML escaping.
  return `<input type="hidden" name="${csrfField}" value="${csrfToken(session)}">`
}

/** Whether `token` is the session's CSRF token, compared in constant time. */
export function verifyCsrfToken<T extends object>(
  session: Session<T>,
  token: string | null | undefined,
): boolean {
  const expected = (session as unknown as Session<Record<string, unknown>>).get(csrfKey)
  if (typeof expected !== 'string' || typeof token !== 'string') return false
  return safeEqual(utf8Bytes(expected), utf8Bytes(token))
}

/** Options of the CSRF check. */
export interface CsrfOptions {
  /** Paths (exact, or prefixes ending in `*`) or a predicate for routes that are not checked. */
  exempt?: readonly string[] | ((path: string) => boolean)
}

/** The outcome of a check: null when the request may go on, else the 403 to send. */
export interface CsrfFailure {
  status: 403
  message: string
}

/**
 * Checks a request: safe methods, exempt paths and requests that carry their session in a
 * header token (no cookie, so nothing a browser sends by itself) pass; an unsafe method must
 * carry the session's token (from the form field or the `X-CSRF-Token` header, whichever the
 * caller read).
 */
export function checkCsrf<T extends object>(
  session: Session<T>,
  request: { method: string; path: string; token: string | null | undefined },
  options: CsrfOptions = {},
): CsrfFailure | null {
  if (!unsafeMethods.has(request.method.toUpperCase())) return null
  if (isExempt(request.path, options.exempt)) return null
  if (viaToken(session)) return null
  if (verifyCsrfToken(session, request.token)) return null
  return {
    status: 403,
    message: request.token
      ? 'Forbidden: the CSRF token does not match this session. Reload the form and try again.'
      : 'Forbidden: the CSRF token is missing. Forms must include csrfInput(session).',
  }
}

function isExempt(path: string, exempt: CsrfOptions['exempt']): boolean {
  if (!exempt) return false
  if (typeof exempt === 'function') return exempt(path)
  return exempt.some((rule) =>
    rule.endsWith('*') ? path.startsWith(rule.slice(0, -1)) : path === rule,
  )
}
