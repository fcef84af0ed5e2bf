/**
 * The Express adapter (Express 5 and 4, and any Connect-style stack): `session(sessions)` sets
 * `req.session`, and the response carries its cookie. It builds on the node:http adapter, so the
 * session is saved before the headers go out; a handler that streams with `res.write` calls
 * `await req.session.save()` first. Errors, a store outage included, go to `next(err)`;
 * `sessionErrors()` answers store outages with the 503 every tessera adapter gives. (Express 4
 * does not catch an async handler's rejection: pass it to `next` yourself, as with any error.)
 * @module
 */
import type { ErrorRequestHandler, RequestHandler } from 'express'
import { type CsrfOptions, checkCsrf, csrfField, csrfHeader } from '../features/csrf.js'
import type { Session, SessionShape } from '../session/session.js'
import type { Sessions } from '../session/sessions.js'
import { openAndHook } from './node-response.js'
import { type AdapterOptions, isStoreDown, storeUnavailable } from './shared.js'

/**
 * The shape of `req.session`'s data, app-wide. Augment it once and every `get`/`set` is typed.
 * @example
 * declare module 'tessera/adapters/express' {
 *   interface AppSession { username?: string }
 * }
 */
export interface AppSession extends SessionShape {}

declare global {
  namespace Express {
    interface Request {
      /** The request's session, set by tessera's `session()` middleware. */
      session: Session<AppSession>
    }
  }
}

/**
 * Middleware that opens the request's session as `req.session`. Mount it before the routes
 * that use it, and `sessionErrors()` after them.
 * @example
 * app.use(session(sessions))
 * app.get('/', (req, res) => res.send(req.session.get('username') ?? 'anonymous'))
 * app.use(sessionErrors())
 */
export function session<T extends SessionShape>(
  sessions: Sessions<T>,
  options: AdapterOptions = {},
): RequestHandler {
  return (req, res, next) => {
    // Errors after this point (a failed save as the response ends) happen outside any handler,
    // so they are handed to Express's error handlers from here.
    const onError = (error: unknown) => next(error)
    const opened = openAndHook(sessions, req, res, { ...options, onError }, 'shared')
    if (opened === null) return
    if (!(opened instanceof Promise)) {
      req.session = opened as unknown as Session<AppSession>
      return next()
    }
    opened.then((session) => {
      if (!session) return
      req.session = session as unknown as Session<AppSession>
      next()
    }, onError)
  }
}

/**
 * Error middleware that answers a session store outage with 503, `Retry-After` and a JSON body,
 * and passes every other error on. Mount it after the routes.
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
 * CSRF protection: POST, PUT, PATCH and DELETE must carry the session's token, in the `_csrf`
 * form field (parse the body first, e.g. `express.urlencoded()`) or the `X-CSRF-Token` header;
 * otherwise the answer is 403 with the reason. Put `csrfInput(req.session)` in every form.
 * @example
 * app.use(express.urlencoded({ extended: false }), session(sessions), csrf({ exempt: ['/webhooks/*'] }))
 */
export function csrf(options: CsrfOptions = {}): RequestHandler {
  return (req, res, next) => {
    const body = req.body as Record<string, unknown> | undefined
    const field = body?.[csrfField]
    const token = typeof field === 'string' ? field : req.get(csrfHeader)
    const failure = checkCsrf(req.session, { method: req.method, path: req.path, token }, options)
    if (!failure) return next()
    res.status(failure.status).type('text/plain').send(failure.message)
  }
}
