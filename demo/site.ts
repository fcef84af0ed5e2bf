/**
 * What every page of the demo shares: the request context, rendering a page in the site's
 * layout, redirects, and reading a POSTed form with its CSRF token checked.
 * @module
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import {
  checkCsrf,
  csrfField,
  csrfInput,
  type FormCsrf,
  flash,
  getFlashedMessages,
  type RevocableCookieSessions,
  type Session,
  type Sessions,
} from 'tessera'
import type { CookieCheck, DemoSession } from './config.js'
import { type Account, page, type Section } from './html.js'
import { csrfFailedPage } from './views.js'

/** One request, as a page handler sees it. */
export interface Context {
  req: IncomingMessage
  res: ServerResponse
  session: Session<DemoSession>
  query: URLSearchParams
}

/** A page's handlers, by method. */
export type Handlers = Record<string, (ctx: Context) => unknown>

/** Pages by path. */
export type Routes = Record<string, Handlers>

/** What the pages are given: the app's settings and the helpers that use them. */
export interface Site {
  sessions: Sessions<DemoSession>
  storeLabel: string
  inspector: boolean
  /** Sessions live in a store: they can be listed per user and ended from another browser. */
  storeMode: boolean
  /**
   * Revocable cookie sessions (`SESSION_REVOCATION`): the session is in the cookie, and "log out
   * everywhere" ends the user's other cookies through a per-user generation. Null otherwise.
   */
  revocable: RevocableCookieSessions<DemoSession> | null
  /** The login form's token, which lives in no session (see the login page). */
  loginCsrf: FormCsrf
  /** Cookie sessions: their codec, so the inspector can tell a verified value from a forged one. */
  cookieCheck: CookieCheck | null
  /** Writes a whole page. Pages show session data: never cached, nor shown again on "back". */
  send(
    res: ServerResponse,
    status: number,
    title: string,
    body: string,
    section: Section,
    account: Account,
    flashes?: [string, string][],
    extra?: OutgoingHttpHeaders,
  ): void
  /**
   * A page for the request's session: the header shows who is logged in, with its flashes.
   * `ended`: say that the session has ended, though this request's cookie no longer shows it.
   */
  render(
    ctx: Context,
    status: number,
    title: string,
    body: string,
    section: Section,
    ended?: boolean,
  ): void
  redirect(res: ServerResponse, location: string): void
  /** Sends a visitor who is not logged in to the login form, saying why when it is news. */
  toLogin(ctx: Context, next: string | null): void
  /**
   * Reads a POSTed form and checks its CSRF token: the session's, or for the login form also
   * the login form's own. Returns the form, or null once it has answered (a refused token, a
   * form too large).
   */
  postedForm(ctx: Context, form?: 'any' | 'login'): Promise<URLSearchParams | null>
  /** Ends the user's session; a fresh one carries the "logged out" message to the next page. */
  logout(session: Session<DemoSession>): void
}

/** Shown to a browser whose session was revoked, or expired, when it next comes back. */
const sessionEnded =
  'Your session has ended: it expired, or it was logged out from another browser.'

/** The largest form body read, in bytes. */
const maxForm = 16_384

