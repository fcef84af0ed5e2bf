/**
 * The Next.js App Router adapter. Next gives no hook at the end of a response, so each place
 * meets the session its own way:
 *
 * - Route Handlers and Server Actions: `getSession(sessions, await cookies())`, then
 *   `await session.save()` after the last change; the cookie (every chunk of a chunked one)
 *   goes out through `cookies().set`. These read the session from cookies alone: a client that
 *   carries its session in a header token (`token` option) reaches it through `sessionProxy`,
 *   which reads and answers the token's headers, since `cookies()` can set no other header.
 * - Server Components: `readSession(sessions, await cookies())`, read only. Next forbids setting
 *   a cookie while rendering, so a read there refreshes nothing: neither a permanent cookie's
 *   expiry nor a stored session's idle expiry. The proxy (middleware) does that.
 * - The proxy (`proxy.ts`, `middleware.ts` before Next 16): `sessionProxy(sessions, handler)`
 *   opens the session, lets the handler answer, and commits: the rolling refresh happens here,
 *   and a cookie it sets is seen by the same request's render.
 *
 * Nothing here imports `next`: its objects are met through the few members used.
 * @module
 */

import { parseSetCookie } from 'cookie'
import type { Session, SessionShape } from '../session/session.js'
import type { CommitResult, Sessions } from '../session/sessions.js'
import {
  type AdapterOptions,
  applyCommit,
  attachSave,
  clientIp,
  errorResponse,
  forwardedHttps,
  type HeaderSink,
  openSession,
  type ProxyOptions,
  type Trust,
  trustOf,
} from './shared.js'

/** A cookie as Next's cookie stores take it (`cookies().set({...})`). */
export interface NextCookie {
  name: string
  value: string
  expires?: Date
  maxAge?: number
  path?: string
  domain?: string
  secure?: boolean
  httpOnly?: boolean
  sameSite?: 'strict' | 'lax' | 'none'
  partitioned?: boolean
}

/** What reading a session needs of `await cookies()`: Next's read-only store has it. */
export interface NextCookieReader {
  /** Every cookie of the request: a chunked session's are `name.0`, `name.1`, … */
  getAll(): readonly { name: string; value: string }[]
}

/** What writing a session needs of `await cookies()`: Next's store in a Route Handler or Server Action. */
export interface NextCookieStore extends NextCookieReader {
  /** Sets a cookie on the response. */
  set(cookie: NextCookie): unknown
}

/** The request headers, as `await headers()` gives them. */
export interface NextHeaders {
  /** A request header's value, or null. */
  get(name: string): string | null
}

/** Options of `getSession` and `readSession`. */
export interface NextSessionOptions extends AdapterOptions, ProxyOptions {
  /**
   * The request's headers (`await headers()`), for the User-Agent and client IP recorded when
   * a request creates a server-side session; `X-Forwarded-For` is read as far as `trustProxy`
   * trusts it. Without them, nothing is recorded.
   */
  headers?: NextHeaders
}

/** A session a Server Component holds: every read, and nothing that changes it. */
export type ReadonlySession<T extends SessionShape = SessionShape> = Pick<
  Session<T>,
  | 'get'
  | 'has'
  | 'keys'
  | 'values'
  | 'entries'
  | 'size'
  | 'isEmpty'
  | 'toJSON'
  | 'isNew'
  | 'isLoaded'
  | 'userId'
  | 'createdAt'
  | 'rejectedReason'
> & {
  /** Whether the cookie outlives the browser. */
  readonly permanent: boolean
}

/**
 * The request's session in a Route Handler or a Server Action, read and write. Call
 * `await session.save()` after the last change: it commits the session (and writes its store)
 * and sets the cookie (each of a chunked session's cookies) through `cookies()`. The session is
 * read from cookies only, so it is never a header token's: serve token clients through
 * `sessionProxy`, whose response can carry the token's header. Throws `StoreError` when the
 * store is down.
 * @example
 * 'use server'
 * export async function login(form: FormData) {
 *   const session = await getSession(sessions, await cookies())
 *   session.regenerate()
 *   session.set('username', String(form.get('username')))
 *   await session.save()
 *   redirect('/')
 * }
 */
export async function getSession<T extends SessionShape>(
  sessions: Sessions<T>,
  cookies: NextCookieStore,
  options: NextSessionOptions = {},
): Promise<Session<T>> {
  const session = await open(sessions, cookies, options)
  attachSave(session, async () => {
    const result = await sessions.commit(session)
    if (result.setCookie !== null) cookies.set(toNextCookie(result.setCookie))
    // A cookie-carried session's further headers are Set-Cookie lines (chunks, and deletions of
    // chunks no longer needed); a token's header never comes, as no token was read.
    for (const [name, value] of result.headers ?? []) {
      if (name === 'set-cookie') cookies.set(toNextCookie(value))
    }
  })
  return session
}

/**
 * The request's session in a Server Component, to read. Nothing is written, not even a
 * rolling refresh, since Next lets no cookie be set while rendering: put `sessionProxy` in the
 * proxy for that. Throws `StoreError` when the store is down.
 * @example
 * export default async function Page() {
 *   const session = await readSession(sessions, await cookies())
 *   return <p>{session.get('username') ?? 'You are not logged in'}</p>
 * }
 */
export async function readSession<T extends SessionShape>(
  sessions: Sessions<T>,
  cookies: NextCookieReader,
  options: Omit<NextSessionOptions, 'lazy'> = {},
): Promise<ReadonlySession<T>> {
  // Always read at once: a read-only session has no `load()` to call later.
  const session = await open(sessions, cookies, { ...options, lazy: false })
  // A failed eager load is kept for the first read; a render that reads must see it now.
  session.isEmpty
  return session
}

