/**
 * `/login`: the tutorial's login form. It is shown to visitors who have no session, so its CSRF
 * token must not make one: it comes from `createFormCsrf`, half in the form and half in a
 * short-lived cookie of its own, and nothing is stored until the login succeeds.
 * @module
 */
import { csrfField, flash } from 'tessera'
import { appendSetCookie, type Context, type Routes, type Site } from '../site.js'
import { loginPage, maxUsername } from '../views.js'

/** Paths a login may send the user back to. */
const nextPaths = new Set(['/', '/sessions', '/inspect'])

export function loginRoutes(site: Site): Routes {
  const { loginCsrf } = site

  /** The login form, with a fresh token whose other half goes out in the form's cookie. */
  function loginForm(
    ctx: Context,
    options: { error: string | null; value: string; next: string | null },
  ): string {
    const { token, setCookie } = loginCsrf.issue(ctx.req.headers.cookie)
    appendSetCookie(ctx.res, setCookie)
    return loginPage({
      ...options,
      // The token is base64url and digits, so it needs no HTML escaping.
      csrfField: `<input type="hidden" name="${csrfField}" value="${token}">`,
      loggedInAs: ctx.session.get('username') ?? null,
    })
  }

  return {
    '/login': {
      GET(ctx) {
        const next = nextPath(ctx.query.get('next'))
        const body = loginForm(ctx, { error: null, value: '', next })
        site.render(ctx, 200, 'Log in', body, 'login', ctx.query.get('ended') === '1')
      },
      async POST(ctx) {
        const form = await site.postedForm(ctx, 'login')
        if (!form) return
        const { session } = ctx
        const typed = form.get('username') ?? ''
        const username = typed.trim()
        const next = nextPath(form.get('next'))
        const error = usernameError(username)
        if (error) {
          const body = loginForm(ctx, { error, value: typed, next })
          return site.render(ctx, 400, 'Log in', body, 'login')
        }
        // A clean session with a new id: an id planted before login (session fixation) is
        // worthless after, and so is the CSRF token, which the next page replaces.
        session.clear()
        session.regenerate()
        session.set('username', username)
        // Server-side sessions are listed per user; a cookie session keeps only what Flask would.
        if (site.storeMode || site.revocable) session.setUser(username)
        flash(session, `Welcome, ${username}! You are logged in.`, 'success')
        // The form's cookie has done its job; the session's own token protects what follows.
        appendSetCookie(ctx.res, loginCsrf.remove())
        site.redirect(ctx.res, next ?? '/')
      },
    },
  }
}

/** Why a username is refused, or null. */
function usernameError(username: string): string | null {
  if (!username) return 'Please enter a username.'
  if ([...username].length > maxUsername) {
    return `A username has at most ${maxUsername} characters.`
  }
  if (/\p{Cc}/u.test(username))
    return 'A username cannot contain tabs, line breaks or other control characters.'
  return null
}

/** `next` when it is one of the pages a login may lead to, else null. */
function nextPath(value: string | null): string | null {
  return value !== null && nextPaths.has(value) && value !== '/' ? value : null
}
