/**
 * The Fetch API adapter: `Request` in, `Response` out. Serves Hono, Bun, Deno, edge runtimes
 * and any server built on Web-standard handlers.
 * @module
 */

import type { Session } from '../session/session.js'
import type { CommitResult, Sessions } from '../session/sessions.js'
import {
  type AdapterOptions,
  applyCommit,
  attachSave,
  clientIp,
  errorResponse,
  forwardedHttps,
  isStoreDown,
  openSession,
  type ProxyOptions,
  storeUnavailableResponse,
  trustOf,
} from './shared.js'

/** Options of `withSession` for Fetch handlers. */
export interface FetchSessionOptions extends AdapterOptions, ProxyOptions {
  /**
   * The address of the connection's peer, where the runtime knows it (e.g. Bun's
   * `server.requestIP`); `X-Forwarded-For` is read only as far as `trustProxy` trusts.
   */
  ip?: (request: Request) => string | null | undefined
}

/** A Fetch handler that receives the request's session. */
export type SessionHandler<T extends object, Rest extends unknown[]> = (
  request: Request,
  session: Session<T>,
  ...rest: Rest
) => Response | Promise<Response>

/**
 * Wraps a Fetch handler: it gets the request's session, and the response gets its cookie.
 * A store outage becomes a 503 with `Retry-After`.
 * @example
 * export default { fetch: withSession(sessions, (req, session) => new Response(session.get('username') ?? 'anonymous')) }
 */
export function withSession<T extends object, Rest extends unknown[] = []>(
  sessions: Sessions<T>,
  handler: SessionHandler<T, Rest>,
  options: FetchSessionOptions = {},
): (request: Request, ...rest: Rest) => Promise<Response> {
  const trust = trustOf(options)
  return async (request, ...rest) => {
    const headers = request.headers
    let session: Session<T>
    try {
      session = await openSession(
        sessions,
        headers,
        {
          userAgent: headers.get('user-agent'),
          ip: clientIp(options.ip?.(request) ?? undefined, headers.get('x-forwarded-for'), trust),
        },
        options,
        sessions.secureAuto
          ? () =>
              forwardedHttps(
                request.url.startsWith('https:'),
                options.ip?.(request) ?? undefined,
                headers.get('x-forwarded-for'),
                headers.get('x-forwarded-proto'),
                trust,
              )
          : undefined,
      )
    } catch (error) {
      const answer = errorResponse(error)
      if (!answer) throw error
      return answer
    }
    let saved: CommitResult | null = null
    attachSave(session, async () => {
      saved = await sessions.commit(session)
    })
    let response: Response
    try {
      response = await handler(request, session, ...rest)
    } catch (error) {
      if (isStoreDown(error)) return storeUnavailableResponse()
      throw error
    }
    let result: CommitResult
    try {
      result = await sessions.commit(session)
    } catch (error) {
      if (isStoreDown(error)) return storeUnavailableResponse()
      throw error
    }
    const results = saved === null ? [result] : [saved, result]
    if (results.every((r) => r.setCookie === null && !r.vary)) return response
    // Headers of some responses (Response.redirect, fetch results) are immutable: copy them.
    const out = new Headers(response.headers)
    const target = {
      get: (name: string) => out.get(name),
      set: (name: string, value: string) => out.set(name, value),
      appendSetCookie: (value: string) => out.append('set-cookie', value),
    }
    for (const r of results) applyCommit(r, target)
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: out,
    })
  }
}

export type { AdapterOptions, ProxyOptions, TrustProxy } from './shared.js'
