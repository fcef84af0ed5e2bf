import { createAdaptorServer, type HttpBindings } from '@hono/node-server'
import { Hono } from 'hono'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { csrf, type SessionEnv, session } from '../../src/adapters/hono.js'
import { csrfToken } from '../../src/features/csrf.js'
import type { Session } from '../../src/session/session.js'
import { createSessions, type Sessions } from '../../src/session/sessions.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { cookieOf, describeAdapter, type SuiteShape, suiteRoutes } from '../contracts/adapter.js'
import { describeCsrf } from '../contracts/csrf.js'
import { adapterFixture } from '../support/adapter-fixture.js'
import { listen } from '../support/http.js'

function suiteApp(sessions: Sessions<SuiteShape>, trustProxy = true) {
  const app = new Hono<SessionEnv<SuiteShape>>()
  app.use(session(sessions, { trustProxy: trustProxy ? 2 : false }))
  for (const route of suiteRoutes) {
    app.on(route.method, route.path, (c) => {
      const reply = route.handle(c.get('session'), new URL(c.req.url).searchParams)
      if ('text' in reply) return c.text(reply.text)
      if ('json' in reply) return c.json(reply.json)
      return c.redirect(reply.redirect, 303)
    })
  }
  return app
}

describeAdapter('hono', async (sessions, options) => {
  const app = suiteApp(sessions, options?.trustProxy)
  return { fetch: async (path, init) => app.request(path, init), close: async () => {} }
})

describeAdapter('hono on @hono/node-server', async (sessions, options) => {
  const app = suiteApp(sessions, options?.trustProxy)
  return listen(createAdaptorServer({ fetch: app.fetch }) as Parameters<typeof listen>[0])
})

const secret = 'hono-adapter-test-secret-32-bytes!!!'

describe('hono adapter', () => {
  const { store, closeAfter } = adapterFixture()

  it('types c.get("session") from SessionEnv', () => {
    const app = new Hono<SessionEnv<{ username?: string }>>()
    app.get('/', (c) => {
      expectTypeOf(c.get('session')).toEqualTypeOf<Session<{ username?: string }>>()
      expectTypeOf(c.get('session').get('username')).toEqualTypeOf<string | undefined>()
      return c.text('ok')
    })
  })

  it('sets the cookie on a response whose headers are immutable', async () => {
    const app = new Hono<SessionEnv>()
    app.use(session(createSessions({ secret })))
    app.post('/login', (c) => {
      c.get('session').set('user', 'admin')
      return Response.redirect('http://localhost/', 303)
    })

    const res = await app.request('/login', { method: 'POST' })

    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('http://localhost/')
    expect(res.headers.getSetCookie()).toHaveLength(1)
    expect(res.headers.get('vary')).toBe('Cookie')
  })

  it('keeps the headers the handler set, adding Cookie to its Vary', async () => {
    const app = new Hono<SessionEnv>()
    app.use(session(createSessions({ secret })))
    app.get('/', (c) => {
      c.header('vary', 'Accept')
      c.header('set-cookie', 'theme=dark; Path=/')
      c.get('session').set('user', 'admin')
      return c.text('ok')
    })

    const res = await app.request('/')

    expect(res.headers.get('vary')).toBe('Accept, Cookie')
    expect(res.headers.getSetCookie().map((c) => c.slice(0, c.indexOf('=')))).toEqual([
      'theme',
      'session',
    ])
  })

  it('answers 503 when the save after the handler fails, without the handler’s headers', async () => {
    const app = new Hono<SessionEnv>()
    app.use(session(createSessions({ secret, store })))
    app.post('/login', (c) => {
      c.get('session').set('user', 'admin')
      store.fail = true
      return c.redirect('/', 303)
    })

    const res = await app.request('/login', { method: 'POST' })

    expect(res.status).toBe(503)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('retry-after')).toBe('5')
    expect(await res.json()).toEqual({ error: 'session_store_unavailable' })
  })

  it('keeps the answer of an onError that already gives a store outage its 503', async () => {
    const sessions = createSessions({ secret, store })
    const app = new Hono<SessionEnv>()
    app.use(session(sessions))
    app.post('/login', (c) => {
      c.get('session').set('user', 'admin')
      return c.text('ok')
    })
    app.get('/', (c) => c.text(String(c.get('session').get('user'))))
    app.onError((_error, c) => c.text('down for a moment', 503))
    const cookie = cookieOf(await app.request('/login', { method: 'POST' }))
    store.fail = true

    const res = await app.request('/', { headers: { cookie } })

    expect(res.status).toBe(503)
    expect(await res.text()).toBe('down for a moment')
  })

  it('passes the client IP from @hono/node-server to the store', async () => {
    const sessions = createSessions({ secret, store: createMemoryStore({ sweepInterval: 0 }) })
    const app = new Hono<SessionEnv & { Bindings: HttpBindings }>()
    app.use(session(sessions, { ip: (c) => c.env.incoming.socket.remoteAddress }))
    app.post('/login', (c) => {
      c.get('session').set('user', 'admin')
      c.get('session').setUser('admin')
      return c.text('ok')
    })
    const server = closeAfter(
      await listen(createAdaptorServer({ fetch: app.fetch }) as Parameters<typeof listen>[0]),
    )

    await server.fetch('/login', { method: 'POST' })

    const [summary] = await sessions.listByUser('admin')
    expect(summary?.ip).toMatch(/127\.0\.0\.1$/)
  })
})

describeCsrf(
  'hono',
  async (formCsrf) => {
    const sessions = createSessions({ secret: 'csrf-suite-secret-that-is-32-bytes!' })
    const app = new Hono<SessionEnv>()
    app.use(session(sessions), csrf({ exempt: ['/hooks/*', '/form'] }))
    app.get('/form', (c) => {
      const { token, setCookie } = formCsrf.issue(c.req.header('cookie'))
      c.header('set-cookie', setCookie, { append: true })
      return c.text(token)
    })
    app.post('/form', async (c) => {
      const form = c.req.header('content-type')?.startsWith('application/x-www-form-urlencoded')
        ? await c.req.parseBody()
        : {}
      const field = form._csrf
      const token = typeof field === 'string' ? field : c.req.header('x-csrf-token')
      return formCsrf.verify(c.req.header('cookie'), token) ? c.text('ok') : c.text('refused', 403)
    })
    app.get('/token', (c) => c.text(csrfToken(c.get('session'))))
    app.post('/submit', (c) => c.text('ok'))
    app.post('/hooks/in', (c) => c.text('ok'))
    app.post('/login', (c) => {
      c.get('session').regenerate()
      return c.text('ok')
    })
    return {
      fetch: async (path, init) => app.request(path, init),
      close: async () => {},
    }
  },
  { form: true },
)
