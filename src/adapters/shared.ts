/**
 * What every adapter does the same way: open a request's session, load it when it lives in a
 * store, and turn a commit into response headers.
 * @module
 */

import type { CommitResult, RequestMeta } from '../engines/types.js'
import { isSessionError } from '../errors.js'
import { deferLoadError, needsLoad, onSave } from '../session/handle.js'
import type { Session, SessionShape } from '../session/session.js'
import type { Sessions } from '../session/sessions.js'

/** Options every adapter takes. */
export interface AdapterOptions {
  /**
   * Don't read a server-side session before the handler runs; the handler calls
   * `await session.load()` when it needs it, so requests that never do cost no store call.
   * @default false
   */
  lazy?: boolean
  /**
   * Take the client IP from `X-Forwarded-For` (the right-most entry), for apps behind one
   * trusted reverse proxy. @default false
   */
  trustProxy?: boolean
}

/** The body of the answer to a request whose session store is down. */
export const storeUnavailable = {
  status: 503,
  body: '{"error":"session_store_unavailable"}',
  headers: {
    'content-type': 'application/json',
    'retry-after': '5',
    'cache-control': 'no-store',
  },
} as const

/** The 503 as a Fetch `Response`, for the adapters that answer with one. */
export function storeUnavailableResponse(): Response {
  return new Response(storeUnavailable.body, {
    status: storeUnavailable.status,
    headers: storeUnavailable.headers,
  })
}

/** Whether `error` is the store being down or slow: a 503, not a 500. */
export function isStoreDown(error: unknown): boolean {
  return isSessionError(error, 'STORE_UNAVAILABLE')
}

/**
 * Opens a session for a request and, unless lazy, reads it from its store. When the store is
 * down, the error is kept and thrown only if the handler touches the session, so pages that
 * never use it still answer during an outage.
 */
export async function openSession<T extends SessionShape>(
  sessions: Sessions<T>,
  cookie: string | undefined,
  meta: RequestMeta | (() => RequestMeta),
  options: AdapterOptions,
): Promise<Session<T>> {
  return openSessionNow(sessions, cookie, meta, options)
}

/**
 * `openSession` without a promise when none is needed: the session itself when nothing has to
 * be read from a store (cookie sessions, anonymous visitors, `lazy`), which saves every request
 * that reads no store the promise hops. Throws what `sessions.open` throws.
 */
export function openSessionNow<T extends SessionShape>(
  sessions: Sessions<T>,
  cookie: string | undefined,
  meta: RequestMeta | (() => RequestMeta) | undefined,
  options: AdapterOptions,
): Session<T> | Promise<Session<T>> {
  const session = sessions.open(cookie, meta)
  if (options.lazy || !needsLoad(session)) return session
  return session.load().then(
    () => session,
    (error: unknown) => {
      if (!isStoreDown(error)) throw error
      deferLoadError(session, error)
      return session
    },
  )
}

/** The client IP: the socket's address, or the proxy's word for it when trusted. */
export function clientIp(
  remote: string | undefined,
  forwarded: string | null | undefined,
  trustProxy: boolean | undefined,
): string | null {
  if (trustProxy && forwarded) {
    const last = forwarded.split(',').pop()?.trim()
    if (last) return last
  }
  return remote ?? null
}

/** A `Vary` value that includes `Cookie`. */
export function varyCookie(existing: string | null | undefined): string {
  if (!existing) return 'Cookie'
  if (/(^|,)\s*(cookie|\*)\s*(,|$)/i.test(existing)) return existing
  return `${existing}, Cookie`
}

/** The headers a commit adds, for adapters that set them one by one. */
export interface HeaderSink {
  get(name: string): string | null | undefined
  set(name: string, value: string): void
  appendSetCookie(value: string): void
}

/** Writes a commit's result into a response's headers. */
export function applyCommit(result: CommitResult, headers: HeaderSink): void {
  if (result.vary) headers.set('vary', varyCookie(headers.get('vary')))
  if (result.setCookie !== null) {
    headers.appendSetCookie(result.setCookie)
    // A cached response that sets a session cookie would hand that session to the next client.
    if (!headers.get('cache-control')) headers.set('cache-control', 'no-store')
  }
}

/** Attaches `save()` to a session, for handlers that must save before streaming. */
export function attachSave<T extends SessionShape>(
  session: Session<T>,
  save: () => Promise<void>,
): void {
  onSave(session, save)
}