/** Options of `sessionProxy`. */
export interface NextProxyOptions extends ProxyOptions {
  /**
   * Read the session on every request the proxy sees, so that its expiry slides as the engine
   * decides (a permanent cookie is re-issued, a stored session touched once per
   * `touchInterval`), even when the handler does not look at it. @default true
   */
  refresh?: boolean
}

/**
 * The proxy (`proxy.ts`; `middleware.ts` before Next 16) with the request's session: the
 * handler answers (`NextResponse.next()`, a redirect…), then the session is committed and its
 * cookie set on that response, and passed on to this request's render as well. With the
 * `token` option the session may come in a header instead, and its new value goes back in the
 * response's token header. A store outage is answered with 503 and `Retry-After`, a request
 * carrying both the cookie and a token with 400.
 * @example
 * export const proxy = sessionProxy(sessions, (request, session) =>
 *   request.nextUrl.pathname.startsWith('/admin') && !session.get('username')
 *     ? NextResponse.redirect(new URL('/login', request.url))
 *     : NextResponse.next())
 */
export function sessionProxy<T extends SessionShape, R extends Request = Request>(
  sessions: Sessions<T>,
  handler: (request: R, session: Session<T>) => Response | Promise<Response>,
  options: NextProxyOptions = {},
): (request: R) => Promise<Response> {
  const trust = trustOf(options)
  const refresh = options.refresh ?? true
  return async (request) => {
    const headers = request.headers
    let response: Response
    let result: CommitResult
    try {
      const session = await openSession(
        sessions,
        headers,
        () => metaOf(headers, trust),
        {},
        () => httpsOf(headers, trust, request.url.startsWith('https:')),
      )
      response = await handler(request, session)
      // Reading marks the session used, which is what lets the engine slide its expiry.
      if (refresh) session.isEmpty
      result = await sessions.commit(session)
    } catch (error) {
      const answer = errorResponse(error)
      if (!answer) throw error
      return answer
    }
    if (result.setCookie === null && !result.vary && result.headers === undefined) return response
    try {
      applyCommit(result, proxySink(response.headers))
      return response
    } catch {
      // The headers of `Response.redirect` and of fetched responses are immutable: copy them.
      const copy = new Response(response.body, response)
      applyCommit(result, proxySink(copy.headers))
      return copy
    }
  }
}

/** The header that carries the proxy's cookies to the same request's render (Next 14.2.8+). */
const renderCookies = 'x-middleware-set-cookie'

/**
 * Where a proxy's commit goes: `Set-Cookie` for the browser and, when the request goes on to
 * render (`NextResponse.next()` or a rewrite), the header Next merges into that render's
 * `cookies()`, so a page sees what the proxy just wrote (iron-session's issue #887).
 */
function proxySink(headers: Headers): HeaderSink {
  return {
    get: (name) => headers.get(name),
    set: (name, value) => headers.set(name, value),
    appendSetCookie(value) {
      headers.append('set-cookie', value)
      if (headers.has('x-middleware-next') || headers.has('x-middleware-rewrite')) {
        headers.append(renderCookies, value)
      }
    },
  }
}

function open<T extends SessionShape>(
  sessions: Sessions<T>,
  cookies: NextCookieReader,
  options: NextSessionOptions,
): Promise<Session<T>> {
  const name = sessions.cookieName
  const chunk = `${name}.`
  // Next's store keeps one value per name (the last in the header), so the rule that two valid
  // session cookies make a request anonymous holds in the proxy, which reads the raw header.
  // A chunked session's cookies (`name.0`, `name.1`…) come along for the transport to join.
  let header = ''
  for (const cookie of cookies.getAll()) {
    if (cookie.name !== name && !cookie.name.startsWith(chunk)) continue
    header += `${header === '' ? '' : '; '}${cookie.name}=${cookie.value}`
  }
  const trust = trustOf(options)
  const headers = options.headers
  return openSession(
    sessions,
    header || undefined,
    () => (headers ? metaOf(headers, trust) : {}),
    options,
    // A Server Action sees no URL: only the forwarded protocol, and only through `headers`.
    () => (headers ? httpsOf(headers, trust, false) : false),
  )
}

/** Whether the request came over HTTPS, for `secure: 'auto'`: as far as `trust` believes. */
function httpsOf(headers: NextHeaders, trust: Trust | null, connectionHttps: boolean): boolean {
  return forwardedHttps(
    connectionHttps,
    undefined,
    headers.get('x-forwarded-for'),
    headers.get('x-forwarded-proto'),
    trust,
  )
}

function metaOf(headers: NextHeaders, trust: Trust | null) {
  return {
    userAgent: headers.get('user-agent'),
    ip: clientIp(undefined, headers.get('x-forwarded-for'), trust),
  }
}

/** A `Set-Cookie` value as the object Next's `cookies().set` takes. */
function toNextCookie(setCookie: string): NextCookie {
  const parsed = parseSetCookie(setCookie)
  const cookie: NextCookie = { name: parsed.name, value: parsed.value ?? '' }
  if (parsed.expires !== undefined) cookie.expires = parsed.expires
  if (parsed.maxAge !== undefined) cookie.maxAge = parsed.maxAge
  if (parsed.path !== undefined) cookie.path = parsed.path
  if (parsed.domain !== undefined) cookie.domain = parsed.domain
  if (parsed.secure) cookie.secure = true
  if (parsed.httpOnly) cookie.httpOnly = true
  if (typeof parsed.sameSite === 'string') {
    cookie.sameSite = parsed.sameSite.toLowerCase() as NextCookie['sameSite'] & string
  }
  if (parsed.partitioned) cookie.partitioned = true
  return cookie
}
