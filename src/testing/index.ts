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
 * The session as a response left it: an object, or null when the response deleted the session
 * cookie. A server-side session changes in the store without a new cookie: pass the request's
 * `cookie` to read it then. Undefined when the response set no cookie and none was given.
 */
export async function readSession<T extends object>(
  sessions: Sessions<T>,
  response: Response | Headers | string | readonly string[],
  cookie?: string,
): Promise<Partial<T> | null | undefined> {
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
  if (lines.length === 0) {
    if (!cookie) return undefined
    const session = sessions.open(cookie)
    await session.load()
    return session.toJSON()
  }
  const next = applySetCookies(name, cookie, lines)
  if (next === '') return null
  const session = sessions.open(next)
  await session.load()
  return session.toJSON()
}
