/**
 * The Koa middleware: `app.use(session(sessions))` sets `ctx.session` and, once the downstream
 * middleware is done, saves it and sets its cookie. Koa writes the response only after the whole
 * stack has run, so no hooking is needed; a handler that writes to `ctx.res` itself
 * (`ctx.respond = false`) calls `await ctx.session.save()` first. A request that fails leaves
 * its session as it was.
 *
 * The client IP recorded with a session is `ctx.ip`, under Koa's `app.proxy` and
 * `app.maxIpsCount`. A store outage is answered with 503 and `Retry-After` by the middleware
 * itself; to answer it otherwise, change the response in a middleware mounted before this one,
 * after its `await next()` (`ctx.status === 503`), as with any Koa response.
 * @module
 */
import type { Middleware, ParameterizedContext } from 'koa'
import { type CsrfOptions, checkCsrf, csrfHeader } from '../features/csrf.js'
import type { Session } from '../session/session.js'
import type { CommitResult } from '../session/sessions.js'
import {
  type AdapterOptions,
  applyCommit,
  attachSave,
  type DeclaredSessions,
  type DeclaredShape,
  errorAnswer,
  formField,
  isStoreDown,
  openSession,
  refuseOwnTrust,
  storeUnavailable,
} from './shared.js'

/**
 * The shape of `ctx.session`'s data, app-wide. Declare it once and every `get`/`set` is typed
 * by it, and `session()` accepts only sessions made with it (`createSessions<AppSession>`).
 * While it declares no key, `ctx.session` takes any key and `session()` any sessions.
 * @example
 * declare module 'tessera/adapters/koa' {
 *   interface AppSession { username?: string }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: empty until the app declares its keys (declaration merging)
export interface AppSession {}

/** `ctx.session`'s type: a `Session` of the declared `AppSession`, or of any shape. */
export type KoaSession = Session<DeclaredShape<AppSession>>

declare module 'koa' {
  interface DefaultContext {
    /** The request's session, set by tessera's `session()` middleware. */
    session: KoaSession
  }
}

/**
 * Middleware that opens the request's session as `ctx.session` and sets its cookie on the
 * response. A session store outage is answered with 503 and `Retry-After`.
 * @example
 * app.use(session(sessions))
 * app.use((ctx) => { ctx.body = ctx.session.get('username') ?? 'anonymous' })
 */
export function session<T extends object>(
  sessions: DeclaredSessions<AppSession, T>,
  options: AdapterOptions = {},
): Middleware {
  refuseOwnTrust(options, "set Koa's `app.proxy = true` (and `app.maxIpsCount`) instead")
  return async (ctx, next) => {
    const opened = await openSession(
      sessions,
      ctx.req.headers,
      {
        userAgent: ctx.get('user-agent') || null,
        ip: ctx.ip || null,
      },
      options,
      // `ctx.secure` is Koa's answer under `app.proxy`.
      sessions.secureAuto ? () => ctx.secure : undefined,
    ).catch((error: unknown) => {
      const answer = errorAnswer(error)
      if (!answer) throw error
      ctx.status = answer.status
      ctx.set(answer.headers)
      ctx.body = answer.body
      return null
    })
    if (opened === null) return
    const apply = (result: CommitResult) => applyCommit(result, sinkOf(ctx))
    attachSave(opened, async () => apply(await sessions.commit(opened)))
    ctx.session = opened as unknown as KoaSession
    const upstream = new Set(ctx.res.getHeaderNames())
    try {
      await next()
      apply(await sessions.commit(opened))
    } catch (error) {
      if (!isStoreDown(error) || ctx.headerSent) throw error
      // What the failed handler set does not belong on the error; what middleware before this
      // one set (CORS headers, say) does.
      for (const name of ctx.res.getHeaderNames()) {
        if (!upstream.has(name)) ctx.res.removeHeader(name)
      }
      ctx.status = storeUnavailable.status
      ctx.set(storeUnavailable.headers)
      ctx.body = storeUnavailable.body
    }
  }
}

function sinkOf(ctx: ParameterizedContext) {
  return {
    get: (name: string) => {
      // Koa 3 returns the raw header value; Koa 2 returns '' for a missing one.
      const value = ctx.response.get(name)
      return value ? String(value) : null
    },
    set: (name: string, value: string) => ctx.set(name, value),
    appendSetCookie: (value: string) => ctx.append('set-cookie', value),
  }
}

/**
 * CSRF protection: POST, PUT, PATCH and DELETE must carry the session's token, in the
 * `X-CSRF-Token` header or, without that header, the `_csrf` field of a body a body parser put
 * on `ctx.request.body`;
 * otherwise the answer is 403 with the reason. Put `csrfInput(ctx.session)` in every form.
 * @example
 * app.use(session(sessions)).use(bodyParser()).use(csrf({ exempt: ['/webhooks/*'] }))
 */
export function csrf(options: CsrfOptions = {}): Middleware {
  return async (ctx, next) => {
    const token = ctx.get(csrfHeader) || formField((ctx.request as { body?: unknown }).body)
    const failure = checkCsrf(ctx.session, { method: ctx.method, path: ctx.path, token }, options)
    if (!failure) return next()
    ctx.status = failure.status
    ctx.type = 'text/plain'
    ctx.body = failure.message
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
