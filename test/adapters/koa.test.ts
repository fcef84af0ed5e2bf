import { createServer } from 'node:http'
import Koa, { type Context } from 'koa'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { csrf, type KoaSession, session } from '../../src/adapters/koa.js'
import { csrfToken } from '../../src/features/csrf.js'
import { createSessions } from '../../src/session/sessions.js'
import { cookieOf, describeAdapter, suiteRoute } from '../contracts/adapter.js'
import { describeCsrf } from '../contracts/csrf.js'
import { adapterFixture } from '../support/adapter-fixture.js'
import { type Listening, listen } from '../support/http.js'

describeAdapter('koa', async (sessions, options) => {
  const app = new Koa({ proxy: options?.trustProxy !== false, maxIpsCount: 2 })
  app.silent = true
  app.use(session(sessions))
  app.use((ctx) => {
    const route = suiteRoute(ctx.method, ctx.path)
    if (!route) return
    const reply = route.handle(ctx.session, new URLSearchParams(ctx.querystring))
    if ('text' in reply) ctx.body = reply.text
    else if ('json' in reply) ctx.body = reply.json
    else {
      ctx.status = 303
      ctx.redirect(reply.redirect)
    }
  })
  return listen(createServer(app.callback()))
})

const secret = 'koa-adapter-test-secret-32-bytes!!!!'

describe('koa adapter', () => {
  const { store, closeAfter } = adapterFixture()

  async function serve(build: (app: Koa) => void): Promise<Listening> {
    const app = new Koa()
    app.silent = true
    build(app)
    return closeAfter(await listen(createServer(app.callback())))
  }

  it('types ctx.session with the augmentable AppSession', () => {
    expectTypeOf<Context['session']>().toEqualTypeOf<KoaSession>()
  })

  it('refuses tessera’s own trustProxy, naming Koa’s setting', () => {
    expect(() =>
      session(createSessions({ secret }), { trustProxy: 1 } as Parameters<typeof session>[1]),
    ).toThrow(/app\.proxy = true/)
  })

  it('takes the client IP from ctx.ip: none from X-Forwarded-For unless app.proxy', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions))
      app.use((ctx) => {
        ctx.session.setUser('ip-koa')
        ctx.body = 'ok'
      })
    })

    await app.fetch('/', { headers: { 'x-forwarded-for': '198.51.100.1' } })

    const [summary] = await sessions.listByUser('ip-koa')
    expect(summary?.ip).toMatch(/127\.0\.0\.1$/)
  })

  it('answers 503 when the save after the handler fails, without the handler’s headers', async () => {
    const app = await serve((app) => {
      app.use(async (ctx, next) => {
        ctx.set('access-control-allow-origin', '*')
        await next()
      })
      app.use(session(createSessions({ secret, store })))
      app.use((ctx) => {
        ctx.session.set('user', 'admin')
        store.fail = true
        ctx.redirect('/')
      })
    })

    const res = await app.fetch('/', { redirect: 'manual' })

    expect(res.status).toBe(503)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('retry-after')).toBe('5')
    expect(await res.json()).toEqual({ error: 'session_store_unavailable' })
  })

  it('lets other errors through to upstream middleware, without saving the session', async () => {
    const seen: unknown[] = []
    const app = await serve((app) => {
      app.use(async (ctx, next) => {
        try {
          await next()
        } catch (error) {
          seen.push(error)
          ctx.status = 500
          ctx.body = 'caught'
        }
      })
      app.use(session(createSessions({ secret })))
      app.use((ctx) => {
        ctx.session.set('user', 'admin')
        throw new Error('failed')
      })
    })

    const res = await app.fetch('/')

    expect(await res.text()).toBe('caught')
    expect(res.headers.getSetCookie()).toEqual([])
    expect(seen).toEqual([new Error('failed')])
  })

  it('sends the cookie when a handler saves before writing to ctx.res itself', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions))
      app.use(async (ctx) => {
        if (ctx.path === '/whoami') {
          ctx.body = String(ctx.session.get('user'))
          return
        }
        ctx.session.set('user', 'streamer')
        await ctx.session.save()
        ctx.respond = false
        ctx.res.writeHead(200, { 'content-type': 'text/plain' })
        ctx.res.end('streamed')
      })
    })

    const res = await app.fetch('/stream')
    const body = await res.text()
    const whoami = await app.fetch('/whoami', { headers: { cookie: cookieOf(res) } })

    expect(body).toBe('streamed')
    expect(await whoami.text()).toBe('streamer')
  })
})

describeCsrf(
  'koa',
  async (formCsrf) => {
    const sessions = createSessions({ secret: 'csrf-suite-secret-that-is-32-bytes!' })
    const app = new Koa()
    app.silent = true
    app.use(session(sessions))
    app.use(csrf({ exempt: ['/hooks/*', '/form'] }))
    app.use((ctx) => {
      if (ctx.path === '/form' && ctx.method === 'GET') {
        const { token, setCookie } = formCsrf.issue(ctx.get('cookie'))
        ctx.append('set-cookie', setCookie)
        ctx.body = token
      } else if (ctx.path === '/form') {
        const ok = formCsrf.verify(ctx.get('cookie'), ctx.get('x-csrf-token'))
        ctx.status = ok ? 200 : 403
        ctx.body = ok ? 'ok' : 'refused'
      } else if (ctx.path === '/token') ctx.body = csrfToken(ctx.session)
      else if (ctx.path === '/login') {
        ctx.session.regenerate()
        ctx.body = 'ok'
      } else ctx.body = 'ok'
    })
    return listen(createServer(app.callback()))
  },
  { form: false },
)
