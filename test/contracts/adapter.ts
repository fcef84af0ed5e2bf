/**
 * The adapter conformance suite: every framework adapter passes it unchanged.
 *
 * Each adapter test wires the same routes into its framework (see `suiteRoutes`) and hands the
 * suite a `fetch` to reach it: in-process where the framework allows, over loopback otherwise.
 * The suite runs it with cookie sessions and with a store that can be made to fail.
 *
 * Every suite app trusts two proxy hops through its framework's own setting (Express's
 * `trust proxy`, Fastify's `trustProxy`, Koa's `proxy` and `maxIpsCount`, the `trustProxy`
 * option elsewhere), or none when built with `{ trustProxy: false }`, and mounts nothing for
 * errors beyond the session middleware.
 * @module
 */
import { parseSetCookie } from 'cookie'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkCsrf } from '../../src/features/csrf.js'
import type { Session } from '../../src/session/session.js'
import { createSessions, type Sessions, type StoreSessions } from '../../src/session/sessions.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { spyStore } from '../support/spy-store.js'

/** The session data of the suite's app. */
export type SuiteShape = { user?: string; [key: string]: unknown }

/** What a suite route answers (`redirect` as a 303); each adapter test sends it its framework's way. */
export type SuiteReply = { text: string } | { json: unknown } | { redirect: string }

/** One route of the suite's app, free of any framework. */
export interface SuiteRoute {
  method: 'GET' | 'POST'
  path: string
  handle(session: Session, query: URLSearchParams): SuiteReply
}

/**
 * The app every adapter builds, route for route: each adapter test only wires these into its
 * framework, so the adapters are compared on the same handlers. `GET /boom` throws, for the
 * framework's own error handling to answer. A store outage must reach the client as the
 * adapter's 503 (the default answer).
 */
export const suiteRoutes: readonly SuiteRoute[] = [
  { method: 'GET', path: '/public', handle: () => ({ text: 'public' }) },
  {
    method: 'GET',
    path: '/whoami',
    handle: (session) => ({ json: { user: session.get('user') ?? null } }),
  },
  {
    method: 'POST',
    path: '/login',
    handle(session, query) {
      const user = query.get('user') ?? ''
      session.regenerate()
      session.set('user', user)
      session.setUser(user)
      return { redirect: '/whoami' }
    },
  },
  {
    method: 'POST',
    path: '/set',
    handle(session, query) {
      session.set(query.get('k')!, query.get('v'))
      return { text: 'ok' }
    },
  },
  {
    method: 'POST',
    path: '/logout',
    handle(session) {
      session.destroy()
      return { text: 'bye' }
    },
  },
  {
    method: 'GET',
    path: '/get',
    handle: (session, query) => ({ json: { value: session.get(query.get('k')!) ?? null } }),
  },
  {
    // What every adapter's csrf() asks: whether this request would pass the CSRF check.
    method: 'POST',
    path: '/guarded',
    handle: (session) => ({
      json: {
        allowed: checkCsrf(session, { method: 'POST', path: '/guarded', token: null }) === null,
      },
    }),
  },
  {
    method: 'GET',
    path: '/boom',
    handle() {
      throw new Error('boom')
    },
  },
]

/** The suite route for a request, for frameworks that dispatch in one handler. */
export function suiteRoute(method: string | undefined, path: string): SuiteRoute | undefined {
  return suiteRoutes.find((route) => route.method === method && route.path === path)
}

/** A running app, reachable with `fetch`. */
export interface AppHandle {
  fetch(path: string, init?: RequestInit): Promise<Response>
  close(): Promise<void>
}

/** How the suite wants an app built. */
export interface SuiteOptions {
  /** Trust two proxy hops (the default), or none. */
  trustProxy: boolean
}

/** Builds the app for `sessions` and returns a handle to it. */
export type AppFactory = (
  sessions: Sessions<SuiteShape>,
  options?: SuiteOptions,
) => Promise<AppHandle>

const secret = 'adapter-suite-secret-32-bytes-long!!'

