/**
 * The demo site: the Flask tutorial app (`/` says who is logged in, `/login`, `/logout`) grown
 * into a small site that shows what tessera does: "Your sessions" lists and revokes a user's
 * sessions, and the inspector shows what the session holds and where. Every page is
 * server-rendered and works without JavaScript; every form carries a CSRF token.
 * @module
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { withSession } from '../src/adapters/node.js'
import { storeUnavailable } from '../src/adapters/shared.js'
import { type CookieTooLargeError, isSessionError } from '../src/errors.js'
import { checkCsrf, csrfField, csrfInput, csrfToken } from '../src/features/csrf.js'
import { flash, getFlashedMessages } from '../src/features/flash.js'
import { createFormCsrf } from '../src/features/form-csrf.js'
import type { Secrets } from '../src/primitives/keys.js'
import { randomToken } from '../src/primitives/random.js'
import { csrfKey, type Session } from '../src/session/session.js'
import type { Sessions } from '../src/session/sessions.js'
import { readCookie } from '../src/transports/cookie.js'
import type { DemoSession } from './config.js'
import { describeDevice } from './devices.js'
import { type Account, page, type Section } from './html.js'
import { inspectorBody } from './inspect.js'
import {
  csrfFailedPage,
  footerHtml,
  homeAnonymous,
  homeUser,
  loginPage,
  logoutConfirmPage,
  maxNote,
  maxNotes,
  maxUsername,
  methodNotAllowedPage,
  notFoundPage,
  serverErrorPage,
  sessionsCookiePage,
  sessionsPage,
  tooLargePage,
} from './views.js'

export { maxUsername } from './views.js'

/** Options of the demo app. */
export interface AppOptions {
  /** Serve the session inspector at `/inspect`. @default true */
  inspector?: boolean
  /** Which instance this is (`127.0.0.1:5000`), shown in the footer. */
  instance?: string | null
  /**
   * The secrets that sign the login form's CSRF token: the sessions' own (`SECRET_KEY` and its
   * fallbacks), so that every instance of a cluster accepts the forms of the others.
   * @default a random key made at start-up, which only this process knows
   */
  secret?: Secrets
  /**
   * Whether the login form's cookie goes over HTTPS only (and is named `__Host-login-csrf`): as
   * the session cookie's `secure`. @default false
   */
  secureCookies?: boolean
}

/**
 * Headers on every response. The pages carry no script at all, so the policy allows none;
 * the one stylesheet comes from this origin.
 */
export const securityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
}

/** Shown to a browser whose session was revoked, or expired, when it next comes back. */
const sessionEnded =
  'Your session has ended: it expired, or it was logged out from another browser.'

/** Paths a login may send the user back to. */
const nextPaths = new Set(['/', '/sessions', '/inspect'])

/** The largest form body read, in bytes. */
const maxForm = 16_384

