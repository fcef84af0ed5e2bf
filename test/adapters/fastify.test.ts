import Fastify, { type FastifyRequest } from 'fastify'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { csrf, type FastifySession, fastifySession } from '../../src/adapters/fastify.js'
import { csrfToken } from '../../src/features/csrf.js'
import { createSessions } from '../../src/session/sessions.js'
import { describeAdapter, suiteRoutes } from '../contracts/adapter.js'
import { describeCsrf } from '../contracts/csrf.js'
import { adapterFixture } from '../support/adapter-fixture.js'
import { injector } from '../support/inject.js'

describeAdapter('fastify', async (sessions, options) => {
  const app = Fastify({
    trustProxy: options?.trustProxy === false ? false : (_address, hop) => hop < 2,
  })
  await app.register(fastifySession, { sessions })
  for (const route of suiteRoutes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request, reply) => {
        const answer = route.handle(
          request.session,
          new URL(request.url, 'http://localhost').searchParams,
        )
        if ('text' in answer) return answer.text
        if ('json' in answer) return answer.json
        return reply.redirect(answer.redirect, 303)
      },
    })
  }
  await app.ready()
  return injector(app)
})

const secret = 'fastify-adapter-test-secret-32-bytes'

describe('fastify adapter', () => {
  const { store, closeAfter } = adapterFixture()

  it('decorates FastifyRequest with a session typed by AppSession', () => {
    expectTypeOf<FastifyRequest['session']>().toEqualTypeOf<FastifySession>()
  })

  it('sends no Set-Cookie and no Vary from a route that never touches the session', async () => {
    const app = closeAfter(Fastify())
    await app.register(fastifySession, { sessions: createSessions({ secret }) })
    app.post('/login', async (request) => {
      request.session.set('user', 'admin')
      return 'ok'
    })
    app.get('/untouched', async () => 'untouched')
    const [cookie] = (await app.inject({ method: 'POST', url: '/login' })).cookies

    const res = await app.inject({
      url: '/untouched',
      headers: { cookie: `${cookie!.name}=${cookie!.value}` },
    })

    expect(res.body).toBe('untouched')
    expect(res.headers['set-cookie']).toBeUndefined()
    expect(res.headers.vary).toBeUndefined()
  })

  it('records the client IP and User-Agent of the request that creates a session', async () => {
    const sessions = createSessions({ secret, store })
    const app = closeAfter(Fastify({ trustProxy: true }))
    await app.register(fastifySession, { sessions })
    app.post('/login', async (request) => {
      request.session.set('user', 'admin')
      request.session.setUser('admin')
      return 'ok'
    })

    await app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'user-agent': 'TestBrowser/1.0', 'x-forwarded-for': '198.51.100.1, 203.0.113.9' },
    })

    const [summary] = await sessions.listByUser('admin')
    expect(summary?.userAgent).toBe('TestBrowser/1.0')
    // Fastify's `trustProxy: true` trusts every hop: the left-most address is the client.
    expect(summary?.ip).toBe('198.51.100.1')
  })

  it('refuses tessera’s own trustProxy, naming Fastify’s', async () => {
    const app = closeAfter(Fastify())

    await expect(
      app.register(fastifySession, {
        sessions: createSessions({ secret }),
        ...({ trustProxy: true } as object),
      }),
    ).rejects.toThrow(/Fastify\(\{ trustProxy: 1 \}\)/)
  })

  it('keeps the app’s root error handler, which gets a store outage as a 503 error', async () => {
    const app = closeAfter(Fastify())
    app.setErrorHandler((error, _request, reply) => {
      const { status, headers } = error as { status?: number; headers?: Record<string, string> }
      return reply
        .code(status ?? 500)
        .headers(headers ?? {})
        .send({ mine: true })
    })
    await app.register(fastifySession, { sessions: createSessions({ secret, store }) })
    app.post('/login', async (request) => {
      request.session.set('user', 'admin')
      store.fail = true
      return 'ok'
    })

    const res = await app.inject({ method: 'POST', url: '/login' })

    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.json()).toEqual({ mine: true })
  })

  it('reaches every route: the plugin is not encapsulated', async () => {
    const app = closeAfter(Fastify())
    await app.register(fastifySession, { sessions: createSessions({ secret }) })
    await app.register(
      async (child) => {
        child.post('/login', async (request) => {
          request.session.set('user', 'nested')
          return 'ok'
        })
      },
      { prefix: '/child' },
    )

    const res = await app.inject({ method: 'POST', url: '/child/login' })

    expect(res.cookies.map((c) => c.name)).toEqual(['session'])
  })

  it('answers 503 when the save in onSend fails, without the handler’s cookies', async () => {
    const app = closeAfter(Fastify())
    await app.register(fastifySession, { sessions: createSessions({ secret, store }) })
    app.post('/login', async (request, reply) => {
      request.session.set('user', 'admin')
      store.fail = true
      reply.header('set-cookie', 'theme=dark; Path=/')
      return { ok: true }
    })

    const res = await app.inject({ method: 'POST', url: '/login' })

    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.headers['set-cookie']).toBeUndefined()
    expect(res.json()).toMatchObject({ statusCode: 503, code: 'STORE_UNAVAILABLE' })
  })

  it('answers tessera’s JSON body with errorHandler: true', async () => {
    const app = closeAfter(Fastify())
    await app.register(fastifySession, {
      sessions: createSessions({ secret, store }),
      errorHandler: true,
    })
    app.post('/login', async (request, reply) => {
      request.session.set('user', 'admin')
      store.fail = true
      reply.header('set-cookie', 'theme=dark; Path=/')
      return { ok: true }
    })

    const res = await app.inject({ method: 'POST', url: '/login' })

    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.headers['set-cookie']).toBeUndefined()
    expect(res.json()).toEqual({ error: 'session_store_unavailable' })
  })

  it('leaves other errors to Fastify’s own error handler', async () => {
    const app = closeAfter(Fastify())
    await app.register(fastifySession, { sessions: createSessions({ secret }) })
    app.get('/teapot', async () => {
      throw Object.assign(new Error('short and stout'), { statusCode: 418 })
    })

    const res = await app.inject({ url: '/teapot' })

    expect(res.statusCode).toBe(418)
    expect(res.json()).toMatchObject({ message: 'short and stout' })
  })

  it('reads the X-CSRF-Token header before a parsed body’s _csrf field', async () => {
    const app = closeAfter(Fastify())
    await app.register(fastifySession, { sessions: createSessions({ secret }) })
    app.addHook('preHandler', csrf())
    app.get('/token', async (request) => csrfToken(request.session))
    app.post('/submit', async () => 'ok')
    const issued = await app.inject({ url: '/token' })
    const [session] = issued.cookies
    const cookie = `${session!.name}=${session!.value}`
    const post = (header: string, field: string) =>
      app.inject({
        method: 'POST',
        url: '/submit',
        headers: { cookie, 'x-csrf-token': header },
        payload: { _csrf: field },
      })

    const headerWins = await post(issued.body, 'x'.repeat(43))
    const wrongHeader = await post('x'.repeat(43), issued.body)

    expect(headerWins.statusCode).toBe(200)
    expect(wrongHeader.statusCode).toBe(403)
  })

  it('installs no error handler by default', async () => {
    const app = closeAfter(Fastify())
    await app.register(fastifySession, { sessions: createSessions({ secret, store }) })
    app.setErrorHandler((error, _request, reply) =>
      reply.code(599).send({ mine: (error as { code?: string }).code }),
    )
    app.post('/login', async (request) => {
      request.session.set('user', 'admin')
      store.fail = true
      return 'ok'
    })

    const res = await app.inject({ method: 'POST', url: '/login' })

    expect(res.statusCode).toBe(599)
    expect(res.json()).toEqual({ mine: 'STORE_UNAVAILABLE' })
  })
})

describeCsrf(
  'fastify',
  async (formCsrf) => {
    const sessions = createSessions({ secret: 'csrf-suite-secret-that-is-32-bytes!' })
    const app = Fastify()
    await app.register(fastifySession, { sessions })
    app.addHook('preHandler', csrf({ exempt: ['/hooks/*', '/form'] }))
    app.get('/form', async (request, reply) => {
      const { token, setCookie } = formCsrf.issue(request.headers.cookie)
      reply.header('set-cookie', setCookie)
      return token
    })
    app.post('/form', async (request, reply) => {
      const token = request.headers['x-csrf-token']
      if (formCsrf.verify(request.headers.cookie, typeof token === 'string' ? token : null)) {
        return 'ok'
      }
      return reply.code(403).send('refused')
    })
    app.get('/token', async (request) => csrfToken(request.session))
    app.post('/submit', async () => 'ok')
    app.post('/hooks/in', async () => 'ok')
    app.post('/login', async (request) => {
      request.session.regenerate()
      return 'ok'
    })
    return injector(app)
  },
  { form: false },
)
