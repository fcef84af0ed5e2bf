/**
 * The Next.js adapter against Next's own cookie stores: `cookies()` as a Route Handler or
 * Server Action gets it (mutable) and as a Server Component gets it (sealed), built from Next's
 * classes as Next builds them, and the proxy with `NextResponse`. The example
 * (examples/next/app.test.ts) runs the same through `next build` and `next start`.
 */
import {
  MutableRequestCookiesAdapter,
  RequestCookiesAdapter,
} from 'next/dist/server/web/spec-extension/adapters/request-cookies.js'
import { RequestCookies, ResponseCookies } from 'next/dist/server/web/spec-extension/cookies.js'
import { splitCookiesString } from 'next/dist/server/web/utils.js'
import { NextRequest, NextResponse } from 'next/server.js'
import { describe, expect, it } from 'vitest'
import { getSession, readSession, sessionProxy } from '../../src/adapters/next.js'
import { isSessionError } from '../../src/errors.js'
import { createSessions, type SessionsOptions } from '../../src/session/sessions.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { describeAdapter, suiteRoute } from '../contracts/adapter.js'
import { adapterFixture } from '../support/adapter-fixture.js'

describeAdapter('next proxy', async (sessions, { trustProxy } = { trustProxy: true }) => {
  const proxy = sessionProxy(
    sessions,
    (request, session) => {
      const url = new URL(request.url)
      const route = suiteRoute(request.method, url.pathname)
      if (!route) return new Response('not found', { status: 404 })
      const reply = route.handle(session, url.searchParams)
      if ('text' in reply) return new Response(reply.text)
      if ('json' in reply) return Response.json(reply.json)
      return new Response(null, { status: 303, headers: { location: reply.redirect } })
    },
    { trustProxy: trustProxy ? 2 : false, refresh: false },
  )
  return {
    fetch: (path, init) => proxy(new Request(`http://localhost${path}`, init)),
    close: async () => {},
  }
})

const secret = 'next-adapter-test-secret-32-bytes!!!'
type Shape = { username?: string }

/** `cookies()` in a Route Handler or Server Action: writes land in `written`. */
function actionCookies(cookie = '') {
  const written: string[] = []
  const store = MutableRequestCookiesAdapter.wrap(
    new RequestCookies(new Headers({ cookie })),
    (cookies) => written.splice(0, written.length, ...cookies),
  )
  return { store, written }
}

/** `cookies()` in a Server Component: setting a cookie throws, as in Next. */
function renderCookies(cookie = '') {
  return RequestCookiesAdapter.seal(new RequestCookies(new Headers({ cookie })))
}

/** What a browser sends back after `setCookies`. */
function cookieHeader(setCookies: readonly string[]): string {
  return setCookies.map((c) => c.split(';')[0]).join('; ')
}

