import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import { type AppSession, csrf, fastifySession } from '../../src/adapters/fastify.js'
import type { Session } from '../../src/core/session.js'
import { createSessions } from '../../src/core/sessions.js'
import { csrfToken } from '../../src/features/csrf.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { type AppHandle, describeAdapter } from '../contracts/adapter.js'
import { describeCsrf } from '../contracts/csrf.js'
import { spyStore } from '../support/spy-store.js'

/** A `fetch` into the app through `inject`, Fastify's in-process request. */
function injector(app: FastifyInstance): AppHandle {
  return {
    async fetch(path, init) {
      const request = new Request(`http://localhost${path}`, init)
      const body = request.body ? await request.text() : undefined
      const res = await app.inject({
        method: request.method as 'GET',
        url: path,
        headers: Object.fromEntries(request.headers),
        ...(body === undefined ? {} : { payload: body }),
      })
      const empty = res.statusCode === 204 || res.statusCode === 304
      return new Response(empty ? null : new Uint8Array(res.rawPayload), {
        status: res.statusCode,
        headers: toHeaders(res.headers),
      })
    },
    close: () => app.close(),
  }
}

describeAdapter('fastify', async (sessions) => {
  const app = Fastify()
  await app.register(fastifySession, { sessions })
  app.get('/public', async () => 'public')
  app.get('/whoami', async (request) => ({ user: request.session.get('user') ?? null }))
  app.post<{ Querystring: { user?: string } }>('/login', async (request, reply) => {
    const user = request.query.user ?? ''
    request.session.regenerate()
    request.session.set('user', user)
    request.session.setUser(user)
    return reply.redirect('/whoami', 303)
  })
  app.post<{ Querystring: { k: string; v: string } }>('/set', async (request) => {
    request.session.set(request.query.k, request.query.v)
    return 'ok'
  })
  app.post('/logout', async (request) => {
    request.session.destroy()
    return 'bye'
  })
  app.get('/boom', async () => {
    throw new Error('boom')
  })
  await app.ready()
  return injector(app)
})

const secret = 'fastify-adapter-test-secret-32-bytes'

describe('fastify adapter', () => {
  const store = spyStore(createMemoryStore({ sweepInterval: 0 }))
  let app: FastifyInstance | null = null

  afterEach(async () => {
    store.fail = false
    await app?.close()
    app = null
  })

  it('decorates FastifyRequest with a session typed by AppSession', () => {
    expectTypeOf<FastifyRequest['session']>().toEqualTypeOf<Session<AppSession>>()
  })

  it('sends no Set-Cookie and no Vary from a route that never touches the session', async () => {
    app = Fastify()
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

  it('reaches every route: the plugin is not encapsulated', async () => {
    app = Fastify()
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
    app = Fastify()
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
    expect(res.json()).toEqual({ error: 'session_store_unavailable' })
  })

  it('leaves other errors to Fastify’s own error handler', async () => {
    app = Fastify()
    await app.register(fastifySession, { sessions: createSessions({ secret }) })
    app.get('/teapot', async () => {
      throw Object.assign(new Error('short and stout'), { statusCode: 418 })
    })

    const res = await app.inject({ url: '/teapot' })

    expect(res.statusCode).toBe(418)
    expect(res.json()).toMatchObject({ message: 'short and stout' })
  })

  it('installs no error handler with errorHandler: false', async () => {
    app = Fastify()
    await app.register(fastifySession, {
      sessions: createSessions({ secret, store }),
      errorHandler: false,
    })
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

/** Node's outgoing headers as Fetch `Headers`, each Set-Cookie kept apart. */
function toHeaders(raw: Record<string, string | string[] | number | undefined>): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, String(v))
  }
  return headers
}

describeCsrf(
  'fastify',
  async () => {
    const sessions = createSessions({ secret: 'csrf-suite-secret-that-is-32-bytes!' })
    const app = Fastify()
    await app.register(fastifySession, { sessions })
    app.addHook('preHandler', csrf({ exempt: ['/hooks/*'] }))
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
