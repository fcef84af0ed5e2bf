/**
 * The login form's CSRF token, which lives in no session: a signed double-submit token.
 *
 * Every other form's token is kept in the session (tessera's `csrfInput`), which is right for a
 * visitor who has one. The login form is shown to visitors who do not, and a token kept in the
 * session would make one for each of them: with a server-side store, a record per cookieless
 * visit, bots included, for the whole idle timeout (the security test plan's L-02). So the login
 * form carries its token the other way round: a short-lived cookie of its own holds a random
 * value, and the form's hidden field holds an HMAC of that value and the time, under a key
 * derived from the app's secret. A POST must bring back both halves, and they must match.
 *
 * Why this still stops login CSRF (another site logging the victim into the attacker's account):
 * the other site can neither read the victim's cookie (HttpOnly, same-origin) nor set it (with
 * `Secure` the cookie is `__Host-` prefixed, which subdomains and plain-http attackers cannot
 * write), and SameSite=Lax keeps it off cross-site POSTs anyway. The MAC, rather than a plain
 * copy of the cookie in the field, keeps the cookie's value out of every page (a saved or
 * cached page holds no HttpOnly cookie), and its time lets the server refuse an old token
 * whatever the browser kept.
 * @module
 */

import { createMac, deriveKey, type Secrets, secretList } from '../src/primitives/keys.js'
import { randomToken } from '../src/primitives/random.js'
import { createCookieWriter, readCookie } from '../src/transports/cookie.js'

/** Options of `createLoginCsrf`. */
export interface LoginCsrfOptions {
  /** The app's secrets, newest first: the first signs, all verify (a rotation keeps forms valid). */
  secret: Secrets
  /** Sent over HTTPS only, and then named `__Host-login-csrf`. @default false */
  secure?: boolean
  /** Seconds a login form stays valid: Flask-WTF's `WTF_CSRF_TIME_LIMIT`. @default 3600 */
  lifetime?: number
  /** Epoch ms. @default Date.now */
  now?: () => number
}

/** Tokens for the login form, and the cookie that carries their other half. */
export interface LoginCsrf {
  /** `login-csrf`, or `__Host-login-csrf` when Secure. */
  readonly cookieName: string
  /**
   * A token for a login form, and the Set-Cookie to send with the page. A browser that already
   * holds the cookie keeps its value, so two login forms open in two tabs both stay valid.
   */
  issue(cookieHeader: string | undefined): { token: string; setCookie: string }
  /** Whether `token` (from a posted login form) belongs to this browser's cookie and is not stale. */
  verify(cookieHeader: string | undefined, token: string | null | undefined): boolean
  /** A Set-Cookie deleting the cookie, once the login it was for is done. */
  remove(): string
}

/** The purpose the MAC key is derived for: no other value tessera signs verifies as one. */
export const loginCsrfPurpose = 'demo/login-csrf'

/** A cookie value: 32 random bytes as base64url. */
const noncePattern = /^[A-Za-z0-9_-]{43}$/

/** A form token: issue time in seconds, then the MAC. */
const tokenPattern = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/

/** Clock skew between instances that is tolerated, in seconds (as for session cookies). */
const skew = 60

/** Validates the options once, at start-up. Throws `ConfigError` for a short or missing secret. */
export function createLoginCsrf(options: LoginCsrfOptions): LoginCsrf {
  const macs = secretList(options.secret).map((s) => createMac(deriveKey(s, loginCsrfPurpose)))
  const signer = macs[0]!
  const lifetime = options.lifetime ?? 3600
  const now = options.now ?? Date.now
  const secure = options.secure ?? false
  const writer = createCookieWriter({
    name: secure ? '__Host-login-csrf' : 'login-csrf',
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
      // sibling site over plain http, say) must not lock the user out of the login form.
      return nonces(cookieHeader).some((nonce) =>
        macs.some((mac) => mac.matches(`${issued}.${nonce}`, parts[2]!)),
      )
    },
    remove: () => writer.remove(),
  }
}