/** Runs the adapter suite. */
export function describeAdapter(name: string, factory: AppFactory): void {
  describeTokens(name, factory)
  describeChunks(name, factory)
  describeSecureAuto(name, factory)
  for (const mode of ['cookie', 'store'] as const) {
    describe(`${name} adapter (conformance, ${mode} sessions)`, () => {
      const store = spyStore(createMemoryStore({ sweepInterval: 0 }))
      const sessions = createSessions<{ user?: string }>(
        mode === 'store' ? { secret, store } : { secret },
      )
      let app: AppHandle

      beforeAll(async () => {
        app = await factory(sessions)
      })

      afterAll(async () => {
        await app.close()
      })

      async function login(user = 'admin'): Promise<string> {
        const res = await app.fetch(`/login?user=${encodeURIComponent(user)}`, {
          method: 'POST',
          redirect: 'manual',
        })
        expect(res.status).toBe(303)
        return cookieOf(res)
      }

      async function whoami(cookie?: string): Promise<Response> {
        return app.fetch('/whoami', cookie ? { headers: { cookie } } : {})
      }

      it('creates a session at login and reads it on the next request', async () => {
        const cookie = await login()

        const res = await whoami(cookie)

        expect(await res.json()).toEqual({ user: 'admin' })
      })

      it('sets the cookie with HttpOnly, Path=/ and SameSite=Lax, and Cache-Control: no-store', async () => {
        const res = await app.fetch('/login?user=a', { method: 'POST', redirect: 'manual' })

        const cookie = parseSetCookie(res.headers.getSetCookie()[0]!)
        expect(cookie).toMatchObject({
          name: 'session',
          httpOnly: true,
          path: '/',
          sameSite: 'lax',
        })
        expect(res.headers.get('location')).toBe('/whoami')
        expect(res.headers.get('cache-control')).toBe('no-store')
      })

      it('sends no Set-Cookie and no Vary when the handler never touches the session', async () => {
        const cookie = await login()

        const res = await app.fetch('/public', { headers: { cookie } })

        expect(await res.text()).toBe('public')
        expect(res.headers.getSetCookie()).toEqual([])
        expect(res.headers.get('vary') ?? '').not.toMatch(/cookie/i)
      })

      it('varies on Cookie when the session is read, without setting it again', async () => {
        const cookie = await login()

        const res = await whoami(cookie)

        expect(res.headers.get('vary')).toMatch(/cookie/i)
        expect(res.headers.getSetCookie()).toEqual([])
      })

      it('keeps a value written by a later request', async () => {
        const cookie = await login()

        const set = await app.fetch('/set?k=theme&v=dark', { method: 'POST', headers: { cookie } })
        const next = set.headers.getSetCookie()[0] ? cookieOf(set) : cookie
        const res = await app.fetch('/whoami', { headers: { cookie: next } })

        expect(set.status).toBe(200)
        expect(await res.json()).toEqual({ user: 'admin' })
      })

      it('gives an anonymous session, not an error, for a tampered cookie', async () => {
        const cookie = await login()
        const tampered = `${cookie.slice(0, -6)}AAAAAA`

        const res = await whoami(tampered)

        expect(res.status).toBe(200)
        expect(await res.json()).toEqual({ user: null })
      })

      it('gives an anonymous session for garbage in the cookie', async () => {
        for (const value of ['%%%', 'a.b.c.d', '.', '', '"unterminated', 'x'.repeat(5000)]) {
          const res = await whoami(`session=${value}`)
          expect(res.status).toBe(200)
          expect(await res.json()).toEqual({ user: null })
        }
      })

      it('regenerates the id at login, so a cookie from before it is worthless', async () => {
        const before = await login('first')

        const res = await app.fetch('/login?user=second', {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie: before },
        })
        const after = cookieOf(res)

        expect(after).not.toBe(before)
        expect(await (await whoami(after)).json()).toEqual({ user: 'second' })
        if (mode === 'store') expect(await (await whoami(before)).json()).toEqual({ user: null })
      })

      it('destroys the session at logout and deletes the cookie', async () => {
        const cookie = await login()

        const res = await app.fetch('/logout', { method: 'POST', headers: { cookie } })

        const deletion = parseSetCookie(res.headers.getSetCookie()[0]!)
        expect(deletion).toMatchObject({ name: 'session', value: '', maxAge: 0, path: '/' })
        if (mode === 'store') expect(await (await whoami(cookie)).json()).toEqual({ user: null })
      })

      if (mode === 'store') {
        it('records the client IP through the framework’s trust setting: two hops', async () => {
          const user = `ip-${name}`

          await app.fetch(`/login?user=${user}`, {
            method: 'POST',
            redirect: 'manual',
            headers: { 'x-forwarded-for': '192.0.2.66, 198.51.100.1, 203.0.113.9' },
          })

          const [summary] = await (sessions as StoreSessions<{ user?: string }>).listByUser(user)
          expect(summary?.ip).toBe('198.51.100.1')
        })

        it('answers 503 with Retry-After while the store is down, and heals when it returns', async () => {
          const cookie = await login()
          store.fail = true

          const down = await whoami(cookie)
          const publicPage = await app.fetch('/public', { headers: { cookie } })
          store.fail = false
          const back = await whoami(cookie)

          expect(down.status).toBe(503)
          expect(down.headers.get('retry-after')).toBeTruthy()
          expect(down.headers.getSetCookie()).toEqual([])
          expect(publicPage.status).toBe(200)
          expect(await back.json()).toEqual({ user: 'admin' })
        })

        it('makes no store call for a request without a cookie', async () => {
          const before = { ...store.calls }

          await whoami()
          await app.fetch('/public')

          expect(store.calls).toEqual(before)
        })
      }
    })
  }
}

