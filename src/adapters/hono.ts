/**
 * The Hono middleware: `app.use(session(sessions))` puts the request's session in
 * `c.get('session')`, typed by `SessionEnv`. It commits after the handler, so the cookie goes
 * on whatever response the handler returned, even one with immutable headers.
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono'
import { type CsrfOptions, checkCsrf, csrfField, csrfHeader } from '../features/csrf.js'
import type { Session } from '../session/session.js'
import type { CommitResult } from '../session/sessions.js'
import {
  type AdapterOptions,
  applyCommit,
  attachSave,
  type BoundShape,
  clientIp,
  type DeclaredSessions,
  type DeclaredShape,
  errorResponse,
  forwardedHttps,
  isStoreDown,
  openSession,
  type ProxyOptions,
  storeUnavailable,
  storeUnavailableResponse,
  trustOf,
} from './shared.js'

/**
 * The shape of `c.get('session')`'s data, app-wide, for apps that type their Hono app with
 * `SessionEnv` and no argument. Declare it once and `session()` accepts only sessions made
 * with it (`createSessions<AppSession>`). While it declares no key, any sessions are accepted.
 * @example
 * declare module 'tessera/adapters/hono' {
 *   interface AppSession { username?: string }
 * }
 * const app = new Hono<SessionEnv>()
 */
// biome-ignore lint/suspicious/noEmptyInterface: empty until the app declares its keys (declaration merging)
export interface AppSession {}

/**
 * The Hono environment the middleware provides: `c.get('session')` is a `Session<T>`, by
 * default of the declared `AppSession` (or of any shape while none is declared).
 * @example
 * const app = new Hono<SessionEnv<{ username?: string }>>()
 */
export type SessionEnv<T extends object = DeclaredShape<AppSession>> = {
  Variables: { session: Session<T> }
}

/** Options of the Hono middleware. */
export interface HonoSessionOptions extends AdapterOptions, ProxyOptions {
  /**
   * The address of the connection's peer, which only the runtime knows; on Node through
   * `@hono/node-server`: `(c) => getConnInfo(c).remote.address`. `X-Forwarded-For` is read
   * only as far as `trustProxy` trusts the proxies in front.
   */
  ip?: (c: Context) => string | null | undefined
}

/**
 * Middleware that opens the request's session as `c.get('session')` and sets its cookie on the
 * response. A session store outage is answered with 503 and `Retry-After`, unless the app's
 * `onError` already answered it with a 503 of its own.
 * @example
 * const app = new Hono<SessionEnv<{ username?: string }>>()
 * app.use(session(sessions))
 * app.get('/', (c) => c.text(c.get('session').get('username') ?? 'anonymous'))
 */
export function session<T extends object>(
  sessions: DeclaredSessions<AppSession, T>,
  options: HonoSessionOptions = {},
): MiddlewareHandler<SessionEnv<BoundShape<AppSession, T>>> {
  const trust = trustOf(options)
  return async (c, next) => {
    let opened: Session<T>
    try {
      opened = await openSession(
        sessions,
        c.req.raw.headers,
        {
          userAgent: c.req.header('user-agent') ?? null,
          ip: clientIp(options.ip?.(c) ?? undefined, c.req.header('x-forwarded-for'), trust),
        },
        options,
        sessions.secureAuto
          ? () =>
              forwardedHttps(
                c.req.url.startsWith('https:'),
                options.ip?.(c) ?? undefined,
                c.req.header('x-forwarded-for'),
                c.req.header('x-forwarded-proto'),
                trust,
              )
          : undefined,
      )
    } catch (error) {
      const answer = errorResponse(error)
      if (!answer) throw error
      return answer
    }
    const results: CommitResult[] = []
    attachSave(opened, async () => {
      results.push(await sessions.commit(opened))
    })
    c.set('session', opened)

    await next()

    // Hono hands a handler's error to `onError` before control returns here; its response is in
    // `c.res`. The default `onError` makes a store outage a 500: make it the 503 it is.
    if (c.error) {
      if (isStoreDown(c.error) && c.res.status !== storeUnavailable.status)
        replace(c, storeUnavailableResponse())
      return
    }
    try {
      results.push(await sessions.commit(opened))
    } catch (error) {
      if (!isStoreDown(error)) throw error
      replace(c, storeUnavailableResponse())
      return
    }
    if (results.every((r) => r.setCookie === null && !r.vary)) return
    // Some responses' headers are immutable (`Response.redirect`, a `fetch` result): copy those.
    let response = c.res
    try {
      for (const r of results) applyCommit(r, sinkOf(response.headers))
    } catch {
      response = new Response(c.res.body, c.res)
      for (const r of results) applyCommit(r, sinkOf(response.headers))
      replace(c, response)
    }
  }
}

function sinkOf(headers: Headers) {
  return {
    get: (name: string) => headers.get(name),
    set: (name: string, value: string) => headers.set(name, value),
    appendSetCookie: (value: string) => headers.append('set-cookie', value),
  }
}

/** Puts `response` in place of `c.res` as it is. */
function replace(c: Context, response: Response): void {
  // Assigning over an existing response would copy the old one's headers onto the new.
  c.res = undefined
  c.res = response
}

/**
 * CSRF protection: POST, PUT, PATCH and DELETE must carry the session's token, in the
 * `X-CSRF-Token` header or, without that header, the `_csrf` field of a form body; otherwise the answer is 403 with
 * the reason. Put `csrfInput(c.get('session'))` in every form.
 * @example
 * app.use(session(sessions), csrf({ exempt: ['/webhooks/*'] }))
 */
export function csrf<T extends object>(
  options: CsrfOptions = {},
): MiddlewareHandler<SessionEnv<T>> {
  return async (c, next) => {
    let token = c.req.header(csrfHeader)
    const type = c.req.header('content-type') ?? ''
    const isForm =
      type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')
    if (!token && isForm && !['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) {
      // Hono caches the parsed body, so the handler can still read it.
      const field = (await c.req.parseBody())[csrfField]
      if (typeof field === 'string') token = field
    }
    const failure = checkCsrf(
      c.get('session'),
      { method: c.req.method, path: c.req.path, token },
      options,
    )
    if (failure) return c.text(failure.message, failure.status)
    await next()
  }
}

export type {
  AdapterOptions,
  BoundShape,
  DeclaredSessions,
  DeclaredShape,
  ProxyOptions,
  TrustProxy,
} from './shared.js'