describe('next adapter', () => {
  const { store } = adapterFixture()

  const kinds: [string, Omit<SessionsOptions, 'secret'>][] = [
    ['native cookie', {}],
    ['encrypted cookie', { encrypt: true }],
    ['Flask cookie', { format: 'flask' }],
    ['store', { store }],
  ]
  for (const [kind, options] of kinds) {
    it(`logs in through cookies() and reads it back in a Server Component (${kind})`, async () => {
      const sessions = createSessions<Shape>({ secret, ...options })
      const action = actionCookies()

      const session = await getSession(sessions, action.store)
      session.regenerate()
      session.set('username', 'Ada <ada@example.com>')
      await session.save()
      const page = await readSession(sessions, renderCookies(cookieHeader(action.written)))

      expect(action.written).toHaveLength(1)
      expect(action.written[0]).toMatch(/^session=[^;]+; Path=\/; HttpOnly; SameSite=lax$/)
      expect(page.get('username')).toBe('Ada <ada@example.com>')
    })
  }

  it('writes every cookie of a chunked session through cookies() and reads them all back', async () => {
    const sessions = createSessions<{ big?: string }>({ secret, cookie: { chunks: true } })
    const big = 'n'.repeat(6000)
    const action = actionCookies()

    const session = await getSession(sessions, action.store)
    session.set('big', big)
    await session.save()
    const page = await readSession(sessions, renderCookies(cookieHeader(action.written)))

    expect(action.written.map((line) => line.split('=')[0])).toEqual([
      'session.0',
      'session.1',
      'session.2',
    ])
    expect(page.get('big')).toBe(big)
  })

  it('deletes the cookie when the session is destroyed', async () => {
    const sessions = createSessions<Shape>({ secret, store })
    const login = actionCookies()
    const first = await getSession(sessions, login.store)
    first.set('username', 'ada')
    await first.save()
    const logout = actionCookies(cookieHeader(login.written))

    const session = await getSession(sessions, logout.store)
    session.destroy()
    await session.save()

    expect(logout.written[0]).toMatch(
      /^session=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly/,
    )
    expect(store.calls.destroy).toBe(1)
  })

  it('records the User-Agent and the client IP from headers() on a new stored session', async () => {
    const own = createMemoryStore({ sweepInterval: 0 })
    const sessions = createSessions<Shape>({ secret, store: own })
    const action = actionCookies()
    const headers = new Headers({ 'user-agent': 'Test/1.0', 'x-forwarded-for': '203.0.113.7' })

    const session = await getSession(sessions, action.store, { headers, trustProxy: 1 })
    session.set('username', 'ada')
    await session.save()

    const [summary] = await own.list()
    expect(summary).toMatchObject({ userAgent: 'Test/1.0', ip: '203.0.113.7' })
  })

  it('throws StoreError from getSession and readSession when the store is down', async () => {
    const sessions = createSessions<Shape>({ secret, store })
    const action = actionCookies()
    const session = await getSession(sessions, action.store)
    session.set('username', 'ada')
    await session.save()
    const cookie = cookieHeader(action.written)
    store.fail = true

    const write = getSession(sessions, actionCookies(cookie).store).then((s) => s.get('username'))
    const read = readSession(sessions, renderCookies(cookie))

    await expect(write).rejects.toSatisfy((e) => isSessionError(e, 'STORE_UNAVAILABLE'))
    await expect(read).rejects.toSatisfy((e) => isSessionError(e, 'STORE_UNAVAILABLE'))
  })

  it('gives a Server Component nothing to write with', async () => {
    const sessions = createSessions<Shape>({ secret })
    const page = await readSession(sessions, renderCookies())

    // @ts-expect-error: a Server Component cannot set a cookie, so its session has no `set`
    expect(() => page.set('username', 'ada')).not.toThrow()
    // @ts-expect-error: nor `save`; the object underneath refuses it too
    await expect(page.save()).rejects.toThrow(/not attached to a response/)
    expect(page.isNew).toBe(true)
  })

  describe('rolling refresh: a Server Component read refreshes nothing, the proxy does (iron-session #887, #938)', () => {
    const day = 86_400_000
    let t = Date.UTC(2026, 0, 1)
    const now = () => t

    async function permanentLogin(options: Omit<SessionsOptions, 'secret'>) {
      const sessions = createSessions<Shape>({ secret, now, ...options })
      const action = actionCookies()
      const session = await getSession(sessions, action.store)
      session.permanent = true
      session.set('username', 'ada')
      await session.save()
      return { sessions, cookie: cookieHeader(action.written), setCookie: action.written[0]! }
    }

    const proxyRequest = (cookie: string) =>
      new NextRequest('http://localhost/', { headers: { cookie } })

    it('re-issues a permanent cookie session in the proxy only', async () => {
      const { sessions, cookie, setCookie } = await permanentLogin({})
      t += day
      const renderJar = renderCookies(cookie)

      const page = await readSession(sessions, renderJar)
      const response = await sessionProxy(sessions, () => NextResponse.next())(proxyRequest(cookie))

      expect(page.get('username')).toBe('ada')
      expect(renderJar.get('session')?.value).toBe(cookie.slice('session='.length))
      const refreshed = response.headers.getSetCookie()
      expect(refreshed).toHaveLength(1)
      expect(expiresOf(refreshed[0]!)).toBe(expiresOf(setCookie) + day)
    })

    it('touches a stored session in the proxy only, not in a Server Component', async () => {
      const own = createMemoryStore({ sweepInterval: 0, now })
      const { sessions, cookie } = await permanentLogin({ store: own, touchInterval: 60 })
      const [before] = await own.list()
      t += 3_600_000

      await readSession(sessions, renderCookies(cookie))
      const [afterRender] = await own.list()
      const response = await sessionProxy(sessions, () => NextResponse.next())(proxyRequest(cookie))
      const [afterProxy] = await own.list()

      expect(afterRender!.lastSeenAt).toBe(before!.lastSeenAt)
      expect(afterProxy!.lastSeenAt).toBe(t)
      expect(response.headers.getSetCookie()).toHaveLength(1)
    })

    it('leaves the session alone in the proxy with refresh: false when the handler does not read it', async () => {
      const { sessions, cookie } = await permanentLogin({})
      t += day

      const response = await sessionProxy(sessions, () => NextResponse.next(), {
        refresh: false,
      })(proxyRequest(cookie))

      expect(response.headers.getSetCookie()).toEqual([])
    })
  })

  it("hands the proxy's cookie to the same request's render, as Next merges it into cookies()", async () => {
    const sessions = createSessions<Shape>({ secret, store })
    const proxy = sessionProxy(sessions, (_request, session) => {
      session.set('username', 'ada')
      return NextResponse.next()
    })

    const response = await proxy(new NextRequest('http://localhost/'))
    // What Next does with the header before rendering (its mergeMiddlewareCookies).
    const forRender = new RequestCookies(new Headers())
    const carried = new ResponseCookies(new Headers())
    for (const value of splitCookiesString(response.headers.get('x-middleware-set-cookie') ?? '')) {
      carried.set(parsed(value))
    }
    for (const cookie of carried.getAll()) forRender.set(cookie.name, cookie.value)
    const page = await readSession(sessions, RequestCookiesAdapter.seal(forRender))

    expect(response.headers.getSetCookie()).toHaveLength(1)
    expect(page.get('username')).toBe('ada')
  })

  it('sets only Set-Cookie on a redirect, which renders nothing', async () => {
    const sessions = createSessions<Shape>({ secret })
    const proxy = sessionProxy(sessions, (request, session) => {
      session.set('username', 'ada')
      return NextResponse.redirect(new URL('/home', request.url))
    })

    const response = await proxy(new NextRequest('http://localhost/'))

    expect(response.status).toBe(307)
    expect(response.headers.getSetCookie()).toHaveLength(1)
    expect(response.headers.has('x-middleware-set-cookie')).toBe(false)
  })

  it('answers 503 with Retry-After from the proxy when the store is down', async () => {
    const sessions = createSessions<Shape>({ secret, store })
    const action = actionCookies()
    const session = await getSession(sessions, action.store)
    session.set('username', 'ada')
    await session.save()
    store.fail = true

    const response = await sessionProxy(sessions, () => NextResponse.next())(
      new NextRequest('http://localhost/', { headers: { cookie: cookieHeader(action.written) } }),
    )

    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('5')
  })

  it('makes a request with two different valid session cookies anonymous in the proxy', async () => {
    const sessions = createSessions<Shape>({ secret })
    const cookies: string[] = []
    for (const name of ['ada', 'bob']) {
      const action = actionCookies()
      const session = await getSession(sessions, action.store)
      session.set('username', name)
      await session.save()
      cookies.push(cookieHeader(action.written))
    }
    let seen: string | undefined = 'unset'

    await sessionProxy(sessions, (_request, session) => {
      seen = session.get('username')
      return NextResponse.next()
    })(new NextRequest('http://localhost/', { headers: { cookie: cookies.join('; ') } }))

    expect(seen).toBeUndefined()
  })
})

function expiresOf(setCookie: string): number {
  return Date.parse(/Expires=([^;]+)/.exec(setCookie)![1]!)
}

function parsed(setCookie: string): { name: string; value: string } {
  const [pair = ''] = setCookie.split(';')
  const eq = pair.indexOf('=')
  return { name: pair.slice(0, eq), value: decodeURIComponent(pair.slice(eq + 1)) }
}
