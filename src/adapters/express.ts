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
import type { Session, SessionShape } from '../core/session.js'
import type { Sessions } from '../core/sessions.js'
import { attachSession } from './node.js'
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
    attachSession(sessions, req, res, { ...options, onError }).then((opened) => {
      if (!opened) return
      req.session = opened as unknown as Session<AppSession>
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
