import { createServer } from 'node:http'
import express, { type ErrorRequestHandler, type Express } from 'express'
import { describe, expect, expectTypeOf, it, vi } from 'vitest'
import { csrf, type ExpressSession, session, sessionErrors } from '../../src/adapters/express.js'
import { isStoreDown } from '../../src/adapters/shared.js'
import { csrfToken } from '../../src/features/csrf.js'
import { createSessions, type Sessions } from '../../src/session/sessions.js'
import { cookieOf, describeAdapter, type SuiteShape, suiteRoutes } from '../contracts/adapter.js'
import { describeCsrf } from '../contracts/csrf.js'
import { adapterFixture } from '../support/adapter-fixture.js'
import { type Listening, listen } from '../support/http.js'

function suiteApp(sessions: Sessions<SuiteShape>, trustProxy = true): Express {
  const app = express()
  app.set('trust proxy', trustProxy ? 2 : false)
  app.use(session(sessions))
  for (const route of suiteRoutes) {
    app[route.method === 'GET' ? 'get' : 'post'](route.path, (req, res) => {
      const reply = route.handle(req.session, new URL(req.url, 'http://localhost').searchParams)
      if ('text' in reply) res.send(reply.text)
      else if ('json' in reply) res.json(reply.json)
      else res.redirect(303, reply.redirect)
    })
  }
  return app
}

describeAdapter('express', async (sessions, options) =>
  listen(createServer(suiteApp(sessions, options?.trustProxy))),
)

const secret = 'express-adapter-test-secret-32-bytes'