function describeTokens(name: string, factory: AppFactory): void {
  // Cookie sessions read the token from `Authorization: Bearer`, store sessions from a header of
  // its own, so every adapter passes both kinds.
  for (const mode of ['cookie', 'store'] as const) {
    const bearer = mode === 'cookie'
    const reply = bearer ? 'session-token' : 'x-session'
    const carry = (token: string) =>
      bearer ? { authorization: `Bearer ${token}`.trim() } : { 'x-session': token }

    describe(`${name} adapter (conformance, ${mode} sessions over a header token)`, () => {
      const store = createMemoryStore({ sweepInterval: 0 })
      const token = bearer ? true : { header: 'x-session' }
      const sessions = createSessions<{ user?: string }>(
        mode === 'store' ? { secret, store, token } : { secret, token },
      )
      let app: AppHandle

      beforeAll(async () => {
        app = await factory(sessions)
      })

      afterAll(async () => {
        await app.close()
      })

      async function login(user = 'admin'): Promise<string> {
        const res = await app.fetch(`/login?user=${user}`, {
          method: 'POST',
          redirect: 'manual',
          headers: carry(''),
        })
        expect(res.status).toBe(303)
        return res.headers.get(reply) ?? ''
      }

      it('gives a client that asks for a token its session in a header, never in a cookie', async () => {
        const res = await app.fetch('/login?user=admin', {
          method: 'POST',
          redirect: 'manual',
          headers: carry(''),
        })

        expect(res.headers.getSetCookie()).toEqual([])
        expect(res.headers.get(reply)).toMatch(/^[\w.-]{40,}$/)
        expect(res.headers.get('cache-control')).toBe('no-store')
        expect(res.headers.get('vary')).toMatch(bearer ? /Authorization/ : /X-Session/)
      })

      it('reads the session from the token, with no Set-Cookie and Vary on both carriers', async () => {
        const token = await login()

        const res = await app.fetch('/whoami', { headers: carry(token) })

        expect(await res.json()).toEqual({ user: 'admin' })
        expect(res.headers.getSetCookie()).toEqual([])
        expect(res.headers.get('vary')).toMatch(/Cookie/)
        expect(res.headers.get('vary')).toMatch(bearer ? /Authorization/ : /X-Session/)
      })

      it('sends a changed session back in the header', async () => {
        const token = await login()

        const set = await app.fetch('/set?k=theme&v=dark', {
          method: 'POST',
          headers: carry(token),
        })
        const next = set.headers.get(reply) || token
        const res = await app.fetch('/get?k=theme', { headers: carry(next) })

        expect(set.headers.getSetCookie()).toEqual([])
        expect(await res.json()).toEqual({ value: 'dark' })
      })

      it('needs no CSRF token for a request that carries its session in a header', async () => {
        const token = await login()

        const viaToken = await app.fetch('/guarded', { method: 'POST', headers: carry(token) })
        const viaCookie = await app.fetch('/guarded', { method: 'POST' })

        expect(await viaToken.json()).toEqual({ allowed: true })
        expect(await viaCookie.json()).toEqual({ allowed: false })
      })

      it('refuses a request carrying both the cookie and a token with 400, changing nothing', async () => {
        const browser = await app.fetch('/login?user=browser', {
          method: 'POST',
          redirect: 'manual',
        })
        const cookie = cookieOf(browser)
        const token = await login('client')

        const both = await app.fetch('/set?k=user&v=mallory', {
          method: 'POST',
          headers: { cookie, ...carry(token) },
        })

        expect(both.status).toBe(400)
        expect(both.headers.getSetCookie()).toEqual([])
        expect(both.headers.get(reply)).toBeNull()
        expect(await (await app.fetch('/whoami', { headers: { cookie } })).json()).toEqual({
          user: 'browser',
        })
        expect(await (await app.fetch('/whoami', { headers: carry(token) })).json()).toEqual({
          user: 'client',
        })
      })

      it('answers an ended session with the header, empty', async () => {
        const token = await login()

        const res = await app.fetch('/logout', { method: 'POST', headers: carry(token) })

        expect(res.headers.get(reply)).toBe('')
        expect(res.headers.getSetCookie()).toEqual([])
        if (mode === 'store') {
          expect(await (await app.fetch('/whoami', { headers: carry(token) })).json()).toEqual({
            user: null,
          })
        }
      })

      it('gives an anonymous session for a tampered token', async () => {
        const token = await login()

        const res = await app.fetch('/whoami', { headers: carry(`${token.slice(0, -4)}AAAA`) })

        expect(res.status).toBe(200)
        expect(await res.json()).toEqual({ user: null })
        expect(res.headers.getSetCookie()).toEqual([])
      })
    })
  }
}