/** The demo's request handler. */
export function createApp(
  sessions: Sessions<DemoSession>,
  storeLabel: string,
  options: AppOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const inspector = options.inspector ?? true
  const footer = footerHtml(storeLabel, options.instance ?? null)
  const storeMode = sessions.mode === 'store'
  // The login form is for visitors without a session, so its token must not make one.
  const loginCsrf = createFormCsrf({
    name: 'login-csrf',
    secret: options.secret ?? randomToken(32),
    secure: options.secureCookies ?? false,
  })

  /** Writes a whole page. Pages show session data: never cached, nor shown again on "back". */
  function send(
    res: ServerResponse,
    status: number,
    title: string,
    body: string,
    section: Section,
    account: Account,
    flashes: [string, string][] = [],
    extra: OutgoingHttpHeaders = {},
  ): void {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      ...extra,
    })
    res.end(page({ title, body, section, account, flashes, inspector, footer }))
  }

  /**
   * A page for the request's session: the header shows who is logged in, with its flashes.
   * `ended`: say that the session has ended, though this request's cookie no longer shows it.
   */
  function render(
    ctx: Context,
    status: number,
    title: string,
    body: string,
    section: Section,
    ended = false,
  ): void {
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
    send(ctx.res, status, title, body, section, account, flashes, extra)
  }

  function redirect(res: ServerResponse, location: string): void {
    res.writeHead(303, { location, 'cache-control': 'no-store' })
    res.end()
  }

  /**
   * Sends a visitor who is not logged in to the login form, saying why when it is news. The
   * news travels in the URL, not as a flash: a flash would store a session for a visitor who
   * has none (a replayed logged-out cookie, each time), and this response already deletes the
   * dead cookie that would have told the login page. Anyone can link to `?ended=1`; it only
   * shows that fixed sentence.
   */
  function toLogin(ctx: Context, next: string | null): void {
    const query = [
      ...(next ? [`next=${next}`] : []),
      ...(ctx.session.rejectedReason === 'expired' ? ['ended=1'] : []),
    ]
    redirect(ctx.res, query.length > 0 ? `/login?${query.join('&')}` : '/login')
  }

  /** The login form, with a fresh token whose other half goes out in the form's cookie. */
  function loginForm(
    ctx: Context,
    options: { error: string | null; value: string; next: string | null },
  ): string {
    const { token, setCookie } = loginCsrf.issue(ctx.req.headers.cookie)
    appendSetCookie(ctx.res, setCookie)
    return loginPage({
      ...options,
      csrfField: hiddenToken(token),
      loggedInAs: ctx.session.get('username') ?? null,
    })
  }

  /** Ends the user's session; a fresh one carries the "logged out" message to the next page. */
  function logout(session: Session<DemoSession>): void {
    session.clear()
    if (storeMode) {
      // A new id, and the old record deleted: the old cookie is worthless from now on.
      session.setUser(null)
      session.regenerate()
    }
    flash(session, 'You have been logged out.', 'logged-out')
  }

  async function route(req: IncomingMessage, res: ServerResponse, session: Session<DemoSession>) {
    const target = parseTarget(req.url)
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET')
    const ctx: Context = { req, res, session, query: target.query }
    const path = target.path
    const handler = routes[path]?.[method]
    if (handler) return handler(ctx)
    if (routes[path]) {
      const allowed = Object.keys(routes[path]!).join(', ')
      res.setHeader('allow', allowed.includes('GET') ? `${allowed}, HEAD` : allowed)
      return render(ctx, 405, 'Not allowed', methodNotAllowedPage(allowed), null)
    }
    return render(ctx, 404, 'Not found', notFoundPage(), null)
  }

  /**
   * Reads a POSTed form and checks its CSRF token: the session's, or for the login form also
   * the one tied to the login form's cookie. Returns the form, or null once it has answered (a
   * refused token, a form too large).
   */
  async function postedForm(
    ctx: Context,
    form: 'any' | 'login' = 'any',
  ): Promise<URLSearchParams | null> {
    const fields = await readForm(ctx.req)
    if (!fields) {
      send(ctx.res, 413, 'Form too large', '<h1>Form too large</h1>', null, null, [], {
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
      render(ctx, 403, 'Form refused', csrfFailedPage(), null)
      return null
    }
    return fields
  }

  const routes: Record<string, Record<string, (ctx: Context) => unknown>> = {
    '/': {
      GET(ctx) {
        const username = ctx.session.get('username')
        const body = username
          ? homeUser({
              username,
              notes: ctx.session.get('notes') ?? [],
              csrfField: csrfInput(ctx.session),
              label: storeLabel,
              inspector,
            })
          : homeAnonymous(storeLabel, inspector)
        render(ctx, 200, username ? `Logged in as ${username}` : 'Home', body, 'home')
      },
    },

    '/login': {
      GET(ctx) {
        const next = nextPath(ctx.query.get('next'))
        const body = loginForm(ctx, { error: null, value: '', next })
        render(ctx, 200, 'Log in', body, 'login', ctx.query.get('ended') === '1')
      },
      async POST(ctx) {
        const form = await postedForm(ctx, 'login')
        if (!form) return
        const { session } = ctx
        const typed = form.get('username') ?? ''
        const username = typed.trim()
        const next = nextPath(form.get('next'))
        const error = usernameError(username)
        if (error) {
          const body = loginForm(ctx, { error, value: typed, next })
          return render(ctx, 400, 'Log in', body, 'login')
        }
        // A clean session with a new id: an id planted before login (session fixation) is
        // worthless after, and so is the CSRF token, which the next page replaces.
        session.clear()
        session.regenerate()
        session.set('username', username)
        // Server-side sessions are listed per user; a cookie session keeps only what Flask would.
        if (storeMode) session.setUser(username)
        flash(session, `Welcome, ${username}! You are logged in.`, 'success')
        // The form's cookie has done its job; the session's own token protects what follows.
        appendSetCookie(ctx.res, loginCsrf.remove())
        redirect(ctx.res, next ?? '/')
      },
    },

    '/logout': {
      GET(ctx) {
        const username = ctx.session.get('username') ?? null
        const body = logoutConfirmPage(username ? csrfInput(ctx.session) : '', username)
        render(ctx, 200, 'Log out', body, null)
      },
      async POST(ctx) {
        if (!ctx.session.get('username')) {
          // Already logged out (revoked from another browser, say): nothing to protect.
          return redirect(ctx.res, '/')
        }
        if (!(await postedForm(ctx))) return
        logout(ctx.session)
        redirect(ctx.res, '/')
      },
    },

    '/sessions': {
      async GET(ctx) {
        const { session } = ctx
        const username = session.get('username')
        if (!username) return toLogin(ctx, '/sessions')
        const now = Date.now()
        if (!storeMode) {
          const body = sessionsCookiePage({
            username,
            label: storeLabel,
            userAgent: ctx.req.headers['user-agent'] ?? null,
            ip: ctx.req.socket.remoteAddress ?? null,
            issuedAt: session.createdAt,
            now,
          })
          return render(ctx, 200, 'Your sessions', body, 'sessions')
        }
        const list = await sessions.listByUser(username)
        const body = sessionsPage({
          username,
          list,
          currentKey: sessions.keyOf(session),
          csrfField: csrfInput(session),
          label: storeLabel,
          now,
        })
        render(ctx, 200, 'Your sessions', body, 'sessions')
      },
    },

    '/sessions/revoke': {
      async POST(ctx) {
        const form = await postedForm(ctx)
        if (!form) return
        const { session } = ctx
        const username = session.get('username')
        if (!username) return toLogin(ctx, '/sessions')
        if (!storeMode) return redirect(ctx.res, '/sessions')
        const key = form.get('key') ?? ''
        // Only this user's own sessions: the key must be on their list.
        const target = (await sessions.listByUser(username)).find((s) => s.key === key)
        if (!target) {
          flash(session, 'That session had already ended.', 'info')
        } else if (key === sessions.keyOf(session)) {
          logout(session)
          return redirect(ctx.res, '/')
        } else {
          await sessions.destroy(key)
          flash(session, `Logged out ${describeDevice(target.userAgent)}.`, 'success')
        }
        redirect(ctx.res, '/sessions')
      },
    },

    '/sessions/revoke-others': {
      async POST(ctx) {
        if (!(await postedForm(ctx))) return
        const { session } = ctx
        const username = session.get('username')
        if (!username) return toLogin(ctx, '/sessions')
        if (!storeMode) return redirect(ctx.res, '/sessions')
        const except = sessions.keyOf(session)
        const count = await sessions.destroyByUser(username, except === null ? {} : { except })
        flash(
          session,
          count === 0
            ? 'No other browser was logged in as you.'
            : `Logged out everywhere else: ${count === 1 ? '1 other session' : `${count} other sessions`} ended.`,
          'success',
        )
        redirect(ctx.res, '/sessions')
      },
    },

    '/notes': {
      async POST(ctx) {
        const form = await postedForm(ctx)
        if (!form) return
        const { session } = ctx
        if (!session.get('username')) return toLogin(ctx, null)
        const note = (form.get('note') ?? '').trim()
        const notes = session.get('notes') ?? []
        if (!note) flash(session, 'Write something first.', 'error')
        else if ([...note].length > maxNote)
          flash(session, `A note has at most ${maxNote} characters.`, 'error')
        else if (notes.length >= maxNotes)
          flash(session, `Your session keeps at most ${maxNotes} notes.`, 'error')
        else {
          session.set('notes', [...notes, note])
          flash(session, 'Note saved in your session.', 'success')
        }
        redirect(ctx.res, '/#notes')
      },
    },

    '/notes/clear': {
      async POST(ctx) {
        if (!(await postedForm(ctx))) return
        const { session } = ctx
        if (!session.get('username')) return toLogin(ctx, null)
        if (session.delete('notes')) flash(session, 'Notes removed.', 'success')
        redirect(ctx.res, '/#notes')
      },
    },
  }

  if (inspector) {
    routes['/inspect'] = {
      async GET(ctx) {
        const { session } = ctx
        const snapshot = session.toJSON() as Record<string, unknown>
        const changes: string[] = []
        // The header's logout form needs the token; made now, so the page can say so.
        if (session.get('username') && !Object.hasOwn(snapshot, csrfKey)) {
          csrfToken(session)
          changes.push('makes the CSRF token for this page’s forms')
        }
        if (Object.keys(snapshot).some((k) => k === '_flashes' || k.startsWith('_flash:'))) {
          changes.push('takes out the messages shown at the top of this page')
        }
        const body = await inspectorBody({
          sessions,
          session,
          cookieValues: readCookie(ctx.req.headers.cookie, sessions.cookieName),
          snapshot,
          changes,
          now: Date.now(),
        })
        render(ctx, 200, 'Session inspector', body, 'inspect')
      },
    }
  }

  /** Answers what the adapter could not: a cookie too large, the store down, a bug. */
  function onError(error: unknown, _req: IncomingMessage, res: ServerResponse): void {
    setSecurityHeaders(res)
    if (isSessionError(error, 'COOKIE_TOO_LARGE')) {
      const { size, limit } = error as CookieTooLargeError
      send(res, 413, 'Session too large', tooLargePage(size, limit), null, null)
      return
    }
    if (isSessionError(error, 'STORE_UNAVAILABLE')) {
      res.writeHead(storeUnavailable.status, storeUnavailable.headers)
      res.end(storeUnavailable.body)
      return
    }
    console.error('tessera demo: the request failed', error)
    send(res, 500, 'Server error', serverErrorPage(), null, null)
  }

  const withSessions = withSession(sessions, route, { onError })

  return async (req, res) => {
    setSecurityHeaders(res)
    const { path } = parseTarget(req.url)
    // Static files never touch the session: no store call, and they load during an outage.
    if (path.startsWith('/static/')) return serveStatic(req, res, path)
    if (path === '/favicon.ico') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      res.end('Not found')
      return
    }
    await withSessions(req, res)
  }
}

