/**
 * CSRF tokens for forms that every stranger sees (a login or sign-up form), kept in no session:
 * a signed double-submit token.
 *
 * The session-bound token (`csrfToken`, `csrfInput`) is right for a visitor who has a session.
 * A login form is shown to visitors who do not, and a token kept in the session would make one
 * for each of them: with a server-side store, a record per cookieless visit, bots included, for
 * the whole idle timeout. So these forms carry their token the other way round: a short-lived
 * cookie of its own holds a random value, and the form's hidden field holds an HMAC of that
 * value and the time, under a key derived from the app's secret. A POST must bring back both
 * halves, and they must match.
 *
 * Why this still stops login CSRF (another site logging the victim into the attacker's account):
 * the other site can neither read the victim's cookie (HttpOnly, same-origin) nor set it (with
 * `secure` the cookie is `__Host-` prefixed, which subdomains and plain-http attackers cannot
 * write), and SameSite=Lax keeps it off cross-site POSTs anyway. The MAC, rather than a plain
 * copy of the cookie in the field, keeps the cookie's value out of every page (a saved or
 * cached page holds no HttpOnly cookie), and its time lets the server refuse an old token
 * whatever the browser kept.
 * @module
 */

import { createMac, deriveKey, type Secrets, secretList } from '../primitives/keys.js'
import { randomToken } from '../primitives/random.js'
import { createCookieWriter, readCookie } from '../transports/cookie.js'

/** Options of {@link createFormCsrf}. */
export interface FormCsrfOptions {
  /**
   * The app's secrets, newest first: the first signs, all verify, so a rotation keeps open
   * forms valid. Pass the sessions' own `secret`, so every instance accepts the others' forms.
   */
  secret: Secrets
  /**
   * The cookie's name; with `secure` it gets the `__Host-` prefix.
   * @default 'form-csrf'
   */
  name?: string
  /** Send the cookie over HTTPS only, named `__Host-<name>`. As the session cookie's `secure`. @default false */
  secure?: boolean
  /** Seconds a form stays valid once shown: Flask-WTF's `WTF_CSRF_TIME_LIMIT`. @default 3600 */
  lifetime?: number
  /** The clock, in epoch ms; tests inject their own. @default Date.now */
  now?: () => number
}

/** Tokens for forms shown to visitors without a session, and the cookie that holds their other half. */
export interface FormCsrf {
  /** The cookie's name: `form-csrf`, or `__Host-form-csrf` when `secure` (or your `name`). */
  readonly cookieName: string
  /**
   * A token for one form, and the `Set-Cookie` to send with the page that shows it. A browser
   * that already holds the cookie keeps its value, so two forms open in two tabs both stay valid.
   * Append the `Set-Cookie` to the response's others: the session cookie may go out with it.
   */
  issue(cookieHeader: string | undefined): { token: string; setCookie: string }
  /**
   * Whether `token` (from a posted form) was issued to the browser that sent `cookieHeader`,
   * under one of the secrets, within `lifetime`. Anything else, malformed included, is `false`.
   */
  verify(cookieHeader: string | undefined, token: string | null | undefined): boolean
  /** A `Set-Cookie` that deletes the cookie, once the form it was for has done its job. */
  remove(): string
}

/** The purpose the MAC key is derived for: no other value tessera signs verifies as a form token. */
export const formCsrfPurpose = 'form-csrf'

/** A cookie value: 32 random bytes as base64url. */
const noncePattern = /^[A-Za-z0-9_-]{43}$/

/** A form token: issue time in seconds, then the MAC. */
const tokenPattern = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/

/** Clock skew between instances that is tolerated, in seconds (as for session cookies). */
const skew = 60

/**
 * Stateless CSRF protection for a form every stranger sees, such as a login form: it stores
 * nothing, in a session or anywhere else. Exempt the form's route from the session-bound
 * `csrf()` check and verify its token with this instead; once the user is logged in, the
 * session's own token (`csrfInput`) protects every other form.
 *
 * Validates the options once, at start-up: throws `ConfigError` for a missing or short secret
 * or an invalid cookie name.
 * @example
 * import { createFormCsrf, csrfField } from 'tessera'
 *
 * const loginCsrf = createFormCsrf({ secret: process.env.SECRET_KEY!, secure: true })
 *
 * // GET /login: a token in the form, its other half in a cookie.
 * const { token, setCookie } = loginCsrf.issue(req.headers.cookie)
 * res.appendHeader('set-cookie', setCookie)
 * res.end(`<form method="post"><input type="hidden" name="${csrfField}" value="${token}">…</form>`)
 *
 * // POST /login: both halves must come back, and match.
 * if (!loginCsrf.verify(req.headers.cookie, form.get(csrfField))) return forbidden(res)
 * res.appendHeader('set-cookie', loginCsrf.remove())
 */
export function createFormCsrf(options: FormCsrfOptions): FormCsrf {
  const macs = secretList(options.secret).map((s) => createMac(deriveKey(s, formCsrfPurpose)))
  const signer = macs[0]!
  const lifetime = options.lifetime ?? 3600
  const now = options.now ?? Date.now
  const secure = options.secure ?? false
  const base = options.name ?? 'form-csrf'
  const writer = createCookieWriter({
    name: secure && !base.startsWith('__Host-') ? `__Host-${base}` : base,
    secure,
    // The defaults, spelled out: only pages of this site see it, and only this site sends it.
    httpOnly: true,
    sameSite: 'Lax',
  })

  /** The cookie's values that could be ours, in the order the browser sent them. */
  const nonces = (cookieHeader: string | undefined) =>
    readCookie(cookieHeader, writer.name).filter((v) => noncePattern.test(v))

  return {
    cookieName: writer.name,
    issue(cookieHeader) {
      const nonce = nonces(cookieHeader)[0] ?? randomToken(32)
      const issued = Math.floor(now() / 1000)
      return {
        token: `${issued}.${signer.sign(`${issued}.${nonce}`)}`,
        setCookie: writer.set(nonce, (issued + lifetime) * 1000),
      }
    },
    verify(cookieHeader, token) {
      const parts = typeof token === 'string' ? tokenPattern.exec(token) : null
      if (!parts) return false
      const issued = Number(parts[1])
      const age = now() / 1000 - issued
      if (age > lifetime || age < -skew) return false
      // Any of the browser's values may match: a second cookie of this name (planted by a
      // sibling site over plain http, say) must not lock the user out of the form.
      return nonces(cookieHeader).some((nonce) =>
        macs.some((mac) => mac.matches(`${issued}.${nonce}`, parts[2]!)),
      )
    },
    remove: () => writer.remove(),
  }
}