/**
 * `secure: 'auto'`: the cookie is Secure when the request came over HTTPS, which behind a proxy
 * only `X-Forwarded-Proto` says, and only a trusted proxy may say it.
 */
function describeSecureAuto(name: string, factory: AppFactory): void {
  const cases = [
    { mode: 'cookie', trustProxy: true },
    { mode: 'store', trustProxy: true },
    { mode: 'cookie', trustProxy: false },
  ] as const
  for (const { mode, trustProxy } of cases) {
    const title = `${name} adapter (secure: 'auto', ${mode} sessions, ${trustProxy ? 'two trusted proxies' : 'no trusted proxy'})`
    describe(title, () => {
      const sessions = createSessions<{ user?: string }>({
        secret,
        cookie: { secure: 'auto' },
        ...(mode === 'store' && { store: createMemoryStore({ sweepInterval: 0 }) }),
      })
      let app: AppHandle

      beforeAll(async () => {
        app = await factory(sessions, { trustProxy })
      })

      afterAll(async () => {
        await app.close()
      })

      const login = (headers: Record<string, string> = {}) =>
        app.fetch('/login?user=a', { method: 'POST', redirect: 'manual', headers })

      it(`${trustProxy ? 'sets' : 'does not set'} Secure behind a proxy that says HTTPS`, async () => {
        const res = await login({ 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.7' })

        expect(parseSetCookie(res.headers.getSetCookie()[0]!).secure ?? false).toBe(trustProxy)
      })

      it('does not set Secure on a plain HTTP request', async () => {
        const res = await login()

        expect(parseSetCookie(res.headers.getSetCookie()[0]!).secure ?? false).toBe(false)
      })

      if (trustProxy) {
        it('deletes the cookie with Secure too, behind a proxy that says HTTPS', async () => {
          const https = { 'x-forwarded-proto': 'https' }
          const cookie = cookieOf(await login(https))

          const res = await app.fetch('/logout', { method: 'POST', headers: { cookie, ...https } })

          const deletion = parseSetCookie(res.headers.getSetCookie()[0]!)
          expect(deletion).toMatchObject({ maxAge: 0, secure: true })
        })
      }
    })
  }
}

function describeChunks(name: string, factory: AppFactory): void {
  describe(`${name} adapter (conformance, chunked cookie sessions)`, () => {
    const sessions = createSessions<{ user?: string }>({ secret, cookie: { chunks: true } })
    let app: AppHandle

    beforeAll(async () => {
      app = await factory(sessions)
    })

    afterAll(async () => {
      await app.close()
    })

    it('splits a large session over several cookies, reads it back, and drops them as it shrinks', async () => {
      const big = 'x'.repeat(5000)

      const grown = await app.fetch(`/set?k=big&v=${big}`, { method: 'POST' })
      const chunks = applyCookies('', grown.headers.getSetCookie())
      const read = await app.fetch('/get?k=big', { headers: { cookie: chunks } })
      const shrunk = await app.fetch('/set?k=big&v=small', {
        method: 'POST',
        headers: { cookie: chunks },
      })
      const after = applyCookies(chunks, shrunk.headers.getSetCookie())

      expect(grown.headers.getSetCookie().map((line) => line.split('=')[0])).toEqual([
        'session.0',
        'session.1',
      ])
      expect(await read.json()).toEqual({ value: big })
      expect(after).toMatch(/^session=[^;]+$/)
      expect(await (await app.fetch('/get?k=big', { headers: { cookie: after } })).json()).toEqual({
        value: 'small',
      })
    })
  })
}

/**
 * The `Cookie` header a browser sends after it applies `setCookies` to the one it sent:
 * set cookies replace or join it, deleted ones (Max-Age=0) leave it.
 */
export function applyCookies(header: string, setCookies: readonly string[]): string {
  const jar = new Map<string, string>()
  for (const pair of header.split('; ')) {
    const eq = pair.indexOf('=')
    if (eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1))
  }
  for (const line of setCookies) {
    const cookie = parseSetCookie(line)
    if (cookie.maxAge === 0) jar.delete(cookie.name)
    else jar.set(cookie.name, cookie.value ?? '')
  }
  return [...jar].map(([key, value]) => `${key}=${value}`).join('; ')
}

/** `name=value` of the first Set-Cookie of a response. */
export function cookieOf(res: Response): string {
  const header = res.headers.getSetCookie()[0]
  if (!header) throw new Error(`no Set-Cookie on ${res.status} ${res.url}`)
  return header.slice(0, header.indexOf(';'))
}