/** The shared helpers, bound to the app's settings. */
export function createSite(settings: {
  sessions: Sessions<DemoSession>
  storeLabel: string
  inspector: boolean
  footer: string
  loginCsrf: FormCsrf
  cookieCheck: CookieCheck | null
}): Site {
  const { sessions, inspector, footer, loginCsrf, cookieCheck } = settings
  const storeMode = sessions.mode === 'store'
  const revocable =
    sessions.mode === 'cookie' && 'destroyByUser' in sessions
      ? (sessions as RevocableCookieSessions<DemoSession>)
      : null

  const site: Site = {
    sessions,
    storeLabel: settings.storeLabel,
    inspector,
    storeMode,
    revocable,
    loginCsrf,
    cookieCheck,

    send(res, status, title, body, section, account, flashes = [], extra = {}) {
      res.writeHead(status, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        ...extra,
      })
      res.end(page({ title, body, section, account, flashes, inspector, footer }))
    },

    render(ctx, status, title, body, section, ended = false) {
      const { session } = ctx
      const username = session.get('username') ?? null
      const account: Account = username
        ? { username, csrfField: csrfInput(session) }
        : { username: null }
      const flashes = getFlashedMessages(session, { withCategories: true })
      if (!username && (ended || session.rejectedReason === 'expired')) {
        flashes.unshift(['info', sessionEnded])
      }
      const extra: OutgoingHttpHeaders = {}
      // The page after a logout: once its message is shown nothing of the session is left, and
      // the browser is told to drop every cookie of this site too. (Not on the logout response
      // itself: Chromium would drop the new cookie carrying this very message.)
      if (flashes.some(([category]) => category === 'logged-out') && session.isEmpty) {
        extra['clear-site-data'] = '"cookies"'
      }
      site.send(ctx.res, status, title, body, section, account, flashes, extra)
    },

    redirect(res, location) {
      res.writeHead(303, { location, 'cache-control': 'no-store' })
      res.end()
    },

    // The news travels in the URL, not as a flash: a flash would store a session for a visitor
    // who has none (a replayed logged-out cookie, each time), and this response already deletes
    // the dead cookie that would have told the login page. Anyone can link to `?ended=1`; it
    // only shows that fixed sentence.
    toLogin(ctx, next) {
      const query = [
        ...(next ? [`next=${next}`] : []),
        ...(ctx.session.rejectedReason === 'expired' ? ['ended=1'] : []),
      ]
      site.redirect(ctx.res, query.length > 0 ? `/login?${query.join('&')}` : '/login')
    },

    async postedForm(ctx, form = 'any') {
      const fields = await readForm(ctx.req)
      if (!fields) {
        site.send(ctx.res, 413, 'Form too large', '<h1>Form too large</h1>', null, null, [], {
          connection: 'close',
        })
        return null
      }
      const sent = fields.get(csrfField)
      const sessionToken =
        checkCsrf(ctx.session, {
          method: 'POST',
          path: parseTarget(ctx.req.url).path,
          token: sent,
        }) === null
      // The login form also takes the session's token, when there is a session to hold one: a
      // logged-in user's page carries both (the header's logout form, first, has the session's),
      // and both are secrets of this browser alone. Reading the token writes nothing.
      const accepted =
        sessionToken || (form === 'login' && loginCsrf.verify(ctx.req.headers.cookie, sent))
      if (!accepted) {
        site.render(ctx, 403, 'Form refused', csrfFailedPage(), null)
        return null
      }
      return fields
    },

    logout(session) {
      session.clear()
      if (storeMode || revocable) session.setUser(null)
      // A new id, and the old record deleted: the old cookie is worthless from now on.
      if (storeMode) session.regenerate()
      flash(session, 'You have been logged out.', 'logged-out')
    },
  }
  return site
}

/**
 * Adds a Set-Cookie to the response. Never through `writeHead`'s headers, whose Set-Cookie
 * would replace the session cookie the adapter adds.
 */
export function appendSetCookie(res: ServerResponse, value: string): void {
  const existing = res.getHeader('set-cookie')
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)]
  res.setHeader('set-cookie', [...list, value])
}

/** The path and query of a request target, without resolving it against any host. */
export function parseTarget(url: string | undefined): { path: string; query: URLSearchParams } {
  const target = url ?? '/'
  const q = target.indexOf('?')
  return {
    path: q === -1 ? target : target.slice(0, q),
    query: new URLSearchParams(q === -1 ? '' : target.slice(q + 1)),
  }
}

/** The body of a form POST, or null when it is over `maxForm` bytes. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > maxForm) {
    req.resume()
    return null
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    // Past the limit the rest is read and dropped, so the answer can still be sent.
    if (size <= maxForm) chunks.push(chunk)
    else if (size > 64 * maxForm) {
      // A client still sending past this wants no answer: leaving the loop closes the socket.
      req.destroy()
      break
    }
  }
  if (size > maxForm) return null
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}
