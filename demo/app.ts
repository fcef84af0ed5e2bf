/**
 * The demo site: the Flask tutorial app (`/` says who is logged in, `/login`, `/logout`) grown
 * into a small site that shows what tessera does: "Your sessions" lists and revokes a user's
 * sessions, and the inspector shows what the session holds and where. Every page is
 * server-rendered and works without JavaScript; every form carries a CSRF token.
 *
 * This module routes; each page lives in `pages/`, and what they share in `site.ts`.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  type CookieTooLargeError,
  createFormCsrf,
  isSessionError,
  type Secrets,
  type Session,
  type Sessions,
} from 'tessera'
import { withSession } from 'tessera/adapters/node'
import type { CookieCheck, DemoSession } from './config.js'
import { homeRoutes } from './pages/home.js'
import { inspectRoutes } from './pages/inspect.js'
import { loginRoutes } from './pages/login.js'
import { logoutRoutes } from './pages/logout.js'
import { notesRoutes } from './pages/notes.js'
import { sessionsRoutes } from './pages/sessions.js'
import { type Context, createSite, parseTarget, type Routes } from './site.js'
import { serveStatic } from './static.js'
import {
  footerHtml,
  methodNotAllowedPage,
  notFoundPage,
  serverErrorPage,
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
  /**
   * Cookie sessions: the codec and lifetime they were made with (`loadConfig`'s `cookieCheck`),
   * so the inspector can say which of several cookie values verified. Without it the inspector
   * names the value it shows only when the request carried one.
   */
  cookieCheck?: CookieCheck | null
}

/** What the demo counts rather than logs. */
export interface AppStats {
  /** Requests whose client went away before the answer (a body cut short, a socket closed). */
  clientGone: number
}

/** The demo's request handler, with its counters. */
export type DemoHandler = ((req: IncomingMessage, res: ServerResponse) => Promise<void>) & {
  readonly stats: AppStats
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

/**
 * The answer to a request whose session store is down: the node adapter's own default, kept
 * here because this app's `onError` answers every other error with a page of its own.
 */
const storeUnavailable = {
  status: 503,
  body: '{"error":"session_store_unavailable"}',
  headers: { 'content-type': 'application/json', 'retry-after': '5', 'cache-control': 'no-store' },
} as const

/** The demo's request handler. */
export function createApp(
  sessions: Sessions<DemoSession>,
  storeLabel: string,
  options: AppOptions = {},
): DemoHandler {
  const stats: AppStats = { clientGone: 0 }
  const inspector = options.inspector ?? true
  const site = createSite({
    sessions,
    storeLabel,
    inspector,
    footer: footerHtml(storeLabel, options.instance ?? null),
    // The login form is for visitors without a session, so its token must not make one.
    loginCsrf: createFormCsrf({
      name: 'login-csrf',
      secret: options.secret ?? randomBytes(32),
      secure: options.secureCookies ?? false,
    }),
    cookieCheck: options.cookieCheck ?? null,
  })

  const routes: Routes = {
    ...homeRoutes(site),
    ...loginRoutes(site),
    ...logoutRoutes(site),
    ...sessionsRoutes(site),
    ...notesRoutes(site),
    ...(inspector ? inspectRoutes(site) : {}),
  }

  async function route(req: IncomingMessage, res: ServerResponse, session: Session<DemoSession>) {
    const target = parseTarget(req.url)
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET')
    const ctx: Context = { req, res, session, query: target.query }
    const handlers = routes[target.path]
    const handler = handlers?.[method]
    if (handler) return afterHeaders(handler(ctx), req, res)
    if (handlers) {
      const allowed = Object.keys(handlers).join(', ')
      res.setHeader('allow', allowed.includes('GET') ? `${allowed}, HEAD` : allowed)
      return site.render(ctx, 405, 'Not allowed', methodNotAllowedPage(allowed), null)
    }
    return site.render(ctx, 404, 'Not found', notFoundPage(), null)
  }

  /** Answers what the adapter could not: a cookie too large, the store down, a bug. */
  function onError(error: unknown, _req: IncomingMessage, res: ServerResponse): void {
    setSecurityHeaders(res)
    if (isSessionError(error, 'COOKIE_TOO_LARGE')) {
      const { size, limit } = error as CookieTooLargeError
      site.send(res, 413, 'Session too large', tooLargePage(size, limit), null, null)
      return
    }
    if (isSessionError(error, 'STORE_UNAVAILABLE')) {
      res.writeHead(storeUnavailable.status, storeUnavailable.headers)
      res.end(storeUnavailable.body)
      return
    }
    console.error('tessera demo: the request failed', error)
    site.send(res, 500, 'Server error', serverErrorPage(), null, null)
  }

  const withSessions = withSession(sessions, route, {
    onError,
    onClientGone() {
      stats.clientGone++
    },
  })

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
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
  return Object.assign(handle, { stats })
}

/** What a stream fails with when the other end went away: no fault of the server's. */
const clientGoneCodes = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE'])

/**
 * A page that fails after it began its answer cannot be answered with an error page, and the
 * adapter then only drops the connection: say what failed first, so the log holds the cause.
 */
async function afterHeaders(
  pending: unknown,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    await pending
  } catch (error) {
    if (res.headersSent && !clientGoneCodes.has((error as { code?: unknown })?.code as string)) {
      console.error(
        `tessera demo: ${req.method} ${parseTarget(req.url).path} failed after its response began; the connection is closed`,
        error,
      )
    }
    throw error
  }
}

function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(securityHeaders)) res.setHeader(name, value)
}