describe('express adapter', () => {
  const { store, closeAfter } = adapterFixture()

  async function serveWith(app: Express, build: (app: Express) => void): Promise<Listening> {
    build(app)
    return closeAfter(await listen(createServer(app)))
  }

  function serve(build: (app: Express) => void): Promise<Listening> {
    return serveWith(express(), build)
  }

  async function loginCookie(app: Listening): Promise<string> {
    return cookieOf(await app.fetch('/login', { method: 'POST', redirect: 'manual' }))
  }

  function withLogin(app: Express): void {
    app.post('/login', (req, res) => {
      req.session.set('user', 'admin')
      res.redirect(303, '/')
    })
  }

  it('types req.session with the augmentable AppSession', () => {
    expectTypeOf<express.Request['session']>().toEqualTypeOf<ExpressSession>()
  })

  it('hands an async handler’s store failure to sessionErrors as a 503', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions, { lazy: true }))
      withLogin(app)
      app.get('/lazy', async (req, res) => {
        await req.session.load()
        res.send(String(req.session.get('user')))
      })
      app.use(sessionErrors())
    })
    const cookie = await loginCookie(app)
    store.fail = true

    const res = await app.fetch('/lazy', { headers: { cookie } })

    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(await res.json()).toEqual({ error: 'session_store_unavailable' })
  })

  it('passes an async handler’s other errors on to the app’s error handler', async () => {
    const sessions = createSessions({ secret })
    const seen: unknown[] = []
    const teapot: ErrorRequestHandler = (error, _req, res, _next) => {
      seen.push(error)
      res.status(418).send('handled')
    }
    const app = await serve((app) => {
      app.use(session(sessions))
      app.get('/reject', async () => {
        await Promise.resolve()
        throw new Error('rejected')
      })
      app.use(sessionErrors(), teapot)
    })

    const res = await app.fetch('/reject')

    expect(res.status).toBe(418)
    expect(await res.text()).toBe('handled')
    expect(seen).toEqual([new Error('rejected')])
  })

  it('answers 503 through next(err) when the save at the end of the response fails', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions))
      withLogin(app)
      app.post('/set', (req, res) => {
        req.session.set('theme', 'dark')
        store.fail = true
        res.redirect(303, '/')
      })
      app.use(sessionErrors())
    })
    const cookie = await loginCookie(app)

    const res = await app.fetch('/set', { method: 'POST', headers: { cookie }, redirect: 'manual' })

    expect(res.status).toBe(503)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.getSetCookie()).toEqual([])
    expect(await res.json()).toEqual({ error: 'session_store_unavailable' })
  })

  it('answers 503 through Express’s own handler without sessionErrors', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions))
      withLogin(app)
      app.get('/whoami', (req, res) => {
        res.send(String(req.session.get('user')))
      })
    })
    const cookie = await loginCookie(app)
    store.fail = true

    const res = await app.fetch('/whoami', { headers: { cookie } })

    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(res.headers.getSetCookie()).toEqual([])
  })

  it('answers 503 without sessionErrors when the save at the end of the response fails', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions))
      withLogin(app)
      app.post('/set', (req, res) => {
        req.session.set('theme', 'dark')
        store.fail = true
        res.redirect(303, '/')
      })
    })
    const cookie = await loginCookie(app)

    const res = await app.fetch('/set', { method: 'POST', headers: { cookie }, redirect: 'manual' })

    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.getSetCookie()).toEqual([])
  })

  // What is not automatic: a lazy session's load fails inside the session itself, past every
  // point the adapter sees, so Express answers the error's 503 without `Retry-After`.
  it('answers a lazy load’s failure in a handler with 503 and Retry-After, with or without sessionErrors', async () => {
    const sessions = createSessions({ secret, store })
    const build = (errors: boolean) => (app: Express) => {
      app.use(session(sessions, { lazy: true }))
      withLogin(app)
      app.get('/lazy', async (req, res) => {
        await req.session.load()
        res.send(String(req.session.get('user')))
      })
      if (errors) app.use(sessionErrors())
    }
    const bare = await serve(build(false))
    const mounted = await serve(build(true))
    const cookie = await loginCookie(bare)
    store.fail = true

    const withoutIt = await bare.fetch('/lazy', { headers: { cookie } })
    const withIt = await mounted.fetch('/lazy', { headers: { cookie } })

    expect(withoutIt.status).toBe(503)
    expect(withoutIt.headers.get('retry-after')).toBe('5')
    expect(withIt.status).toBe(503)
    expect(withIt.headers.get('retry-after')).toBe('5')
  })

  it('lets the app’s error middleware answer a store outage its own way', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions))
      withLogin(app)
      app.get('/whoami', (req, res) => {
        res.send(String(req.session.get('user')))
      })
      app.use(((error, _req, res, _next) => {
        res.status(599).send(isStoreDown(error) ? 'store down' : 'other')
      }) as ErrorRequestHandler)
    })
    const cookie = await loginCookie(app)
    store.fail = true

    const res = await app.fetch('/whoami', { headers: { cookie } })

    expect(res.status).toBe(599)
    expect(await res.text()).toBe('store down')
  })

  it('takes the client IP from req.ip, under Express’s trust proxy', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.set('trust proxy', ['loopback'])
      app.use(session(sessions))
      app.post('/login', (req, res) => {
        req.session.setUser('ip-express')
        res.send('ok')
      })
    })

    await app.fetch('/login', {
      method: 'POST',
      headers: { 'x-forwarded-for': '198.51.100.1, 127.0.0.1' },
    })

    const [summary] = await sessions.listByUser('ip-express')
    expect(summary?.ip).toBe('198.51.100.1')
  })

  it('refuses tessera’s own trustProxy, naming Express’s setting', () => {
    expect(() =>
      session(createSessions({ secret }), { trustProxy: 1 } as Parameters<typeof session>[1]),
    ).toThrow(/app\.set\('trust proxy'/)
  })

  it('sends the cookie with the headers when a handler saves before streaming', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions))
      app.get('/stream', async (req, res) => {
        req.session.set('user', 'streamer')
        await req.session.save()
        res.write('one,')
        await new Promise((resolve) => setTimeout(resolve, 5))
        res.end('two')
      })
      app.get('/whoami', (req, res) => {
        res.send(String(req.session.get('user')))
      })
    })

    const res = await app.fetch('/stream')
    const body = await res.text()
    const whoami = await app.fetch('/whoami', { headers: { cookie: cookieOf(res) } })

    expect(body).toBe('one,two')
    expect(await whoami.text()).toBe('streamer')
  })

  // The adapter hooks `end`, `writeHead` and `write` once on Express's shared response
  // prototype, not on each response; these pin down that nothing else notices.
  describe('with hooks on the shared response prototype', () => {
    it('saves the session when the route is in a mounted sub-app', async () => {
      const sessions = createSessions({ secret, store })
      const app = await serve((app) => {
        const admin = express()
        admin.post('/login', (req, res) => {
          req.session.set('user', 'sub-app')
          res.redirect(303, '/')
        })
        admin.get('/whoami', (req, res) => {
          res.send(String(req.session.get('user')))
        })
        app.use(session(sessions))
        app.use('/admin', admin)
      })

      const login = await app.fetch('/admin/login', { method: 'POST', redirect: 'manual' })
      const whoami = await app.fetch('/admin/whoami', { headers: { cookie: cookieOf(login) } })

      expect(await whoami.text()).toBe('sub-app')
    })

    it('leaves alone an app in the same process that has no session middleware', async () => {
      const sessions = createSessions({ secret })
      await serve((app) => {
        app.use(session(sessions))
        withLogin(app)
      })
      const plain = await serve((app) => {
        app.get('/', (_req, res) => {
          res.send('plain')
        })
      })

      const res = await plain.fetch('/')

      expect(await res.text()).toBe('plain')
      expect(res.headers.getSetCookie()).toEqual([])
      expect(res.headers.get('vary')).toBeNull()
    })

    it('works under a middleware that wraps res.end, mounted before or after it', async () => {
      const wrapEnd: express.RequestHandler = (_req, res, next) => {
        const end = res.end
        res.end = function (this: typeof res, ...args: unknown[]) {
          res.setHeader('x-wrapped', 'yes')
          return (end as (...a: unknown[]) => typeof res).apply(this, args)
        } as typeof res.end
        next()
      }
      for (const order of ['before', 'after'] as const) {
        // Fresh copies of Express and the adapter, so this app's first request is the one
        // that installs the shared hooks, while `wrapEnd` may already hold the unhooked `end`.
        vi.resetModules()
        const { default: freshExpress } = await import('express')
        const fresh = await import('../../src/adapters/express.js')
        const sessions = (await import('../../src/session/sessions.js')).createSessions({
          secret,
          store,
        })
        const app = await serveWith(freshExpress(), (app) => {
          if (order === 'before') app.use(wrapEnd, fresh.session(sessions))
          else app.use(fresh.session(sessions), wrapEnd)
          withLogin(app)
          app.get('/whoami', (req, res) => {
            res.send(String(req.session.get('user')))
          })
        })

        const login = await app.fetch('/login', { method: 'POST', redirect: 'manual' })
        const whoami = await app.fetch('/whoami', { headers: { cookie: cookieOf(login) } })

        expect(login.headers.get('x-wrapped'), order).toBe('yes')
        expect(await whoami.text(), order).toBe('admin')
      }
    })
  })
})

describeCsrf(
  'express',
  async (formCsrf) => {
    const sessions = createSessions({ secret: 'csrf-suite-secret-that-is-32-bytes!' })
    const app = express()
    app.use(
      express.urlencoded({ extended: false }),
      session(sessions),
      csrf({ exempt: ['/hooks/*', '/form'] }),
    )
    app.get('/form', (req, res) => {
      const { token, setCookie } = formCsrf.issue(req.headers.cookie)
      res.append('set-cookie', setCookie)
      res.send(token)
    })
    app.post('/form', (req, res) => {
      const token =
        (req.body as Record<string, string> | undefined)?._csrf ?? req.get('x-csrf-token')
      if (formCsrf.verify(req.headers.cookie, token)) res.send('ok')
      else res.status(403).send('refused')
    })
    app.get('/token', (req, res) => {
      res.send(csrfToken(req.session))
    })
    app.post('/submit', (_req, res) => {
      res.send('ok')
    })
    app.post('/hooks/in', (_req, res) => {
      res.send('ok')
    })
    app.post('/login', (req, res) => {
      req.session.regenerate()
      res.send('ok')
    })
    return listen(createServer(app))
  },
  { form: true },
)