interface Context {
  req: IncomingMessage
  res: ServerResponse
  session: Session<DemoSession>
  query: URLSearchParams
}

/**
 * Adds a Set-Cookie to the response. Never through `writeHead`'s headers, whose Set-Cookie
 * would replace the session cookie the adapter adds.
 */
function appendSetCookie(res: ServerResponse, value: string): void {
  const existing = res.getHeader('set-cookie')
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)]
  res.setHeader('set-cookie', [...list, value])
}

/** A hidden `_csrf` field, as `csrfInput` writes it (the token is HTML-safe). */
function hiddenToken(token: string): string {
  return `<input type="hidden" name="${csrfField}" value="${token}">`
}

function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(securityHeaders)) res.setHeader(name, value)
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

/** The path and query of a request target, without resolving it against any host. */
function parseTarget(url: string | undefined): { path: string; query: URLSearchParams } {
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
    else if (size > 64 * maxForm) req.destroy()
  }
  if (size > maxForm) return null
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

/** The stylesheet and icon, read once, with a validator so browsers revalidate cheaply. */
const staticFiles = new Map<string, { body: Buffer; type: string; etag: string }>(
  (
    [
      ['/static/style.css', 'style.css', 'text/css; charset=utf-8'],
      ['/static/favicon.svg', 'favicon.svg', 'image/svg+xml'],
    ] as const
  ).map(([path, file, type]) => {
    const body = readFileSync(new URL(`./static/${file}`, import.meta.url))
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`
    return [path, { body, type, etag }] as const
  }),
)

function serveStatic(req: IncomingMessage, res: ServerResponse, path: string): void {
  const file = staticFiles.get(path)
  if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(file ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' })
    res.end(file ? 'Method not allowed' : 'Not found')
    return
  }
  const headers = { etag: file.etag, 'cache-control': 'no-cache' }
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers)
    res.end()
    return
  }
  res.writeHead(200, { ...headers, 'content-type': file.type })
  res.end(file.body)
}
