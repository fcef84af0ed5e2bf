/**
 * Helpers for an app's tests, as Flask's `session_transaction()` and Django's `client.session`:
 * make a request that carries a given session, and read the session a response set, in every
 * mode, without knowing the cookie format.
 * @module
 */
import type { Session } from '../session/session.js'
import type { Sessions } from '../session/sessions.js'

/**
 * Opens the session a `Cookie` header carries (or a new one), lets `edit` change it, saves it,
 * and returns the `Cookie` header for the next request: `name=value`, or '' once deleted.
 * @example
 * const cookie = await sessionTransaction(sessions, undefined, (s) => s.set('username', 'admin'))
 * const res = await app.request('/', { headers: { cookie } })
 */
export async function sessionTransaction<T extends object>(
  sessions: Sessions<T>,
  cookie: string | undefined,
  edit: (session: Session<T>) => unknown,
): Promise<string> {
  const session = sessions.open(cookie)
  await session.load()
  await edit(session)
  const { setCookie, headers = [] } = await sessions.commit(session)
  if (setCookie === null) return cookie ?? ''
  const lines = [setCookie]
  for (const [name, value] of headers) if (name === 'set-cookie') lines.push(value)
  return applySetCookies(sessions.cookieName, cookie, lines)
}

/**
 * The session's cookies a browser sends after applying `lines` to those of `cookie`: the plain
 * cookie, or the chunks of a large session (`cookie: { chunks: true }`); '' when none is left.
 */
function applySetCookies(name: string, cookie: string | undefined, lines: readonly string[]) {
  const jar = new Map<string, string>()
  const ours = (key: string) => key === name || key.startsWith(`${name}.`)
  for (const pair of (cookie ?? '').split(';')) {
    const eq = pair.indexOf('=')
    if (eq > 0 && ours(pair.slice(0, eq).trim()))
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
  }
  for (const line of lines) {
    const end = line.indexOf(';')
    const pair = end === -1 ? line : line.slice(0, end)
    const eq = pair.indexOf('=')
    const key = pair.slice(0, eq)
    if (!ours(key)) continue
    if (/;\s*max-age=0\s*(;|$)/i.test(line) || eq === pair.length - 1) jar.delete(key)
    else jar.set(key, pair.slice(eq + 1))
  }
  return [...jar].map(([key, value]) => `${key}=${value}`).join('; ')
}

/** A `Cookie` header carrying a new session that holds `data`. */
export function sessionCookie<T extends object>(
  sessions: Sessions<T>,
  data: Partial<T>,
  options: { permanent?: boolean; userId?: string } = {},
): Promise<string> {
  return sessionTransaction(sessions, undefined, (session) => {
    session.update(data)
    if (options.permanent) session.permanent = true
    if (options.userId !== undefined) session.setUser(options.userId)
  })
}

/**
 * The request headers of a client that carries its session in a header token (the `token`
 * option), holding a new session with `data`: `{ authorization: 'Bearer …' }`, or the app's own
 * header. Throws when the sessions take no tokens.
 * @example
 * const headers = await sessionToken(sessions, { username: 'admin' })
 * const res = await fetch(`${origin}/api/me`, { headers })
 */
export async function sessionToken<T extends object>(
  sessions: Sessions<T>,
  data: Partial<T>,
  options: { permanent?: boolean; userId?: string } = {},
): Promise<Record<string, string>> {
  const { header, responseHeader } = tokenOf(sessions)
  // The header with no token in it is how a client asks for a new session.
  const session = sessions.open({ [header]: header === 'authorization' ? 'Bearer' : '' })
  await session.load()
  session.update(data)
  if (options.permanent) session.permanent = true
  if (options.userId !== undefined) session.setUser(options.userId)
  const { headers = [] } = await sessions.commit(session)
  const token = headers.find(([name]) => name === responseHeader)?.[1]
  if (!token) throw new Error('the session was not saved: it gave no token')
  return tokenHeaders(header, token)
}

function tokenOf(sessions: { readonly token: Sessions['token'] }) {
  if (!sessions.token) {
    throw new Error(
      'these sessions take no header tokens: create them with `token: true` (or `token: { header }`)',
    )
  }
  return sessions.token
}

function tokenHeaders(header: string, token: string): Record<string, string> {
  return { [header]: header === 'authorization' ? `Bearer ${token}` : token }
}

/**
 * The session as a response left it: an object, or null when the response deleted the session
 * (its cookie, or its header token). A server-side session changes in the store without a new
 * cookie or token: pass what the request carried (its `Cookie` header, or the headers from
 * `sessionToken`) to read it then. Undefined when the response set nothing and the request
 * carried nothing.
 */
export async function readSession<T extends object>(
  sessions: Sessions<T>,
  response: Response | Headers | string | readonly string[],
  request?: string | Readonly<Record<string, string>>,
): Promise<Partial<T> | null | undefined> {
  const token = sessions.token
  const answered =
    token && isResponse(response)
      ? (response instanceof Response ? response.headers : response).get(token.responseHeader)
      : null
  if (answered === '') return null
  if (token && answered !== null) return loaded(sessions, tokenHeaders(token.header, answered))
  // A token request the response left alone: its token still holds the session.
  if (typeof request === 'object') return loaded(sessions, request)
  const cookie = request
  const headers =
    typeof response === 'string'
      ? [response]
      : response instanceof Response
        ? response.headers.getSetCookie()
        : response instanceof Headers
          ? response.getSetCookie()
          : response
  const name = sessions.cookieName
  const lines = [...headers].filter((h) => h.startsWith(`${name}=`) || h.startsWith(`${name}.`))
  if (lines.length === 0) return cookie ? loaded(sessions, cookie) : undefined
  const next = applySetCookies(name, cookie, lines)
  return next === '' ? null : loaded(sessions, next)
}

async function loaded<T extends object>(
  sessions: Sessions<T>,
  headers: string | Readonly<Record<string, string>>,
): Promise<Partial<T>> {
  const session = sessions.open(headers)
  await session.load()
  return session.toJSON()
}

function isResponse(value: unknown): value is Response | Headers {
  return value instanceof Response || value instanceof Headers
}
