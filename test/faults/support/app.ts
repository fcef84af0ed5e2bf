/**
 * The app every fault test drives over real HTTP: a node:http server with `withSession`, and a
 * client that records what each answer carried (status, Set-Cookie, Retry-After, time taken).
 * @module
 */
import { createServer } from 'node:http'
import { expect } from 'vitest'
import { withSession } from '../../../src/adapters/node.js'
import type { Sessions } from '../../../src/session/sessions.js'
import { type Listening, listen } from '../../support/http.js'

export const secret = 'fault-injection-secret-0123456789abcdef'

/**
 * Routes: `/public` never touches the session; `/whoami` reads it; `/set?k=&v=` and
 * `/big?k=&n=` write a key; `/login?user=` regenerates and binds a user; `/logout` destroys.
 */
export function startApp(sessions: Sessions): Promise<Listening> {
  const handler = withSession(sessions, (req, res, session) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const q = url.searchParams
    const json = () => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ user: session.userId, data: session.toJSON() }))
    }
    switch (url.pathname) {
      case '/public':
        return res.end('public')
      case '/whoami':
        return json()
      case '/set':
        session.set(q.get('k')!, q.get('v'))
        return json()
      case '/big':
        session.set(q.get('k')!, 'x'.repeat(Number(q.get('n'))))
        return res.end('ok')
      case '/login':
        session.regenerate()
        session.setUser(q.get('user'))
        session.set('user', q.get('user'))
        return json()
      case '/logout':
        session.destroy()
        return res.end('bye')
      default:
        res.statusCode = 404
        return res.end()
    }
  })
  return listen(createServer(handler))
}

/** What one answer carried. */
export interface Answer {
  status: number
  body: string
  setCookies: string[]
  retryAfter: string | null
  /** Milliseconds from sending to the whole body. */
  ms: number
  user: string | null
  data: Record<string, unknown>
}

/** Sends one request; never waits longer than `timeout` ms (a hang fails the test). */
export async function call(
  app: Listening,
  path: string,
  cookie?: string,
  timeout = 10_000,
): Promise<Answer> {
  const started = performance.now()
  const res = await app.fetch(path, {
    method: path.startsWith('/login') || path.startsWith('/logout') ? 'POST' : 'GET',
    headers: cookie ? { cookie } : {},
    signal: AbortSignal.timeout(timeout),
  })
  const body = await res.text()
  const ms = performance.now() - started
  let user: string | null = null
  let data: Record<string, unknown> = {}
  if (res.headers.get('content-type') === 'application/json' && res.status === 200) {
    const parsed = JSON.parse(body) as { user: string | null; data: Record<string, unknown> }
    user = parsed.user
    data = parsed.data
  }
  return {
    status: res.status,
    body,
    setCookies: res.headers.getSetCookie(),
    retryAfter: res.headers.get('retry-after'),
    ms,
    user,
    data,
  }
}

/** The `name=value` a Set-Cookie carries. */
export function cookieOf(answer: Answer): string {
  const header = answer.setCookies[0]
  if (!header) throw new Error(`no Set-Cookie on a ${answer.status}: ${answer.body}`)
  return header.slice(0, header.indexOf(';'))
}

/** Logs `user` in; returns the session cookie. */
export async function login(app: Listening, user: string): Promise<string> {
  const answer = await call(app, `/login?user=${encodeURIComponent(user)}`)
  expect(answer.status, answer.body).toBe(200)
  return cookieOf(answer)
}

/** The answer to a request whose session store is down: 503, Retry-After, no Set-Cookie. */
export function expectUnavailable(answer: Answer, what = ''): void {
  expect(answer.status, `${what} ${answer.body}`).toBe(503)
  expect(answer.body).toBe('{"error":"session_store_unavailable"}')
  expect(answer.retryAfter).not.toBeNull()
  expect(answer.setCookies, `${what}: a 503 must not touch the cookie`).toEqual([])
}

/** Whether a Set-Cookie deletes the cookie. */
export function deletes(setCookie: string): boolean {
  return /Max-Age=0/i.test(setCookie) || /=;/.test(setCookie)
}

/** Retries `fn` every 50 ms until it returns a truthy value, for at most `ms`. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | null | false | undefined>,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const value = await fn()
      if (value) return value as T
      last = value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${ms} ms (last: ${String(last)})`)
    await sleep(50)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Writes that were acknowledged: key → value of every `/set` that answered 200. After any fault
 * every one of them must still be there.
 */
export class Acknowledged {
  readonly writes = new Map<string, string>()

  async set(app: Listening, cookie: string, key: string, value: string): Promise<Answer> {
    const answer = await call(
      app,
      `/set?k=${encodeURIComponent(key)}&v=${encodeURIComponent(value)}`,
      cookie,
    )
    if (answer.status === 200) this.writes.set(key, value)
    else expect([200, 503], answer.body).toContain(answer.status)
    if (answer.status === 503) expectUnavailable(answer, `/set ${key}`)
    return answer
  }

  /** Checks that the session under `cookie` holds every acknowledged write. */
  async expectAllThere(app: Listening, cookie: string, user: string): Promise<void> {
    const answer = await call(app, '/whoami', cookie)
    expect(answer.status, answer.body).toBe(200)
    expect(answer.user).toBe(user)
    for (const [key, value] of this.writes)
      expect(answer.data[key], `acknowledged ${key}`).toBe(value)
    expect(answer.setCookies.filter(deletes)).toEqual([])
  }
}
