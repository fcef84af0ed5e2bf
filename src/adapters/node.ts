/**
 * The node:http adapter. The session's cookie must go out with the response headers, but a
 * server-side save is asynchronous, so `res.writeHead` and `res.end` are held until the session
 * is saved (as express-session does). A handler that streams a body with `res.write` calls
 * `await session.save()` first.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Session } from '../session/session.js'
import type { Sessions } from '../session/sessions.js'
import {
  defaultOnError,
  isClientGone,
  type NodeSessionOptions,
  openAndHook,
} from './node-response.js'
import { trustOf } from './shared.js'

export type { NodeSessionOptions }

/** A node:http handler that receives the request's session as its third argument. */
export type Handler<T extends object> = (
  req: IncomingMessage,
  res: ServerResponse,
  session: Session<T>,
) => unknown

/**
 * Wraps a node:http handler: it gets the request's session as its third argument, and the
 * response carries the session cookie.
 * @example
 * http.createServer(withSession(sessions, (req, res, session) => {
 *   res.end(session.get('username') ?? 'You are not logged in')
 * }))
 */
export function withSession<T extends object>(
  sessions: Sessions<T>,
  handler: Handler<T>,
  options: NodeSessionOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  // A mistake in `trustProxy` shows at start-up, not on the first login.
  trustOf(options)
  const fail = (error: unknown, req: IncomingMessage, res: ServerResponse): void => {
    // Anyone can open a request and leave: a stack trace for each would let them flood the log.
    if (isClientGone(error, req)) {
      options.onClientGone?.(req)
      res.destroy()
      return
    }
    // An unhandled rejection would bring the whole server down: answer this request alone.
    if (res.headersSent) res.destroy()
    else (options.onError ?? defaultOnError)(error, req, res)
  }
  const run = (req: IncomingMessage, res: ServerResponse, session: Session<T>): Promise<void> => {
    let result: unknown
    try {
      result = handler(req, res, session)
    } catch (error) {
      fail(error, req, res)
      return settled
    }
    if (!isThenable(result)) return settled
    return Promise.resolve(result).then(noop, (error: unknown) => fail(error, req, res))
  }
  // No promise hop before the handler when the session needs no store read: most requests.
  return (req, res) => {
    const opened = openAndHook(sessions, req, res, options)
    if (opened === null) return settled
    if (opened instanceof Promise) {
      return opened.then((session) => (session ? run(req, res, session) : undefined))
    }
    return run(req, res, opened)
  }
}

/**
 * Opens the request's session and hooks the response so it is saved before the headers go
 * out. Resolves to null when the response was already answered (the store is down).
 */
export function attachSession<T extends object>(
  sessions: Sessions<T>,
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeSessionOptions = {},
): Promise<Session<T> | null> {
  const opened = openAndHook(sessions, req, res, options)
  return opened instanceof Promise ? opened : Promise.resolve(opened)
}

const settled: Promise<void> = Promise.resolve()

function noop(): void {}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

export type { AdapterOptions, ProxyOptions, TrustProxy } from './shared.js'
