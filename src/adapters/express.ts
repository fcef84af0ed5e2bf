/**
 * The Express adapter (Express 5 and 4, and any Connect-style stack): `session(sessions)` sets
 * `req.session`, and the response carries its cookie. It builds on the node:http adapter, so the
 * session is saved before the headers go out; a handler that streams with `res.write` calls
 * `await req.session.save()` first.
 *
 * The client IP recorded with a session is `req.ip`, so Express's `trust proxy` setting decides
 * which proxies to believe. A store outage is a 503 with `Retry-After` without anything more:
 * its error goes to `next(err)` carrying `status` 503 and the header, which Express's final
 * handler answers, and an error middleware of the app's overrides it the Express way (check
 * `isSessionError(err, 'STORE_UNAVAILABLE')` from `tessera`). A `StoreError` carries both
 * wherever it is thrown, a `lazy` session's `await req.session.load()` in a handler included;
 * `sessionErrors()` answers tessera's JSON body instead of Express's page. (Express 4 does not
 * catch an async handler's rejection: pass it to `next` yourself, as with any error.)
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { ErrorRequestHandler, Request, RequestHandler } from 'express'
import { type CsrfOptions, checkCsrf, csrfHeader } from '../features/csrf.js'
import type { Session } from '../session/session.js'
import { openAndHook } from './node-response.js'
import {
  type AdapterOptions,
  type DeclaredSessions,
  type DeclaredShape,
  formField,
  isStoreDown,
  refuseOwnTrust,
  storeUnavailable,
} from './shared.js'

/**
 * The shape of `req.session`'s data, app-wide. Declare it once and every `get`/`set` is typed
 * by it, and `session()` accepts only sessions made with it (`createSessions<AppSession>`).
 * While it declares no key, `req.session` takes any key and `session()` any sessions.
 * @example
 * declare module 'tessera/adapters/express' {
 *   interface AppSession { username?: string }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: empty until the app declares its keys (declaration merging)
export interface AppSession {}

/** `req.session`'s type: a `Session` of the declared `AppSession`, or of any shape. */
export type ExpressSession = Session<DeclaredShape<AppSession>>

declare global {
  namespace Express {
    interface Request {
      /** The request's session, set by tessera's `session()` middleware. */
      session: ExpressSession
    }
  }
}

/**
 * Middleware that opens the request's session as `req.session`. Mount it before the routes
 * that use it.
 * @example
 * app.set('trust proxy', 1) // behind one reverse proxy
 * app.use(session(sessions))
 * app.get('/', (req, res) => res.send(req.session.get('username') ?? 'anonymous'))
 */
export function session<T extends object>(
  sessions: DeclaredSessions<AppSession, T>,
  options: AdapterOptions = {},
): RequestHandler {
  refuseOwnTrust(options, "set Express's `app.set('trust proxy', …)` instead")
  return (req, res, next) => {
    // Errors after this point (a failed save as the response ends) happen outside any handler,
    // so they are handed to Express's error handlers from here.
    const onError = (error: unknown) => next(error)
    const opened = openAndHook(
      sessions,
      req,
      res,
      { ...options, onError },
      'shared',
      clientAddress,
      isSecure,
    )
    if (opened === null) return
    if (!(opened instanceof Promise)) {
      req.session = opened as unknown as ExpressSession
      return next()
    }
    opened.then((session) => {
      if (!session) return
      req.session = session as unknown as ExpressSession
      next()
    }, onError)
  }
}

/** `req.secure`: whether the request came over HTTPS, under Express's `trust proxy` setting. */
function isSecure(req: IncomingMessage): boolean {
  return (req as Request).secure
}

/** `req.ip`: Express's answer under its `trust proxy` setting. */
function clientAddress(req: IncomingMessage): string | null {
  return (req as Request).ip ?? null
}

/**
 * Error middleware that answers a session store outage with 503, `Retry-After` and tessera's
 * JSON body, and passes every other error on. Not needed any more: without it a store outage
 * is still a 503 with `Retry-After` (see the module's notes). Mount it after the routes for
 * tessera's JSON body.
 * @example
 * app.use(sessionErrors())
 */
export function sessionErrors(): ErrorRequestHandler {
  return (error, _req, res, next) => {
    if (!isStoreDown(error) || res.headersSent) return next(error)
    // Headers the handler set before it failed do not belong on the error (as in finalhandler).
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    res.status(storeUnavailable.status).set(storeUnavailable.headers).send(storeUnavailable.body)
  }
}

/**
 * CSRF protection: POST, PUT, PATCH and DELETE must carry the session's token, in the
 * `X-CSRF-Token` header or, without that header, the `_csrf` form field (parse the body first,
 * e.g. `express.urlencoded()`); otherwise the answer is 403 with the reason. Put
 * `csrfInput(req.session)` in every form.
 * @example
 * app.use(express.urlencoded({ extended: false }), session(sessions), csrf({ exempt: ['/webhooks/*'] }))
 */
export function csrf(options: CsrfOptions = {}): RequestHandler {
  return (req, res, next) => {
    const token = req.get(csrfHeader) ?? formField(req.body as Record<string, unknown> | undefined)
    const failure = checkCsrf(req.session, { method: req.method, path: req.path, token }, options)
    if (!failure) return next()
    res.status(failure.status).type('text/plain').send(failure.message)
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
