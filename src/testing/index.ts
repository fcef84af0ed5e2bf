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
  const { setCookie } = await sessions.commit(session)
  if (setCookie === null) return cookie ?? ''
  const pair = setCookie.slice(0, setCookie.indexOf(';'))
  return pair.endsWith('=') ? '' : pair
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
  const prefix = `${sessions.cookieName}=`
  const header = [...headers].reverse().find((h) => h.startsWith(prefix))
  if (header === undefined) {
    if (!cookie) return undefined
    const session = sessions.open(cookie)
    await session.load()
    return session.toJSON()
  }
  const end = header.indexOf(';')
  const value = header.slice(prefix.length, end === -1 ? undefined : end)
  if (value === '') return null
  const session = sessions.open(`${prefix}${value}`)
  await session.load()
  return session.toJSON()
}
