/**
 * The node:http adapter. The session's cookie must go out with the response headers, but a
 * server-side save is asynchronous, so `res.writeHead` and `res.end` are held until the session
 * is saved (as express-session does). A handler that streams a body with `res.write` calls
 * `await session.save()` first.
 * @module
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Session, SessionShape } from '../core/session.js'
import type { CommitResult, Sessions } from '../core/sessions.js'
import { SessionError } from '../errors.js'
import {
  type AdapterOptions,
  applyCommit,
  attachSave,
  clientIp,
  isStoreDown,
  openSessionNow,
  storeUnavailable,
} from './shared.js'

/** Options of the node:http adapter. */
export interface NodeSessionOptions extends AdapterOptions {
  /**
   * Answers a request whose session could not be saved or loaded. The default answers a store
   * outage with 503 and `Retry-After`, and anything else with 500.
   */
  onError?: (error: unknown, req: IncomingMessage, res: ServerResponse) => void
}

type Handler<T extends SessionShape> = (
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
export function withSession<T extends SessionShape>(
  sessions: Sessions<T>,
  handler: Handler<T>,
  options: NodeSessionOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const fail = (error: unknown, req: IncomingMessage, res: ServerResponse): void => {
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
export function attachSession<T extends SessionShape>(
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

/** `attachSession`, synchronous unless the session must be read from its store first. */
function openAndHook<T extends SessionShape>(
  sessions: Sessions<T>,
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeSessionOptions,
): Session<T> | null | Promise<Session<T> | null> {
  const onError = options.onError ?? defaultOnError
  let opened: Session<T> | Promise<Session<T>>
  try {
    // Cookie sessions never look at who made the request: skip reading it.
    const meta = sessions.mode === 'cookie' ? undefined : requestMeta(req, options)
    opened = openSessionNow(sessions, req.headers.cookie, meta, options)
  } catch (error) {
    onError(error, req, res)
    return null
  }
  if (!(opened instanceof Promise)) {
    hookResponse(sessions, opened, req, res, onError)
    return opened
  }
  return opened.then(
    (session) => {
      hookResponse(sessions, session, req, res, onError)
      return session
    },
    (error: unknown) => {
      onError(error, req, res)
      return null
    },
  )
}

function requestMeta(
  req: IncomingMessage,
  options: NodeSessionOptions,
): { userAgent: string | null; ip: string | null } {
  const forwarded = req.headers['x-forwarded-for']
  return {
    userAgent: req.headers['user-agent'] ?? null,
    ip: clientIp(
      req.socket.remoteAddress,
      Array.isArray(forwarded) ? forwarded.join(',') : forwarded,
      options.trustProxy,
    ),
  }
}

function hookResponse<T extends SessionShape>(
  sessions: Sessions<T>,
  session: Session<T>,
  req: IncomingMessage,
  res: ServerResponse,
  onError: NonNullable<NodeSessionOptions['onError']>,
): void {
  const { end, writeHead, write } = res
  let done = false

  function apply(result: CommitResult): void {
    done = true
    if (res.headersSent) return
    applyCommit(result, {
      get: (name) => {
        const value = res.getHeader(name)
        return value === undefined ? null : String(value)
      },
      set: (name, value) => res.setHeader(name, value),
      appendSetCookie: (value) => {
        const existing = res.getHeader('set-cookie')
        if (existing === undefined) res.setHeader('set-cookie', value)
        else
          res.setHeader('set-cookie', [
            ...(Array.isArray(existing) ? existing : [String(existing)]),
            value,
          ])
      },
    })
  }

  function trySync(): boolean {
    if (done) return true
    const result = sessions.commitSync(session)
    if (result === null) return false
    apply(result)
    return true
  }

  function restore(): void {
    res.end = end
    res.writeHead = writeHead
    res.write = write
  }

  function fail(error: unknown): void {
    done = true
    restore()
    if (res.headersSent) {
      res.destroy(error instanceof Error ? error : undefined)
      return
    }
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    onError(error, req, res)
  }

  attachSave(session, async () => {
    if (done) return
    apply(await sessions.commit(session))
  })

  res.writeHead = function (
    this: ServerResponse,
    ...args: Parameters<ServerResponse['writeHead']>
  ) {
    if (done || res.headersSent || trySync()) return writeHead.apply(res, args)
    // A store write is due: keep status and headers on the response until `end` has saved.
    const [status, second, third] = args as unknown as [number, unknown, unknown]
    res.statusCode = status
    if (typeof second === 'string') res.statusMessage = second
    const headers = (typeof second === 'string' ? third : second) as
      | OutgoingHttpHeaders
      | (string | string[])[]
      | undefined
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) {
        res.setHeader(String(headers[i]), headers[i + 1] as string | string[])
      }
    } else if (headers) {
      for (const [name, value] of Object.entries(headers)) {
        if (value !== undefined) res.setHeader(name, value)
      }
    }
    return res
  } as ServerResponse['writeHead']

  res.write = function (this: ServerResponse, ...args: Parameters<ServerResponse['write']>) {
    if (!done && !res.headersSent && !trySync()) {
      throw new SessionError(
        'SAVE_BEFORE_STREAMING',
        'the session changed and must be saved before the response is streamed; ' +
          'call `await session.save()` before `res.write()`',
      )
    }
    return write.apply(res, args)
  } as ServerResponse['write']

  res.end = function (this: ServerResponse, ...args: unknown[]) {
    if (done || res.headersSent || trySync()) {
      restore()
      return (end as (...a: unknown[]) => ServerResponse).apply(res, args)
    }
    sessions.commit(session).then((result) => {
      apply(result)
      restore()
      ;(end as (...a: unknown[]) => ServerResponse).apply(res, args)
    }, fail)
    return res
  } as ServerResponse['end']
}

function defaultOnError(error: unknown, _req: IncomingMessage, res: ServerResponse): void {
  if (isStoreDown(error)) {
    res.writeHead(storeUnavailable.status, storeUnavailable.headers)
    res.end(storeUnavailable.body)
    return
  }
  console.error('tessera: the request failed', error)
  res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
  res.end('Internal Server Error')
}
